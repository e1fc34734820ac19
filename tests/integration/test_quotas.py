"""Per-user limits on sessions with agents (issue quotas), in one process: a
rule's "limits" (live_sessions, sessions_per_hour, max_session, empty_timeout,
departure_timeout), the 429 quota_exceeded answers with Retry-After, the use
shown by GET /v1/profiles, max_session ending a room through LiveKit's
RoomService/DeleteRoom, and owners recorded in room metadata and learned back
after a restart.

LiveKit's server API is played by a small Twirp endpoint here that records the
calls it gets (ListRooms answers the rooms a test sets); webhooks are signed as
LiveKit signs them (test_link.webhook_auth). The same limit against a real
livekit-server, with a real agent, is in tests/e2e/link.test.mjs.
"""
import http.server
import json
import os
import re
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402
from test_link import Hooks, webhook_auth  # noqa: E402

PASSWORDS = {"ada": "ada-password-1", "bob": "bob-password-2", "cy": "cy-password-3",
             "dee": "dee-password-4", "eve": "eve-password-5"}


class FakeRoomService(http.server.BaseHTTPRequestHandler):
    """RoomService over Twirp: every call recorded; ListRooms answers `rooms` (none unless a
    test sets them), UpdateRoomMetadata sets a listed room's metadata, as LiveKit would."""
    calls = []
    rooms = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        FakeRoomService.calls.append((self.path, body))
        if self.path.endswith("/UpdateRoomMetadata"):
            for room in FakeRoomService.rooms:
                if room["name"] == body.get("room"):
                    room["metadata"] = body.get("metadata", "")
        out = json.dumps({"rooms": FakeRoomService.rooms}
                         if self.path.endswith("/ListRooms") else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def start_fake_livekit():
    """FakeRoomService on a free loopback port, served from a thread."""
    lk = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRoomService)
    threading.Thread(target=lk.serve_forever, daemon=True).start()
    return lk


def limit_rule(name, limits):
    """A rule for the users of group `name`, with these limits."""
    return {"name": name, "match": {"groups": [name]}, "rooms": ["*"], "session_rooms": True,
            "agents": ["*"], "limits": limits}


def limits_config(tmp, lk, passwords, groups, rules, **extra):
    """Users (one group each), the agent profile `helper`, `rules`, and LiveKit's API at `lk`
    with no reconciliation and no room check."""
    users = tmp.join("users.txt")
    for u, p in passwords.items():
        rgtest.add_user(users, u, p, u.title(), [groups[u]])
    return rgtest.base_config(
        users_file=users,
        livekit={"url": "ws://127.0.0.1:%d" % lk.server_address[1],
                 "api_key": rgtest.API_KEY, "api_secret": rgtest.API_SECRET,
                 "reconcile_interval": 0, "check_existing_rooms": False},
        agents={"helper": {"agent_name": "helper-agent"}}, rules=rules, **extra)


