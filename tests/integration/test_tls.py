"""HTTPS: `tls` in the config serves TLS 1.2+ through OpenSSL, checked with
curl (and Python's ssl for keep-alive); a missing or mismatched certificate
is a clear startup error (exit 1), also from `roomgate config check`.
"""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

CURL = shutil.which("curl")
OPENSSL = shutil.which("openssl")


def make_cert(tmp, name, cn="localhost"):
    """A self-signed P-256 certificate for 127.0.0.1/localhost."""
    key, cert = os.path.join(tmp, name + "-key.pem"), os.path.join(tmp, name + "-cert.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def curl(*args):
    cp = subprocess.run([CURL, "-sS", "--max-time", "10", *args], capture_output=True,
                        text=True, timeout=30)
    return cp.returncode, cp.stdout, cp.stderr


@unittest.skipUnless(CURL and OPENSSL, "curl and openssl are installed by scripts/test")
class TlsServer(rgtest.RoomgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rg-tls-")
        cls.cert, cls.key = make_cert(cls.tmp, "server")
        rgtest.add_user(os.path.join(cls.tmp, "users.txt"), "alice", "wonderland-pass")
        cfg = rgtest.base_config(tls={"certificate": cls.cert, "key": cls.key})
        cls.srv = rgtest.Server.config(cfg, cls.tmp).start()
        cls.url = "https://127.0.0.1:%d" % cls.srv.port

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_listening_event_says_https(self):
        ev = [o for o in self.srv.log_objects() if o.get("event") == "listening"][0]
        self.assertEqual(ev["url"], self.url)
        self.assertIs(ev["tls"], True)

    def test_healthz_over_https_verifies_certificate(self):
        rc, out, err = curl("--cacert", self.cert, self.url + "/healthz")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["status"], "ok")

    def test_login_and_token_over_https(self):
        rc, out, err = curl("--cacert", self.cert, "-u", "alice:wonderland-pass",
                            "-H", "content-type: application/json",
                            "-d", '{"room_name":"lobby"}', self.url + "/token")
        self.assertEqual(rc, 0, err)
        body = json.loads(out)
        claims = rgtest.jwt_payload(body["participant_token"])
        self.assertEqual(claims["sub"], "alice")
        self.assertEqual(claims["video"]["room"], "lobby")
        self.assertTrue(rgtest.jwt_hs256_ok(body["participant_token"], rgtest.API_SECRET))

    def test_tls12_accepted_tls11_refused(self):
        rc, out, err = curl("--cacert", self.cert, "--tlsv1.2", "--tls-max", "1.2",
                            self.url + "/healthz")
        self.assertEqual(rc, 0, err)
        # curl 35 = SSL connect error: the server refuses anything below 1.2
        rc, out, err = curl("-k", "--tlsv1.1", "--tls-max", "1.1", self.url + "/healthz")
        self.assertEqual(rc, 35, (out, err))
        self.assertTrue(self.srv.alive())

    def test_plain_http_on_tls_port_gets_nothing(self):
        rc, out, err = curl("http://127.0.0.1:%d/healthz" % self.srv.port)
        self.assertNotEqual(rc, 0)
        self.assertNotIn('"status"', out)
        rc, out, err = curl("--cacert", self.cert, self.url + "/healthz")
        self.assertEqual(rc, 0, err)

    def test_keep_alive_over_tls(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.srv.port, context=ctx, timeout=10)
        try:
            for _ in range(5):
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.read()
            self.assertEqual(ctx.protocol, ssl.PROTOCOL_TLS_CLIENT)
            self.assertIn(conn.sock.version(), ("TLSv1.2", "TLSv1.3"))
        finally:
            conn.close()

    def test_untrusted_certificate_rejected_by_client(self):
        rc, out, err = curl(self.url + "/healthz")
        self.assertEqual(rc, 60, err)  # peer certificate cannot be authenticated


@unittest.skipUnless(OPENSSL, "openssl is installed by scripts/test")
class TlsStartupErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rg-tls-bad-")
        cls.cert, cls.key = make_cert(cls.tmp, "a")
        cls.cert2, cls.key2 = make_cert(cls.tmp, "b", cn="other")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_refused(self, tls, needle):
        cfg = rgtest.base_config(tls=tls)
        cfg.pop("users_file")
        path = rgtest.write_json(os.path.join(self.tmp, "cfg.json"), cfg)
        cp = rgtest.run_cli(["serve", "--config", path, "--listen", "127.0.0.1:0"], timeout=20)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn(needle, cp.stderr)
        self.assertNotIn("listening", cp.stderr)
        cp = rgtest.run_cli(["config", "check", path])
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn(needle, cp.stdout + cp.stderr)

    def test_mismatched_key(self):
        self.check_refused({"certificate": self.cert, "key": self.key2}, "does not match")

    def test_missing_certificate(self):
        self.check_refused({"certificate": os.path.join(self.tmp, "nope.pem"), "key": self.key},
                           "cannot load a PEM certificate")

    def test_missing_key(self):
        self.check_refused({"certificate": self.cert, "key": os.path.join(self.tmp, "nope.pem")},
                           "cannot load an unencrypted PEM private key")

    def test_certificate_without_key(self):
        self.check_refused({"certificate": self.cert}, "tls")

    def test_unknown_tls_key(self):
        self.check_refused({"certificate": self.cert, "key": self.key, "ciphers": "x"}, "ciphers")


if __name__ == "__main__":
    unittest.main()
