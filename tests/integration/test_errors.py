"""Bad input to the HTTP API: every client mistake is a 4xx JSON error, never
a 500, a crash or a stall; the server keeps serving afterwards.

Runs one dev-mode server (demo/demo) for the whole file; logs in once and uses
the Bearer session token for every /token request.
"""
import json
import os
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

LIMIT = 65536

# SPEC "Names that enter"
BAD_ROOMS = ["team-../../x", "a/b", "a\\b", "..", "x..y", "room ", "\troom", "\u0001",
             "a\u0001b", "a\u007fb", "a\u0085b", "a\u2028b", "a\u2029b", "\u00a0room",
             "r" * 129]
GOOD_ROOMS = ["Test Room", "r" * 128, "Sala de reunión", "x.y", "a\u00a0b"]
BAD_AGENTS = ["", "a\u0001", "x" * 300, "a" * 65, "my agent", "agent\n", "a/b", "agént"]


def pad_to(prefix, suffix, size):
    """A JSON text of exactly `size` bytes: prefix + spaces + suffix."""
    n = size - len(prefix) - len(suffix)
    assert n >= 0
    return prefix + b" " * n + suffix


class ErrorTests(rgtest.RoomgateTestCase):
    srv = None

    crashed = []

    @classmethod
    def start(cls):
        cls.srv = rgtest.Server.dev().start()
        cls.auth = rgtest.bearer(cls.srv.login(rgtest.DEV_USER, rgtest.DEV_PASSWORD))

    @classmethod
    def setUpClass(cls):
        cls.start()

    def setUp(self):
        # A test that crashed the server fails (tearDown); the next test gets
        # a new server so that one crash is reported once, where it happened.
        if not self.srv.alive():
            type(self).crashed.append(self.srv.proc.returncode)
            type(self).start()

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)

    def alive_iter(self, items):
        """Yields items while the server lives: after a crash the rest of a
        loop would only repeat "connection refused"."""
        for item in items:
            if not self.srv.alive():
                return
            yield item

    def tearDown(self):
        # After every bad request the server still serves.
        self.assertHealthy(self.srv)

    def token(self, body, **kw):
        headers = dict(self.auth)
        headers.update(kw.pop("headers", {}))
        return self.srv.post("/token", body, headers=headers, **kw)

    # -- sanity: the happy path works, so the 400s below mean something ----

    def test_valid_request_is_201(self):
        body, claims = self.assertToken(self.token({"room_name": "errors-ok"}))
        self.assertEqual(claims["video"]["room"], "errors-ok")
        self.assertEqual(claims["sub"], "demo")

    def test_empty_body_counts_as_empty_object(self):
        body, claims = self.assertToken(self.token(b""))
        self.assertIsInstance(body.get("room_name"), str)
        self.assertEqual(claims["video"]["room"], body["room_name"])

    def test_json_with_charset_is_accepted(self):
        self.assertToken(self.token({"room_name": "charset"},
                                    content_type="application/json; charset=utf-8"))

    # -- malformed JSON ----------------------------------------------------

    def test_malformed_json(self):
        for raw in self.alive_iter([b'{"room_name": ', b'{room_name: "x"}', b"{'room_name': 'x'}",
                    b'{"room_name": "x",}', b'{"room_name": "x"} trailing', b"nul"]):
            with self.subTest(body=raw):
                self.assertError(self.token(raw), 400, "invalid_json")

    def test_top_level_not_object(self):
        for raw in self.alive_iter([b"[]", b'[{"room_name": "x"}]', b"42", b'"room"', b"null", b"true"]):
            with self.subTest(body=raw):
                self.assertError(self.token(raw), 400, "invalid_json")

    # -- wrong types -------------------------------------------------------

    def test_room_name_not_string(self):
        for v in self.alive_iter([5, True, ["a"], {"a": 1}]):
            with self.subTest(room_name=v):
                err = self.assertError(self.token({"room_name": v}), 400, "invalid_request")
                self.assertIn("room_name", err["message"])

    def test_participant_fields_wrong_types(self):
        cases = [
            ({"participant_name": 7}, "participant_name"),
            ({"participant_metadata": {"a": 1}}, "participant_metadata"),
            ({"participant_identity": 12}, "participant_identity"),
            ({"participant_attributes": ["k", "v"]}, "participant_attributes"),
            ({"participant_attributes": "k=v"}, "participant_attributes"),
        ]
        for body, field in self.alive_iter(cases):
            with self.subTest(body=body):
                body = dict(body, room_name="types")
                err = self.assertError(self.token(body), 400, "invalid_request")
                self.assertIn(field, err["message"])

    def test_attribute_value_not_string(self):
        for v in self.alive_iter([1, None, True, {"x": "y"}]):
            with self.subTest(value=v):
                r = self.token({"room_name": "attrs", "participant_attributes": {"k": "v", "n": v}})
                self.assertError(r, 400, "invalid_request")

    def test_room_config_wrong_types(self):
        cases = [
            {"room_config": "agents"},
            {"room_config": []},
            {"room_config": {"agents": {"agent_name": "a"}}},
            {"room_config": {"agents": "a"}},
            {"room_config": {"agents": ["a"]}},
            {"room_config": {"agents": [{"agent_name": 5}]}},
            {"room_config": {"agents": [{"agent_name": "a", "metadata": 5}]}},
            {"room_config": {"agents": [{"agent_name": "a", "metadata": True}]}},
            {"room_config": {"agents": [{"agent_name": "a", "metadata": ["x"]}]}},
            {"room_config": {"max_participants": "many"}},
            {"room_config": {"max_participants": -1}},
            {"room_config": {"empty_timeout": 1.5}},
            {"room_config": {"sync_streams": "yes"}},
            {"room_config": {"tags": {"k": 1}}},
        ]
        for body in self.alive_iter(cases):
            with self.subTest(body=body):
                body = dict(body, room_name="rc-types")
                self.assertError(self.token(body), 400,
                                 ("invalid_room_config", "invalid_request", "invalid_metadata"))

    def test_agent_metadata_object_is_serialized(self):
        # The common client mistake: metadata as an object, accepted and
        # serialized to a string (positive counterpart of metadata: 5).
        r = self.token({"room_name": "md-obj", "room_config": {
            "agents": [{"agent_name": "assistant", "metadata": {"lang": "en"}}]}})
        body, claims = self.assertToken(r)
        agent = claims["roomConfig"]["agents"][0]
        self.assertIsInstance(agent["metadata"], str)

    # -- unknown fields ----------------------------------------------------

    def test_unknown_top_level_field(self):
        err = self.assertError(self.token({"room_name": "x", "room_nmae": "y"}), 400,
                               "invalid_request")
        self.assertIn("room_nmae", err["message"])

    def test_unknown_room_config_field(self):
        # "agent" instead of "agents": LiveKit would drop it silently.
        r = self.token({"room_name": "x", "room_config": {
            "agent": [{"agent_name": "assistant"}]}})
        err = self.assertError(r, 400, ("invalid_request", "invalid_room_config"))
        self.assertRegex(err["message"], r"(?<![A-Za-z_])agent(?![A-Za-z_])",
                         "message does not name the field 'agent'")

    def test_unknown_agent_field(self):
        r = self.token({"room_name": "x", "room_config": {
            "agents": [{"agent_name": "assistant", "metdata": "{}"}]}})
        err = self.assertError(r, 400, ("invalid_request", "invalid_room_config"))
        self.assertIn("metdata", err["message"])

    def test_egress_refused(self):
        for key in self.alive_iter(["egress"]):
            with self.subTest(key=key):
                r = self.token({"room_name": "x", "room_config": {key: {
                    "room": {"file_outputs": [{"s3": {"access_key": "AKIA", "secret": "s"}}]}}}})
                self.assertError(r, 400, "egress_not_allowed")

    # -- sizes -------------------------------------------------------------

    def test_body_at_limit_is_accepted(self):
        body = pad_to(b'{"room_name": "edge"', b"}", LIMIT)
        self.assertEqual(len(body), LIMIT)
        self.assertToken(self.token(body))

    def test_body_too_large(self):
        body = pad_to(b'{"room_name": "big"', b"}", LIMIT + 1)
        self.assertError(self.token(body), 413, "body_too_large")

    def test_body_much_too_large(self):
        meta = "x" * (200 * 1024)
        self.assertError(self.token({"room_name": "big", "participant_metadata": meta}),
                         413, "body_too_large")

    def test_body_too_large_chunked(self):
        # Same limit without a Content-Length.
        chunk = b" " * 8192
        payload = b'{"room_name": "big"' + chunk * 9 + b"}"
        data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in
                        [payload[i:i + 8192] for i in range(0, len(payload), 8192)]) + b"0\r\n\r\n"
        req = (b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               + ("Authorization: %s\r\n" % self.auth["Authorization"]).encode() + b"\r\n" + data)
        st, headers, body = rgtest.parse_raw_response(rgtest.raw_exchange(self.srv.port, req))
        self.assertIn(st, (411, 413), "chunked body over the limit: status %r body %r" % (st, body))

    def test_room_name_too_long(self):
        # SPEC "Names that enter": 1-128 bytes (LiveKit's own limit is 256)
        self.assertToken(self.token({"room_name": "r" * 128}))
        err = self.assertError(self.token({"room_name": "r" * 129}), 400, "invalid_room_name")
        self.assertIn("room_name", err["message"])

    def test_participant_name_and_identity_length(self):
        r = self.token({"room_name": "x", "participant_identity": "i" * 300})
        self.assertIn(r.status, (400, 403), repr(r))
        self.assertError(r, r.status)

    def test_room_name_empty(self):
        # An empty room name is not a room name: provision or 400, never a
        # token for room "".
        r = self.token({"room_name": ""})
        if r.status == 201:
            self.assertNotEqual(rgtest.jwt_payload(r.body["participant_token"])["video"]["room"], "")
        else:
            self.assertError(r, 400)

    # -- names that enter (SPEC): rooms, agents ---------------------------

    def assertBadRoom(self, resp, field="room_name"):
        err = self.assertError(resp, 400, "invalid_room_name")
        self.assertIn(field, err["message"])
        self.assertIn("128 bytes", err["message"], "the message does not state the rule")
        return err

    def test_bad_room_names_refused(self):
        for room in self.alive_iter(BAD_ROOMS):
            with self.subTest(room=room):
                self.assertBadRoom(self.token({"room_name": room}))
                self.assertBadRoom(self.token({"roomName": room, "participantName": "P"}))
                # room_config.name, given with the same bad name
                self.assertBadRoom(self.token({"room_name": room,
                                               "room_config": {"name": room}}))

    def test_bad_room_config_name_refused(self):
        # room_config.name alone (a provisioned room): the rule, not only "must equal"
        for room in self.alive_iter(["a/b", "x..y", "room ", "\u0001"]):
            with self.subTest(room=room):
                self.assertBadRoom(self.token({"room_config": {"name": room}}),
                                   "room_config.name")

    def test_good_room_names_accepted(self):
        for room in self.alive_iter(GOOD_ROOMS):
            with self.subTest(room=room):
                body, claims = self.assertToken(self.token({"room_name": room}))
                self.assertEqual(body["room_name"], room)
                self.assertEqual(claims["video"]["room"], room)
                body, claims = self.assertToken(self.token({"room_name": room,
                                                            "room_config": {"name": room}}))
                self.assertEqual(claims["roomConfig"]["name"], room)

    def test_bad_agent_names_refused_in_dev_mode(self):
        # the dev rule allows any agent ("*"), but only names LiveKit workers can register
        for name in self.alive_iter(BAD_AGENTS):
            with self.subTest(agent_name=name):
                r = self.token({"room_name": "agents-x",
                                "room_config": {"agents": [{"agent_name": name}]}})
                err = self.assertError(r, 400, "invalid_agent_name")
                self.assertIn("A-Z a-z 0-9 . _ -", err["message"])
                self.assertIn("agent_name", err["message"])

    def test_good_agent_names_accepted_in_dev_mode(self):
        for name in self.alive_iter(["a" * 64, "worker.v2_eu-1", "assistant"]):
            with self.subTest(agent_name=name):
                body, claims = self.assertToken(self.token({
                    "room_name": "agents-ok", "room_config": {"agents": [{"agent_name": name}]}}))
                self.assertEqual(claims["roomConfig"]["agents"][0]["agentName"], name)

    def test_dispatch_bad_room_refused_before_livekit(self):
        # no LiveKit runs for this file: a name sent on would come back as 502
        for room in self.alive_iter(BAD_ROOMS):
            with self.subTest(room=room):
                r = self.srv.post("/v1/dispatch", {"room_name": room, "agent": "assistant"},
                                  headers=self.auth)
                self.assertBadRoom(r)
                q = urllib.parse.quote(room, safe="")
                self.assertBadRoom(self.srv.get("/v1/dispatch?room_name=" + q, headers=self.auth))
                self.assertBadRoom(self.srv.request(
                    "DELETE", "/v1/dispatch/AD_x?room_name=" + q, headers=self.auth))

    def test_dispatch_room_with_nul_refused(self):
        for q in self.alive_iter(["a%00b", "%00"]):
            with self.subTest(query=q):
                self.assertBadRoom(self.srv.get("/v1/dispatch?room_name=" + q, headers=self.auth))

    def test_dispatch_bad_agent_refused_before_livekit(self):
        for name in self.alive_iter(BAD_AGENTS):
            with self.subTest(agent=name):
                r = self.srv.post("/v1/dispatch", {"room_name": "team-1", "agent": name},
                                  headers=self.auth)
                if name == "":
                    self.assertError(r, 400, ("invalid_request", "invalid_agent_name"))
                else:
                    self.assertError(r, 400, "invalid_agent_name")

    # -- media type, methods, routes --------------------------------------

    def test_text_plain_is_415(self):
        r = self.token('{"room_name": "x"}', content_type="text/plain")
        self.assertError(r, 415, "unsupported_media_type")

    def test_form_urlencoded_is_415(self):
        r = self.token("room_name=x", content_type="application/x-www-form-urlencoded")
        self.assertError(r, 415, "unsupported_media_type")

    def test_get_token_is_405(self):
        for method in self.alive_iter(["GET", "PUT", "DELETE", "PATCH"]):
            with self.subTest(method=method):
                r = self.srv.request(method, "/token", headers=self.auth)
                self.assertError(r, 405, "method_not_allowed")
                allow = r.headers.get("Allow")
                self.assertIsNotNone(allow, "405 without an Allow header")
                self.assertIn("POST", [m.strip() for m in allow.split(",")])

    def test_get_login_is_405(self):
        r = self.srv.get("/v1/login")
        self.assertError(r, 405, "method_not_allowed")
        self.assertIn("POST", r.headers.get("Allow", ""))

    def test_post_healthz_is_405(self):
        r = self.srv.post("/healthz", {})
        self.assertError(r, 405, "method_not_allowed")
        self.assertIn("GET", r.headers.get("Allow", ""))

    def test_unknown_route_is_404_json(self):
        for method, path in self.alive_iter([("GET", "/v1/nope"), ("POST", "/v1/nope"), ("GET", "/v1/"),
                             ("POST", "/tokens"), ("GET", "/v1/sessions/x/y")]):
            with self.subTest(path=path, method=method):
                body = {} if method == "POST" else None
                self.assertError(self.srv.request(method, path, body, headers=self.auth),
                                 404, "not_found")

    # -- hostile bytes -----------------------------------------------------

    def test_invalid_utf8(self):
        for raw in self.alive_iter([b'{"room_name": "\xff\xfe"}', b'{"room_name": "caf\xc3"}',
                    b'{"room_name": "\xed\xa0\x80"}', b'{"\xc0\xaf": 1}']):
            with self.subTest(body=raw):
                self.assertError(self.token(raw), 400, ("invalid_json", "invalid_request"))

    def test_deeply_nested_json(self):
        depth = 30000
        for raw in self.alive_iter([b"[" * depth + b"]" * depth,
                    b'{"room_name": "x", "participant_attributes": ' + b"[" * depth + b"]" * depth + b"}",
                    b'{"room_config": ' + b'{"a":' * 10000 + b"1" + b"}" * 10000 + b"}",
                    b"[" * 60000]):
            with self.subTest(size=len(raw)):
                self.assertLessEqual(len(raw), LIMIT)
                self.assertError(self.token(raw), 400)

    def test_nul_bytes(self):
        for raw in self.alive_iter([b'{"room_name": "a\x00b"}', b'{"room_name": "x"}\x00',
                    b'\x00{"room_name": "x"}', b'{"room_name": "a\\u0000b"}',
                    b'{"room_name": "x", "participant_name": "n\\u0000"}',
                    b'{"room_name": "x", "participant_attributes": {"k\\u0000": "v"}}']):
            with self.subTest(body=raw):
                self.assertError(self.token(raw), 400)

    def test_huge_numbers(self):
        for raw in self.alive_iter([b'{"room_name": 1e999999}', b'{"room_config": {"max_participants": 99999999999999999999999999}}']):
            with self.subTest(body=raw):
                r = self.token(raw)
                self.assertLess(r.status, 500, repr(r))
                self.assertError(r, 400)

    def test_duplicate_keys(self):
        r = self.token(b'{"room_name": "a", "room_name": "b"}')
        # Either refused, or one value consistently used: never a 5xx.
        self.assertLess(r.status, 500, repr(r))
        if r.status == 201:
            self.assertIn(rgtest.jwt_payload(r.body["participant_token"])["video"]["room"], ("a", "b"))
        else:
            self.assertError(r, 400)

    def test_body_too_large_closes_the_connection(self):
        # 413 without reading the declared 100 MiB: the server answers, sends
        # FIN and stops reading, instead of draining the body on a worker thread.
        import socket
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        try:
            s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + ("Authorization: %s\r\n" % self.auth["Authorization"]).encode()
                      + b"Content-Length: 104857600\r\n\r\n" + b" " * 1000)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        st, headers, body = rgtest.parse_raw_response(data)
        self.assertEqual(st, 413, data[:300])
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(json.loads(body)["error"]["code"], "body_too_large")

    def test_ambiguous_framing_is_400(self):
        for extra in self.alive_iter([b"Content-Length: 2\r\nContent-Length: 30\r\n",
                                      b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"]):
            with self.subTest(headers=extra):
                req = (b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       + ("Authorization: %s\r\n" % self.auth["Authorization"]).encode()
                       + extra + b"\r\n{}" + b"x" * 28)
                data = rgtest.raw_exchange(self.srv.port, req, read_timeout=3)
                st, headers, body = rgtest.parse_raw_response(data)
                self.assertEqual(st, 400, data[:300])
                self.assertEqual(json.loads(body)["error"]["code"], "bad_request")
                self.assertEqual(headers.get("connection"), "close")
                # exactly one response: the rest was not taken as a second request
                self.assertEqual(data.count(b"HTTP/1.1 "), 1, data)

    def test_web_root_is_read_only(self):
        # a file or folder of the web root: 405; anything else: 404; never
        # civetweb's own PUT/DELETE/WebDAV handling
        for method, path in self.alive_iter([("PUT", "/"), ("DELETE", "/index.html"),
                                             ("PROPFIND", "/"), ("OPTIONS", "/"),
                                             ("MKCOL", "/x"), ("PUT", "/new.html")]):
            with self.subTest(method=method, path=path):
                r = self.srv.request(method, path, body=b"{}" if method == "PUT" else None)
                if path in ("/", "/index.html"):
                    self.assertError(r, 405, "method_not_allowed")
                    self.assertEqual(r.headers.get("Allow"), "GET, HEAD")
                else:
                    self.assertError(r, 404, "not_found")
                self.assertNotIn("Digest", r.headers.get("WWW-Authenticate") or "")
        self.assertEqual(self.srv.get("/new.html")[0], 404)

    def test_unsupported_http_version_code(self):
        data = rgtest.raw_exchange(self.srv.port, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                                   read_timeout=2, shut_wr=True)
        st, _, body = rgtest.parse_raw_response(data)
        if st is not None:
            self.assertEqual(st, 505, data[:300])
            self.assertEqual(json.loads(body)["error"]["code"], "http_version_not_supported")

    def test_bad_content_length(self):
        for cl in self.alive_iter([b"-1", b"abc", b"99999999999999999999", b"10, 20"]):
            with self.subTest(content_length=cl):
                req = (b"POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       b"Content-Type: application/json\r\nContent-Length: " + cl +
                       b"\r\n\r\n{}")
                data = rgtest.raw_exchange(self.srv.port, req, read_timeout=3, shut_wr=True)
                st, _, _ = rgtest.parse_raw_response(data)
                if st is not None:
                    self.assertGreaterEqual(st, 400)
                    self.assertLess(st, 500, data[:300])
                self.assertHealthy(self.srv)

    def test_garbage_bytes_over_socket(self):
        junk = [b"\x00\xff\xfe garbage\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xaa" * 64,
                b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST /token HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n",
                b"\r\n" * 100, bytes(range(256)) * 4, b"GET /%00%ff/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /token HTTP/1.1\r\n" + b"H: v\r\n" * 2000 + b"\r\n"]
        for data in self.alive_iter(junk):
            with self.subTest(data=data[:40]):
                resp = rgtest.raw_exchange(self.srv.port, data, read_timeout=2, shut_wr=True)
                st, _, body = rgtest.parse_raw_response(resp)
                if st is not None and data.startswith(b"GET /%00"):
                    # a well-formed request: civetweb decodes %00 as the end of the
                    # path, so it names "/" and may serve the page, never a file
                    # outside the web root
                    self.assertTrue(st == 200 or 400 <= st < 500, resp[:300])
                    self.assertNotIn(b"root:", body)
                elif st is not None:
                    # a 4xx (or 505 for an unknown HTTP version), never a 5xx
                    self.assertTrue(400 <= st < 500 or st == 505, resp[:300])
                self.assertHealthy(self.srv)

    def test_path_traversal_does_not_escape_web_root(self):
        for path in self.alive_iter([b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     b"/..%2f..%2f..%2fetc%2fpasswd"]):
            with self.subTest(path=path):
                data = rgtest.raw_exchange(self.srv.port, b"GET " + path +
                                           b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                st, _, body = rgtest.parse_raw_response(data)
                self.assertNotIn(b"root:", body)
                if st is not None:
                    self.assertNotEqual(st, 200, data[:300])

    def test_truncated_request(self):
        # Headers promise 100 bytes, 10 arrive, the client goes away.
        req = (b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               + ("Authorization: %s\r\n" % self.auth["Authorization"]).encode()
               + b"Content-Length: 100\r\n\r\n{\"room_nam")
        rgtest.raw_exchange(self.srv.port, req, read_timeout=0.5, shut_wr=True)
        # Half a request line, then close.
        rgtest.raw_exchange(self.srv.port, b"POST /tok", read_timeout=0.2, shut_wr=True)
        # Headers without the blank line, then close.
        rgtest.raw_exchange(self.srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                            read_timeout=0.2, shut_wr=True)
        self.assertHealthy(self.srv)

    def test_slow_clients_do_not_stall_the_server(self):
        # A few connections that send half a request and sit there must not
        # keep the server from answering others.
        socks = []
        try:
            for i in range(8):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
                s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
                socks.append(s)
            idle = [socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
                    for _ in range(4)]
            socks += idle
            t0 = time.monotonic()
            self.assertHealthy(self.srv)
            self.assertToken(self.token({"room_name": "while-slow"}))
            self.assertLess(time.monotonic() - t0, 5.0)
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()
