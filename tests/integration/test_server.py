"""The server process: dev banner, JSON logs without secrets, signals, CORS,
static web page, caching headers, keep-alive, environment overrides, reload.
"""
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

LOCAL_ORIGIN = "http://localhost:5173"
EVIL_ORIGIN = "https://evil.example"


def preflight(srv, origin, path="/token", method="POST", req_headers="content-type, authorization"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return srv.request("OPTIONS", path, headers=h)


def header_tokens(value):
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


class DevServer(rgtest.RoomgateTestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.srv = rgtest.Server.dev().start()
        cls.session = cls.srv.login(rgtest.DEV_USER, rgtest.DEV_PASSWORD)
        cls.auth = rgtest.bearer(cls.session)

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)

    def tearDown(self):
        self.assertHealthy(self.srv)

    # -- banner and logs --------------------------------------------------

    def test_dev_banner(self):
        # The banner may be block-buffered until exit; give it a moment and
        # fall back to checking after shutdown in test_zz_banner_after_exit.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and "devkey" not in self.srv.stdout_text():
            time.sleep(0.05)
        self.check_banner(self.srv.stdout_text())

    def check_banner(self, text):
        self.assertIn("devkey", text, "banner (stdout) does not mention devkey: %r" % text)
        self.assertIn("demo", text)
        self.assertIn("ws://127.0.0.1:7880", text)
        self.assertRegex(text, re.compile(r"not\b.{0,40}production", re.I | re.S),
                         "banner does not say it is not for production")
        for line in text.splitlines():
            if line.strip().startswith("{"):
                self.fail("JSON log line on stdout: %r" % line)

    def test_logs_are_json_lines(self):
        self.srv.get("/healthz")
        self.srv.get("/v1/nope")
        time.sleep(0.2)
        lines = [l for l in self.srv.stderr_lines if l.strip()]
        self.assertGreater(len(lines), 1)
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("stderr line is not JSON: %r" % line)
            self.assertIsInstance(obj, dict, line)
            self.assertIn("level", obj, line)
        listening = [o for o in self.srv.log_objects() if o.get("event") == "listening"]
        self.assertEqual(len(listening), 1)
        self.assertEqual(listening[0]["url"], "http://127.0.0.1:%d" % self.srv.port)
        self.assertEqual(listening[0]["level"], "info")

    def test_access_log(self):
        self.srv.get("/v1/nope-access-log")
        deadline = time.monotonic() + 2
        found = None
        while time.monotonic() < deadline and not found:
            for o in self.srv.log_objects():
                vals = json.dumps(o)
                if "/v1/nope-access-log" in vals and "404" in vals:
                    found = o
            time.sleep(0.05)
        self.assertIsNotNone(found, "no access log line for GET /v1/nope-access-log with 404")
        self.assertEqual(found["event"], "access")
        self.assertEqual(found["method"], "GET")
        self.assertEqual(found["path"], "/v1/nope-access-log")
        self.assertEqual(found["status"], 404)
        self.assertIsInstance(found["ms"], (int, float))
        self.assertEqual(found["remote"], "127.0.0.1")
        # the text as written: UTC with milliseconds, ms with three decimals
        self.assertRegex(found["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        raw = [l for l in self.srv.stderr_text().splitlines() if "/v1/nope-access-log" in l]
        self.assertTrue(raw)
        self.assertRegex(raw[-1], r'"status":404,"ms":\d+\.\d{3}[,}]')

    def test_response_head(self):
        """The status line and headers roomgate writes itself, in one write."""
        # the connection stays open: read until the server has sent all it will
        data = rgtest.raw_exchange(self.srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                   read_timeout=0.5)
        # each line exactly as written ("Name: value", nothing stripped)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        fields = dict(l.split(": ", 1) for l in lines[1:])
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        self.assertEqual(fields["Content-Type"], "application/json")
        self.assertEqual(int(fields["Content-Length"]), len(body))
        self.assertEqual(json.loads(body)["status"], "ok")
        self.assertEqual(fields["X-Content-Type-Options"], "nosniff")
        self.assertEqual(fields["Connection"], "keep-alive")
        self.assertRegex(fields["Date"], r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$")

    def test_access_log_names_the_user(self):
        self.srv.get("/v1/profiles", headers=self.auth)
        hits = self.srv.wait_logs("access", where=lambda o: o.get("path") == "/v1/profiles")
        self.assertTrue(hits)
        self.assertEqual(hits[-1]["user"], rgtest.DEV_USER)
        self.assertEqual(hits[-1]["status"], 200)

    # -- CORS -------------------------------------------------------------

    def test_cors_preflight_localhost(self):
        r = preflight(self.srv, LOCAL_ORIGIN)
        self.assertEqual(r.status, 204, repr(r))
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), LOCAL_ORIGIN)
        self.assertIn("post", header_tokens(r.headers.get("Access-Control-Allow-Methods")))
        allowed = header_tokens(r.headers.get("Access-Control-Allow-Headers"))
        self.assertTrue({"content-type", "authorization"} <= allowed or "*" in allowed, allowed)

    def test_cors_preflight_other_routes(self):
        for path in ["/v1/sessions", "/v1/login"]:
            with self.subTest(path=path):
                r = preflight(self.srv, "http://localhost:3000", path=path)
                self.assertEqual(r.status, 204, repr(r))
                self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "http://localhost:3000")

    def test_cors_actual_request_localhost(self):
        r = self.srv.post("/token", {"room_name": "cors"},
                          headers=dict(self.auth, Origin=LOCAL_ORIGIN))
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), LOCAL_ORIGIN)
        # errors carry CORS headers too, or the browser cannot read them
        r = self.srv.post("/token", {"room_name": "cors"}, headers={"Origin": LOCAL_ORIGIN})
        self.assertError(r, 401, "unauthenticated")
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), LOCAL_ORIGIN)

    def test_cors_disallowed_origins(self):
        for origin in [EVIL_ORIGIN, "http://localhost.evil.example", "http://evil-localhost:5173",
                       "https://localhost.evil.example:5173", "null"]:
            with self.subTest(origin=origin):
                r = preflight(self.srv, origin)
                self.assertLess(r.status, 500)
                self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"),
                                  "origin %s was allowed" % origin)
                r = self.srv.post("/token", {"room_name": "cors"}, headers=dict(self.auth, Origin=origin))
                self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"),
                                  "origin %s was allowed" % origin)
                self.assertNotEqual(r.headers.get("Access-Control-Allow-Origin"), "*")

    # -- static page, headers, keep-alive ----------------------------------

    def test_web_page(self):
        r = self.srv.get("/")
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/html"),
                        r.headers.get("Content-Type"))
        self.assertIn(b"<", r.raw)
        self.assertRegex(r.raw.lower(), rb"<html|<!doctype html")

    def test_no_store_on_token_responses(self):
        r = self.srv.post("/token", {"room_name": "cache"}, headers=self.auth)
        self.assertEqual(r.status, 201, repr(r))
        self.assertIn("no-store", header_tokens(r.headers.get("Cache-Control")))
        r = self.srv.post("/v1/sessions", {}, headers=self.auth)
        self.assertEqual(r.status, 201, repr(r))
        self.assertIn("no-store", header_tokens(r.headers.get("Cache-Control")))
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))

    def test_openvidu_tutorial_shape(self):
        r = self.srv.post("/token", {"roomName": "ov-room", "participantName": "Participant1"},
                          headers=self.auth)
        body, claims = self.assertToken(r)
        self.assertEqual(body.get("token"), body["participant_token"])
        self.assertEqual(claims["video"]["room"], "ov-room")
        self.assertEqual(claims["name"], "Participant1")

    def test_keep_alive(self):
        conn = self.srv.connection()
        try:
            r1 = self.srv.get("/healthz", conn=conn)
            self.assertEqual(r1.status, 200)
            self.assertIsNotNone(conn.sock, "server closed the connection after the first request")
            sock1 = conn.sock.getsockname()
            r2 = self.srv.post("/token", {"room_name": "ka"}, headers=self.auth, conn=conn)
            self.assertEqual(r2.status, 201, repr(r2))
            self.assertIsNotNone(conn.sock, "server closed the connection after the second request")
            self.assertEqual(conn.sock.getsockname(), sock1, "a new connection was opened")
            r3 = self.srv.post("/token", b"{bad", headers=self.auth, conn=conn)
            self.assertEqual(r3.status, 400)
            r4 = self.srv.get("/healthz", conn=conn)
            self.assertEqual(r4.status, 200)
            self.assertEqual(r4.body["status"], "ok")
        finally:
            conn.close()

    def test_healthz_and_metrics(self):
        r = self.srv.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(r.body["status"], "ok")
        r = self.srv.get("/metrics")
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"))
        text = r.raw.decode()
        self.assertIn("# TYPE", text)
        samples = [l for l in text.splitlines() if l and not l.startswith("#")]
        self.assertTrue(samples)
        for l in samples:
            self.assertRegex(l, r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+( [0-9]+)?$')


class SecretsNotLogged(rgtest.RoomgateTestCase):
    """A config-file server: log in, mint tokens, fail a login; then no log
    line holds a password, a secret or a token."""

    PASSWORD = "Tr0ub4dor&3-correct-horse"
    WRONG = "Wr0ng-Pa55w0rd-battery-staple"

    def test_no_secrets_in_logs(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "erin", self.PASSWORD, "Erin", ["staff"])
        cfg = rgtest.base_config()
        cfg["agents"] = {"helper": {"agent_name": "helper-agent",
                                    "metadata": {"user_id": "{{user.id}}"}, "client_metadata": "*"}}
        srv = rgtest.Server.config(cfg, tmp.path).start()
        self.addCleanup(srv.kill)

        r = srv.post("/v1/login", {"username": "erin", "password": self.PASSWORD})
        self.assertEqual(r.status, 200, repr(r))
        session = r.body["access_token"]
        self.assertError(srv.post("/v1/login", {"username": "erin", "password": self.WRONG}),
                         401, "invalid_credentials")
        r1 = srv.post("/token", {"room_name": "logroom", "room_config": {"agents": [
            {"agent_name": "helper-agent", "metadata": '{"k":"v"}'}]}}, headers=rgtest.bearer(session))
        self.assertEqual(r1.status, 201, repr(r1))
        basic = rgtest.basic("erin", self.PASSWORD)
        r2 = srv.post("/token", {"room_name": "logroom2"}, headers=basic)
        self.assertEqual(r2.status, 201, repr(r2))
        r3 = srv.post("/v1/sessions", {"agents": ["helper"]}, headers=rgtest.bearer(session))
        self.assertEqual(r3.status, 201, repr(r3))
        # a tampered token and a bad Basic header are logged as failures, not echoed
        bad_bearer = session[:-6] + "AAAAAA"
        srv.post("/token", {}, headers=rgtest.bearer(bad_bearer))
        self.assertStops(srv)

        logs = srv.stderr_text()
        self.assertIn("listening", logs)
        secrets = {
            "password": self.PASSWORD,
            "wrong password": self.WRONG,
            "session token": session,
            "tampered session token": bad_bearer,
            "Basic credentials": basic["Authorization"].split()[1],
            "LiveKit API secret": rgtest.API_SECRET,
            "session secret": rgtest.SESSION_SECRET,
        }
        for i, tok in enumerate([r1.body["participant_token"], r2.body["participant_token"],
                                 r3.body["participant_token"]]):
            secrets["participant token %d" % i] = tok
            secrets["participant token %d signature" % i] = tok.rsplit(".", 1)[1]
        if session.count(".") == 2:
            secrets["session token signature"] = session.rsplit(".", 1)[1]
        for what, value in secrets.items():
            with self.subTest(secret=what):
                self.assertNotIn(value, logs, "the %s appears in the logs" % what)
        for line in srv.stderr_lines:
            if line.strip():
                self.assertIsInstance(json.loads(line), dict, line)


class WebRootPasswordFile(rgtest.RoomgateTestCase):
    """A .htpasswd file in the web root means nothing to roomgate: civetweb
    would otherwise demand HTTP Digest auth for the page (its 401, no JSON)."""

    def test_htpasswd_in_web_root_is_ignored_and_not_served(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        d = tmp.path
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!doctype html><title>page</title>")
        with open(os.path.join(d, ".htpasswd"), "w") as f:
            f.write("demo:roomgate:0123456789abcdef0123456789abcdef\n")
        srv = rgtest.Server.dev(extra_args=["--web", d]).start()
        self.addCleanup(srv.kill)
        r = srv.get("/")
        self.assertEqual(r.status, 200, repr(r))
        self.assertIn(b"<title>page</title>", r.raw)
        self.assertIsNone(r.headers.get("WWW-Authenticate"))
        r = srv.get("/.htpasswd")
        self.assertEqual(r.status, 404, repr(r))
        self.assertNotIn(b"0123456789abcdef", r.raw)
        r = srv.post("/token", {"room_name": "htpasswd"},
                     headers=rgtest.bearer(srv.login(rgtest.DEV_USER, rgtest.DEV_PASSWORD)))
        self.assertEqual(r.status, 201, repr(r))
        self.assertStops(srv, signal.SIGTERM)


class Signals(rgtest.RoomgateTestCase):

    def test_sigterm_exit_0(self):
        srv = rgtest.Server.dev().start()
        self.addCleanup(srv.kill)
        self.assertHealthy(srv)
        self.assertStops(srv, signal.SIGTERM)
        # the banner is complete once the process has exited
        DevServer.check_banner(self, srv.stdout_text())

    def test_sigint_exit_0(self):
        srv = rgtest.Server.dev().start()
        self.addCleanup(srv.kill)
        self.assertHealthy(srv)
        self.assertStops(srv, signal.SIGINT)

    def test_sigterm_finishes_in_flight_request(self):
        # A Basic-auth request spends ~0.2-0.5 s in PBKDF2 (600,000
        # iterations); SIGTERM arrives meanwhile and the response must still
        # reach the client.
        srv = rgtest.Server.dev().start()
        self.addCleanup(srv.kill)
        result = {}

        def call():
            try:
                result["r"] = srv.post("/token", {"room_name": "inflight"},
                                       headers=rgtest.basic(rgtest.DEV_USER, rgtest.DEV_PASSWORD))
            except Exception as e:  # noqa: BLE001
                result["e"] = e

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.05)
        if result:
            self.skipTest("the request finished before SIGTERM could be sent")
        srv.proc.send_signal(signal.SIGTERM)
        t.join(15)
        self.assertFalse(t.is_alive())
        self.assertNotIn("e", result, "in-flight request failed: %r" % result.get("e"))
        self.assertEqual(result["r"].status, 201, repr(result["r"]))
        self.assertStops(srv)

    def test_sighup_reload(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "ivy", "ivy-password-1", "Ivy", ["staff"])
        cfg = rgtest.base_config(rules=[{"name": "before", "rooms": ["alpha"], "session_rooms": True,
                                         "agents": []}])
        srv = rgtest.Server.config(cfg, tmp.path).start()
        self.addCleanup(srv.kill)
        auth = rgtest.bearer(srv.login("ivy", "ivy-password-1"))
        self.assertEqual(srv.post("/token", {"room_name": "alpha"}, headers=auth).status, 201)
        self.assertError(srv.post("/token", {"room_name": "beta"}, headers=auth), 403, "room_not_allowed")

        cfg["rules"] = [{"name": "after", "rooms": ["beta"], "session_rooms": True, "agents": []}]
        rgtest.write_json(srv.config_path, cfg)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            r = srv.post("/token", {"room_name": "beta"}, headers=auth)
            if r.status == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(r.status, 201, "config not reloaded after SIGHUP: %r" % (r,))
        self.assertError(srv.post("/token", {"room_name": "alpha"}, headers=auth), 403, "room_not_allowed")

        # a broken config is reported; the old one stays in force
        nlines = len(srv.stderr_lines)
        with open(srv.config_path, "w") as f:
            f.write('{"rules": [')
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while len(srv.stderr_lines) == nlines and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        self.assertTrue(srv.alive(), "server died on a broken config reload")
        new = [o for o in srv.logs[nlines:] if o]
        self.assertTrue(any(o.get("level") in ("error", "warn", "warning") for o in new),
                        "broken reload not reported: %r" % srv.stderr_lines[nlines:])
        self.assertEqual(srv.post("/token", {"room_name": "beta"}, headers=auth).status, 201)
        self.assertHealthy(srv)
        self.assertStops(srv)


class ConfigServer(rgtest.RoomgateTestCase):
    """Config-file CORS and LiveKit environment overrides."""

    def test_config_cors_and_env_overrides(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "jo", "jo-password-1", "Jo", [])
        cfg = rgtest.base_config()
        cfg["cors"] = {"origins": ["https://app.example.com", "http://localhost:*"]}
        env = {"LIVEKIT_URL": "wss://lk.example.test", "LIVEKIT_API_KEY": "APIfromEnv",
               "LIVEKIT_API_SECRET": "env-secret-0123456789abcdefghijklmnop"}
        srv = rgtest.Server.config(cfg, tmp.path, env=env).start()
        self.addCleanup(srv.kill)
        auth = rgtest.bearer(srv.login("jo", "jo-password-1"))

        r = srv.post("/token", {"room_name": "env"}, headers=auth)
        body, claims = self.assertToken(r)
        self.assertEqual(body["server_url"], "wss://lk.example.test")
        self.assertEqual(claims["iss"], "APIfromEnv")
        self.assertTrue(rgtest.jwt_hs256_ok(body["participant_token"], env["LIVEKIT_API_SECRET"]))
        self.assertFalse(rgtest.jwt_hs256_ok(body["participant_token"], rgtest.API_SECRET))

        for origin, allowed in [("https://app.example.com", True), ("http://localhost:5173", True),
                                ("https://app.example.com.evil.example", False),
                                ("http://app.example.com", False), (EVIL_ORIGIN, False)]:
            with self.subTest(origin=origin):
                r = preflight(srv, origin)
                got = r.headers.get("Access-Control-Allow-Origin")
                if allowed:
                    self.assertEqual(r.status, 204, repr(r))
                    self.assertEqual(got, origin)
                else:
                    self.assertIsNone(got, "origin %s was allowed" % origin)
        self.assertStops(srv)


class AccessLogOff(rgtest.RoomgateTestCase):
    def test_access_log_false_writes_no_access_lines(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = rgtest.base_config(access_log=False)
            cfg.pop("users_file")
            srv = rgtest.Server.config(cfg, tmp).start()
            try:
                for _ in range(5):
                    self.assertEqual(srv.get("/healthz")[0], 200)
                self.assertEqual(srv.get("/nope")[0], 404)
            finally:
                rgtest.stop_checked(srv)
            events = [o.get("event") for o in srv.log_objects()]
            self.assertIn("listening", events)
            self.assertNotIn("access", events)

    def test_access_log_must_be_boolean(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = rgtest.base_config(access_log="no")
            cfg.pop("users_file")
            path = rgtest.write_json(os.path.join(tmp, "c.json"), cfg)
            cp = rgtest.run_cli(["config", "check", path])
            self.assertEqual(cp.returncode, 1)
            self.assertIn("access_log must be true or false", cp.stdout + cp.stderr)


class AccessLogQueue(rgtest.RoomgateTestCase):
    """Access lines are queued and written by a writer thread: under
    concurrent requests every request still gets exactly one whole line, and
    none is lost when the server stops."""

    def test_concurrent_requests_each_get_one_whole_line_and_none_is_lost(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = rgtest.base_config()
            cfg.pop("users_file")
            srv = rgtest.Server.config(cfg, tmp).start()
            threads, per_thread, statuses = 8, 60, []

            def client(n):
                for i in range(per_thread):
                    statuses.append(srv.get("/v1/queue-%d-%d" % (n, i))[0])

            try:
                workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
            finally:
                rgtest.stop_checked(srv)
            self.assertEqual(statuses, [404] * (threads * per_thread))
            objs = []
            for line in srv.stderr_lines:
                objs.append(json.loads(line))  # a torn or interleaved line fails here
            paths = sorted(o["path"] for o in objs if o.get("event") == "access")
            want = sorted("/v1/queue-%d-%d" % (n, i) for n in range(threads)
                          for i in range(per_thread))
            self.assertEqual(paths, want)
            events = [o.get("event") for o in objs]
            # order kept: every access line before the shutdown lines
            self.assertEqual(events[-2:], ["stopping", "stopped"])


if __name__ == "__main__":
    unittest.main()


class ServerLimits(rgtest.RoomgateTestCase):
    """`server` in the config: request timeout (slow clients), keep-alive
    timeout and the number of connections served at once."""

    def start(self, tmp, server):
        cfg = rgtest.base_config(server=server)
        cfg.pop("users_file")
        return rgtest.Server.config(cfg, tmp).start()

    def test_request_timeout_ends_a_stalled_request(self):
        import socket
        with tempfile.TemporaryDirectory() as tmp:
            srv = self.start(tmp, {"request_timeout": "1s", "keep_alive_timeout": "1s",
                                   "max_connections": 8})
            try:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                t0 = time.monotonic()
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never end
                data = b""
                try:
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                elapsed = time.monotonic() - t0
                s.close()
                self.assertLess(elapsed, 6, "a stalled request held its connection %.1fs" % elapsed)
                self.assertEqual(srv.get("/healthz")[0], 200)
            finally:
                rgtest.stop_checked(srv)

    def test_bad_server_values_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            for server, needle in (({"max_connections": 0}, "max_connections"),
                                   ({"max_connections": "8"}, "max_connections"),
                                   ({"request_timeout": "0s"}, "request_timeout"),
                                   ({"request_timeout": "2h"}, "request_timeout"),
                                   ({"threads": 4}, "threads")):
                with self.subTest(server=server):
                    cfg = rgtest.base_config(server=server)
                    cfg.pop("users_file")
                    path = rgtest.write_json(os.path.join(tmp, "c.json"), cfg)
                    cp = rgtest.run_cli(["config", "check", path])
                    self.assertEqual(cp.returncode, 1, cp.stdout)
                    self.assertIn(needle, cp.stdout + cp.stderr)
