"""Shared state for replicas (issue quotas, "state": {"redis_url"}): two
roomgate processes on one real redis-server (Debian's, started here on a free
loopback port) enforce one limit: quota reservations, the webhook that frees a
place on the other replica, failed-login budgets, max_session ended once, and
Redis stopped and started again mid-run (fail closed, then recovery, nothing
over the limit; state.fail_open lets requests through instead).

LiveKit's RoomService is played by test_quotas.FakeRoomService (DeleteRoom
recorded); webhooks are signed as LiveKit signs them. The same two replicas
behind the shipped nginx front are in tests/scale.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402
from test_link import Hooks, webhook_auth  # noqa: E402
from test_quotas import FakeRoomService, limit_rule, limits_config, start_fake_livekit  # noqa: E402

PASSWORDS = {"ada": "ada-password-1", "bob": "bob-password-2", "cy": "cy-password-3",
             "dee": "dee-password-4"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """Debian's redis-server on a free loopback port, no persistence."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def start(self):
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start on port %d" % self.port)

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port


@unittest.skipUnless(shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"),
                     "redis-server is not installed (scripts/bootstrap --test installs it)")
class SharedTests(rgtest.RoomgateTestCase):

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()
        cls.redis.start()
        cls.lk = start_fake_livekit()
        cls.tmp = rgtest.TempDir()
        groups = {"ada": "three", "bob": "free", "cy": "capped", "dee": "three"}
        cfg = limits_config(
            cls.tmp, cls.lk, PASSWORDS, groups,
            [limit_rule("three", {"live_sessions": 3}), limit_rule("capped", {"max_session": "2s"}),
             {"name": "free", "match": {"groups": ["free"]}, "rooms": ["*"],
              "session_rooms": True, "agents": ["*"]}],
            state={"redis_url": cls.redis.url, "timeout": "300ms"})
        cls.a = rgtest.Server.config(cfg, cls.tmp.path, name="a.json")
        cls.b = rgtest.Server.config(cfg, cls.tmp.path, name="b.json")
        cls.a.start()
        cls.b.start()
        cls.tokens = {u: cls.a.login(u, p) for u, p in PASSWORDS.items()}

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()
        cls.redis.stop()
        cls.lk.shutdown()
        cls.tmp.cleanup()

    def setUp(self):
        if not self.redis.proc:
            self.redis.start()

    def auth(self, user):
        return rgtest.bearer(self.tokens[user])

    def session(self, srv, user):
        return srv.post("/v1/sessions", {"agents": ["helper"]}, headers=self.auth(user))

    def used(self, srv, user):
        r = srv.get("/v1/profiles", headers=self.auth(user))
        self.assertEqual(r.status, 200, r.body)
        return r.body["limits"]["used"]["live_sessions"]

    def hook(self, srv, kind, room, sid, **room_fields):
        ev = json.loads(Hooks.event(kind, room, sid=sid))
        ev["room"].update(room_fields)
        body = json.dumps(ev).encode()
        r = srv.request("POST", "/livekit/webhook", body,
                        headers={"Authorization": webhook_auth(body)},
                        content_type="application/webhook+json")
        self.assertEqual(r.status, 200, r.body)
        return r

    def wait(self, pred, what, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def sessions(self, srv, user):
        r = srv.get("/v1/sessions", headers=self.auth(user))
        self.assertEqual(r.status, 200, r.body)
        return [s["room_name"] for s in r.body["sessions"]]

    def test_1_one_limit_over_two_replicas(self):
        health = self.a.get("/healthz").body
        self.assertEqual(health["state"], {"store": "redis", "redis": "up"})
        # 100 requests at once, half to each replica: exactly 3 admitted
        with ThreadPoolExecutor(max_workers=32) as pool:
            got = list(pool.map(lambda i: self.session(self.a if i % 2 else self.b, "ada"),
                                range(100)))
        statuses = [r.status for r in got]
        self.assertEqual(statuses.count(201), 3, statuses)
        self.assertEqual(statuses.count(429), 97, statuses)
        self.assertEqual({r.body["error"]["code"] for r in got if r.status == 429},
                         {"quota_exceeded"})
        self.assertEqual((self.used(self.a, "ada"), self.used(self.b, "ada")), (3, 3))
        rooms = [r.body["room_name"] for r in got if r.status == 201]

        # LiveKit's webhooks reach replica A only: B learns them (its sessions
        # list) and the place A's room_finished frees is granted by B
        self.hook(self.a, "room_started", rooms[0], "RM_s0")
        self.wait(lambda: rooms[0] in self.sessions(self.b, "ada"), "B to see the room live")
        self.assertError(self.session(self.b, "ada"), 429, "quota_exceeded")
        self.hook(self.a, "room_finished", rooms[0], "RM_s0")
        self.wait(lambda: rooms[0] not in self.sessions(self.b, "ada"), "B to see it finish")
        r = self.session(self.b, "ada")
        self.assertEqual(r.status, 201, r.body)
        self.assertError(self.session(self.a, "ada"), 429, "quota_exceeded")
        # a webhook delivered twice, once to each replica, is applied once
        body = Hooks.event("participant_joined", rooms[1], sid="RM_s1", identity="ada")
        auth = {"Authorization": webhook_auth(body)}
        r1 = self.a.request("POST", "/livekit/webhook", body, headers=auth,
                            content_type="application/webhook+json")
        r2 = self.b.request("POST", "/livekit/webhook", body, headers=auth,
                            content_type="application/webhook+json")
        self.assertEqual((r1.status, r1.body), (200, {}))
        self.assertEqual((r2.status, r2.body), (200, {"duplicate": True}))

    def test_2_failed_logins_are_shared(self):
        for i in range(10):  # the per-address budget, spent on replica A
            r = self.a.post("/v1/login", {"username": "bob", "password": "wrong-%d" % i})
            self.assertError(r, 401, "invalid_credentials")
        r = self.b.post("/v1/login", {"username": "bob", "password": "wrong"})
        self.assertError(r, 429)
        self.assertGreater(int(r.headers["Retry-After"]), 0)
        r = self.b.post("/v1/login", {"username": "bob", "password": PASSWORDS["bob"]})
        self.assertError(r, 429)  # the address is out of attempts, right or wrong

    def test_3_max_session_is_ended_once(self):
        r = self.session(self.a, "cy")
        self.assertEqual(r.status, 201, r.body)
        room = r.body["room_name"]
        # both replicas know the deadline (the claim travels); one ends the room
        self.hook(self.b, "room_started", room, "RM_cap", creationTime=str(int(time.time())))
        self.wait(lambda: any(c[1] == {"room": room} for c in FakeRoomService.calls),
                  "DeleteRoom", timeout=8)
        time.sleep(2.5)  # both enders ran again since
        self.assertEqual(sum(1 for c in FakeRoomService.calls if c[1] == {"room": room}), 1,
                         FakeRoomService.calls)
        self.wait(lambda: room not in self.sessions(self.a, "cy")
                  and room not in self.sessions(self.b, "cy"), "both to forget the room")

    def test_4_redis_down_fails_closed_then_recovers(self):
        held = self.used(self.a, "dee")
        for _ in range(3 - held):
            self.assertEqual(self.session(self.a, "dee").status, 201)
        self.redis.stop()
        r = self.session(self.b, "dee")
        self.assertError(r, 503, "state_unavailable")
        # a rule without limits keeps issuing tokens; logins keep working
        r = self.session(self.a, "bob")
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.b.get("/healthz").body["state"]["redis"], "down")
        t0 = time.time()
        r = self.session(self.a, "dee")
        self.assertError(r, 503, "state_unavailable")
        self.assertLess(time.time() - t0, 1.0)  # bounded: no long wait per request
        # Redis comes back empty: the replicas hold their sessions there again
        # before they reserve anything (503 until then, never a 201)
        self.redis.start()
        for srv in (self.a, self.b):
            seen = []
            self.wait(lambda: seen.append(self.session(srv, "dee").status) or seen[-1] != 503,
                      "recovery", timeout=10)
            self.assertEqual(seen[-1], 429, seen)
        statuses = [self.session(s, "dee").status for s in (self.a, self.b, self.a, self.b)]
        self.assertEqual(statuses, [429] * 4)
        self.assertEqual(self.used(self.b, "dee"), 3)
        self.assertEqual(self.b.get("/healthz").body["state"]["redis"], "up")


