"""Policy: agent profiles and ordered rules from a config file, decided per
user; what ends up in the token (grants, TTL, agents and their metadata).

Users (local, created with `roomgate user add`):
  alice  groups admin,staff  -> rule "admins" (first match wins over "users")
  bob    group staff         -> rule "users"
  dave   group kiosk         -> rule "kiosk" (matched by user id; no session rooms)
  carol  group guest         -> no rule matches
"""
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

BOB_NAME = 'Bob "Bo" Builder'
PASSWORDS = {"alice": "alice-pw-1", "bob": "bob-pw-2", "carol": "carol-pw-3", "dave": "dave-pw-4"}

CONFIG = rgtest.base_config(
    agents={
        "support": {
            "agent_name": "support-agent",
            "description": "Support assistant",
            "deployment": "prod",
            "metadata": {"user_id": "{{user.id}}", "user_name": "{{user.name}}",
                         "room": "{{room}}", "tier": "gold"},
            "client_metadata": ["language", "topic"],
            "metadata_format": "json",
        },
        "sales": {
            "agent_name": "sales-agent",
            "metadata": {"user_id": "{{user.id}}", "groups": "{{user.groups}}",
                         "method": "{{user.method}}"},
            "client_metadata": "*",
        },
    },
    rules=[
        {"name": "admins", "match": {"groups": ["admin"]},
         "rooms": ["*"], "session_rooms": True, "agents": ["*"],
         "grants": {"roomAdmin": True}, "ttl": "30m"},
        {"name": "users", "match": {"groups": ["staff"], "methods": ["basic", "session"]},
         "rooms": ["lobby", "team-*"], "session_rooms": True, "agents": ["support"],
         "grants": {"canPublishData": False}, "ttl": "2h"},
        {"name": "kiosk", "match": {"users": ["dave"]},
         "rooms": ["lobby"], "session_rooms": False, "agents": []},
    ],
)

ROOM_RE = re.compile(r"^room-[A-Za-z0-9_-]{22}$")


def compact(s):
    """True if a JSON text has no whitespace outside its strings."""
    outside = re.sub(r'"(?:\\.|[^"\\])*"', '""', s)
    return not re.search(r"\s", outside)


