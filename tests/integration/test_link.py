"""The link to LiveKit after the token (issue livekit-link), without a LiveKit
server: webhooks signed here exactly as LiveKit signs them (HS256 JWT in
Authorization, iss = the API key, exp, sha256 = base64 SHA-256 of the body),
the live-room registry they feed, GET/DELETE /v1/sessions, the room check
reading the registry, and the bound on a LiveKit API call.

The LiveKit URL points at a port nothing listens on (calls fail at once), or
at a socket that accepts and never answers (a LiveKit that hangs). The same
paths against a real livekit-server are in tests/e2e/link.test.mjs.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

PASSWORDS = {"ada": "ada-password-1", "max": "max-password-2", "root": "root-password-3"}


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def webhook_auth(body, key=rgtest.API_KEY, secret=rgtest.API_SECRET, ttl=300, digest=None):
    """Authorization as LiveKit's WebhookReceiver expects it (a raw JWT)."""
    now = int(time.time())
    claims = {"iss": key, "nbf": now - 1, "exp": now + ttl,
              "sha256": digest or base64.b64encode(hashlib.sha256(body).digest()).decode()}
    head = rgtest.b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    pay = rgtest.b64url_encode(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), (head + "." + pay).encode(), hashlib.sha256).digest()
    return head + "." + pay + "." + rgtest.b64url_encode(sig)


class Hooks:
    """Builds events with unique ids."""
    n = 0

    @classmethod
    def event(cls, kind, room, sid="RM_1", identity=None):
        cls.n += 1
        ev = {"event": kind, "id": "EV_test_%d_%d" % (os.getpid(), cls.n),
              "createdAt": str(int(time.time())),
              "room": {"sid": sid, "name": room, "creationTime": "1700000000"}}
        if identity:
            ev["participant"] = {"sid": "PA_" + identity, "identity": identity}
        return json.dumps(ev, separators=(",", ":")).encode()