class QuotaTests(rgtest.RoomgateTestCase):

    @classmethod
    def setUpClass(cls):
        cls.lk = start_fake_livekit()
        cls.tmp = rgtest.TempDir()
        groups = {"ada": "two", "bob": "rate", "cy": "capped", "dee": "three", "eve": "rooms"}
        cfg = limits_config(cls.tmp, cls.lk, PASSWORDS, groups, [
            limit_rule("two", {"live_sessions": 2}),
            limit_rule("rate", {"sessions_per_hour": 2}),
            limit_rule("capped", {"max_session": "2s"}),
            limit_rule("three", {"live_sessions": 3}),
            limit_rule("rooms", {"empty_timeout": "2m", "departure_timeout": "20s"})])
        cls.srv = rgtest.Server.config(cfg, cls.tmp.path)
        cls.srv.start()
        cls.tokens = {u: cls.srv.login(u, p) for u, p in PASSWORDS.items()}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.lk.shutdown()
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertHealthy(self.srv)

    def auth(self, user):
        return rgtest.bearer(self.tokens[user])

    def hook(self, kind, room, sid):
        body = Hooks.event(kind, room, sid=sid)
        r = self.srv.request("POST", "/livekit/webhook", body,
                             headers={"Authorization": webhook_auth(body)},
                             content_type="application/webhook+json")
        self.assertEqual(r.status, 200, r.body)

    def session(self, user, agents=("helper",)):
        return self.srv.post("/v1/sessions", {"agents": list(agents)}, headers=self.auth(user))

    def metric(self, name):
        m = re.search(r"^%s (\d+)$" % re.escape(name), self.srv.get("/metrics").raw.decode(), re.M)
        self.assertIsNotNone(m, "no metric %s" % name)
        return int(m.group(1))

    def limits(self, user):
        r = self.srv.get("/v1/profiles", headers=self.auth(user))
        self.assertEqual(r.status, 200, r.body)
        return r.body["limits"]

    def test_live_sessions(self):
        self.assertEqual(self.limits("ada"), {
            "live_sessions": 2, "sessions_per_hour": None, "max_session": None,
            "empty_timeout": None, "departure_timeout": None,
            "used": {"live_sessions": 0, "sessions_left": None}})
        first = self.session("ada")
        self.assertEqual(first.status, 201, first.body)
        self.assertEqual(self.session("ada").status, 201)
        self.assertEqual(self.limits("ada")["used"]["live_sessions"], 2)
        r = self.session("ada")
        self.assertError(r, 429, "quota_exceeded")
        msg = r.body["error"]["message"]
        self.assertIn("limits.live_sessions", msg)
        self.assertIn("2 live sessions", msg)
        # neither token was used yet: the first expires in the rule's TTL
        self.assertGreater(int(r.headers["Retry-After"]), 500)
        # a session without agents costs nothing and is not counted
        self.assertEqual(self.session("ada", agents=()).status, 201)
        # another user has a place of their own
        self.assertEqual(self.session("dee").status, 201)
        # the first room starts and finishes: its place is free again
        room = first.body["room_name"]
        self.hook("room_started", room, "RM_q1")
        self.assertError(self.session("ada"), 429, "quota_exceeded")
        self.hook("room_finished", room, "RM_q1")
        self.assertEqual(self.session("ada").status, 201)
        self.assertError(self.session("ada"), 429, "quota_exceeded")

    def test_parallel_requests_admit_exactly_the_limit(self):
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: self.session("dee").status, range(40)))
        # test_live_sessions may have taken one of dee's three places first
        admitted = statuses.count(201)
        self.assertIn(admitted, (2, 3), statuses)
        self.assertEqual(admitted + statuses.count(429), 40, statuses)
        self.assertEqual(self.limits("dee")["used"]["live_sessions"], 3)

    def test_sessions_per_hour(self):
        self.assertEqual(self.limits("bob")["used"]["sessions_left"], 2)
        self.assertEqual(self.session("bob").status, 201)
        self.assertEqual(self.session("bob").status, 201)
        self.assertEqual(self.limits("bob")["used"]["sessions_left"], 0)
        r = self.session("bob")
        self.assertError(r, 429, "quota_exceeded")
        self.assertIn("limits.sessions_per_hour", r.body["error"]["message"])
        # GCRA: two at once, then one every 30 minutes
        self.assertTrue(1790 <= int(r.headers["Retry-After"]) <= 1801, r.headers)

    def test_room_timeouts_go_into_the_token(self):
        def room_config(body):
            r = self.srv.post("/token", body, headers=self.auth("eve"))
            self.assertEqual(r.status, 201, r.body)
            return rgtest.jwt_payload(r.body["participant_token"]).get("roomConfig", {})
        rc = room_config({})
        self.assertEqual((rc["emptyTimeout"], rc["departureTimeout"]), (120, 20))
        # a client may ask for less, never for more
        rc = room_config({"room_config": {"empty_timeout": 30, "departure_timeout": 3600}})
        self.assertEqual((rc["emptyTimeout"], rc["departureTimeout"]), (30, 20))

    def test_max_session_ends_the_room(self):
        r = self.session("cy")
        self.assertEqual(r.status, 201, r.body)
        room = r.body["room_name"]
        self.assertEqual(self.limits("cy")["max_session"], 2)
        ended = 'roomgate_sessions_ended_by_limit_total'
        before = self.metric(ended)
        started = time.time()
        body = Hooks.event("room_started", room, sid="RM_cap")
        ev = json.loads(body)
        ev["room"]["creationTime"] = str(int(started))
        body = json.dumps(ev).encode()
        r = self.srv.request("POST", "/livekit/webhook", body,
                             headers={"Authorization": webhook_auth(body)},
                             content_type="application/webhook+json")
        self.assertEqual(r.status, 200)
        self.assertIn(room, [s["room_name"] for s in self.srv.get(
            "/v1/sessions", headers=self.auth("cy")).body["sessions"]])
        deadline = time.time() + 8
        while time.time() < deadline and not any(
                c == ("/twirp/livekit.RoomService/DeleteRoom", {"room": room})
                for c in FakeRoomService.calls):
            time.sleep(0.1)
        took = time.time() - started
        self.assertIn(("/twirp/livekit.RoomService/DeleteRoom", {"room": room}),
                      FakeRoomService.calls)
        self.assertGreaterEqual(took, 1.0)
        self.assertLess(took, 5.0)
        self.assertEqual(self.srv.get("/v1/sessions", headers=self.auth("cy")).body["sessions"],
                         [])
        self.assertEqual(self.metric(ended), before + 1)
        logged = self.srv.wait_logs("session_limit_reached", where=lambda o: o.get("room") == room)
        self.assertTrue(any(o.get("room") == room and o.get("owner") == "cy"
                            and o.get("max_session") == 2 for o in logged), logged)
        # ended once, not every second after
        time.sleep(1.5)
        self.assertEqual(sum(1 for c in FakeRoomService.calls if c[1] == {"room": room}), 1)


