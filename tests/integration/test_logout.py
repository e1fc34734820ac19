"""Session tokens follow the user's current rights (issue security-2, item 4):
a session token from /v1/login is checked against the users file on every
use, so a group removed (file edited, SIGHUP), a deleted user or a new
password takes effect at once; POST /v1/logout ends a session token.

Failing attempts come from fresh loopback source addresses so that the
failed-login limit cannot turn a 401 into a 429.
"""
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

PASSWORDS = {"ada": "ada-password-1", "max": "max-password-2", "pia": "pia-password-3"}

CONFIG = rgtest.base_config(
    agents={"boss": {"agent_name": "boss-agent"}, "help": {"agent_name": "help-agent"}},
    rules=[
        {"name": "admins", "match": {"groups": ["admin"]},
         "rooms": ["admin-*", "lobby"], "session_rooms": True, "agents": ["boss", "help"]},
        {"name": "staff", "match": {"groups": ["staff"]},
         "rooms": ["lobby"], "session_rooms": True, "agents": ["help"]},
    ],
)


class LogoutTests(rgtest.RoomgateTestCase):

    def setUp(self):
        self.tmp = rgtest.TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.users = self.tmp.join("users.txt")
        rgtest.add_user(self.users, "ada", PASSWORDS["ada"], "Ada", ["admin", "staff"])
        rgtest.add_user(self.users, "max", PASSWORDS["max"], "Max", ["staff"])
        rgtest.add_user(self.users, "pia", PASSWORDS["pia"], "Pia", ["admin", "staff"])
        self.srv = rgtest.Server.config(CONFIG, self.tmp.path).start()
        self.addCleanup(self.srv.kill)

    def tearDown(self):
        self.assertHealthy(self.srv)

    def token(self, tok, room="admin-room", src=None):
        return self.srv.post("/token", {"room_name": room}, headers=rgtest.bearer(tok),
                             source=src or rgtest.fresh_source())

    def session(self, tok, agents):
        return self.srv.post("/v1/sessions", {"agents": agents}, headers=rgtest.bearer(tok),
                             source=rgtest.fresh_source())

    def logout(self, headers, body=None, **kw):
        return self.srv.post("/v1/logout", {} if body is None else body, headers=headers,
                             source=kw.pop("source", None) or rgtest.fresh_source(), **kw)

    def edit_users(self, fn):
        with open(self.users, encoding="utf-8") as f:
            lines = f.read().splitlines()
        with open(self.users, "w", encoding="utf-8") as f:
            f.write("".join(l + "\n" for l in fn(lines)))

    def reload_until(self, probe, status):
        """SIGHUP, then probe() until it answers `status` (the reload is
        asynchronous) or 5 s pass; returns the last answer."""
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            r = probe()
            if r.status == status or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def assert401(self, resp, pattern):
        err = self.assertError(resp, 401, "invalid_credentials")
        self.assertTrue(resp.headers.get("WWW-Authenticate"), "401 without WWW-Authenticate")
        self.assertRegex(err["message"], pattern)
        return err

    def test_group_removed_takes_effect_at_once(self):
        tok = self.srv.login("ada", PASSWORDS["ada"])
        self.assertToken(self.token(tok))
        r = self.session(tok, ["boss"])
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual([a["agent_name"] for a in r.body["agents"]], ["boss-agent"])

        # drop ada's admin group, keep her password hash and display name
        self.edit_users(lambda ls: [re.sub(r":admin,staff$", ":staff", l) if l.startswith("ada:")
                                    else l for l in ls])
        r = self.reload_until(lambda: self.token(tok), 403)
        self.assertError(r, 403, "room_not_allowed")
        self.assertError(self.session(tok, ["boss"]), 403, "agent_not_allowed")
        # what the staff rule allows still works with the same token
        self.assertToken(self.token(tok, "lobby"))
        r = self.session(tok, ["help"])
        self.assertEqual(r.status, 201, repr(r))
        # another user's session is untouched
        pia = self.srv.login("pia", PASSWORDS["pia"])
        self.assertToken(self.token(pia))

    def test_deleted_user_is_401(self):
        tok = self.srv.login("max", PASSWORDS["max"])
        other = self.srv.login("ada", PASSWORDS["ada"])
        self.assertToken(self.token(tok, "lobby"))
        self.edit_users(lambda ls: [l for l in ls if not l.startswith("max:")])
        r = self.reload_until(lambda: self.token(tok, "lobby"), 401)
        self.assert401(r, "no longer exists")
        self.assertToken(self.token(other))

    def test_new_password_ends_old_sessions(self):
        tok = self.srv.login("pia", PASSWORDS["pia"])
        other = self.srv.login("ada", PASSWORDS["ada"])
        self.assertToken(self.token(tok))
        # same groups and display name: only the password hash changes
        rgtest.add_user(self.users, "pia", "pia-new-password", "Pia", ["admin", "staff"])
        r = self.reload_until(lambda: self.token(tok), 401)
        self.assert401(r, "password")
        self.assertToken(self.token(other))
        # the new password signs in, and its token works
        self.assertToken(self.token(self.srv.login("pia", "pia-new-password")))

    def test_logout_ends_the_token(self):
        tok = self.srv.login("ada", PASSWORDS["ada"])
        other = self.srv.login("ada", PASSWORDS["ada"])
        self.assertToken(self.token(tok))
        r = self.logout(rgtest.bearer(tok))
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.body, {})
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        self.assert401(self.token(tok), "session has ended")
        self.assert401(self.session(tok, []), "session has ended")
        # ending it twice: the token is no longer a credential
        self.assert401(self.logout(rgtest.bearer(tok)), "session has ended")
        # the same user's other session, and a new login, still work
        self.assertToken(self.token(other))
        self.assertToken(self.token(self.srv.login("ada", PASSWORDS["ada"])))
        # an empty body is {} too
        tok2 = self.srv.login("max", PASSWORDS["max"])
        r = self.srv.request("POST", "/v1/logout", None, headers=rgtest.bearer(tok2),
                             source=rgtest.fresh_source())
        self.assertEqual(r.status, 200, repr(r))
        self.assert401(self.token(tok2, "lobby"), "session has ended")
        m = self.srv.get("/metrics").raw.decode()
        self.assertIn('roomgate_requests_total{route="logout",status="200"} 2', m)

    def test_logout_errors(self):
        tok = self.srv.login("max", PASSWORDS["max"])
        # no credentials, or a bad token: 401
        self.assertError(self.logout({}), 401, "unauthenticated")
        self.assertError(self.logout(rgtest.bearer("not-a-token")), 401, "invalid_credentials")
        self.assertError(self.logout(rgtest.bearer(tok[:-3] + "AAA")), 401, "invalid_credentials")
        # another way to sign in has no session to end: 400, and nothing ends
        err = self.assertError(self.logout(rgtest.basic("max", PASSWORDS["max"])), 400,
                               "invalid_request")
        self.assertIn("session token", err["message"])
        # a body with fields, not JSON, a method other than POST
        self.assertError(self.logout(rgtest.bearer(tok), {"all": True}), 400, "invalid_request")
        self.assertError(self.logout(rgtest.bearer(tok), "x=1",
                                     content_type="application/x-www-form-urlencoded"),
                         415, "unsupported_media_type")
        r = self.srv.get("/v1/logout", headers=rgtest.bearer(tok))
        self.assertError(r, 405, "method_not_allowed")
        self.assertIn("POST", r.headers.get("Allow", ""))
        # the token survived all of that
        self.assertToken(self.token(tok, "lobby"))
        # CORS preflight as for the other routes
        r = self.srv.request("OPTIONS", "/v1/logout", None, headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(r.status, 204, repr(r))
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "https://app.example.com")
        self.assertIn("POST", r.headers.get("Access-Control-Allow-Methods", ""))
        self.assertIn("Authorization", r.headers.get("Access-Control-Allow-Headers", ""))


if __name__ == "__main__":
    unittest.main()
