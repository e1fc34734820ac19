"""The web page's delivery: security headers (CSP with the configured LiveKit
URL, frame-ancestors by default and configured, nosniff, Referrer-Policy),
versioned names (content hashes) cached for a year and the page revalidated
(ETag, 304), gzip when the client accepts it, Content-Types, folders as 404
JSON, the page's files read again in dev mode and on a reload.

The real page (web/) and a web root made here, served by the real binary on
loopback.
"""
import base64
import gzip
import hashlib
import json
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgtest  # noqa: E402

WEB = os.path.join(rgtest.REPO, "web")
# an address, not a name: roomgate's own calls to LiveKit fail at once (nothing listens)
LIVEKIT_URL = "wss://127.0.0.1:9/some/path"
IMMUTABLE = {"public", "max-age=31536000", "immutable"}
HEX16 = r"[0-9a-f]{16}"


def csp_directives(value):
    """{"default-src": ["'self'"], ...} from a Content-Security-Policy value."""
    out = {}
    for part in (value or "").split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def cache_tokens(resp):
    return {t.strip() for t in (resp.headers.get("Cache-Control") or "").split(",") if t.strip()}


def refs(html):
    """The src and href values of an HTML text."""
    return re.findall(r'\s(?:src|href)="([^"]*)"', html)


