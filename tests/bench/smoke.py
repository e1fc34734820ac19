#!/usr/bin/env python3
"""bench.smoke: the benchmark's parts still work and still compare like with
like, without running the benchmark (no wrk, no Node, a few seconds).

tests/bench/run is not part of ./scripts/test (it takes minutes and wants an
idle machine), so without this test its programs and its assumptions could
break unnoticed. Checked here, with the bench's own code (run is imported):
- run --help works;
- ceiling.c starts civetweb with the options src/http/civetweb.c uses;
- mint, in every mode, mints (request mode: with the bench's config and body);
- the ceiling answers the bench's request as roomgate does: the same status,
  the same header names in the same order, the same body size;
- so does the floor (ceiling --floor), and its token is roomgate's: the same
  claims and length, signed with the bench's LiveKit API secret; a body that is
  not JSON gets 400;
- the Python scripts parse (run, livekit-link, quotas, slowloris.py) and
  livekit-link --help and quotas --help work; the Go programs (delayproxy,
  gopeer) pass go vet and build, when that is quick: skipped without go,
  without gopeer's modules in the module cache (nothing is downloaded here),
  or past BENCH_SMOKE_GO_BUDGET seconds (10: a cold Go build cache;
  tests/bench/run fills it).
Binaries from the environment: ROOMGATE_BIN, RG_MINT, RG_CEILING.
"""
import base64
import hashlib
import hmac
import http.client
import importlib.machinery
import importlib.util
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
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


def answer(url, auth, body=None):
    """POST the bench's body to /token: (status, [header names], body bytes)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    if body is None:
        body = json.dumps(bench.BODY, separators=(",", ":"))
    conn.request("POST", "/token", body, headers)
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
        for opt in ("--rounds", "--repeat", "--strict", "--src"):
            self.assertIn(opt, cp.stdout)

    def test_ceiling_has_roomgates_options(self):
        self.assertIsNone(bench.civetweb_options_in_sync(ROOT),
                          "tests/bench/ceiling.c's civetweb options differ from src/http/civetweb.c's")

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

    def test_ceiling_and_floor_answer_as_roomgate(self):
        rg = self.start("roomgate", [self.roomgate, "serve", "--config", self.config])
        auth = bench.login(rg)
        claims = bench.check_token("roomgate", rg.url, auth)
        self.assertEqual(claims["sub"], bench.USER)
        s1, h1, b1 = answer(rg.url, auth)
        self.assertEqual(s1, 201)
        mine = json.loads(b1)["participant_token"]
        for name, extra in (("ceiling", []), ("floor", ["--floor"])):
            with self.subTest(server=name):
                srv = self.start(name, [self.ceiling] + extra)
                s2, h2, b2 = answer(srv.url, auth)
                self.assertEqual(s2, 201)
                self.assertEqual(h1, h2)
                self.assertEqual(len(b1), len(b2),
                                 "ceiling.c's answer (%s) no longer has the size of roomgate's /token "
                                 "answer to the bench's request" % name)
                token = json.loads(b2)["participant_token"]
                if name == "ceiling":
                    self.assertIsNone(bench.check_token(name, srv.url, auth))  # its fixed answer
                else:
                    self.check_floor_token(token, mine)
                    self.assertEqual(answer(srv.url, auth, body="not json")[0], 400)
                srv.stop()
                self.assertEqual(srv.proc.returncode, 0, srv.logs())
        rg.stop()
        self.assertEqual(rg.proc.returncode, 0, rg.logs())

    def check_floor_token(self, floor, mine):
        """The floor's token is roomgate's: same length and claims (nbf/exp
        aside), signed with the bench's LiveKit API secret."""
        self.assertEqual(len(floor), len(mine))
        self.assertEqual(bench.comparable(bench.jwt_claims(floor)),
                         bench.comparable(bench.jwt_claims(mine)),
                         "ceiling.c --floor no longer signs roomgate's claims (update its claims[])")
        signed, sig = floor.rsplit(".", 1)
        self.assertEqual(signed.split(".")[0], mine.split(".")[0])
        secret = bench.CONFIG["livekit"]["api_secret"].encode()
        want = base64.urlsafe_b64encode(hmac.new(secret, signed.encode(), hashlib.sha256).digest())
        self.assertEqual(sig, want.rstrip(b"=").decode())

def go_version(text):
    """'go1.26.8' or '1.22' -> (1, 26, 8) / (1, 22, 0); unknown -> (0, 0, 0)."""
    m = re.match(r"(?:go)?(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x or 0) for x in m.groups()) if m else (0, 0, 0)


class BenchScripts(unittest.TestCase):
    """The parts of the bench the other tests do not start: a cheap look."""

    def test_scripts_parse(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("run", "livekit-link", "quotas", "slowloris.py", "smoke.py"):
                with self.subTest(script=name):
                    py_compile.compile(os.path.join(HERE, name), cfile=os.path.join(tmp, name + ".pyc"),
                                       doraise=True)
        for name, opts in (("livekit-link", ("--delay", "--strict", "--quick", "--rounds")),
                           ("quotas", ("--users", "--ttl", "--strict", "--quick", "--rounds", "--probe"))):
            cp = subprocess.run([sys.executable, os.path.join(HERE, name), "--help"],
                                capture_output=True, text=True)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            for opt in opts:
                self.assertIn(opt, cp.stdout)

    def test_go_programs(self):
        if not shutil.which("go"):
            self.skipTest("go not found: tests/bench/delayproxy and tests/bench/gopeer not checked")
        budget = float(os.environ.get("BENCH_SMOKE_GO_BUDGET", "10"))
        deadline = time.monotonic() + budget
        # no download here: modules (and toolchains) come from this machine or not at all
        env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local")
        have = go_version(subprocess.run(["go", "env", "GOVERSION"], capture_output=True,
                                         text=True).stdout.strip())
        for pkg in ("delayproxy", "gopeer"):
            with self.subTest(program=pkg):
                with open(os.path.join(HERE, pkg, "go.mod")) as f:
                    need = go_version(re.search(r"^go (\S+)", f.read(), re.M).group(1))
                if have < need:
                    self.skipTest("%s needs Go %s, this go is %s" % (pkg, ".".join(map(str, need)),
                                                                     ".".join(map(str, have))))
                for cmd in (["go", "vet", "."], ["go", "build", "-o", os.devnull, "."]):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.skipTest("%s: the %g s budget is spent (a cold Go build cache)" % (pkg, budget))
                    try:
                        cp = subprocess.run(cmd, cwd=os.path.join(HERE, pkg), env=env, capture_output=True,
                                            text=True, timeout=left)
                    except subprocess.TimeoutExpired:
                        self.skipTest("%s: %s takes more than the %g s budget here (a cold Go build "
                                      "cache; tests/bench/run fills it)" % (pkg, " ".join(cmd[:2]), budget))
                    if cp.returncode and "GOPROXY=off" in cp.stderr:
                        self.skipTest("%s: its modules are not in the module cache (tests/bench/run "
                                      "downloads them)" % pkg)
                    self.assertEqual(cp.returncode, 0, "%s in tests/bench/%s:\n%s" % (" ".join(cmd), pkg,
                                                                                      cp.stderr[-3000:]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
