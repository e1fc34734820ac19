"""Authentication: HTTP Basic with local users, /v1/login session tokens,
and what a session token is not (a LiveKit token).

Every failing attempt comes from its own loopback source address
(127.0.x.y), so that the per-address failed-login rate limit cannot turn a
401 into a 429; the rate limit itself is tested on a separate server.
"""
import base64
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

USER, PASSWORD = rgtest.DEV_USER, rgtest.DEV_PASSWORD

SRV = None
SESSION = None
LOGIN_RESP = None


def setUpModule():
    # One server for FailureTests and SessionTests.
    global SRV, SESSION, LOGIN_RESP
    SRV = rgtest.Server.dev().start()
    LOGIN_RESP = SRV.post("/v1/login", {"username": USER, "password": PASSWORD})
    if LOGIN_RESP.status == 200 and isinstance(LOGIN_RESP.body, dict):
        SESSION = LOGIN_RESP.body.get("access_token")


def tearDownModule():
    rgtest.stop_checked(SRV)


class AuthCase(rgtest.RoomgateTestCase):

    def setUp(self):
        self.srv = SRV

    def tearDown(self):
        self.assertHealthy(self.srv)

    def token(self, headers, body=None, source=None):
        """POST /token from a fresh source address (a failing attempt)."""
        return self.srv.post("/token", body if body is not None else {"room_name": "auth"},
                             headers=headers, source=source or rgtest.fresh_source())

    def login(self, username, password):
        return self.srv.post("/v1/login", {"username": username, "password": password},
                             source=rgtest.fresh_source())

    def assert401(self, resp, code=None):
        err = self.assertError(resp, 401, code)
        www = resp.headers.get("WWW-Authenticate")
        self.assertTrue(www and www.strip(), "401 without a WWW-Authenticate header")
        return err


