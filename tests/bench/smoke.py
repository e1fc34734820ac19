#!/usr/bin/env python3
"""bench.smoke: the benchmark's parts still work and still compare like with
like, without running the benchmark (no wrk, no Node, a few seconds).

tests/bench/run is not part of ./scripts/test (it takes minutes and wants an
idle machine), so without this test its programs and its assumptions could
break unnoticed. Checked here, with the bench's own code (run is imported):
- run --help works;
- ceiling.c starts civetweb with the options src/http_civetweb.c uses;
- mint, in every mode, mints (request mode: with the bench's config and body);
- the ceiling answers the bench's request as roomgate does: the same status,
  the same header names in the same order, the same body size.
Binaries from the environment: ROOMGATE_BIN, RG_MINT, RG_CEILING.
"""
import http.client
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN = os.path.join(HERE, "run")


def load_run():
    loader = importlib.machinery.SourceFileLoader("bench_run", RUN)
    spec = importlib.util.spec_from_loader("bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


bench = load_run()


def answer(url, auth):
    """POST the bench's body to /token: (status, [header names], body bytes)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    conn.request("POST", "/token", json.dumps(bench.BODY, separators=(",", ":")), headers)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, [k for k, _ in r.getheaders()], body


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.roomgate = os.environ["ROOMGATE_BIN"]
        cls.mint = os.environ["RG_MINT"]
        cls.ceiling = os.environ["RG_CEILING"]
        cls.tmp = tempfile.TemporaryDirectory()
        args = types.SimpleNamespace(build_dir=cls.tmp.name)
        cls.dir, cls.config, _, cls.body = bench.write_config(args, cls.roomgate)
        cls.servers = []

    @classmethod
    def tearDownClass(cls):
        for srv in cls.servers:
            srv.stop()
        cls.tmp.cleanup()

    def start(self, name, cmd):
        srv = bench.Server(name, cmd, os.path.join(self.dir, "logs"))
        self.servers.append(srv)
        return srv

    def test_help(self):
        cp = subprocess.run([sys.executable, RUN, "--help"], capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        for opt in ("--pairs", "--repeat", "--strict", "--src"):
            self.assertIn(opt, cp.stdout)

    def test_ceiling_has_roomgates_options(self):
        self.assertIsNone(bench.civetweb_options_in_sync(ROOT),
                          "tests/bench/ceiling.c's civetweb options differ from src/http_civetweb.c's")

    def test_mint_modes(self):
        extra = {"request": ["--config", self.config, "--body", self.body],
                 "parse": ["--body", self.body]}
        for mode in ("build", "json", "shared", "request", "parse"):
            with self.subTest(mode=mode):
                # 0 s, at least 1 token: one round of 1000
                cp = subprocess.run([self.mint, "--mode", mode] + extra.get(mode, []) + ["0", "1"],
                                    capture_output=True, text=True, timeout=120)
                self.assertEqual(cp.returncode, 0, cp.stderr)
                r = json.loads(cp.stdout)
                self.assertEqual(r["mode"], mode)
                self.assertEqual(r["tokens"], 1000)
                self.assertGreater(r["tokens_per_s"], 0)
        cp = subprocess.run([self.mint, "--mode", "request", "0", "1"], capture_output=True, text=True)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("--config", cp.stderr)

    def test_ceiling_answers_as_roomgate(self):
        rg = self.start("roomgate", [self.roomgate, "serve", "--config", self.config])
        auth = bench.login(rg)
        claims = bench.check_token("roomgate", rg.url, auth)
        self.assertEqual(claims["sub"], bench.USER)
        ce = self.start("ceiling", [self.ceiling])
        self.assertIsNone(bench.check_token("ceiling", ce.url, auth))  # its fixed answer
        s1, h1, b1 = answer(rg.url, auth)
        s2, h2, b2 = answer(ce.url, auth)
        self.assertEqual((s1, s2), (201, 201))
        self.assertEqual(h1, h2)
        self.assertEqual(len(b1), len(b2),
                         "the ceiling's fixed body (ceiling.c) no longer has the size of roomgate's "
                         "/token answer to the bench's request")
        self.assertIn("participant_token", json.loads(b2))
        for srv in (rg, ce):
            srv.stop()
            self.assertEqual(srv.proc.returncode, 0, srv.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