def import_map(html):
    m = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    return (m.group(1), json.loads(m.group(1))) if m else (None, None)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class RealPage(rgtest.RoomgateTestCase):
    """The page in web/ as `roomgate serve --dev` serves it."""

    @classmethod
    def setUpClass(cls):
        cls.srv = rgtest.Server.dev(env={"LIVEKIT_URL": LIVEKIT_URL},
                                    extra_args=["--web", WEB]).start()
        cls.page = cls.srv.get("/")
        cls.html = cls.page.raw.decode("utf-8")

    @classmethod
    def tearDownClass(cls):
        rgtest.stop_checked(cls.srv)

    def tearDown(self):
        self.assertHealthy(self.srv)

    def test_page_security_headers(self):
        r = self.page
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.headers.get("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.headers.get("Referrer-Policy"), "no-referrer")
        self.assertEqual(r.headers.get("X-Frame-Options"), "DENY")
        self.assertEqual(r.headers.get("Cross-Origin-Opener-Policy"), "same-origin")
        csp = csp_directives(r.headers.get("Content-Security-Policy"))
        self.assertEqual(csp.get("default-src"), ["'self'"])
        self.assertEqual(csp.get("object-src"), ["'none'"])
        self.assertEqual(csp.get("base-uri"), ["'none'"])
        self.assertEqual(csp.get("form-action"), ["'self'"])
        self.assertEqual(csp.get("frame-ancestors"), ["'none'"])
        # the LiveKit URL's origin, as the WebSocket and as the HTTP requests
        # livekit-client makes (its path is no part of it)
        self.assertEqual(csp.get("connect-src"),
                         ["'self'", "wss://127.0.0.1:9", "https://127.0.0.1:9"])
        # scripts: the page's own, and the inline import map by its hash only
        text, _ = import_map(self.html)
        self.assertIsNotNone(text, "no import map in the page")
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        self.assertEqual(csp.get("script-src"), ["'self'", "'sha256-%s'" % digest])
        self.assertNotIn("'unsafe-inline'", r.headers.get("Content-Security-Policy"))
        self.assertNotIn("'unsafe-eval'", r.headers.get("Content-Security-Policy"))
        # nothing inline but the import map: no inline script, style or handler
        self.assertEqual(len(re.findall(r"<script(?![^>]*\ssrc=)", self.html)), 1, self.html[:2000])
        self.assertNotRegex(self.html, r"<style|\sstyle=|\son[a-z]+=")

    def test_versioned_names_resolve_and_are_immutable(self):
        local = [v for v in refs(self.html)
                 if not re.match(r"^(#|[a-z]+:|\./$|/$)", v) and v not in ("./", "")]
        self.assertTrue(local, self.html[:2000])
        _, imap = import_map(self.html)
        targets = {}
        for v in local:
            m = re.match(r"^(?:\./)?(.*)\.(%s)(\.[a-z]+)$" % HEX16, v)
            self.assertIsNotNone(m, "the page names %s, not a versioned name" % v)
            targets["/" + v.lstrip("./")] = m.group(1) + m.group(3)
        for key, val in imap["imports"].items():
            self.assertRegex(val, r"^\./.*\.%s\.js$" % HEX16)
            m = re.match(r"^\./(.*)\.(%s)(\.js)$" % HEX16, val)
            targets[val[1:]] = m.group(1) + m.group(3)
        # app.js imports livekit-client by its plain name: the page loads the minified build
        self.assertRegex(imap["imports"]["./vendor/livekit-client.esm.js"],
                         r"^\./vendor/livekit-client\.esm\.min\.%s\.js$" % HEX16)
        for url, plain in sorted(targets.items()):
            with self.subTest(url=url):
                r = self.srv.get(url)
                self.assertEqual(r.status, 200, repr(r))
                self.assertEqual(r.raw, read(os.path.join(WEB, plain)))
                self.assertIn(hashlib.sha256(r.raw).hexdigest()[:16], url)
                self.assertEqual(cache_tokens(r), IMMUTABLE)
                self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")
                self.assertEqual(r.headers.get("Referrer-Policy"), "no-referrer")
                self.assertEqual(r.headers.get("Cross-Origin-Resource-Policy"), "same-origin")
                self.assertIsNone(r.headers.get("Content-Security-Policy"))
        # a version this page does not have
        for bad in ("/app.0123456789abcdef.js", "/app.%s.css" % ("0" * 16), "/index.%s.html" % ("0" * 16)):
            self.assertError(self.srv.get(bad), 404, "not_found")

    def test_page_and_plain_names_revalidate(self):
        etag = self.page.headers.get("ETag")
        self.assertRegex(etag, r'^"%s"$' % HEX16)
        self.assertEqual(cache_tokens(self.page), {"no-cache"})
        for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
            with self.subTest(if_none_match=inm):
                r = self.srv.get("/", headers={"If-None-Match": inm})
                self.assertEqual(r.status, 304, repr(r))
                self.assertEqual(r.raw, b"")
                self.assertEqual(r.headers.get("ETag"), etag)
                self.assertIsNone(r.headers.get("Content-Length"))
                self.assertIn("Content-Security-Policy", r.headers)
        self.assertEqual(self.srv.get("/", headers={"If-None-Match": '"0123456789abcdef"'}).status, 200)
        self.assertEqual(self.srv.get("/index.html").raw, self.page.raw)
        r = self.srv.get("/app.js")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.raw, read(os.path.join(WEB, "app.js")))
        self.assertEqual(cache_tokens(r), {"no-cache"})
        self.assertEqual(r.headers.get("ETag"), '"%s"' % hashlib.sha256(r.raw).hexdigest()[:16])
        self.assertEqual(self.srv.get("/app.js", headers={"If-None-Match": r.headers["ETag"]}).status, 304)
        # HEAD: the same headers, no body
        h = self.srv.request("HEAD", "/")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.raw, b"")
        self.assertEqual(h.headers.get("Content-Length"), str(len(self.page.raw)))
        self.assertEqual(h.headers.get("ETag"), etag)

    def test_gzip_when_accepted(self):
        _, imap = import_map(self.html)
        url = imap["imports"]["./vendor/livekit-client.esm.js"][1:]
        raw = read(os.path.join(WEB, "vendor/livekit-client.esm.min.js"))
        plain = self.srv.get(url)
        self.assertEqual(plain.raw, raw)
        self.assertIsNone(plain.headers.get("Content-Encoding"))
        self.assertEqual(plain.headers.get("Vary"), "Accept-Encoding")
        for ae in ("gzip", "gzip, deflate, br, zstd", "br;q=1, gzip;q=0.5", "*", "x-gzip"):
            with self.subTest(accept_encoding=ae):
                r = self.srv.get(url, headers={"Accept-Encoding": ae})
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
                self.assertEqual(r.headers.get("Vary"), "Accept-Encoding")
                self.assertEqual(int(r.headers["Content-Length"]), len(r.raw))
                self.assertEqual(gzip.decompress(r.raw), raw)
                self.assertEqual(cache_tokens(r), IMMUTABLE)
                self.assertNotEqual(r.headers.get("ETag"), plain.headers.get("ETag"))
        for ae in ("gzip;q=0", "br", "identity", "gzip;q=0.000, br", "*;q=0", "deflate, *;q=0"):
            with self.subTest(accept_encoding=ae):
                r = self.srv.get(url, headers={"Accept-Encoding": ae})
                self.assertIsNone(r.headers.get("Content-Encoding"))
                self.assertEqual(r.raw, raw)
        gz = self.srv.get(url, headers={"Accept-Encoding": "gzip"})
        r = self.srv.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["ETag"]})
        self.assertEqual(r.status, 304)
        self.assertIsNone(r.headers.get("Content-Encoding"))
        # the page and its other text files too; the small favicon is sent as it is
        for path in ["/", "/app.js", "/style.css"]:
            with self.subTest(path=path):
                r = self.srv.get(path, headers={"Accept-Encoding": "gzip"})
                self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
                self.assertEqual(gzip.decompress(r.raw), self.srv.get(path).raw)
        r = self.srv.get("/favicon.svg", headers={"Accept-Encoding": "gzip"})
        self.assertIsNone(r.headers.get("Content-Encoding"))
        print("\nlivekit-client: unminified %d bytes (gzip %d); minified %d bytes, sent gzip %d"
              % (len(read(os.path.join(WEB, "vendor/livekit-client.esm.js"))),
                 len(gzip.compress(read(os.path.join(WEB, "vendor/livekit-client.esm.js")), 9, mtime=0)),
                 len(raw), len(gz.raw)), file=sys.stderr)

    def test_content_types_of_the_pages_files(self):
        want = {"/": "text/html; charset=utf-8",
                "/app.js": "text/javascript; charset=utf-8",
                "/style.css": "text/css; charset=utf-8",
                "/favicon.svg": "image/svg+xml",
                "/vendor/livekit-client.esm.js": "text/javascript; charset=utf-8",
                "/vendor/livekit-client.esm.min.js": "text/javascript; charset=utf-8",
                "/vendor/VERSION": "text/plain; charset=utf-8"}
        for path, ctype in want.items():
            with self.subTest(path=path):
                r = self.srv.get(path)
                self.assertEqual(r.status, 200, repr(r))
                self.assertEqual(r.headers.get("Content-Type"), ctype)
                self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")

    def test_folders_are_not_found(self):
        for path in ("/vendor/", "/vendor", "/vendor//"):
            with self.subTest(path=path):
                err = self.assertError(self.srv.get(path), 404, "not_found")
                self.assertIn("folder", err["message"])
        self.assertEqual(self.srv.request("HEAD", "/vendor/").status, 404)
        self.assertError(self.srv.get("/nope.js"), 404, "not_found")
        for method in ("PUT", "DELETE", "POST"):
            with self.subTest(method=method):
                r = self.srv.request(method, "/vendor/", body=b"{}")
                self.assertError(r, 405, "method_not_allowed")
                self.assertEqual(r.headers.get("Allow"), "GET, HEAD")


