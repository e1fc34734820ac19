// The web page as roomgate delivers it, in headless Debian Chromium (playwright-core), with a
// real livekit-server: the vendored livekit-client's provenance, the page under its
// Content-Security-Policy with no console error and no violation, the versioned, minified and
// gzip-compressed files it loads, a real LiveKit room joined through the module the page
// imports (the CSP's connect-src), and the page refusing to be framed.
//
//   cd tests/browser && ./setup.sh && ROOMGATE_BIN=../../build/roomgate node --test delivery.test.mjs
//
// livekit-server v1.13.5 as tests/e2e/run gets it: LIVEKIT_SERVER_BIN, or $(go env GOBIN or
// GOPATH)/bin/server when it is that version, or `go install` (minutes the first time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const BIN = resolve(process.env.ROOMGATE_BIN || join(repo, 'build/roomgate'));
const WEB = resolve(process.env.ROOMGATE_WEB || join(repo, 'web'));
const CHROMIUM = '/usr/bin/chromium';
const LK_MODULE = 'github.com/livekit/livekit-server';
const LK_VERSION = 'v1.13.5';
const HEX = '[0-9a-f]{16}';

const children = [];
let work;            // temporary folder: livekit.yaml, Chromium's profile
let base;            // http://127.0.0.1:PORT (roomgate)
let lkUrl;           // ws://127.0.0.1:PORT (livekit-server)
let context;
let page;
const consoleErrors = [];
const responses = []; // every response the page got: { url, status, headers }

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

// Starts a child; resolves once `ready(stderr and stdout so far)` returns a value.
function start(cmd, args, env, ready, what) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    children.push(child);
    let log = '';
    const timer = setTimeout(() => fail(new Error(`${what} not ready within 20 s:\n${log.slice(-2000)}`)), 20_000);
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${what} exited (${code}):\n${log.slice(-2000)}`)); });
    const take = (chunk) => {
      log += chunk;
      const v = ready(log);
      if (v) { clearTimeout(timer); ok(v); }
    };
    child.stdout.setEncoding('utf8').on('data', take);
    child.stderr.setEncoding('utf8').on('data', take);
  });
}

function livekitServer() {
  if (process.env.LIVEKIT_SERVER_BIN) return process.env.LIVEKIT_SERVER_BIN;
  const go = (...a) => {
    const r = spawnSync('go', a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the Go toolchain is needed for livekit-server ${LK_VERSION} (go ${a.join(' ')}: ${r.error?.message || r.stderr})`);
    return r.stdout.trim();
  };
  const bin = join(go('env', 'GOBIN') || join(go('env', 'GOPATH'), 'bin'), 'server');
  const pinned = () => existsSync(bin) && go('version', '-m', bin).split('\n')
    .some((l) => { const f = l.trim().split(/\s+/); return f[0] === 'mod' && f[1] === LK_MODULE && f[2] === LK_VERSION; });
  if (!pinned()) {
    console.log(`installing ${LK_MODULE}/cmd/server@${LK_VERSION} with go install (minutes the first time)`);
    go('install', `${LK_MODULE}/cmd/server@${LK_VERSION}`);
    if (!pinned()) throw new Error(`${bin} is not livekit-server ${LK_VERSION} after go install`);
  }
  return bin;
}

async function startLiveKit() {
  const [port, tcp, udp] = [await freePort(), await freePort(), await freePort()];
  const yaml = join(work, 'livekit.yaml');
  writeFileSync(yaml, [
    `port: ${port}`, 'rtc:', `  tcp_port: ${tcp}`, `  udp_port: ${udp}`, '  use_external_ip: false',
    '  node_ip: 127.0.0.1', '  enable_loopback_candidate: true', '  interfaces:', '    includes: [lo]',
    'turn:', '  enabled: false', 'logging:', '  level: warn', ''].join('\n'));
  const child = spawn(livekitServer(), ['--dev', '--bind', '127.0.0.1', '--config', yaml],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (c) => { log += c; });
  for (const deadline = Date.now() + 20_000; ;) {
    if (child.exitCode !== null) throw new Error(`livekit-server exited (${child.exitCode}):\n${log.slice(-2000)}`);
    try { if ((await (await fetch(`http://127.0.0.1:${port}/`)).text()) === 'OK') break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`livekit-server did not answer within 20 s:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return `ws://127.0.0.1:${port}`;
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run tests/browser/setup.sh (apt-get install -y chromium)`);
  if (!existsSync(BIN)) throw new Error(`roomgate binary not found at ${BIN} (set ROOMGATE_BIN)`);
  work = mkdtempSync(join(tmpdir(), 'roomgate-delivery-'));
  lkUrl = await startLiveKit();
  const port = await start(BIN, ['serve', '--dev', '--listen', '127.0.0.1:0', '--web', WEB],
    { LIVEKIT_URL: lkUrl }, (log) => {
      for (const line of log.split('\n')) {
        try { const ev = JSON.parse(line); if (ev.event === 'listening') return ev.port; } catch { /* not JSON */ }
      }
      return null;
    }, 'roomgate');
  base = `http://127.0.0.1:${port}`;
  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15_000);
  // every CSP violation the page's documents see, as the browser reports it to them
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e?.stack || e)));
  page.on('response', async (r) => {
    responses.push({ url: r.url(), status: r.status(), headers: await r.allHeaders().catch(() => ({})) });
  });
});