class LinkTests(rgtest.RoomgateTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = rgtest.TempDir()
        users = cls.tmp.join("users.txt")
        rgtest.add_user(users, "ada", PASSWORDS["ada"], "Ada", ["staff"])
        rgtest.add_user(users, "max", PASSWORDS["max"], "Max", ["staff"])
        rgtest.add_user(users, "root", PASSWORDS["root"], "Root", ["admin"])
        cfg = rgtest.base_config(
            users_file=users,
            livekit={"url": "ws://127.0.0.1:%d" % closed_port(), "api_key": rgtest.API_KEY,
                     "api_secret": rgtest.API_SECRET, "reconcile_interval": 0},
            agents={"helper": {"agent_name": "helper-agent"}},
            rules=[{"name": "admins", "match": {"groups": ["admin"]}, "rooms": ["*"],
                    "session_rooms": True, "agents": ["*"], "end_any_session": True},
                   {"name": "staff", "match": {"groups": ["staff"]}, "rooms": ["*"],
                    "session_rooms": True, "agents": ["*"]}])
        cls.srv = rgtest.Server.config(cfg, cls.tmp.path)
        cls.srv.start()
        cls.tokens = {u: cls.srv.login(u, p) for u, p in PASSWORDS.items()}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertHealthy(self.srv)

    def auth(self, user):
        return rgtest.bearer(self.tokens[user])

    def hook(self, body, auth="sign", **kw):
        headers = {}
        if auth == "sign":
            headers["Authorization"] = webhook_auth(body, **kw)
        elif auth is not None:
            headers["Authorization"] = auth
        return self.srv.request("POST", "/livekit/webhook", body, headers=headers,
                                content_type="application/webhook+json")

    def session(self, user, agents=()):
        r = self.srv.post("/v1/sessions", {"agents": list(agents)}, headers=self.auth(user))
        self.assertEqual(r.status, 201, r.body)
        return r.body["room_name"]

    def sessions(self, user):
        r = self.srv.get("/v1/sessions", headers=self.auth(user))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        return {s["room_name"]: s for s in r.body["sessions"]}

    def metric(self, name):
        text = self.srv.get("/metrics").raw.decode()
        m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
        self.assertIsNotNone(m, "no metric %s" % name)
        return int(m.group(1))

    def live_rooms(self):
        return self.srv.get("/healthz").body["registry"]["live_rooms"]

    # -- webhooks -------------------------------------------------------------

    def test_signed_webhook_applies_once(self):
        room = self.session("ada", ["helper"])
        self.assertNotIn(room, self.sessions("ada"))  # not live before LiveKit says so
        started = Hooks.event("room_started", room)
        r = self.hook(started)
        self.assertEqual((r.status, r.body), (200, {}))
        r = self.hook(Hooks.event("participant_joined", room, identity="ada"))
        self.assertEqual(r.status, 200)
        s = self.sessions("ada")[room]
        self.assertEqual(s["participants"], 1)
        self.assertEqual(s["created_at"], 1700000000)
        self.assertEqual(s["agents"], [{"agent_name": "helper-agent", "running": False}])
        # LiveKit retries a delivery: the same id is accepted and ignored
        dup = self.metric('roomgate_webhooks_total{outcome="duplicate"}')
        r = self.hook(started)
        self.assertEqual((r.status, r.body), (200, {"duplicate": True}))
        self.assertEqual(self.metric('roomgate_webhooks_total{outcome="duplicate"}'), dup + 1)
        self.assertNotIn(room, self.sessions("max"))
        r = self.hook(Hooks.event("room_finished", room))
        self.assertEqual(r.status, 200)
        self.assertNotIn(room, self.sessions("ada"))

    def test_refused_webhooks_change_nothing(self):
        room = self.session("ada")
        body = Hooks.event("room_started", room)
        before = self.live_rooms()
        refused = self.metric('roomgate_webhooks_total{outcome="refused"}')
        altered = body.replace(b'"room_started"', b'"room_startee"')
        cases = {
            "unsigned": (body, None, {}),
            "empty": (body, "", {}),
            "forged": (body, "sign", {"secret": "not-the-api-secret-0123456789"}),
            "other key": (body, "sign", {"key": "APIsomeoneelse"}),
            "expired": (body, "sign", {"ttl": -600}),
            "body altered": (altered, webhook_auth(body), {}),
            "hash of another body": (body, "sign", {"digest": base64.b64encode(
                hashlib.sha256(b"{}").digest()).decode()}),
            "no JWT": (body, "Bearer abc", {}),
        }
        for name, (b, auth, kw) in cases.items():
            with self.subTest(name):
                err = self.assertError(self.hook(b, auth, **kw), 401, "invalid_webhook")
                self.assertNotIn(rgtest.API_SECRET, err["message"])
        self.assertEqual(self.live_rooms(), before)
        self.assertNotIn(room, self.sessions("ada"))
        self.assertEqual(self.metric('roomgate_webhooks_total{outcome="refused"}'),
                         refused + len(cases))
        # the same body, signed, still applies: nothing above consumed its id
        self.assertEqual(self.hook(body).body, {})
        self.assertIn(room, self.sessions("ada"))
        self.hook(Hooks.event("room_finished", room))

    def test_webhook_method_and_body(self):
        self.assertError(self.srv.get("/livekit/webhook"), 405, "method_not_allowed")
        body = b'{"event":"room_started"}'  # signed, but no id: not an event
        self.assertError(self.hook(body), 400, "invalid_webhook")

    # -- sessions ---------------------------------------------------------------

    def test_someone_elses_session_is_404_like_an_unknown_one(self):
        room = self.session("ada")
        self.hook(Hooks.event("room_started", room))
        other = self.srv.request("DELETE", "/v1/sessions/" + room, headers=self.auth("max"))
        unknown = self.srv.request("DELETE", "/v1/sessions/room-nobodyhasthisname",
                                   headers=self.auth("max"))
        e1 = self.assertError(other, 404, "not_found")
        e2 = self.assertError(unknown, 404, "not_found")
        self.assertEqual(e1["message"].replace(room, "R"),
                         e2["message"].replace("room-nobodyhasthisname", "R"))
        # the owner's DELETE reaches LiveKit (absent here: 502, the room stays listed)
        self.assertError(self.srv.request("DELETE", "/v1/sessions/" + room, headers=self.auth("ada")),
                         502, "livekit_unreachable")
        self.assertIn(room, self.sessions("ada"))
        # a rule with end_any_session reaches LiveKit for anyone's room
        self.assertError(self.srv.request("DELETE", "/v1/sessions/" + room,
                                          headers=self.auth("root")), 502, "livekit_unreachable")
        self.hook(Hooks.event("room_finished", room))

    def test_sessions_routes(self):
        self.assertError(self.srv.get("/v1/sessions"), 401)
        self.assertError(self.srv.request("DELETE", "/v1/sessions/x"), 401)
        self.assertError(self.srv.request("PUT", "/v1/sessions", b"{}", headers=self.auth("ada")),
                         405, "method_not_allowed")
        self.assertError(self.srv.get("/v1/sessions/x", headers=self.auth("ada")),
                         405, "method_not_allowed")
        self.assertError(self.srv.request("DELETE", "/v1/sessions/%20x", headers=self.auth("ada")),
                         400, "invalid_room_name")
        self.assertError(self.srv.request("DELETE", "/v1/sessions/", headers=self.auth("ada")),
                         404, "not_found")

    # -- the room check reads the registry ---------------------------------------

    def test_room_check_reads_the_registry(self):
        calls = 'roomgate_livekit_api_calls_total{method="ListRooms"}'
        token = {"room_name": "live-room", "room_config": {"agents": [{"agent_name": "helper-agent"}]}}
        n0 = self.metric(calls)
        # unknown room: one ListRooms call (it fails here: LiveKit is absent, so the
        # token carries the agent and nothing is remembered)
        r = self.srv.post("/token", token, headers=self.auth("ada"))
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.metric(calls), n0 + 1)
        # live room, known from a webhook: no call; dispatch goes through the API
        self.hook(Hooks.event("room_started", "live-room", sid="RM_live"))
        r = self.srv.post("/token", token, headers=self.auth("ada"))
        self.assertError(r, 502, "livekit_unreachable")  # CreateDispatch's failure
        self.assertEqual(self.metric(calls), n0 + 1)
        # finished room, known from a webhook: no call, the token dispatches
        self.hook(Hooks.event("room_finished", "live-room", sid="RM_live"))
        r = self.srv.post("/token", token, headers=self.auth("ada"))
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["dispatch"], "token")
        self.assertEqual(self.metric(calls), n0 + 1)