class OwnWebRoot(rgtest.RoomgateTestCase):
    """A web root made here: what an HTML file names, a .min twin, an .mjs
    module, hidden and oddly named files, and dev mode reading it again."""

    def setUp(self):
        self.tmp = rgtest.TempDir()
        self.addCleanup(self.tmp.cleanup)
        root = self.root = self.tmp.join("web")
        write(os.path.join(root, "index.html"),
              '<!doctype html><html><head><title>t</title>\n'
              '<link rel="stylesheet" href="/css/site.css">\n'
              '<script type="module" src="./js/main.js"></script>\n'
              '<script src="https://cdn.example/x.js"></script></head>\n'
              '<body><a href="#top">top</a> <a href="sub/">sub</a> <img src="img/logo.png?v=1">'
              ' <img src="img/logo.png"> <a href="js/../data.mjs">m</a></body></html>\n')
        write(os.path.join(root, "css/site.css"), "body { color: black; }\n" * 100)
        write(os.path.join(root, "js/main.js"), "import('./lib.js');\n")
        write(os.path.join(root, "js/lib.js"), "export const x = 1;  // readable\n")
        write(os.path.join(root, "js/lib.min.js"), "export const x=1;\n")
        write(os.path.join(root, "data.mjs"), "export default 1;\n")
        write(os.path.join(root, "img/logo.png"), "not really a png")
        write(os.path.join(root, "sub/index.html"), "<!doctype html><title>sub</title>\n")
        write(os.path.join(root, ".secret"), "hidden\n")
        write(os.path.join(root, "a b.txt"), "odd name\n")
        self.srv = rgtest.Server.dev(extra_args=["--web", root]).start()
        self.addCleanup(self.srv.kill)

    def hashed(self, rel):
        return hashlib.sha256(read(os.path.join(self.root, rel))).hexdigest()[:16]

    def test_rewritten_names_import_map_and_types(self):
        html = self.srv.get("/").raw.decode()
        self.assertIn('href="/css/site.%s.css"' % self.hashed("css/site.css"), html)
        self.assertIn('src="./js/main.%s.js"' % self.hashed("js/main.js"), html)
        self.assertIn('src="https://cdn.example/x.js"', html)  # not ours: unchanged
        self.assertIn('href="#top"', html)
        self.assertIn('href="sub/"', html)
        self.assertIn('src="img/logo.png?v=1"', html)         # a query: left as written
        self.assertIn('src="img/logo.%s.png"' % self.hashed("img/logo.png"), html)
        # "js/../data.mjs" names /data.mjs: its versioned name, the folders as written
        self.assertIn('href="js/../data.%s.mjs"' % self.hashed("data.mjs"), html)
        # the import map comes before the first script and names every module
        self.assertLess(html.index('type="importmap"'), html.index("<script type=\"module\""))
        _, imap = import_map(html)
        self.assertEqual(imap["imports"], {
            "./data.mjs": "./data.%s.mjs" % self.hashed("data.mjs"),
            "./js/lib.js": "./js/lib.min.%s.js" % self.hashed("js/lib.min.js"),
            "./js/lib.min.js": "./js/lib.min.%s.js" % self.hashed("js/lib.min.js"),
            "./js/main.js": "./js/main.%s.js" % self.hashed("js/main.js"),
        })
        self.assertEqual(self.srv.get("/data.%s.mjs" % self.hashed("data.mjs")).status, 200)
        r = self.srv.get("/data.mjs")
        self.assertEqual(r.headers.get("Content-Type"), "text/javascript; charset=utf-8")
        self.assertEqual(self.srv.get("/img/logo.png").headers.get("Content-Type"), "image/png")
        self.assertEqual(self.srv.get("/sub/").raw, b"<!doctype html><title>sub</title>\n")
        for path in ("/.secret", "/a b.txt", "/a%20b.txt", "/js/", "/js/main.js/"):
            with self.subTest(path=path):
                self.assertError(self.srv.get(path.replace(" ", "%20")), 404, "not_found")

    def test_dev_mode_reads_changed_files_at_the_next_page(self):
        old = "/js/main.%s.js" % self.hashed("js/main.js")
        page1 = self.srv.get("/")
        self.assertIn(old[1:], page1.raw.decode())
        time.sleep(0.02)
        write(os.path.join(self.root, "js/main.js"), "import('./lib.js'); // v2\n")
        new = "/js/main.%s.js" % self.hashed("js/main.js")
        page2 = self.srv.get("/", headers={"If-None-Match": page1.headers["ETag"]})
        self.assertEqual(page2.status, 200, "the page did not change with its module")
        self.assertIn(new[1:], page2.raw.decode())
        self.assertNotEqual(page2.headers["ETag"], page1.headers["ETag"])
        self.assertEqual(self.srv.get(new).raw, read(os.path.join(self.root, "js/main.js")))
        self.assertError(self.srv.get(old), 404, "not_found")