@unittest.skipUnless(shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"),
                     "redis-server is not installed")
class FailOpenTests(rgtest.RoomgateTestCase):

    def test_fail_open_lets_limited_requests_through(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "ada", "pw-ada-1", "Ada", ["three"])
        cfg = rgtest.base_config(
            users_file=tmp.join("users.txt"),
            livekit={"url": "ws://127.0.0.1:%d" % free_port(), "api_key": rgtest.API_KEY,
                     "api_secret": rgtest.API_SECRET, "reconcile_interval": 0,
                     "check_existing_rooms": False},
            state={"redis_url": "redis://127.0.0.1:%d" % free_port(), "fail_open": True},
            agents={"helper": {"agent_name": "helper-agent"}},
            rules=[{"name": "three", "rooms": ["*"], "session_rooms": True, "agents": ["*"],
                    "limits": {"live_sessions": 1}}])
        srv = rgtest.Server.config(cfg, tmp.path)
        srv.start()
        self.addCleanup(srv.stop)
        token = srv.login("ada", "pw-ada-1")
        for _ in range(3):
            r = srv.post("/v1/sessions", {"agents": ["helper"]}, headers=rgtest.bearer(token))
            self.assertEqual(r.status, 201, r.body)
        self.assertTrue(srv.wait_logs("limits_skipped"))


if __name__ == "__main__":
    unittest.main()