class HangingLiveKitTests(rgtest.RoomgateTestCase):
    """A LiveKit that accepts connections and never answers holds a request no
    longer than livekit.api_timeout."""

    def setUp(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held = []
        self.stop = False
        threading.Thread(target=self.accept, daemon=True).start()
        self.tmp = rgtest.TempDir()
        users = self.tmp.join("users.txt")
        rgtest.add_user(users, "ada", PASSWORDS["ada"], "Ada", ["staff"])
        cfg = rgtest.base_config(
            users_file=users,
            livekit={"url": "wss://livekit.example.invalid",
                     "api_url": "http://127.0.0.1:%d" % self.sock.getsockname()[1],
                     "api_key": rgtest.API_KEY, "api_secret": rgtest.API_SECRET,
                     "api_timeout": "500ms", "reconcile_interval": 0})
        self.srv = rgtest.Server.config(cfg, self.tmp.path)
        self.srv.start()

    def accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)

    def tearDown(self):
        self.srv.stop()
        self.stop = True
        self.sock.close()
        for c in self.held:
            c.close()
        self.tmp.cleanup()

    def test_a_hanging_livekit_costs_at_most_the_api_timeout(self):
        token = rgtest.bearer(self.srv.login("ada", PASSWORDS["ada"]))  # PBKDF2 kept out of the clock
        body = {"room_name": "somewhere", "room_config": {"agents": [{"agent_name": "a"}]}}
        t0 = time.monotonic()
        r = self.srv.post("/token", body, headers=token)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 201, r.body)
        # the answer names the configured client URL; the API was called at api_url
        self.assertEqual(r.body["server_url"], "wss://livekit.example.invalid")
        self.assertGreaterEqual(len(self.held), 1, "roomgate did not call api_url")
        self.assertLess(took, 5.0, "a hanging LiveKit held the request %.1f s" % took)
        warn = self.srv.wait_logs("room_check_failed")
        self.assertTrue(warn and "127.0.0.1" in warn[0]["msg"], warn)


class ConfigTests(rgtest.RoomgateTestCase):

    def check(self, livekit):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        lk = {"url": "ws://127.0.0.1:7880", "api_key": "k", "api_secret": "s" * 32}
        lk.update(livekit)
        rgtest.add_user(tmp.join("users.txt"), "ada", "pw")
        path = rgtest.write_json(tmp.join("c.json"), rgtest.base_config(
            users_file=tmp.join("users.txt"), livekit=lk))
        return rgtest.run_cli(["config", "check", path])

    def test_livekit_settings(self):
        for ok in ({"api_url": "http://10.0.0.5:7880"}, {"api_url": "wss://lk.example.com"},
                   {"reconcile_interval": "45s"}, {"reconcile_interval": "off"},
                   {"reconcile_interval": 0}, {"api_timeout": "2s"}, {"api_timeout": "250ms"}):
            with self.subTest(ok):
                p = self.check(ok)
                self.assertEqual(p.returncode, 0, p.stderr)
        for bad, why in (({"api_url": "ftp://x"}, "api_url"), ({"api_url": 5}, "api_url"),
                         ({"reconcile_interval": "soon"}, "reconcile_interval"),
                         ({"api_timeout": "10ms"}, "api_timeout"),
                         ({"api_timeout": "1m"}, "api_timeout")):
            with self.subTest(bad):
                p = self.check(bad)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(why, p.stderr + p.stdout)


if __name__ == "__main__":
    unittest.main()