class FailureTests(AuthCase):

    def test_no_credentials(self):
        self.assert401(self.token({}), "unauthenticated")
        self.assert401(self.srv.post("/v1/sessions", {}, source=rgtest.fresh_source()),
                       "unauthenticated")

    def test_empty_authorization_header(self):
        self.assert401(self.token({"Authorization": ""}), ("unauthenticated", "invalid_credentials"))

    def test_unknown_scheme(self):
        self.assert401(self.token({"Authorization": "Digest username=\"demo\""}),
                       ("unauthenticated", "invalid_credentials"))

    def test_wrong_basic_password(self):
        self.assert401(self.token(rgtest.basic(USER, "not-the-password")), "invalid_credentials")

    def test_unknown_user(self):
        self.assert401(self.token(rgtest.basic("nobody-here", "demo")), "invalid_credentials")

    def test_basic_password_is_case_sensitive_and_exact(self):
        self.assert401(self.token(rgtest.basic(USER, "DEMO")), "invalid_credentials")
        self.assert401(self.token(rgtest.basic(USER, "demo ")), "invalid_credentials")

    def test_malformed_basic_header(self):
        bad = [
            "Basic !!!not*base64!!!",
            "Basic " + base64.b64encode(b"demo-no-colon").decode(),
            "Basic ",
            "Basic",
            "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        ]
        for value in bad:
            with self.subTest(header=value):
                self.assert401(self.token({"Authorization": value}),
                               ("invalid_credentials", "unauthenticated"))

    def test_bearer_garbage(self):
        for value in ["Bearer garbage", "Bearer ", "Bearer a.b.c",
                      "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.",
                      "Bearer " + "x" * 5000]:
            with self.subTest(header=value[:40]):
                self.assert401(self.token({"Authorization": value}),
                               ("invalid_credentials", "unauthenticated"))

    def test_login_bad_password(self):
        r = self.login(USER, "wrong")
        self.assertError(r, 401, "invalid_credentials")
        self.assertNotIn("access_token", r.body)

    def test_login_unknown_user(self):
        r = self.login("ghost", "demo")
        self.assertError(r, 401, "invalid_credentials")

    def test_login_malformed_body(self):
        self.assertError(self.srv.post("/v1/login", b'{"username": "demo", '), 400, "invalid_json")
        self.assertError(self.srv.post("/v1/login", b'["demo", "demo"]'), 400, "invalid_json")
        self.assertError(self.srv.post("/v1/login", {"username": 5, "password": "demo"}), 400,
                         "invalid_request")
        self.assertError(self.srv.post("/v1/login", {"username": "demo", "password": ["demo"]}),
                         400, "invalid_request")
        self.assertError(self.srv.post("/v1/login", "username=demo&password=demo",
                                       content_type="application/x-www-form-urlencoded"),
                         415, "unsupported_media_type")

    def test_login_missing_fields(self):
        for body in [{}, {"username": "demo"}, {"password": "demo"}]:
            with self.subTest(body=body):
                r = self.srv.post("/v1/login", body)
                self.assertIn(r.status, (400, 401), repr(r))
                self.assertError(r, r.status)

    @staticmethod
    def tampered_variants(tok):
        out = []
        if tok.count(".") == 2:
            h, p, s = tok.split(".")
            none_h = rgtest.b64url_encode(b'{"alg":"none","typ":"JWT"}')
            out += [("signature", h + "." + p + "." + rgtest.flip_char(s, 0)),
                    ("signature-mid", h + "." + p + "." + rgtest.flip_char(s, len(s) // 2)),
                    ("payload", h + "." + rgtest.flip_char(p, len(p) // 2) + "." + s),
                    ("header", rgtest.flip_char(h, 2) + "." + p + "." + s),
                    ("truncated-sig", h + "." + p + "." + s[:-4]),
                    ("no-sig", h + "." + p + "."),
                    ("alg-none", none_h + "." + p + ".")]
        else:
            out += [("char0", rgtest.flip_char(tok, 0)),
                    ("mid", rgtest.flip_char(tok, len(tok) // 2))]
        out.append(("appended", tok + "A"))
        return out

    def test_tampered_session_token(self):
        tok = SESSION
        self.assertIsNotNone(tok, "login failed: %r" % (LOGIN_RESP,))
        # the untampered token works
        self.assertEqual(self.srv.post("/token", {"room_name": "x"},
                                       headers=rgtest.bearer(tok)).status, 201)
        for name, bad in self.tampered_variants(tok):
            with self.subTest(variant=name):
                self.assertNotEqual(bad, tok)
                self.assert401(self.token(rgtest.bearer(bad)), "invalid_credentials")

class SessionTests(AuthCase):
    """Uses of the module's session token."""

    def setUp(self):
        super().setUp()
        if SESSION is None:
            self.fail("login failed: %r" % (LOGIN_RESP,))
        self.session = SESSION
        self.login_resp = LOGIN_RESP

    def test_login_response(self):
        st, headers, body = self.login_resp
        self.assertEqual(st, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(set(body) >= {"access_token", "token_type", "expires_in"}, True, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertIsInstance(body["expires_in"], int)
        self.assertGreater(body["expires_in"], 0)
        self.assertLessEqual(body["expires_in"], 7 * 24 * 3600)
        self.assertIsInstance(body["access_token"], str)
        self.assertGreater(len(body["access_token"]), 20)

    def test_session_token_works_for_token(self):
        body, claims = self.assertToken(self.srv.post("/token", {"room_name": "sess-room"},
                                                      headers=rgtest.bearer(self.session)))
        self.assertEqual(claims["sub"], USER)
        self.assertEqual(claims["iss"], rgtest.DEV_API_KEY)
        self.assertEqual(claims["video"]["room"], "sess-room")
        self.assertIs(claims["video"]["roomJoin"], True)
        self.assertTrue(rgtest.jwt_hs256_ok(body["participant_token"], rgtest.DEV_API_SECRET),
                        "participant token does not verify with the dev secret")

    def test_session_token_works_for_sessions(self):
        r = self.srv.post("/v1/sessions", {}, headers=rgtest.bearer(self.session))
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(r.body["participant_identity"], USER)

    def test_bearer_scheme_case_insensitive(self):
        r = self.srv.post("/token", {"room_name": "x"},
                          headers={"Authorization": "bearer " + self.session})
        self.assertEqual(r.status, 201, repr(r))

    def test_session_token_is_not_a_livekit_token(self):
        tok = self.session
        self.assertFalse(rgtest.jwt_hs256_ok(tok, rgtest.DEV_API_SECRET),
                         "the session token is signed with the LiveKit API secret")
        if tok.count(".") == 2:
            claims = rgtest.jwt_payload(tok)
            self.assertNotEqual(claims.get("iss"), rgtest.DEV_API_KEY,
                                "session token iss is the LiveKit API key: %r" % claims)
            self.assertNotIn("video", claims, "session token carries a video grant: %r" % claims)
            self.assertNotIn("roomConfig", claims)

    def test_participant_token_is_not_a_session_token(self):
        # A LiveKit token (signed with the LiveKit secret) must not log in to roomgate.
        r = self.srv.post("/token", {"room_name": "x"}, headers=rgtest.bearer(self.session))
        self.assertEqual(r.status, 201, repr(r))
        lk = r.body["participant_token"]
        self.assert401(self.token(rgtest.bearer(lk), {"room_name": "x"}), "invalid_credentials")

    def test_login_as_bearer_is_not_basic(self):
        # The session token is not a password.
        self.assert401(self.token(rgtest.basic(USER, self.session), {"room_name": "x"}),
                       "invalid_credentials")

    def test_basic_auth_works(self):
        body, claims = self.assertToken(self.srv.post("/token", {"room_name": "basic-room"},
                                                      headers=rgtest.basic(USER, PASSWORD)))
        self.assertEqual(claims["sub"], USER)

    def test_healthz_needs_no_auth(self):
        self.assertHealthy(self.srv)



class RateLimitTests(rgtest.RoomgateTestCase):
    MAX_ATTEMPTS = 20

    def setUp(self):
        self.srv = rgtest.Server.dev().start()
        self.addCleanup(self.srv.kill)

    def test_repeated_failed_logins_are_rate_limited(self):
        src = rgtest.fresh_source()
        statuses = []
        limited = None
        for i in range(self.MAX_ATTEMPTS):
            r = self.srv.post("/v1/login", {"username": USER, "password": "wrong-%d" % i}, source=src)
            statuses.append(r.status)
            if r.status == 429:
                limited = r
                break
            self.assertError(r, 401, "invalid_credentials")
        self.assertIsNotNone(limited, "no 429 after %d failed logins from one address: %r"
                             % (self.MAX_ATTEMPTS, statuses))
        self.assertError(limited, 429)
        retry = limited.headers.get("Retry-After")
        self.assertIsNotNone(retry, "429 without Retry-After")
        self.assertRegex(retry.strip(), r"^[1-9][0-9]*$")
        # another address is not limited
        r = self.srv.post("/v1/login", {"username": USER, "password": PASSWORD},
                          source=rgtest.fresh_source())
        self.assertEqual(r.status, 200, repr(r))
        self.assertHealthy(self.srv)
        self.assertStops(self.srv)


def old_slot(key):
    """The slot roomgate's old limiter put `key` in: unkeyed 64-bit FNV-1a,
    4,096 direct-mapped slots. Anyone could compute it."""
    h = 1469598103934665603
    for b in key.encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return (h | 1) % 4096


def colliding_names(addr, n):
    """n user names whose "u:" key shared the slot of "a:<addr>" in the old
    table (a failure on such a name reset the address's count)."""
    want, out, i = old_slot("a:" + addr), [], 0
    while len(out) < n:
        name = "x%d" % i
        if old_slot("u:" + name) == want:
            out.append(name)
        i += 1
    return out


def metric(srv, name):
    r = srv.get("/metrics")
    text = r.raw.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics:\n%s" % (name, text))


class LimiterTests(rgtest.RoomgateTestCase):
    """The failed-login limiter (issue security-2, item 3): exact per key,
    one budget for every password check, checked and counted in one step,
    not in the way of bearer credentials nor of a returning device."""

    def setUp(self):
        self.srv = rgtest.Server.dev().start()
        self.addCleanup(self.srv.kill)

    def tearDown(self):
        self.assertHealthy(self.srv)

    def login(self, user, password, source=None, headers=None):
        return self.srv.post("/v1/login", {"username": user, "password": password},
                             source=source or rgtest.fresh_source(), headers=headers)

    def lock_user(self, user=USER):
        """20 wrong passwords for `user`, from addresses under their own limit."""
        for i in range(20):
            if i % 5 == 0:
                src = rgtest.fresh_source()
            self.assertError(self.login(user, "wrong-%d" % i, source=src), 401,
                             "invalid_credentials")

    def test_names_cannot_reset_an_address(self):
        src = rgtest.fresh_source()
        # names built to collide with the address's key, then many distinct names
        names = colliding_names(src, 8) + ["someone-%d" % i for i in range(7)]
        statuses = [self.login(name, "wrong", source=src).status for name in names]
        self.assertEqual(statuses, [401] * 10 + [429] * 5, statuses)

    def test_basic_is_refused_while_the_user_is_locked(self):
        self.lock_user()
        r = self.srv.post("/token", {"room_name": "r"}, headers=rgtest.basic(USER, PASSWORD),
                          source=rgtest.fresh_source())
        self.assertError(r, 429, "rate_limited")
        self.assertRegex(r.headers.get("Retry-After", ""), r"^[1-9][0-9]*$")
        self.assertError(self.login(USER, PASSWORD), 429, "rate_limited")

    def test_parallel_guesses_never_pass_the_limit(self):
        src = rgtest.fresh_source()
        statuses = []
        lock = threading.Lock()
        start = threading.Barrier(30)

        def guess(i):
            start.wait()
            r = self.login("guess-%d" % i, "wrong-%d" % i, source=src)
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(statuses), 30)
        self.assertLessEqual(statuses.count(401), 10, sorted(statuses))
        self.assertEqual(set(statuses) - {401, 429, 503}, set(), sorted(statuses))
        # a 503 busy (PBKDF2 queue full, as on a slow sanitizer build) gives its
        # attempt back: guesses one at a time then use up exactly the rest of
        # the address's 10, and the next is 429
        failures = statuses.count(401)
        for _ in range(40):
            r = self.login(USER, "wrong", source=src)
            if r.status == 429:
                break
            self.assertIn(r.status, (401, 503), r.raw[:300])
            failures += r.status == 401
            self.assertLessEqual(failures, 10, "more than 10 failures counted")
        self.assertEqual(failures, 10, sorted(statuses))
        self.assertError(r, 429, "rate_limited")

    def test_bearer_works_from_a_blocked_address(self):
        token = self.srv.login(USER, PASSWORD)
        src = rgtest.fresh_source()
        for i in range(10):
            self.assertError(self.login("ghost-%d" % i, "wrong", source=src), 401)
        self.assertError(self.login(USER, PASSWORD, source=src), 429, "rate_limited")
        r = self.srv.post("/token", {"room_name": "r"}, headers=rgtest.bearer(token), source=src)
        self.assertEqual(r.status, 201, repr(r))

    def test_a_returning_device_signs_in_while_the_name_is_locked(self):
        r = self.login(USER, PASSWORD)
        self.assertEqual(r.status, 200, repr(r))
        device = r.body.get("device_token")
        self.assertIsInstance(device, str)
        cookie = r.headers.get("Set-Cookie", "")
        self.assertIn("rg_device=" + device, cookie)
        self.assertIn("HttpOnly", cookie)
        self.lock_user()
        self.assertError(self.login(USER, PASSWORD), 429, "rate_limited")
        r = self.login(USER, PASSWORD, headers={"Cookie": "a=b; rg_device=" + device})
        self.assertEqual(r.status, 200, repr(r))
        r = self.srv.post("/token", {"room_name": "r"}, source=rgtest.fresh_source(),
                          headers=dict(rgtest.basic(USER, PASSWORD),
                                       **{"X-Roomgate-Device": device}))
        self.assertEqual(r.status, 201, repr(r))
        # a forged or altered token is no device: the locked name stays locked
        self.assertError(self.login(USER, PASSWORD,
                                    headers={"X-Roomgate-Device": device[:-2] + "AA"}),
                         429, "rate_limited")

    def test_a_second_basic_request_skips_pbkdf2(self):
        before = metric(self.srv, "roomgate_password_checks_total")
        for _ in range(3):
            r = self.srv.post("/token", {"room_name": "r"}, headers=rgtest.basic(USER, PASSWORD))
            self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(metric(self.srv, "roomgate_password_checks_total"), before + 1)
        self.assertEqual(metric(self.srv, "roomgate_password_cache_hits_total"), 2)
        # a wrong password is never answered from the cache
        self.assertError(self.srv.post("/token", {"room_name": "r"},
                                       headers=rgtest.basic(USER, PASSWORD + "x")), 401)
        self.assertEqual(metric(self.srv, "roomgate_password_checks_total"), before + 2)


class ReloadClearsCacheTests(rgtest.RoomgateTestCase):

    def test_a_changed_password_takes_effect_on_reload(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        users = tmp.join("users.txt")
        rgtest.add_user(users, "carol", "first-password")
        srv = rgtest.Server.config(rgtest.base_config(), tmp.path).start()
        self.addCleanup(srv.kill)
        for _ in range(2):
            r = srv.post("/token", {"room_name": "r"}, headers=rgtest.basic("carol", "first-password"))
            self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(metric(srv, "roomgate_password_cache_hits_total"), 1)
        os.remove(users)
        rgtest.add_user(users, "carol", "second-password")
        srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(srv.wait_logs("reloaded", timeout=10), "no reloaded event")
        r = srv.post("/token", {"room_name": "r"}, headers=rgtest.basic("carol", "first-password"))
        self.assertError(r, 401, "invalid_credentials")
        r = srv.post("/token", {"room_name": "r"}, headers=rgtest.basic("carol", "second-password"))
        self.assertEqual(r.status, 201, repr(r))
        self.assertStops(srv)


class TrustedProxyRateLimitTests(rgtest.RoomgateTestCase):
    """Behind a reverse proxy every client arrives from the proxy's address;
    with server.trusted_proxies the failed-login limit counts the client named
    by X-Forwarded-For (its right-most hop that is not a trusted proxy)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rg-xff-")
        rgtest.add_user(os.path.join(cls.tmp, "users.txt"), "xff-user", "xff-password")
        cfg = rgtest.base_config(server={"trusted_proxies": ["127.0.0.1/32"]})
        cls.srv = rgtest.Server.config(cfg, cls.tmp).start()

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def login(self, xff, password="wrong", source="127.0.0.1", user="xff-user"):
        return self.srv.post("/v1/login", {"username": user, "password": password},
                             headers={"X-Forwarded-For": xff} if xff else {}, source=source)

    def fail_until_limited(self, xff, source="127.0.0.1"):
        for i in range(15):
            r = self.login(xff, "wrong-%d" % i, source=source, user="nobody-%d" % i)
            if r.status == 429:
                return r
            self.assertError(r, 401, "invalid_credentials")
        self.fail("no 429 after 15 failed logins for X-Forwarded-For %r" % xff)

    def test_limit_counts_the_forwarded_client_not_the_proxy(self):
        # the client's own left-most entry is ignored: it can be forged
        self.assertError(self.fail_until_limited("1.1.1.1, 198.51.100.7"), 429)
        self.assertError(self.login("9.9.9.9, 198.51.100.7", user="nobody-x"), 429)
        # another client behind the same proxy still logs in
        r = self.login("198.51.100.8", password="xff-password")
        self.assertEqual(r.status, 200, repr(r))

    def test_padded_header_still_names_the_client(self):
        # forged entries padding X-Forwarded-For past any buffer do not make
        # roomgate fall back to the proxy's address (which all clients share)
        pad = ", ".join("10.0.%d.%d" % (i // 250, i % 250) for i in range(120))
        self.assertError(self.fail_until_limited(pad + ", 198.51.100.20"), 429)
        r = self.login(pad + ", 198.51.100.21", password="xff-password")
        self.assertEqual(r.status, 200, repr(r))

    def test_untrusted_peer_cannot_choose_its_address(self):
        # 127.0.0.2 is not a trusted proxy: its X-Forwarded-For is ignored,
        # so changing it does not escape the limit
        src = rgtest.fresh_source()
        self.assertError(self.fail_until_limited("203.0.113.1", source=src), 429)
        self.assertError(self.login("203.0.113.99", source=src, user="nobody-y"), 429)

    def test_bad_trusted_proxies_refused(self):
        cfg = rgtest.base_config(server={"trusted_proxies": ["not-an-ip"]})
        path = rgtest.write_json(os.path.join(self.tmp, "bad.json"), cfg)
        cp = rgtest.run_cli(["config", "check", path])
        self.assertEqual(cp.returncode, 1)
        self.assertIn("server.trusted_proxies", cp.stdout + cp.stderr)


if __name__ == "__main__":
    unittest.main()