class PolicyTests(rgtest.RoomgateTestCase):
    srv = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = rgtest.TempDir()
        users = cls.tmp.join("users.txt")
        rgtest.add_user(users, "alice", PASSWORDS["alice"], "Alice Admin", ["admin", "staff"])
        rgtest.add_user(users, "bob", PASSWORDS["bob"], BOB_NAME, ["staff"])
        rgtest.add_user(users, "carol", PASSWORDS["carol"], "Carol", ["guest"])
        rgtest.add_user(users, "dave", PASSWORDS["dave"], "Dave", ["kiosk"])
        cls.srv = rgtest.Server.config(CONFIG, cls.tmp.path).start()
        cls.auth = {u: rgtest.bearer(cls.srv.login(u, PASSWORDS[u])) for u in ("alice", "bob", "dave")}

    @classmethod
    def tearDownClass(cls):
        try:
            rgtest.stop_checked(cls.srv)
        finally:
            if cls.tmp:
                cls.tmp.cleanup()

    def tearDown(self):
        self.assertHealthy(self.srv)

    def token(self, user, body):
        return self.srv.post("/token", body, headers=self.auth[user])

    def session(self, user, body):
        return self.srv.post("/v1/sessions", body, headers=self.auth[user])

    def agent_req(self, name, metadata=None, room="lobby", **extra):
        a = {"agent_name": name}
        if metadata is not None:
            a["metadata"] = metadata
        a.update(extra)
        return {"room_name": room, "room_config": {"agents": [a]}}

    def assertPolicy403(self, resp, code, rule=None):
        err = self.assertError(resp, 403, code)
        if rule:
            self.assertIn(rule, err["message"], "403 message does not name the rule")
        return err

    # -- rooms ---------------------------------------------------------------

    def test_room_allowed_exact_and_glob(self):
        for room in ["lobby", "team-red", "team-"]:
            with self.subTest(room=room):
                body, claims = self.assertToken(self.token("bob", {"room_name": room}))
                self.assertEqual(claims["video"]["room"], room)
                self.assertIs(claims["video"]["roomJoin"], True)
                self.assertEqual(claims["sub"], "bob")
                self.assertEqual(body["server_url"], "ws://127.0.0.1:7880")
                self.assertTrue(rgtest.jwt_hs256_ok(body["participant_token"], rgtest.API_SECRET))
                self.assertEqual(claims["iss"], rgtest.API_KEY)
                self.assertEqual(rgtest.jwt_header(body["participant_token"])["alg"], "HS256")
                self.assertEqual(body.get("room_name"), room)
                self.assertEqual(body.get("participant_identity"), "bob")
                self.assertAlmostEqual(rgtest.expires_at_seconds(body.get("expires_at")),
                                       claims["exp"], delta=1)
                self.assertNotIn("roomConfig", claims, "roomConfig written with nothing set")
                self.assertNotIn("token", body, "OpenVidu 'token' field without the OpenVidu shape")

    def test_room_not_allowed(self):
        for room in ["secret", "lobby2", "xlobby", "team", "Team-red"]:
            with self.subTest(room=room):
                self.assertPolicy403(self.token("bob", {"room_name": room}),
                                     "room_not_allowed", "users")

    def test_admin_any_room(self):
        body, claims = self.assertToken(self.token("alice", {"room_name": "secret"}))
        self.assertEqual(claims["video"]["room"], "secret")

    # -- rule order, grants, TTL --------------------------------------------

    def test_first_match_wins_and_grants(self):
        _, a = self.assertToken(self.token("alice", {"room_name": "lobby"}))
        _, b = self.assertToken(self.token("bob", {"room_name": "lobby"}))
        # alice is in staff too, but "admins" comes first
        self.assertIs(a["video"].get("roomAdmin"), True, a["video"])
        self.assertNotEqual(a["video"].get("canPublishData"), False, a["video"])
        self.assertFalse(b["video"].get("roomAdmin", False), b["video"])
        self.assertIs(b["video"].get("canPublishData"), False, b["video"])
        for v in (a["video"], b["video"]):
            self.assertIs(v.get("canPublish"), True, v)
            self.assertIs(v.get("canSubscribe"), True, v)
            self.assertIs(v.get("roomJoin"), True, v)
            self.assertEqual(v.get("room"), "lobby")

    def test_grants_cannot_be_requested_by_client(self):
        r = self.token("bob", {"room_name": "lobby", "video": {"roomAdmin": True}})
        self.assertError(r, 400, "invalid_request")

    def test_ttl_from_rule_and_capped(self):
        cases = [("alice", 30 * 60), ("bob", 3600), ("dave", 600)]  # bob: 2h capped at 1h
        for user, ttl in cases:
            with self.subTest(user=user):
                t0 = time.time()
                body, claims = self.assertToken(self.token(user, {"room_name": "lobby"}))
                self.assertEqual(claims["exp"] - claims["nbf"], ttl, claims)
                self.assertLessEqual(abs(claims["nbf"] - t0), 5)
                self.assertIn("expires_at", body)
                self.assertAlmostEqual(rgtest.expires_at_seconds(body["expires_at"]),
                                       claims["exp"], delta=1)

    def test_no_matching_rule(self):
        carol = rgtest.basic("carol", PASSWORDS["carol"])
        self.assertError(self.srv.post("/token", {"room_name": "lobby"}, headers=carol),
                         403, "no_matching_rule")
        self.assertError(self.srv.post("/v1/sessions", {}, headers=carol), 403, "no_matching_rule")

    # -- identity ------------------------------------------------------------

    def test_identity_of_another_user(self):
        self.assertPolicy403(self.token("bob", {"room_name": "lobby", "participant_identity": "alice"}),
                             "identity_not_allowed")
        self.assertPolicy403(self.token("bob", {"room_name": "lobby", "participantIdentity": "alice"}),
                             "identity_not_allowed")

    def test_own_identity_and_name(self):
        body, claims = self.assertToken(self.token("bob", {
            "room_name": "lobby", "participant_identity": "bob", "participant_name": "Bobby",
            "participant_metadata": '{"x":1}', "participant_attributes": {"k": "v"}}))
        self.assertEqual(claims["sub"], "bob")
        self.assertEqual(claims["name"], "Bobby")
        self.assertEqual(claims["metadata"], '{"x":1}')
        self.assertEqual(claims["attributes"], {"k": "v"})
        self.assertEqual(body.get("participant_identity"), "bob")

    # -- session rooms --------------------------------------------------------

    def test_session_rooms_false(self):
        self.assertPolicy403(self.token("dave", {}), "room_not_allowed", "kiosk")
        self.assertPolicy403(self.token("dave", {"participant_name": "D"}), "room_not_allowed", "kiosk")
        self.assertPolicy403(self.session("dave", {}), "room_not_allowed", "kiosk")
        # the exact room of the rule still works
        self.assertToken(self.token("dave", {"room_name": "lobby"}))

    def test_token_without_room_provisions_one(self):
        body, claims = self.assertToken(self.token("bob", {}))
        room = body.get("room_name")
        self.assertIsInstance(room, str)
        self.assertRegex(room, ROOM_RE)
        self.assertEqual(claims["video"]["room"], room)
        body2, _ = self.assertToken(self.token("bob", {}))
        self.assertNotEqual(body2["room_name"], room)

    # -- agents ---------------------------------------------------------------

    def test_agent_allowed_with_client_metadata(self):
        body, claims = self.assertToken(self.token(
            "bob", self.agent_req("support-agent", '{"language":"de"}')))
        rc = claims["roomConfig"]
        self.assertEqual(set(rc), {"agents"}, "roomConfig holds fields that were not set: %r" % rc)
        self.assertEqual(len(rc["agents"]), 1)
        agent = rc["agents"][0]
        self.assertLessEqual(set(agent), {"agentName", "metadata", "deployment"}, agent)
        self.assertEqual(agent["agentName"], "support-agent")
        self.assertEqual(agent.get("deployment"), "prod")
        self.assertIsInstance(agent["metadata"], str)
        self.assertTrue(compact(agent["metadata"]), "job metadata not compact: %r" % agent["metadata"])
        md = json.loads(agent["metadata"])
        self.assertEqual(md, {"language": "de", "user_id": "bob", "user_name": BOB_NAME,
                              "room": "lobby", "tier": "gold"})

    def test_agent_camelcase_request(self):
        body, claims = self.assertToken(self.token("bob", {
            "roomName": "team-a", "roomConfig": {"agents": [
                {"agentName": "support-agent", "metadata": '{"topic":"billing"}'}]}}))
        md = json.loads(claims["roomConfig"]["agents"][0]["metadata"])
        self.assertEqual(md["topic"], "billing")
        self.assertEqual(md["room"], "team-a")

    def test_agent_metadata_object(self):
        body, claims = self.assertToken(self.token(
            "bob", self.agent_req("support-agent", {"language": "en", "topic": "x"})))
        md = json.loads(claims["roomConfig"]["agents"][0]["metadata"])
        self.assertEqual(md["language"], "en")
        self.assertEqual(md["topic"], "x")

    def test_agent_without_metadata_gets_template(self):
        body, claims = self.assertToken(self.token("bob", self.agent_req("support-agent")))
        md = json.loads(claims["roomConfig"]["agents"][0]["metadata"])
        self.assertEqual(md, {"user_id": "bob", "user_name": BOB_NAME, "room": "lobby", "tier": "gold"})

    def test_agent_not_allowed(self):
        for name in ["sales-agent", "random-agent"]:
            with self.subTest(agent=name):
                self.assertPolicy403(self.token("bob", self.agent_req(name, "{}")),
                                     "agent_not_allowed", "users")
        self.assertPolicy403(self.token("dave", self.agent_req("support-agent", "{}")),
                             "agent_not_allowed", "kiosk")

    def test_one_bad_agent_refuses_all(self):
        r = self.token("bob", {"room_name": "lobby", "room_config": {"agents": [
            {"agent_name": "support-agent"}, {"agent_name": "sales-agent"}]}})
        self.assertPolicy403(r, "agent_not_allowed")

    def test_metadata_field_not_allowed(self):
        self.assertPolicy403(self.token("bob", self.agent_req("support-agent", '{"colour":"red"}')),
                             "metadata_not_allowed")
        # server template fields are not client fields either
        self.assertPolicy403(self.token("bob", self.agent_req("support-agent", '{"user_id":"alice"}')),
                             "metadata_not_allowed")
        self.assertPolicy403(self.token("bob", self.agent_req(
            "support-agent", '{"language":"de","tier":"platinum"}')), "metadata_not_allowed")

    def test_metadata_not_json_object(self):
        for md in ["hello", "[1,2]", '"str"', "42", '{"language": "de"', "null"]:
            with self.subTest(metadata=md):
                self.assertError(self.token("bob", self.agent_req("support-agent", md)), 400,
                                 "invalid_metadata")

    def test_server_fields_win_over_client(self):
        client = {"user_id": "mallory", "room": "elsewhere", "groups": ["root"], "method": "api_key",
                  "note": "{{user.id}}", "x": 1}
        body, claims = self.assertToken(self.token(
            "alice", self.agent_req("sales-agent", json.dumps(client), room="board")))
        md = json.loads(claims["roomConfig"]["agents"][0]["metadata"])
        self.assertEqual(md["user_id"], "alice")
        self.assertEqual(md["groups"], ["admin", "staff"])
        self.assertEqual(md["method"], "session")
        self.assertEqual(md["x"], 1)
        self.assertEqual(md["room"], "elsewhere")  # not a template field of "sales": client's
        # client strings are data, not templates
        self.assertEqual(md["note"], "{{user.id}}")

    def test_wildcard_rule_passes_other_agents_unchanged(self):
        body, claims = self.assertToken(self.token(
            "alice", self.agent_req("random-agent", "not json at all")))
        agent = claims["roomConfig"]["agents"][0]
        self.assertEqual(agent["agentName"], "random-agent")
        self.assertEqual(agent["metadata"], "not json at all")

    # -- /v1/sessions -----------------------------------------------------------

    def test_sessions(self):
        t0 = time.time()
        rooms = set()
        for i in range(2):
            r = self.session("bob", {"agents": ["support"], "participant_name": "Bobby",
                                     "metadata": {"language": "fr"}})
            self.assertEqual(r.status, 201, repr(r))
            self.assertEqual(r.headers.get("Cache-Control"), "no-store")
            b = r.body
            for k in ("server_url", "room_name", "participant_identity", "participant_token",
                      "expires_at", "agents"):
                self.assertIn(k, b)
            self.assertRegex(b["room_name"], ROOM_RE)
            rooms.add(b["room_name"])
            self.assertEqual(b["participant_identity"], "bob")
            self.assertEqual(b["server_url"], "ws://127.0.0.1:7880")
            exp = rgtest.expires_at_seconds(b["expires_at"])
            self.assertGreater(exp, t0 + 60)
            claims = rgtest.jwt_payload(b["participant_token"])
            self.assertAlmostEqual(exp, claims["exp"], delta=1)
            self.assertEqual(claims["sub"], "bob")
            self.assertEqual(claims["name"], "Bobby")
            self.assertEqual(claims["video"]["room"], b["room_name"])
            self.assertIs(claims["video"]["canPublishData"], False)
            self.assertEqual(len(b["agents"]), 1)
            agent = b["agents"][0]
            self.assertEqual(agent["agent_name"], "support-agent")
            md = agent["metadata"]
            md = json.loads(md) if isinstance(md, str) else md
            self.assertEqual(md, {"language": "fr", "user_id": "bob", "user_name": BOB_NAME,
                                  "room": b["room_name"], "tier": "gold"})
            tok_agents = claims["roomConfig"]["agents"]
            self.assertEqual(len(tok_agents), 1)
            self.assertEqual(tok_agents[0]["agentName"], "support-agent")
            self.assertEqual(json.loads(tok_agents[0]["metadata"]), md)
        self.assertEqual(len(rooms), 2, "the same room was provisioned twice")

    def test_sessions_empty_body(self):
        r = self.session("alice", None)
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(r.body["agents"], [])
        self.assertRegex(r.body["room_name"], ROOM_RE)

    def test_sessions_agent_not_allowed(self):
        self.assertPolicy403(self.session("bob", {"agents": ["sales"]}), "agent_not_allowed", "users")

    def test_sessions_metadata_not_allowed(self):
        self.assertPolicy403(self.session("bob", {"agents": ["support"], "metadata": {"colour": "red"}}),
                             "metadata_not_allowed")

    def test_sessions_bad_types(self):
        for body in [{"agents": "support"}, {"agents": [5]}, {"participant_name": 3}]:
            with self.subTest(body=body):
                self.assertError(self.session("bob", body), 400, "invalid_request")
        # metadata that is not a JSON object: the contract's invalid_metadata
        for md in ["language=fr", [1], 5]:
            with self.subTest(metadata=md):
                self.assertError(self.session("bob", {"agents": ["support"], "metadata": md}),
                                 400, "invalid_metadata")


