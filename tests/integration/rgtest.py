"""rgtest - shared helpers for roomgate's HTTP integration tests.

The tests start the real binary ($ROOMGATE_BIN, default build/roomgate) on a
free loopback port (`--listen 127.0.0.1:0`), wait for the `listening` log
event on stderr, speak HTTP to it with http.client or raw sockets, and stop it
with SIGTERM (asserting exit code 0). Standard library only.

Usage from a test file (run from the repo root as
`python3 -m unittest -v tests/integration/test_x.py`):

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import rgtest
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

START_TIMEOUT = 15.0   # seconds to wait for the "listening" event
STOP_TIMEOUT = 10.0    # seconds to wait for exit after SIGTERM
HTTP_TIMEOUT = 10.0    # per request

# LiveKit environment overrides the server honours; tests start from a clean
# environment so that a developer's shell does not change the results.
LIVEKIT_ENV = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"
DEV_USER = "demo"
DEV_PASSWORD = "demo"

# A session secret for config-file servers (>= 32 chars).
SESSION_SECRET = "integration-session-secret-0123456789abcdef"
API_SECRET = "integration-livekit-secret-0123456789abcdef"
API_KEY = "APIintegration"


def binary():
    """Path of the roomgate executable under test."""
    path = os.environ.get("ROOMGATE_BIN") or os.path.join(REPO, "build", "roomgate")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            "roomgate binary not found at %r (set ROOMGATE_BIN)" % path)
    return path


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in LIVEKIT_ENV}
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------
# JWT helpers (decoding only; verification here is a plain HMAC check)
# --------------------------------------------------------------------------

def b64url_decode(s):
    if isinstance(s, str):
        s = s.encode("ascii")
    s += b"=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s)


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwt_parts(token):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT (expected 3 parts): %r" % token[:40])
    return parts


def jwt_header(token):
    return json.loads(b64url_decode(jwt_parts(token)[0]))


def jwt_payload(token):
    return json.loads(b64url_decode(jwt_parts(token)[1]))


def jwt_hs256_ok(token, secret):
    """True if `token` carries a valid HS256 signature made with `secret`."""
    try:
        h, p, s = jwt_parts(token)
        sig = b64url_decode(s)
    except Exception:
        return False
    mac = hmac.new(secret.encode(), (h + "." + p).encode("ascii"), hashlib.sha256).digest()
    return hmac.compare_digest(mac, sig)


def flip_char(s, index):
    """Returns s with the character at `index` replaced by a different
    base64url character (one that changes the decoded bits)."""
    c = s[index]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # move far in the alphabet so that high bits change too
    i = alphabet.find(c)
    repl = alphabet[(i + 32) % 64] if i >= 0 else "A"
    return s[:index] + repl + s[index + 1:]


_next_source = [1]


def fresh_source():
    """A loopback client address not used before in this process
    (127.0.1.1, 127.0.1.2, ...): failed attempts from distinct addresses stay
    below any per-address failed-login rate limit."""
    _next_source[0] += 1
    n = _next_source[0]
    return "127.0.%d.%d" % (1 + n // 250, 1 + n % 250)


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def bearer(token):
    return {"Authorization": "Bearer " + token}


# --------------------------------------------------------------------------
# CLI helpers
# --------------------------------------------------------------------------

def run_cli(args, stdin=None, env=None, timeout=30):
    """Runs `roomgate ARGS...`; returns CompletedProcess (text mode)."""
    return subprocess.run([binary()] + list(args), input=stdin, capture_output=True,
                          text=True, env=clean_env(env), timeout=timeout)


def add_user(path, name, password, display_name=None, groups=None):
    args = ["user", "add", path, name]
    if display_name is not None:
        args += ["--display-name", display_name]
    if groups:
        args += ["--groups", ",".join(groups)]
    cp = run_cli(args, stdin=password + "\n")
    if cp.returncode != 0:
        raise AssertionError("user add %s failed (%d): %s%s" % (name, cp.returncode,
                                                                 cp.stdout, cp.stderr))
    return cp


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    return path


def base_config(**overrides):
    """A minimal valid config (dict) for a config-file server. The caller
    usually sets users_file, agents and rules."""
    cfg = {
        "listen": "127.0.0.1:0",
        "livekit": {"url": "ws://127.0.0.1:7880", "api_key": API_KEY,
                    "api_secret": API_SECRET},
        "users_file": "users.txt",
        "session": {"secret": SESSION_SECRET, "ttl": "1h"},
        "tokens": {"default_ttl": "10m", "max_ttl": "1h"},
        "rooms": {"prefix": "room-"},
        "cors": {"origins": ["https://app.example.com"]},
        "agents": {},
        "rules": [{"name": "everyone", "rooms": ["*"], "session_rooms": True,
                   "agents": ["*"]}],
    }
    cfg.update(overrides)
    return cfg


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Response(tuple):
    """(status, headers, body): body is the parsed JSON when the response is
    JSON, else the raw bytes. `.raw` always holds the raw bytes; headers is an
    http.client.HTTPMessage (case-insensitive .get)."""

    def __new__(cls, status, headers, body, raw):
        self = tuple.__new__(cls, (status, headers, body))
        self.raw = raw
        return self

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    body = property(lambda self: self[2])

    def __repr__(self):
        return "Response(%d, %r)" % (self[0], self.raw[:300])


def make_response(resp):
    raw = resp.read()
    body = raw
    if raw:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = raw
    return Response(resp.status, resp.headers, body, raw)


def encode_body(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def raw_exchange(port, data, read_timeout=5.0, shut_wr=False, host="127.0.0.1"):
    """Sends raw bytes, then reads until the peer closes or read_timeout
    passes without data. Returns the bytes received (maybe b"")."""
    s = socket.create_connection((host, port), timeout=HTTP_TIMEOUT)
    out = b""
    try:
        try:
            s.sendall(data)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.settimeout(read_timeout)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


def parse_raw_response(data):
    """Parses the first HTTP response in `data`: (status, headers dict with
    lower-case names, body bytes). Status None if there is none."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n", data)
    if not m:
        return None, {}, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    n = headers.get("content-length")
    body = rest[:int(n)] if n and n.isdigit() else rest
    return int(m.group(1)), headers, body


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------

