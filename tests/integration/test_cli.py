"""The command line: --help/--version, config check, user add, token create
and token inspect."""
import json
import os
import stat
import tempfile
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

run = rgtest.run_cli


def good_config():
    cfg = rgtest.base_config(
        agents={"support": {"agent_name": "support-agent",
                            "metadata": {"user_id": "{{user.id}}"},
                            "client_metadata": ["language"]}},
        rules=[{"name": "users", "match": {"methods": ["basic", "session"]},
                "rooms": ["lobby", "team-*"], "session_rooms": True,
                "agents": ["support"], "grants": {"canPublishData": False}, "ttl": "30m"}])
    return cfg


class CliBasics(rgtest.RoomgateTestCase):

    def test_help(self):
        cp = run(["--help"])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        text = cp.stdout + cp.stderr
        for word in ["serve", "token", "user", "config"]:
            self.assertIn(word, text)
        self.assertTrue(cp.stdout.strip(), "--help prints nothing on stdout")

    def test_version(self):
        cp = run(["--version"])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.strip(), "roomgate 0.1.0")

    def test_unknown_command(self):
        cp = run(["frobnicate"])
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue(cp.stderr.strip(), "no message for an unknown command")

    def test_no_arguments(self):
        cp = run([])
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue((cp.stderr + cp.stdout).strip())