NAME_PATTERN = "lobby|team-[a-z]+|room-[A-Za-z0-9_-]{22}"
BAD_IDENTITIES = ["svc ", " svc", "\tsvc", "a\u0001b", "a\u007fb", "a\u0085b", "a\u2028b",
                  "a\u2029b", "i" * 129]


class NameTests(rgtest.RoomgateTestCase):
    """SPEC "Names that enter" with a site's rooms.name_pattern, and the
    identities an API key with act_as chooses."""
    srv = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = rgtest.TempDir()
        users = cls.tmp.join("users.txt")
        rgtest.add_user(users, "bob", PASSWORDS["bob"], BOB_NAME, ["staff"])
        cp = rgtest.run_cli(["apikey", "create", "backend"])
        if cp.returncode != 0:
            raise AssertionError("apikey create: %s" % cp.stderr)
        key, entry = cp.stdout.strip().splitlines()
        entry = json.loads(entry)
        entry.update(scopes=["act_as"], groups=["admin"])
        cfg = dict(CONFIG, api_keys=[entry],
                   rooms={"prefix": "room-", "name_pattern": NAME_PATTERN})
        cls.srv = rgtest.Server.config(cfg, cls.tmp.path).start()
        cls.bob = rgtest.bearer(cls.srv.login("bob", PASSWORDS["bob"]))
        cls.backend = rgtest.bearer(key)

    @classmethod
    def tearDownClass(cls):
        try:
            rgtest.stop_checked(cls.srv)
        finally:
            if cls.tmp:
                cls.tmp.cleanup()

    def tearDown(self):
        self.assertHealthy(self.srv)

    def test_pattern_accepts(self):
        for room in ["lobby", "team-red"]:
            with self.subTest(room=room):
                body, claims = self.assertToken(self.srv.post("/token", {"room_name": room},
                                                              headers=self.bob))
                self.assertEqual(claims["video"]["room"], room)
        # provisioned rooms (prefix + random) pass the same rule
        body, claims = self.assertToken(self.srv.post("/token", {}, headers=self.bob))
        self.assertRegex(body["room_name"], ROOM_RE)
        body, claims = self.assertToken(self.srv.post("/v1/sessions", {}, headers=self.bob))
        self.assertRegex(body["room_name"], ROOM_RE)

    def test_pattern_refuses(self):
        # checked before the rule's rooms: 400 naming the pattern, not 403
        for room in ["Test Room", "team-Red", "lobby2", "xlobby", "team-"]:
            with self.subTest(room=room):
                for who in (self.bob, self.backend):
                    err = self.assertError(self.srv.post("/token", {"room_name": room},
                                                         headers=who), 400, "invalid_room_name")
                    self.assertIn(NAME_PATTERN, err["message"])
                err = self.assertError(self.srv.get("/v1/dispatch?room_name=" + urllib.parse.quote(room),
                                                    headers=self.backend), 400, "invalid_room_name")
                self.assertIn(NAME_PATTERN, err["message"])
                err = self.assertError(self.srv.post("/v1/dispatch", {"room_name": room,
                                                                      "agent": "support"},
                                                     headers=self.backend), 400, "invalid_room_name")
                self.assertIn(NAME_PATTERN, err["message"])

    def test_pattern_does_not_loosen_the_rule(self):
        err = self.assertError(self.srv.post("/token", {"room_name": "team-a/b"}, headers=self.bob),
                               400, "invalid_room_name")
        self.assertIn("128 bytes", err["message"])

    def test_bad_participant_identity(self):
        for ident in BAD_IDENTITIES:
            with self.subTest(identity=ident):
                err = self.assertError(self.srv.post("/token", {
                    "room_name": "lobby", "participant_identity": ident}, headers=self.backend),
                    400, "invalid_identity")
                self.assertIn("participant_identity", err["message"])
                self.assertIn("128 bytes", err["message"])

    def test_bad_identity_of_a_user_is_400_before_403(self):
        err = self.assertError(self.srv.post("/token", {
            "room_name": "lobby", "participant_identity": "bob "}, headers=self.bob),
            400, "invalid_identity")
        self.assertIn("whitespace", err["message"])

    def test_good_participant_identity(self):
        for ident in ["Test User", "i" * 128, "José Núñez", "user@example.com", "a/b"]:
            with self.subTest(identity=ident):
                body, claims = self.assertToken(self.srv.post("/token", {
                    "room_name": "lobby", "participant_identity": ident}, headers=self.backend))
                self.assertEqual(claims["sub"], ident)
                self.assertEqual(body["participant_identity"], ident)


if __name__ == "__main__":
    unittest.main()
