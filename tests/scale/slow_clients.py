#!/usr/bin/env python3
"""Slow clients against the shipped front (issue security-2, item 5).

roomgate behind a real nginx (Debian's) started from docker/nginx/roomgate.conf, the file
docker/compose.yaml mounts, with only the machine-specific parts substituted (ports, pid,
logs, temp folders, the descriptor limit this user may have), as tests/scale/scale.test.mjs
does with docker/nginx.conf. One address (127.0.0.9) opens 1,000 idle and 1,000 half-sent
connections; meanwhile 20 requests to /healthz and /token from 127.0.0.1 must each be
answered within 2 s, and after the attack everything works at once.

The same attack straight at roomgate starves it (a thread per connection, and no way to
tell connections apart by address before a request is read): the second test asserts that
fact, which README.md and docs/deploy.md state. Bounds are generous (behaviour, not speed);
tests/bench/slowloris.py measures. Loopback only; needs nginx (tests/scale/run installs it).

    ROOMGATE_BIN=build/roomgate python3 tests/scale/slow_clients.py
"""
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import rgtest  # noqa: E402

ATTACKER = "127.0.0.9"
IDLE = 1000
HALF_SENT = 1000
PROBES = 20
ANSWER_WITHIN = 2.0
NGINX = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def open_flood(port, n, data):
    """n connections from ATTACKER, each sending `data` (maybe nothing), then nothing more."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((ATTACKER, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    if data:
        pending, deadline = list(socks), time.monotonic() + 5
        while pending and time.monotonic() < deadline:
            rest = []
            for s in pending:
                try:
                    s.send(data)
                except (BlockingIOError, InterruptedError):
                    rest.append(s)
                except OSError:
                    pass  # refused or reset: the server ended it
            pending = rest
            if pending:
                time.sleep(0.01)
    return socks


def probe(port, token):
    """PROBES requests from 127.0.0.1, alternately GET /healthz and POST /token, each on a
    new connection with a 2 s timeout; the failures (stops after 3)."""
    failures = []
    for i in range(PROBES):
        c = rgtest.http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_WITHIN,
                                              source_address=("127.0.0.1", 0))
        t0 = time.monotonic()
        try:
            if i % 2:
                c.request("POST", "/token", body=b"{}", headers=dict(
                    rgtest.bearer(token), **{"Content-Type": "application/json"}))
                want = 201
            else:
                c.request("GET", "/healthz")
                want = 200
            r = c.getresponse()
            r.read()
            if r.status != want:
                failures.append("status %d" % r.status)
            elif time.monotonic() - t0 > ANSWER_WITHIN:
                failures.append("%.1fs" % (time.monotonic() - t0))
        except OSError as e:
            failures.append(repr(e))
        finally:
            c.close()
        if len(failures) >= 3:
            break
    return failures


def nginx_conf(port, upstream, work, nofile):
    with open(os.path.join(REPO, "docker", "nginx", "roomgate.conf"), encoding="utf-8") as f:
        s = f.read()

    def sub(pattern, to):
        nonlocal s
        n = len(re.findall(pattern, s, re.M))
        if n != 1:
            raise AssertionError("docker/nginx/roomgate.conf: expected one match of %r, found %d"
                                 % (pattern, n))
        s = re.sub(pattern, to, s, count=1, flags=re.M)

    sub(r"^pid .*;$", "pid %s/nginx.pid;" % work)
    sub(r"^error_log \S+", "error_log %s/error.log" % work)
    sub(r"^(\s*)access_log \S+;", r"\1access_log %s/access.log;" % work)
    sub(r"^worker_rlimit_nofile \d+;", "worker_rlimit_nofile %d;" % nofile)
    sub(r"^(\s*)listen 8080;", r"\1listen 127.0.0.1:%d;" % port)
    sub(r"^(\s*)server 127\.0\.0\.1:8090;", r"\1server 127.0.0.1:%d;" % upstream)
    sub(r"^http \{\n", "http {\n" + "".join(
        "    %s_temp_path %s/tmp/%s;\n" % (t, work, t)
        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")))
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    path = os.path.join(work, "nginx.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(s)
    return path


class SlowClients(rgtest.RoomgateTestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = raise_fd_limit(IDLE + HALF_SENT + 1024)
        if soft < IDLE + HALF_SENT + 512:
            raise AssertionError("cannot raise the open file limit (%d/%d)" % (soft, hard))
        cls.nofile = soft if hard == resource.RLIM_INFINITY else hard
        cls.tmp = tempfile.mkdtemp(prefix="roomgate-slow-")
        rgtest.add_user(os.path.join(cls.tmp, "users.txt"), "alice", "alice-slow-pw")
        # as docker/config/roomgate.json: nginx on loopback is a trusted proxy
        cfg = rgtest.base_config(server={"trusted_proxies": ["127.0.0.1/32"]})
        cls.srv = rgtest.Server.config(cfg, cls.tmp).start()
        cls.token = cls.srv.login("alice", "alice-slow-pw")

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start_nginx(self):
        work = tempfile.mkdtemp(prefix="nginx-", dir=self.tmp)
        port = free_port()
        conf = nginx_conf(port, self.srv.port, work, self.nofile)
        t = subprocess.run([NGINX, "-t", "-p", work, "-c", conf], capture_output=True, text=True)
        self.assertEqual(t.returncode, 0, "nginx -t:\n" + t.stderr)
        proc = subprocess.Popen([NGINX, "-p", work, "-c", conf, "-g", "daemon off;"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port, work
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        proc.kill()
        raise AssertionError("nginx did not start:\n" +
                             open(os.path.join(work, "error.log")).read())

    def test_the_nginx_front_holds_one_address_flood(self):
        proc, port, work = self.start_nginx()
        flood = []
        try:
            self.assertEqual(probe(port, self.token), [], "nginx front before the attack")
            flood += open_flood(port, IDLE, b"")
            flood += open_flood(port, HALF_SENT, b"POST /token HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.5)
            failures = probe(port, self.token)
            self.assertEqual(failures, [], "through nginx, other clients were not answered "
                             "within %ss while %s held %d idle and %d half-sent connections"
                             % (ANSWER_WITHIN, ATTACKER, IDLE, HALF_SENT))
            for s in flood:
                s.close()
            flood = []
            # the attack is over: service is back at once, through nginx and directly
            self.assertEqual(probe(port, self.token), [], "after the attack, through nginx")
            self.assertEqual(probe(self.srv.port, self.token), [], "after the attack, directly")
        finally:
            for s in flood:
                s.close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def test_the_direct_server_cannot_hold_it(self):
        """The fact README.md states: without the front, the same flood starves roomgate
        (each connection holds a thread until request_timeout). If this starts to pass,
        update README.md and docs/deploy.md."""
        flood = []
        try:
            flood += open_flood(self.srv.port, IDLE, b"")
            flood += open_flood(self.srv.port, HALF_SENT, b"POST /token HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.5)
            failures = probe(self.srv.port, self.token)
            self.assertNotEqual(failures, [], "the direct server held the flood: update "
                                "README.md and docs/deploy.md")
        finally:
            for s in flood:
                s.close()
        # back once the attack stops: the flood's threads are freed as their sockets close
        deadline = time.monotonic() + 15
        while probe(self.srv.port, self.token) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(probe(self.srv.port, self.token), [], "after the attack, directly")


if __name__ == "__main__":
    unittest.main()
