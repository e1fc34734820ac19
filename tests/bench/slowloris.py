#!/usr/bin/env python3
"""Slow clients, measured (not part of the normal run; tests/bench/README.md).

    ROOMGATE_BIN=build/roomgate tests/bench/slowloris.py [--threads N]

Starts roomgate (server.max_connections N, default: roomgate's default) and, in front of it,
Debian's nginx from docker/nginx/roomgate.conf (as tests/scale/slow_clients.py does). Prints
roomgate's RSS idle and at c=32 (wrk, 3 s of GET /healthz), then, for each of "direct" and
"nginx": 1,000 idle + 1,000 half-sent connections from 127.0.0.9, 40 GET /healthz and 40
POST /token from 127.0.0.1 (2 s timeout each: a timeout counts as 2000 ms), p50 and max, and
roomgate's RSS under the attack.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scale"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import rgtest  # noqa: E402
import slow_clients as sc  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed(port, token, n):
    out = {"/healthz": [], "/token": []}
    for i in range(2 * n):
        path = "/token" if i % 2 else "/healthz"
        c = rgtest.http.client.HTTPConnection("127.0.0.1", port, timeout=2,
                                              source_address=("127.0.0.1", 0))
        t0 = time.monotonic()
        try:
            if path == "/token":
                c.request("POST", path, body=b"{}", headers=dict(
                    rgtest.bearer(token), **{"Content-Type": "application/json"}))
            else:
                c.request("GET", path)
            r = c.getresponse()
            r.read()
            ms = (time.monotonic() - t0) * 1000 if r.status in (200, 201) else 2000
        except OSError:
            ms = 2000.0
        finally:
            c.close()
        out[path].append(ms)
    return out


def summary(lat):
    s = sorted(lat)
    return "p50 %.1f ms, max %.1f ms" % (s[len(s) // 2], s[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    sc.raise_fd_limit(sc.IDLE + sc.HALF_SENT + 1024)
    tmp = tempfile.mkdtemp(prefix="roomgate-slowloris-")
    rgtest.add_user(os.path.join(tmp, "users.txt"), "alice", "alice-slow-pw")
    server = {"trusted_proxies": ["127.0.0.1/32"]}
    if args.threads:
        server["max_connections"] = args.threads
    srv = rgtest.Server.config(rgtest.base_config(server=server, access_log=False), tmp).start()
    pid = srv.proc.pid
    proc = None
    try:
        token = srv.login("alice", "alice-slow-pw")
        time.sleep(0.5)
        print("roomgate RSS idle: %.1f MB" % (rss_kb(pid) / 1024))
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", "-d3s", "http://127.0.0.1:%d/healthz" % srv.port],
                               stdout=subprocess.PIPE, text=True)
        peak = 0
        while wrk.poll() is None:
            peak = max(peak, rss_kb(pid))
            time.sleep(0.1)
        rps = [l for l in wrk.stdout.read().splitlines() if "Requests/sec" in l]
        print("roomgate RSS at c=32 (wrk, /healthz): %.1f MB peak (%s)"
              % (peak / 1024, rps[0].strip() if rps else "?"))

        t = sc.SlowClients()
        t.tmp, t.srv, t.nofile = tmp, srv, sc.resource.getrlimit(sc.resource.RLIMIT_NOFILE)[1]
        proc, nport, _ = t.start_nginx()
        for name, port in (("direct", srv.port), ("nginx", nport)):
            flood = sc.open_flood(port, sc.IDLE, b"")
            flood += sc.open_flood(port, sc.HALF_SENT, b"POST /token HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.5)
            lat = timed(port, token, 40)
            rss = rss_kb(pid)
            for s in flood:
                s.close()
            print("%s under attack: /healthz %s; /token %s; roomgate RSS %.1f MB"
                  % (name, summary(lat["/healthz"]), summary(lat["/token"]), rss / 1024))
            time.sleep(1)
            after = timed(port, token, 5)
            print("%s after the attack: /healthz %s; /token %s"
                  % (name, summary(after["/healthz"]), summary(after["/token"])))
            if name == "direct":
                time.sleep(11)  # the flood's threads time out (request_timeout)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