class ConfiguredPage(rgtest.RoomgateTestCase):
    """A config file: web.frame_ancestors, and a reload taking a new LiveKit
    URL and new files."""

    def start(self, web=None, url="ws://127.0.0.1:7880"):
        self.tmp = rgtest.TempDir()
        self.addCleanup(self.tmp.cleanup)
        rgtest.add_user(self.tmp.join("users.txt"), "erin", "correct-horse-battery")
        write(self.tmp.join("page/index.html"), '<!doctype html><script type="module" src="a.js"></script>\n')
        write(self.tmp.join("page/a.js"), "export {};\n")
        cfg = rgtest.base_config(web_root="page")
        cfg["livekit"]["url"] = url
        cfg["livekit"]["api_url"] = "http://127.0.0.1:9"  # roomgate's own calls: refused at once
        if web is not None:
            cfg["web"] = web
        self.cfg = cfg
        self.srv = rgtest.Server.config(cfg, self.tmp.path).start()
        self.addCleanup(self.srv.kill)
        return self.srv

    def test_frame_ancestors_configured(self):
        srv = self.start({"frame_ancestors": ["'self'", "https://portal.example.com",
                                              "https://*.intranet.example:*"]})
        r = srv.get("/")
        csp = csp_directives(r.headers.get("Content-Security-Policy"))
        self.assertEqual(csp["frame-ancestors"],
                         ["'self'", "https://portal.example.com", "https://*.intranet.example:*"])
        self.assertIsNone(r.headers.get("X-Frame-Options"))  # it cannot say this list
        self.assertEqual(csp["connect-src"], ["'self'", "ws://127.0.0.1:7880", "http://127.0.0.1:7880"])

    def test_frame_ancestors_self_only(self):
        r = self.start({"frame_ancestors": ["'self'"]}).get("/")
        self.assertEqual(csp_directives(r.headers["Content-Security-Policy"])["frame-ancestors"], ["'self'"])
        self.assertEqual(r.headers.get("X-Frame-Options"), "SAMEORIGIN")

    def test_reload_takes_the_new_url_and_files(self):
        srv = self.start(url="https://lk-one.example")
        r1 = srv.get("/")
        self.assertIn("wss://lk-one.example https://lk-one.example", r1.headers["Content-Security-Policy"])
        self.cfg["livekit"]["url"] = "wss://lk-two.example:8443"
        rgtest.write_json(srv.config_path, self.cfg)
        write(self.tmp.join("page/a.js"), "export const v = 2;\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                l and l.get("event") == "reloaded" for l in srv.log_objects()):
            time.sleep(0.05)
        r2 = srv.get("/", headers={"If-None-Match": r1.headers["ETag"]})
        self.assertEqual(r2.status, 200)
        self.assertIn("wss://lk-two.example:8443 https://lk-two.example:8443",
                      r2.headers["Content-Security-Policy"])
        new = hashlib.sha256(b"export const v = 2;\n").hexdigest()[:16]
        self.assertIn("a.%s.js" % new, r2.raw.decode())
        self.assertEqual(srv.get("/a.%s.js" % new).status, 200)
        # a web root that cannot be read on a reload: logged, the old files stay
        self.cfg["web_root"] = "missing"
        rgtest.write_json(srv.config_path, self.cfg)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                l and l.get("event") == "web_reload_failed" for l in srv.log_objects()):
            time.sleep(0.05)
        self.assertTrue(any(l and l.get("event") == "web_reload_failed" for l in srv.log_objects()),
                        srv.stderr_text()[-2000:])
        self.assertEqual(srv.get("/a.%s.js" % new).status, 200)
        self.assertStops(srv)

    def test_config_check(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "erin", "correct-horse-battery")
        good = [["'self'"], ["https://a.example", "http://localhost:8080", "https://*.b.example:*",
                             "https://[::1]:8443"], []]
        bad = [["'none'"], ["*"], ["https://a.example/path"], ["https://a.example; script-src *"],
               ["ftp://a.example"], ["https://a.example:99999"], ["https://"], "https://a.example",
               [""], ["https://a b.example"]]
        for fa in good + bad:
            with self.subTest(frame_ancestors=fa):
                path = rgtest.write_json(tmp.join("c.json"),
                                         rgtest.base_config(web={"frame_ancestors": fa}))
                cp = rgtest.run_cli(["config", "check", path])
                if fa in good:
                    self.assertEqual(cp.returncode, 0, cp.stderr)
                else:
                    self.assertEqual(cp.returncode, 1, "accepted %r" % (fa,))
                    self.assertIn("frame_ancestors", cp.stderr)
        path = rgtest.write_json(tmp.join("c.json"), rgtest.base_config(web={"frame": []}))
        cp = rgtest.run_cli(["config", "check", path])
        self.assertEqual(cp.returncode, 1)
        for url in ("wss://user@lk.example", "wss://lk.example:port", "wss://", "wss://lk example.com",
                    "wss://lk.example;x"):
            with self.subTest(livekit_url=url):
                cfg = rgtest.base_config()
                cfg["livekit"]["url"] = url
                cp = rgtest.run_cli(["config", "check", rgtest.write_json(tmp.join("c.json"), cfg)])
                self.assertEqual(cp.returncode, 1, "accepted %r" % url)
                self.assertIn("livekit.url", cp.stderr)
        for url in ("wss://lk.example.com", "ws://127.0.0.1:7880/", "https://[::1]:7880/rtc",
                    "http://livekit:7880?x=1"):
            with self.subTest(livekit_url=url):
                cfg = rgtest.base_config()
                cfg["livekit"]["url"] = url
                cp = rgtest.run_cli(["config", "check", rgtest.write_json(tmp.join("c.json"), cfg)])
                self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_unreadable_web_root_fails_the_start(self):
        tmp = rgtest.TempDir()
        self.addCleanup(tmp.cleanup)
        rgtest.add_user(tmp.join("users.txt"), "erin", "correct-horse-battery")
        path = rgtest.write_json(tmp.join("c.json"), rgtest.base_config(web_root="nowhere"))
        cp = rgtest.run_cli(["serve", "--config", path, "--listen", "127.0.0.1:0"], timeout=20)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("web_root", cp.stderr)


if __name__ == "__main__":
    unittest.main()