class Server:
    """A running `roomgate serve`.

    Server.dev() or Server.config(dict_or_path, tmpdir) build one; start()
    waits for the listening event; stop() sends SIGTERM and returns the exit
    code. All stderr lines are kept in .stderr_lines (text) and .logs (the
    parsed JSON objects, None for a line that was not JSON); stdout in
    .stdout_text().
    """

    def __init__(self, args, env=None, cwd=None):
        self.args = list(args)
        self.env = clean_env(env)
        self.cwd = cwd
        self.proc = None
        self.port = None
        self.stderr_lines = []
        self.logs = []
        self._stdout = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._threads = []

    # -- construction ------------------------------------------------------

    @classmethod
    def dev(cls, env=None, extra_args=()):
        return cls(["serve", "--dev", "--listen", "127.0.0.1:0"] + list(extra_args), env=env)

    @classmethod
    def config(cls, cfg, tmpdir=None, env=None, name="roomgate.json"):
        """cfg: a dict (written to tmpdir/name) or a path to a config file."""
        if isinstance(cfg, dict):
            path = write_json(os.path.join(tmpdir, name), cfg)
        else:
            path = cfg
        srv = cls(["serve", "--config", path, "--listen", "127.0.0.1:0"], env=env)
        srv.config_path = path
        return srv

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        self.proc = subprocess.Popen([binary()] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env, cwd=self.cwd)
        t1 = threading.Thread(target=self._read_stderr, daemon=True)
        t2 = threading.Thread(target=self._read_stdout, daemon=True)
        t1.start()
        t2.start()
        self._threads = [t1, t2]
        deadline = time.monotonic() + START_TIMEOUT
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                self._close_pipes()
                raise AssertionError("roomgate exited with %s before listening; stderr:\n%s"
                                     % (self.proc.returncode, self.stderr_text()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("roomgate did not log a listening event within %ss; "
                                     "stderr:\n%s" % (START_TIMEOUT, self.stderr_text()))
        return self

    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            obj = None
            try:
                obj = json.loads(text)
            except ValueError:
                pass
            with self._lock:
                self.stderr_lines.append(text)
                self.logs.append(obj if isinstance(obj, dict) else None)
            if (isinstance(obj, dict) and obj.get("event") == "listening"
                    and isinstance(obj.get("port"), int) and self.port is None):
                self.port = obj["port"]
                self._listening.set()

    def _read_stdout(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self._lock:
                self._stdout.append(chunk)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig`, waits, returns the exit code (kills and raises on a
        hang)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("roomgate did not exit within %ss after signal %d"
                                     % (timeout, sig))
        self._close_pipes()
        return self.proc.returncode

    def _close_pipes(self):
        for t in self._threads:
            t.join(5)
        for f in (self.proc.stdout, self.proc.stderr):
            if f and not f.closed and not any(t.is_alive() for t in self._threads):
                f.close()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc is not None:
            self._close_pipes()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        with self._lock:
            return "\n".join(self.stderr_lines)

    def stdout_text(self):
        with self._lock:
            return b"".join(self._stdout).decode("utf-8", "replace")

    def log_objects(self):
        with self._lock:
            return [o for o in self.logs if o is not None]

    def wait_logs(self, event, count=1, timeout=5.0, where=None):
        """The log objects of `event` (and `where(o)`), once there are `count`
        of them or `timeout` seconds have passed: a line can reach stderr a
        moment after the answer it belongs to (a busy or sanitized run)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [o for o in self.log_objects()
                     if o.get("event") == event and (where is None or where(o))]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    # -- HTTP ----------------------------------------------------------------

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def connection(self, timeout=HTTP_TIMEOUT, source=None):
        """An HTTPConnection; `source` is a client address such as
        "127.0.0.7" (any 127/8 address reaches the loopback listener)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(source, 0) if source else None)

    def request(self, method, path, body=None, headers=None, content_type="application/json",
                conn=None, source=None):
        """One request. `body`: dict/list (JSON-encoded), str or bytes (sent as
        is), or None (no body). content_type None sends no Content-Type.
        `source`: client address (see connection()). Returns Response
        (status, headers, body)."""
        data = encode_body(body)
        hdrs = {}
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        own = conn is None
        c = conn or self.connection(source=source)
        try:
            c.request(method, path, body=data, headers=hdrs)
            return make_response(c.getresponse())
        finally:
            if own:
                c.close()

    def post(self, path, body=None, headers=None, **kw):
        return self.request("POST", path, body=body, headers=headers, **kw)

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers=headers, **kw)

    def login(self, user, password):
        """POST /v1/login; returns the access token (asserts 200)."""
        r = self.post("/v1/login", {"username": user, "password": password})
        if r.status != 200 or not isinstance(r.body, dict) or "access_token" not in r.body:
            raise AssertionError("login %s failed: %r" % (user, r))
        return r.body["access_token"]


# --------------------------------------------------------------------------
# Assertions shared by the test files
# --------------------------------------------------------------------------

class RoomgateTestCase(unittest.TestCase):
    maxDiff = 4000

    def assertError(self, resp, status, code=None, msg=None):
        """Asserts an error response: the status, JSON content type, the body
        {"error":{"code","message"}}, and (if given) the code (a string or a
        collection of acceptable codes). Returns the error object."""
        st, headers, body = resp
        self.assertEqual(st, status, msg or ("unexpected status; body: %r" % (resp.raw[:500],)))
        ctype = headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith("application/json"),
                        "error content type %r; body %r" % (ctype, resp.raw[:300]))
        self.assertIsInstance(body, dict, "error body is not a JSON object: %r" % (resp.raw[:300],))
        err = body.get("error")
        self.assertIsInstance(err, dict, "no error object in %r" % (body,))
        self.assertIsInstance(err.get("code"), str)
        self.assertRegex(err["code"], r"^[a-z][a-z0-9_]*$", "code is not snake_case")
        self.assertIsInstance(err.get("message"), str)
        self.assertTrue(err["message"].strip(), "empty error message")
        if code is not None:
            if isinstance(code, str):
                self.assertEqual(err["code"], code, "message: %s" % err["message"])
            else:
                self.assertIn(err["code"], code, "message: %s" % err["message"])
        return err

    def assertHealthy(self, srv):
        self.assertTrue(srv.alive(), "roomgate process died; stderr:\n%s" % srv.stderr_text()[-3000:])
        r = srv.get("/healthz")
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body["status"], "ok", repr(r))

    def assertToken(self, resp, status=201):
        """Asserts a successful /token-like response; returns (body, claims)."""
        st, headers, body = resp
        self.assertEqual(st, status, repr(resp))
        self.assertIsInstance(body, dict)
        self.assertIsInstance(body.get("participant_token"), str)
        self.assertIsInstance(body.get("server_url"), str)
        return body, jwt_payload(body["participant_token"])

    def assertStops(self, srv, sig=signal.SIGTERM):
        rc = srv.stop(sig)
        self.assertEqual(rc, 0, "exit code %s after signal %d; stderr tail:\n%s"
                         % (rc, sig, srv.stderr_text()[-2000:]))


def stop_checked(srv):
    """For tearDownClass: stop and raise if the exit code is not 0."""
    if srv is None:
        return
    rc = srv.stop()
    if rc != 0:
        raise AssertionError("roomgate exited with %s after SIGTERM; stderr tail:\n%s"
                             % (rc, srv.stderr_text()[-2000:]))


def expires_at_seconds(value):
    """expires_at as Unix seconds: accepts a number or an RFC 3339 string."""
    if isinstance(value, bool):
        raise AssertionError("expires_at is a bool")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        from datetime import datetime
        v = value.replace("Z", "+00:00")
        return datetime.fromisoformat(v).timestamp()
    raise AssertionError("expires_at has an unexpected type: %r" % (value,))


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="rg-integ-")

    def join(self, *p):
        return os.path.join(self.path, *p)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)