after(async () => {
  await context?.close().catch(() => {});
  for (const c of children.reverse()) {
    if (c.exitCode !== null) continue;
    const exited = new Promise((ok) => c.once('exit', ok));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('vendored livekit-client: the locked npm package, unchanged, and its minified build esbuild\'s output', () => {
  // builds the minified file again with the pinned esbuild and compares byte for byte
  const r = spawnSync(join(repo, 'scripts/vendor-web'), ['--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/vendor-web --check:\n${r.stdout}${r.stderr}`);
  const version = readFileSync(join(WEB, 'vendor/VERSION'), 'utf8');
  const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
  assert.match(version, new RegExp(`^livekit-client ${lock.packages['node_modules/livekit-client'].version.replace(/\./g, '\\.')}\\n`));
  assert.match(version, /^file livekit-client\.esm\.min\.js = esbuild [0-9.]+ --minify --format=esm /m);
});

test('the page loads under its CSP: versioned files, the minified module, gzip; no console error', async () => {
  const res = await page.goto(`${base}/`);
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, new RegExp(`connect-src 'self' ${lkUrl.replace(/\./g, '\\.')} ${lkUrl.replace('ws:', 'http:').replace(/\./g, '\\.')};`));
  assert.match(csp, /frame-ancestors 'none'/);
  await page.locator('#login-form').waitFor({ state: 'visible' });
  await page.waitForLoadState('networkidle');
  const own = responses.filter((r) => r.url.startsWith(base)).map((r) => new URL(r.url).pathname);
  assert.ok(own.some((p) => new RegExp(`^/app\\.${HEX}\\.js$`).test(p)), own.join(' '));
  assert.ok(own.some((p) => new RegExp(`^/style\\.${HEX}\\.css$`).test(p)), own.join(' '));
  // nothing of ours by a plain name but the page itself
  assert.deepEqual(own.filter((p) => p !== '/' && !new RegExp(`\\.${HEX}\\.[a-z]+$`).test(p)), []);
  for (const r of responses.filter((x) => x.url.startsWith(base) && x.url !== `${base}/`)) {
    assert.match(r.headers['cache-control'], /immutable/, r.url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', r.url);
  }
  // sign in: the page's own requests pass its CSP
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo');
  await page.locator('#login-form').evaluate((f) => f.requestSubmit());
  await page.locator('#app-view').waitFor({ state: 'visible' });
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(consoleErrors, []);
});

test('a real LiveKit room, joined through the module the page imports: the CSP lets it connect', async () => {
  const login = await (await fetch(`${base}/v1/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'demo', password: 'demo' }),
  })).json();
  const session = await (await fetch(`${base}/v1/sessions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.access_token}` }, body: '{}',
  })).json();
  assert.equal(session.server_url, lkUrl);
  // app.js imports './vendor/livekit-client.esm.js': the page's import map names the minified
  // file's versioned name, which the browser fetches under the page's CSP
  const joined = await page.evaluate(async ({ url, token }) => {
    const lk = await import('./vendor/livekit-client.esm.js');
    const room = new lk.Room();
    await room.connect(url, token);
    const out = { state: room.state, name: room.name, me: room.localParticipant.identity };
    await room.disconnect();
    return out;
  }, { url: session.server_url, token: session.participant_token });
  assert.deepEqual(joined, { state: 'connected', name: session.room_name, me: 'demo' });
  const vendor = responses.filter((r) => r.url.startsWith(`${base}/vendor/`));
  assert.equal(vendor.length, 1, vendor.map((r) => r.url).join(' '));
  assert.match(new URL(vendor[0].url).pathname, new RegExp(`^/vendor/livekit-client\\.esm\\.min\\.${HEX}\\.js$`));
  assert.equal(vendor[0].headers['content-encoding'], 'gzip');
  assert.equal(vendor[0].headers['content-type'], 'text/javascript; charset=utf-8');
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(consoleErrors, []);
});

test('frame-ancestors \'none\': the page does not load in a frame, even its own', async () => {
  const framed = await page.evaluate(() => new Promise((ok) => {
    const f = document.createElement('iframe');
    f.src = '/';
    f.onload = () => {
      let doc = null;
      try { doc = f.contentDocument; } catch { /* a cross-origin error page */ }
      ok({ loaded: Boolean(doc && doc.querySelector('#login-form')) });
    };
    document.body.append(f);
  }));
  assert.deepEqual(framed, { loaded: false });
  // Chromium says so on the console: "Framing '…' violates the following Content Security
  // Policy directive: "frame-ancestors 'none'". The request has been blocked."
  assert.ok(consoleErrors.length >= 1 &&
    consoleErrors.every((t) => /^Framing .* violates .*"frame-ancestors 'none'".* blocked/.test(t)), consoleErrors.join('\n'));
});