class ConfigCheck(rgtest.RoomgateTestCase):
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = rgtest.TempDir()
        rgtest.add_user(cls.tmp.join("users.txt"), "frank", "frank-pw", "Frank", ["staff"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check(self, cfg, name):
        if isinstance(cfg, (dict, list)):
            path = rgtest.write_json(self.tmp.join(name), cfg)
        else:
            path = self.tmp.join(name)
            with open(path, "w") as f:
                f.write(cfg)
        return run(["config", "check", path])

    def assertBroken(self, cp, *words):
        self.assertEqual(cp.returncode, 1, "stdout %r stderr %r" % (cp.stdout, cp.stderr))
        self.assertTrue(cp.stderr.strip(), "config check failed without a message")
        self.assertNotEqual(cp.stdout.strip(), "ok")
        for w in words:
            self.assertIn(w, cp.stderr)

    def test_good_config(self):
        cp = self.check(good_config(), "good.json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.strip(), "ok")

    def test_contract_example_config(self):
        # the example config of docs/http-contract.md (minus web_root)
        cfg = good_config()
        cfg["cors"] = {"origins": ["https://app.example.com", "http://localhost:*"]}
        cfg["agents"] = {"support": {
            "agent_name": "support-agent", "description": "Support assistant", "deployment": "prod",
            "metadata": {"user_id": "{{user.id}}", "user_name": "{{user.name}}", "room": "{{room}}",
                         "tier": "gold"},
            "client_metadata": ["language", "topic"], "metadata_format": "json"}}
        cfg["rules"] = [
            {"name": "admins", "match": {"groups": ["admin"]}, "rooms": ["*"], "session_rooms": True,
             "agents": ["*"], "grants": {"roomAdmin": True}, "ttl": "30m"},
            {"name": "users", "match": {"methods": ["basic", "session"]},
             "rooms": ["lobby", "team-*"], "session_rooms": True, "agents": ["support"],
             "grants": {"canPublishData": False}}]
        cp = self.check(cfg, "example.json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.strip(), "ok")

    def test_bad_json(self):
        self.assertBroken(self.check('{"listen": "127.0.0.1:0", ', "badjson.json"))

    def test_not_an_object(self):
        self.assertBroken(self.check("[1, 2]", "array.json"))

    def test_missing_file(self):
        cp = run(["config", "check", self.tmp.join("does-not-exist.json")])
        self.assertEqual(cp.returncode, 1)
        self.assertTrue(cp.stderr.strip())

    def test_unknown_profile_in_rule(self):
        cfg = good_config()
        cfg["rules"][0]["agents"] = ["support", "nonexistent-profile"]
        self.assertBroken(self.check(cfg, "badprofile.json"), "nonexistent-profile")

    def test_bad_duration(self):
        # the message names the field or quotes the value
        cases = [("rule", lambda c: c["rules"][0].update(ttl="10 parsecs"), ("rules", "10 parsecs")),
                 ("default", lambda c: c["tokens"].update(default_ttl="soon"), ("default_ttl", "soon")),
                 ("negative", lambda c: c["tokens"].update(max_ttl="-5m"), ("max_ttl", "-5m")),
                 ("session", lambda c: c["session"].update(ttl="1y"), ("session", "1y"))]
        for name, mutate, words in cases:
            with self.subTest(case=name):
                cfg = good_config()
                mutate(cfg)
                cp = self.check(cfg, "dur-%s.json" % name)
                self.assertBroken(cp)
                self.assertTrue(any(w in cp.stderr for w in words),
                                "message names neither %r: %r" % (words, cp.stderr))

    def test_wrong_types(self):
        cases = [("rules-not-array", lambda c: c.update(rules={"users": {}})),
                 ("grant-unknown", lambda c: c["rules"][0].update(grants={"canFly": True})),
                 ("grant-type", lambda c: c["rules"][0].update(grants={"canPublish": "yes"})),
                 ("session-short-secret", lambda c: c["session"].update(secret="short")),
                 ("users-file-missing", lambda c: c.update(users_file="no-such-users.txt"))]
        for name, mutate in cases:
            with self.subTest(case=name):
                cfg = good_config()
                mutate(cfg)
                self.assertBroken(self.check(cfg, "types-%s.json" % name))

    # -- names that enter (SPEC) ------------------------------------------

    def test_name_pattern_good(self):
        for pattern in ["[A-Za-z0-9_-]+", "lobby|team-[a-z]+|room-[A-Za-z0-9_-]{22}"]:
            with self.subTest(pattern=pattern):
                cfg = good_config()
                cfg["rooms"] = {"prefix": "room-", "name_pattern": pattern}
                cp = self.check(cfg, "pattern-good.json")
                self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_name_pattern_bad(self):
        for pattern in ["[a-z", "a)|(b", "(", "", 5]:
            with self.subTest(pattern=pattern):
                cfg = good_config()
                cfg["rooms"] = {"prefix": "room-", "name_pattern": pattern}
                self.assertBroken(self.check(cfg, "pattern-bad.json"), "rooms.name_pattern")

    def test_name_pattern_refusing_provisioned_rooms(self):
        # rooms.prefix + 22 base64url characters must pass the pattern too
        cfg = good_config()
        cfg["rooms"] = {"prefix": "room-", "name_pattern": "[a-z-]+"}
        self.assertBroken(self.check(cfg, "pattern-prefix.json"), "rooms.prefix", "[a-z-]+")

    def test_room_prefix_against_the_rule(self):
        for prefix in ["a..", "..", "x/", "r "]:
            with self.subTest(prefix=prefix):
                cfg = good_config()
                cfg["rooms"] = {"prefix": prefix}
                self.assertBroken(self.check(cfg, "prefix.json"), "rooms.prefix")

    def test_profile_agent_name(self):
        for name in ["my agent", "a\u0001", "x" * 65, "", "agent/1"]:
            with self.subTest(agent_name=name):
                cfg = good_config()
                cfg["agents"]["support"]["agent_name"] = name
                self.assertBroken(self.check(cfg, "agentname.json"), "agents.support.agent_name",
                                  "A-Z a-z 0-9 . _ -")
        cfg = good_config()
        cfg["agents"]["support"]["agent_name"] = "x" * 64
        cp = self.check(cfg, "agentname-64.json")
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_api_key_name_is_an_identity(self):
        cp = run(["apikey", "create", "svc"])
        entry = json.loads(cp.stdout.strip().splitlines()[1])
        for name in ["svc ", "s\u0001", "i" * 129]:
            with self.subTest(name=name):
                cfg = good_config()
                cfg["api_keys"] = [dict(entry, name=name)]
                self.assertBroken(self.check(cfg, "apikey-name.json"), "api_keys[0].name")


class UserAdd(rgtest.RoomgateTestCase):

    def setUp(self):
        self.tmp = rgtest.TempDir()
        self.addCleanup(self.tmp.cleanup)

    def lines(self, path):
        with open(path) as f:
            return [l for l in f.read().splitlines() if l.strip()]

    def test_user_add_replace_and_login(self):
        users = self.tmp.join("users.txt")
        rgtest.add_user(users, "gina", "first-password-1", "Gina G", ["alpha", "beta"])
        mode = stat.S_IMODE(os.stat(users).st_mode)
        self.assertEqual(mode, 0o600, "users file mode is %o" % mode)
        lines = self.lines(users)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("gina:"), lines[0])
        self.assertIn("$pbkdf2-sha256$600000$", lines[0])
        self.assertIn("Gina G", lines[0])
        self.assertIn("alpha,beta", lines[0])
        self.assertNotIn("first-password-1", lines[0])
        first_hash = lines[0]

        # re-adding replaces the line; another user adds one
        rgtest.add_user(users, "gina", "second-password-2", "Gina G", ["alpha", "beta"])
        rgtest.add_user(users, "hank", "second-password-2", "Hank", ["beta"])
        lines = self.lines(users)
        self.assertEqual(len(lines), 2, lines)
        gina = [l for l in lines if l.startswith("gina:")]
        hank = [l for l in lines if l.startswith("hank:")]
        self.assertEqual(len(gina), 1, lines)
        self.assertEqual(len(hank), 1, lines)
        self.assertNotEqual(gina[0], first_hash)
        self.assertEqual(stat.S_IMODE(os.stat(users).st_mode), 0o600)
        # same password, different salt
        self.assertNotEqual(gina[0].split(":")[1], hank[0].split(":")[1])

        cfg = good_config()
        srv = rgtest.Server.config(cfg, self.tmp.path).start()
        self.addCleanup(srv.kill)
        r = srv.post("/v1/login", {"username": "gina", "password": "second-password-2"})
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body["token_type"], "Bearer")
        r = srv.post("/v1/login", {"username": "gina", "password": "first-password-1"})
        self.assertError(r, 401, "invalid_credentials")
        self.assertStops(srv)

    def test_user_add_errors(self):
        users = self.tmp.join("users.txt")
        cp = run(["user", "add", users], stdin="pw\n")
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue(cp.stderr.strip())
        for bad in ["bad:name", "", "new\nline", "alice ", " alice", "a\u0001b", "a\u2028b",
                    "i" * 129]:
            with self.subTest(name=bad):
                cp = run(["user", "add", users, bad], stdin="pw-123456\n")
                self.assertNotEqual(cp.returncode, 0, "user add accepted the name %r" % bad)
        if os.path.exists(users):
            self.assertEqual(self.lines(users), [])


class TokenCreate(rgtest.RoomgateTestCase):
    KEY, SECRET = "APIcliKey", "cli-secret-0123456789abcdefghijkl"

    def create(self, args, env=None):
        return run(["token", "create"] + args, env=env)

    def test_token_create_claims(self):
        cp = self.create(["--identity", "alice", "--room", "my-room", "--name", "Alice",
                          "--metadata", '{"a":1}', "--attribute", "k=v", "--attribute", "eq=a=b",
                          "--agent", "test-agent", "--agent", "second-agent",
                          "--job-metadata", '{"user_id":"12345"}', "--deployment", "prod",
                          "--grant", "canPublish=false", "--grant", "hidden=true", "--ttl", "10m",
                          "--api-key", self.KEY, "--api-secret", self.SECRET])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        out = cp.stdout.strip().splitlines()
        self.assertEqual(len(out), 1, cp.stdout)
        jwt = out[0].strip()
        self.assertTrue(rgtest.jwt_hs256_ok(jwt, self.SECRET), "does not verify with the secret")
        self.assertEqual(rgtest.jwt_header(jwt)["alg"], "HS256")
        c = rgtest.jwt_payload(jwt)
        self.assertEqual(c["iss"], self.KEY)
        self.assertEqual(c["sub"], "alice")
        self.assertEqual(c["name"], "Alice")
        self.assertEqual(c["metadata"], '{"a":1}')
        self.assertEqual(c["attributes"], {"k": "v", "eq": "a=b"})
        self.assertEqual(c["exp"] - c["nbf"], 600)
        v = c["video"]
        self.assertIs(v["roomJoin"], True)
        self.assertEqual(v["room"], "my-room")
        self.assertIs(v["canPublish"], False)
        self.assertIs(v["hidden"], True)
        agents = c["roomConfig"]["agents"]
        self.assertEqual([a["agentName"] for a in agents], ["test-agent", "second-agent"])
        for a in agents:
            self.assertEqual(json.loads(a["metadata"]), {"user_id": "12345"})
            self.assertEqual(a.get("deployment"), "prod")
            self.assertLessEqual(set(a), {"agentName", "metadata", "deployment"})
        self.assertEqual(set(c["roomConfig"]), {"agents"})

    def test_token_create_env_credentials_and_ttl(self):
        env = {"LIVEKIT_API_KEY": "APIfromEnv", "LIVEKIT_API_SECRET": "env-secret-abcdefghijklmnopqrstuvwxyz"}
        cp = self.create(["--identity", "bob", "--room", "r1", "--ttl", "1h"], env=env)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        jwt = cp.stdout.strip()
        c = rgtest.jwt_payload(jwt)
        self.assertEqual(c["iss"], "APIfromEnv")
        self.assertTrue(rgtest.jwt_hs256_ok(jwt, env["LIVEKIT_API_SECRET"]))
        self.assertEqual(c["exp"] - c["nbf"], 3600)
        self.assertNotIn("roomConfig", c)

    def test_token_create_missing_identity(self):
        cp = self.create(["--room", "my-room", "--api-key", self.KEY, "--api-secret", self.SECRET])
        self.assertNotEqual(cp.returncode, 0)
        self.assertEqual(cp.stdout.strip(), "", "printed a token without an identity")
        self.assertIn("identity", cp.stderr.lower())

    def test_token_create_missing_credentials(self):
        cp = self.create(["--identity", "alice", "--room", "r"])
        self.assertNotEqual(cp.returncode, 0)
        self.assertEqual(cp.stdout.strip(), "")
        self.assertTrue(cp.stderr.strip())

    def test_token_create_bad_options(self):
        base = ["--identity", "alice", "--room", "r", "--api-key", self.KEY, "--api-secret", self.SECRET]
        for extra in [["--grant", "canFly=true"], ["--grant", "canPublish=maybe"], ["--ttl", "forever"],
                      ["--attribute", "novalue"], ["--bogus-flag"], ["--identity"]]:
            with self.subTest(extra=extra):
                cp = self.create(base + extra)
                self.assertNotEqual(cp.returncode, 0, "accepted %r: %s" % (extra, cp.stdout))
                self.assertTrue(cp.stderr.strip())
                self.assertEqual(cp.stdout.strip(), "")

    def test_token_create_names(self):
        # SPEC "Names that enter": the same rule as the server's
        base = ["--api-key", self.KEY, "--api-secret", self.SECRET]
        bad = [["--room", r] for r in ["team-../../x", "a/b", "a\\b", "..", "x..y", "room ",
                                       "\troom", "\u0001", "a\u2028b", "r" * 129]]
        bad += [["--room", b"caf\xc3"], ["--room", b"\xff"]]  # invalid UTF-8
        for extra in bad:
            with self.subTest(extra=extra):
                cp = self.create(["--identity", "alice"] + extra + base)
                self.assertNotEqual(cp.returncode, 0, "accepted %r: %s" % (extra, cp.stdout))
                self.assertEqual(cp.stdout.strip(), "")
                self.assertIn("--room", cp.stderr)
                self.assertIn("128 bytes", cp.stderr)
        for ident in ["alice ", "\talice", "a\u0001", "a\u2029b", "i" * 129, b"\xc3("]:
            with self.subTest(identity=ident):
                cp = self.create(["--identity", ident, "--room", "r"] + base)
                self.assertNotEqual(cp.returncode, 0, "accepted %r: %s" % (ident, cp.stdout))
                self.assertEqual(cp.stdout.strip(), "")
                self.assertIn("--identity", cp.stderr)
        for agent in ["", "my agent", "a\u0001", "x" * 65, "a/b"]:
            with self.subTest(agent=agent):
                cp = self.create(["--identity", "alice", "--room", "r", "--agent", agent] + base)
                self.assertNotEqual(cp.returncode, 0, "accepted %r: %s" % (agent, cp.stdout))
                self.assertEqual(cp.stdout.strip(), "")
                self.assertIn("A-Z a-z 0-9 . _ -", cp.stderr)
        for room in ["Test Room", "r" * 128, "Sala de reunión"]:
            with self.subTest(room=room):
                cp = self.create(["--identity", "Alice A", "--room", room, "--agent", "a" * 64]
                                 + base)
                self.assertEqual(cp.returncode, 0, cp.stderr)
                c = rgtest.jwt_payload(cp.stdout.strip())
                self.assertEqual(c["video"]["room"], room)
                self.assertEqual(c["sub"], "Alice A")

    def test_token_inspect(self):
        cp = self.create(["--identity", "alice", "--room", "r", "--api-key", self.KEY,
                          "--api-secret", self.SECRET])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        jwt = cp.stdout.strip()
        ok = run(["token", "inspect", jwt, "--secret", self.SECRET])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        out = json.loads(ok.stdout)
        self.assertIs(out["verified"], True)
        self.assertEqual(out["claims"]["sub"], "alice")
        self.assertEqual(out["header"]["alg"], "HS256")
        bad = run(["token", "inspect", jwt, "--secret", "wrong-secret"])
        self.assertEqual(bad.returncode, 1)
        self.assertIs(json.loads(bad.stdout)["verified"], False)
        nos = run(["token", "inspect", jwt])
        self.assertEqual(nos.returncode, 0, nos.stderr)
        self.assertIsNone(json.loads(nos.stdout)["verified"])
        garbage = run(["token", "inspect", "not-a-jwt"])
        self.assertNotEqual(garbage.returncode, 0)
        self.assertTrue(garbage.stderr.strip())


if __name__ == "__main__":
    unittest.main()


class StartupErrors(unittest.TestCase):
    """Startup refusals say why (exit 1)."""

    def test_dev_mode_refuses_non_loopback_listen(self):
        for listen in ("0.0.0.0:0", "8080", "192.0.2.1:8080"):
            cp = rgtest.run_cli(["serve", "--dev", "--listen", listen], timeout=20)
            self.assertEqual(cp.returncode, 1, (listen, cp.stderr))
            self.assertIn("dev mode listens on 127.0.0.1:PORT only", cp.stderr)
            self.assertNotIn('"listening"', cp.stderr)

    def test_livekit_url_that_is_not_utf8_is_refused(self):
        # LIVEKIT_URL from the environment is the one way to get bytes that
        # are not UTF-8 into it (config files are parsed as JSON); /token
        # writes it into every answer
        with tempfile.TemporaryDirectory() as tmp:
            cfg = rgtest.base_config()
            cfg.pop("users_file")
            path = rgtest.write_json(os.path.join(tmp, "c.json"), cfg)
            cp = rgtest.run_cli(["config", "check", path],
                                env={"LIVEKIT_URL": "wss://lk.example.test/\udcff"})
            self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
            self.assertIn("livekit.url must be UTF-8 text", cp.stdout + cp.stderr)
            cp = rgtest.run_cli(["config", "check", path],
                                env={"LIVEKIT_URL": "wss://lk.example.test/ü"})
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)

    def test_missing_config_file_is_named(self):
        missing = os.path.join(tempfile.gettempdir(), "rg-no-such-config.json")
        cp = rgtest.run_cli(["config", "check", missing])
        self.assertEqual(cp.returncode, 1)
        self.assertIn("cannot open %s" % missing, cp.stdout + cp.stderr)
        cp = rgtest.run_cli(["serve", "--config", missing], timeout=20)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("cannot open %s" % missing, cp.stderr)
