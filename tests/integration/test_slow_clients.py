"""Slow clients on the direct server (issue security-2, item 5).

A body sent a byte a second must not hold a worker thread for as long as its
sender likes: civetweb restarts its request_timeout clock on every read, so
roomgate keeps one deadline for the request itself and answers 408
(request_timeout) when the body has not arrived request_timeout after the
headers did. The whole request is then bounded by about twice
request_timeout. Other clients are served meanwhile.

Floods of idle connections from one address are a proxy's job (the direct
server cannot tell connections apart by address before it reads a request):
tests/scale/slow_clients.py checks the shipped nginx front against them.
Bounds are generous (behaviour, not speed); tests/bench/slowloris.py measures.
"""
import os
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

REQUEST_TIMEOUT = 2.0
SLOW_SENDERS = 4
BODY = 200            # bytes declared; one is sent a second
MARGIN = 3.0          # beyond 2 x request_timeout
ANSWER_WITHIN = 2.0   # for the other clients


class SlowSender(threading.Thread):
    """POST /token with a valid session token, the body a byte a second;
    keeps what the server answers and when the server ended it."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.reply = b""
        self.answered_after = None   # first byte of the answer
        self.ended_after = None      # the server closed (or reset) the connection
        self.started = threading.Event()

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        t0 = time.monotonic()
        try:
            s.sendall(("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n{"
                       % (self.token, BODY)).encode())
            self.started.set()
            s.settimeout(1.0)  # the pace: a byte a second
            while time.monotonic() - t0 < 2 * REQUEST_TIMEOUT + MARGIN + 5:
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    if self.answered_after is None:
                        self.answered_after = time.monotonic() - t0
                    self.reply += chunk
                    continue
                except socket.timeout:
                    pass
                try:
                    s.send(b" ")
                except OSError:
                    break
            else:
                return  # never ended by the server
            self.ended_after = time.monotonic() - t0
        except OSError:
            self.ended_after = time.monotonic() - t0
        finally:
            self.started.set()
            s.close()


class SlowClients(rgtest.RoomgateTestCase):
    def test_slow_bodies_are_ended_with_408_and_others_are_served(self):
        with tempfile.TemporaryDirectory() as tmp:
            rgtest.add_user(os.path.join(tmp, "users.txt"), "alice", "alice-slow-pw")
            cfg = rgtest.base_config(server={"request_timeout": "%ds" % REQUEST_TIMEOUT,
                                             "max_connections": 16})
            srv = rgtest.Server.config(cfg, tmp).start()
            try:
                token = srv.login("alice", "alice-slow-pw")
                senders = [SlowSender(srv.port, token) for _ in range(SLOW_SENDERS)]
                for s in senders:
                    s.start()
                for s in senders:
                    s.started.wait(5)

                # meanwhile, other clients are answered
                failures = []
                for i in range(10):
                    t0 = time.monotonic()
                    c = srv.connection(timeout=ANSWER_WITHIN)
                    try:
                        if i % 2:
                            r = srv.post("/token", {}, headers=rgtest.bearer(token), conn=c)
                            ok = r[0] == 201
                        else:
                            r = srv.get("/healthz", conn=c)
                            ok = r[0] == 200
                        if not ok:
                            failures.append("status %s" % r[0])
                    except OSError as e:
                        failures.append(repr(e))
                    finally:
                        c.close()
                    if time.monotonic() - t0 > ANSWER_WITHIN:
                        failures.append("answered after %.1fs" % (time.monotonic() - t0))
                self.assertEqual(failures, [], "other clients were not served while %d "
                                 "bodies arrived a byte a second" % SLOW_SENDERS)

                for s in senders:
                    s.join(2 * REQUEST_TIMEOUT + MARGIN + 10)
                bound = 2 * REQUEST_TIMEOUT + MARGIN
                for s in senders:
                    self.assertIsNotNone(s.answered_after, "a body sent a byte a second got no "
                                         "answer in %.0fs" % (2 * REQUEST_TIMEOUT + MARGIN + 5))
                    self.assertLess(s.answered_after, bound,
                                    "a slow body held its thread %.1fs" % s.answered_after)
                    status, headers, body = rgtest.parse_raw_response(s.reply)
                    self.assertEqual(status, 408, s.reply[:300])
                    self.assertIn(b'"request_timeout"', body)
                    self.assertEqual(headers.get("connection"), "close")
                    self.assertIsNotNone(s.ended_after, "the connection was not closed")

                # nothing left behind: service as usual
                self.assertHealthy(srv)
                self.assertToken(srv.post("/token", {}, headers=rgtest.bearer(token)))
                lines = srv.wait_logs("access", SLOW_SENDERS, where=lambda o: o.get("status") == 408)
                self.assertEqual(len(lines), SLOW_SENDERS)
            finally:
                rgtest.stop_checked(srv)


if __name__ == "__main__":
    unittest.main()