class OwnerRecordTests(rgtest.RoomgateTestCase):
    """The owner of a session is recorded in its room's metadata once LiveKit starts the room,
    so that a roomgate restarted without Redis learns it back from ListRooms: the session is
    listed again, counts under the owner's limits again, and is not recorded twice."""

    def test_restart_learns_owners_from_room_metadata(self):
        lk = start_fake_livekit()
        self.addCleanup(setattr, FakeRoomService, "rooms", [])

        def updates():  # of this test's room (other tests' calls are in `calls` too)
            return [c[1] for c in FakeRoomService.calls
                    if c[0].endswith("/UpdateRoomMetadata") and c[1].get("room") == room]
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        self.addCleanup(lk.server_close)
        self.addCleanup(lk.shutdown)
        cfg = limits_config(tmp, lk, {"ada": PASSWORDS["ada"]}, {"ada": "one"},
                            [limit_rule("one", {"live_sessions": 1})])
        cfg["livekit"]["reconcile_interval"] = "1s"
        srv = rgtest.Server.config(cfg, tmp.path)
        srv.start()
        auth = rgtest.bearer(srv.login("ada", PASSWORDS["ada"]))
        r = srv.post("/v1/sessions", {"agents": ["helper"]}, headers=auth)
        self.assertEqual(r.status, 201, r.body)
        room = r.body["room_name"]
        self.assertEqual(updates(), [])  # not before LiveKit starts the room
        FakeRoomService.rooms = [{"name": room, "sid": "RM_own", "num_participants": 1,
                                     "creation_time": str(int(time.time())), "metadata": ""}]
        body = Hooks.event("room_started", room, sid="RM_own")
        r = srv.request("POST", "/livekit/webhook", body, headers={"Authorization": webhook_auth(body)},
                        content_type="application/webhook+json")
        self.assertEqual(r.status, 200, r.body)
        deadline = time.time() + 5
        while not updates() and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(len(updates()), 1, "no UpdateRoomMetadata call")
        update = updates()[0]
        self.assertEqual(update["room"], room)
        record = json.loads(update["metadata"])["roomgate"]
        self.assertEqual(record["owner"], "ada")
        self.assertEqual(record["agents"], ["helper-agent"])
        self.assertTrue(record["mac"])
        time.sleep(1.5)  # reconciliations meanwhile see it recorded: no second call
        self.assertEqual(len(updates()), 1)
        srv.stop()

        # A new process: no memory of ada's session but what LiveKit's metadata says.
        srv = rgtest.Server.config(cfg, tmp.path)
        srv.start()
        self.addCleanup(srv.stop)
        auth = rgtest.bearer(srv.login("ada", PASSWORDS["ada"]))
        deadline = time.time() + 5
        while time.time() < deadline:
            listed = srv.get("/v1/sessions", headers=auth)
            self.assertEqual(listed.status, 200, listed.body)
            if listed.body["sessions"]:
                break
            time.sleep(0.1)
        self.assertEqual([s["room_name"] for s in listed.body["sessions"]], [room])
        r = srv.post("/v1/sessions", {"agents": ["helper"]}, headers=auth)
        self.assertError(r, 429, "quota_exceeded")
        self.assertEqual(len(updates()), 1)
        # The record names its room: copied into another room's metadata (a participant
        # allowed to set room metadata), it makes that room nobody's.
        FakeRoomService.rooms = [dict(FakeRoomService.rooms[0], name="copied-room",
                                         sid="RM_copy")]
        time.sleep(1.5)
        listed = srv.get("/v1/sessions", headers=auth)
        self.assertEqual(listed.body["sessions"], [])  # ada's room is gone from ListRooms
        r = srv.post("/v1/sessions", {"agents": ["helper"]}, headers=auth)
        self.assertEqual(r.status, 201, r.body)
        self.assertHealthy(srv)


class LimitsConfigTests(rgtest.RoomgateTestCase):

    def check(self, limits):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "ada", "pw")
        path = rgtest.write_json(tmp.join("c.json"), rgtest.base_config(
            users_file=tmp.join("users.txt"),
            rules=[{"name": "r", "rooms": ["*"], "limits": limits}]))
        return rgtest.run_cli(["config", "check", path])

    def test_limits_settings(self):
        for ok in ({"live_sessions": 1}, {"sessions_per_hour": 20, "max_session": "30m"},
                   {"empty_timeout": "2m", "departure_timeout": 20}):
            with self.subTest(ok):
                p = self.check(ok)
                self.assertEqual(p.returncode, 0, p.stderr)
        for bad, why in (({"live_sessions": 0}, "live_sessions"),
                         ({"live_sessions": "2"}, "live_sessions"),
                         ({"sessions_per_hour": -1}, "sessions_per_hour"),
                         ({"max_session": "soon"}, "max_session"),
                         ({"empty_timeout": "2d"}, "empty_timeout"),
                         ({"max_sessions": 1}, "max_sessions"), ([], "limits")):
            with self.subTest(bad):
                p = self.check(bad)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(why, p.stderr + p.stdout)


if __name__ == "__main__":
    unittest.main()
