// Helpers shared by the browser tests (page, call, limits): roomgate and livekit-server as
// child processes on free loopback ports, Debian's Chromium through playwright-core with the
// console policy the tests share, axe-core, and LiveKit-style HS256 JWTs (webhooks, the
// server API).
//
// Console policy: every console error and uncaught page error fails the step that saw it
// (watch.check(step)), except the Chromium network messages a step allows for failures it
// causes on purpose (watch.allowed, one predicate per message; reset it after the step).

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const BIN = resolve(process.env.ROOMGATE_BIN || join(repo, 'build/roomgate'));
export const WEB = resolve(process.env.ROOMGATE_WEB || join(repo, 'web'));
export const SHOTS = resolve(process.env.SCREENSHOT_DIR || join(repo, 'build/screenshots'));
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// For a real call: a fake microphone (a tone) without a permission prompt, and ICE over loopback.
export const CHROMIUM_MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection'];

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

export function checkPrerequisites() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: these tests drive Debian's Chromium and never download a browser. ` +
      'Install it with tests/browser/setup.sh (apt-get install -y chromium), as scripts/test does.');
  }
  if (!existsSync(BIN)) throw new Error(`roomgate binary not found at ${BIN} (set ROOMGATE_BIN)`);
}

// `roomgate serve ARGS --listen 127.0.0.1:0` until it logs "listening":
// { child, port, base, log() (its stderr so far), stop() }.
export function startRoomgate(args, env = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(BIN, ['serve', ...args, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let log = '';
    let buf = '';
    const timer = setTimeout(() => fail(new Error(`roomgate did not log "listening" within 10 s:\n${log}`)), 10_000);
    child.on('error', (e) => { clearTimeout(timer); fail(e); });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`roomgate exited (${code}) before listening:\n${log}`)); });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev;
        try { ev = JSON.parse(line); } catch { continue; }
        if (ev.event === 'listening' && ev.port) {
          clearTimeout(timer);
          ok({ child, port: ev.port, base: `http://127.0.0.1:${ev.port}`, log: () => log, stop: () => stopChild(child) });
        }
      }
    });
  });
}

// SIGTERM, then SIGKILL after `ms`; resolves once the process is gone.
export async function stopChild(child, ms = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

// `roomgate user add FILE NAME` with the password on stdin.
export function addUser(file, name, password, display, groups = []) {
  const args = ['user', 'add', file, name, '--display-name', display];
  if (groups.length) args.push('--groups', groups.join(','));
  execFileSync(BIN, args, { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name, text) => { const p = join(dir, name); if (text !== undefined) writeFileSync(p, text); return p; },
    remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/* ------------------------------------------------------------------- JWTs */

// An HS256 JWT as LiveKit's SDKs make them (and LiveKit checks them).
export function hs256(claims, secret) {
  const seg = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signing = `${seg({ alg: 'HS256', typ: 'JWT' })}.${seg(claims)}`;
  return `${signing}.${createHmac('sha256', secret).update(signing).digest('base64url')}`;
}

export function jwtClaims(token) { return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')); }

// A LiveKit webhook as livekit-server --dev sends it: Authorization is an HS256 JWT from the
// API key/secret (devkey/secret) whose sha256 claim is the padded base64 of the body's SHA-256.
export async function sendWebhook(base, event) {
  const body = JSON.stringify({ id: `EV_${randomBytes(8).toString('hex')}`, createdAt: String(Math.floor(Date.now() / 1000)), ...event });
  const now = Math.floor(Date.now() / 1000);
  const jwt = hs256({ iss: 'devkey', nbf: now - 5, exp: now + 300, sha256: createHash('sha256').update(body).digest('base64') }, 'secret');
  const res = await fetch(`${base}/livekit/webhook`, {
    method: 'POST', headers: { Authorization: jwt, 'Content-Type': 'application/webhook+json' }, body,
  });
  assert.equal(res.status, 200, `webhook ${event.event}: ${await res.text()}`);
}

export async function apiLogin(base, username = 'demo', password = 'demo') {
  const res = await fetch(`${base}/v1/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200, `login ${username}`);
  return (await res.json()).access_token;
}

/* ---------------------------------------------------------------- browser */

// Chromium with a fresh profile: { context, page, watch, close() }.
export async function openBrowser({ args = [], permissions = [], origin } = {}) {
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'roomgate-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  if (permissions.length) await context.grantPermissions(permissions, origin ? { origin } : undefined);
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(10_000);
  const watch = new ConsoleWatch(page);
  return {
    context, page, watch,
    close: async () => { await context.close().catch(() => {}); rmSync(profileDir, { recursive: true, force: true }); },
  };
}

export class ConsoleWatch {
  constructor(page) {
    this.problems = []; // console errors + page errors not yet checked
    this.allowed = [];  // predicates for the expected Chromium network messages of this step
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push({ kind: 'console', text: m.text(), url: m.location().url || '' });
    });
    page.on('pageerror', (e) => this.problems.push({ kind: 'pageerror', text: String(e && e.stack || e) }));
  }

  isAllowed(p) { return p.kind === 'console' && this.allowed.some((ok) => ok(p)); }

  // Fails on console errors / page errors since the last call, except the allowed ones.
  check(step) {
    const seen = this.problems.splice(0);
    for (const p of seen.filter((x) => this.isAllowed(x))) {
      const text = p.text.replace(/access_token=[^&' ]+/g, 'access_token=…');
      console.log(`${step}: expected Chromium message: ${text}${p.url ? ` (${p.url.replace(/\?.*/, '?…')})` : ''}`);
    }
    assert.deepEqual(seen.filter((x) => !this.isAllowed(x)), [], `console errors or page errors during "${step}"`);
  }
}

// Chromium's message for a fetch the server answered with `status` (it logs every non-2xx).
export const httpStatus = (status, url) => (p) =>
  p.text.startsWith(`Failed to load resource: the server responded with a status of ${status} `) &&
  (typeof url === 'function' ? url(p.url) : p.url === url);

let axeSource = null;

// axe-core (WCAG 2.x A/AA and best practices, its default rules) on the page as it is:
// no violations. Evaluated through the DevTools protocol, so a strict CSP does not stop it.
export async function axeClean(page, what) {
  axeSource ??= readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] }))
    .violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })));
  assert.deepEqual(violations, [], `axe violations (${what}):\n${JSON.stringify(violations, null, 2)}`);
}

// At phone width (390x844): no horizontal scroll; then `shoot()` (screenshots, optional),
// and back to 1280x900.
export async function atPhoneWidth(page, what, shoot) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const m = await noHorizontalScroll(page);
  assert.ok(m.scrollWidth <= m.clientWidth, `horizontal scroll at 390 px (${what}): ${JSON.stringify(m)}`);
  await shoot?.();
  await page.setViewportSize({ width: 1280, height: 900 });
}

export async function noHorizontalScroll(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    widest: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`),
  }));
}

/* ---------------------------------------------------------- livekit-server */

const LK_MODULE = 'github.com/livekit/livekit-server';
const LK_VERSION = 'v1.13.5';

function isPinnedServer(bin) {
  if (!existsSync(bin)) return false;
  const r = spawnSync('go', ['version', '-m', bin], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[0] === 'mod' && f[1] === LK_MODULE && f[2] === LK_VERSION;
  });
}

// livekit-server v1.13.5 as tests/e2e/run gets it: LIVEKIT_SERVER_BIN, or $(go env GOBIN or
// GOPATH)/bin/server when it is that version, or `go install` (minutes the first time).
export function livekitServerBin() {
  if (process.env.LIVEKIT_SERVER_BIN) return process.env.LIVEKIT_SERVER_BIN;
  const go = (...a) => {
    const r = spawnSync('go', a, { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(`the Go toolchain is needed to install livekit-server ${LK_VERSION} (go ${a.join(' ')}: ${r.error?.message || r.stderr})`);
    }
    return r.stdout.trim();
  };
  const bin = join(go('env', 'GOBIN') || join(go('env', 'GOPATH'), 'bin'), 'server');
  if (!isPinnedServer(bin)) {
    console.log(`installing ${LK_MODULE}/cmd/server@${LK_VERSION} with go install (takes minutes the first time)`);
    const r = spawnSync('go', ['install', `${LK_MODULE}/cmd/server@${LK_VERSION}`], { stdio: 'inherit' });
    if (r.status !== 0 || !isPinnedServer(bin)) throw new Error(`go install ${LK_MODULE}/cmd/server@${LK_VERSION} failed`);
  }
  return bin;
}

// LiveKit's ports { port, tcp, udp }: HTTP/signal and RTC over TCP, free on every interface
// (LiveKit binds its RTC ports on all of them), and RTC over UDP. They are picked below the
// kernel's ephemeral range, where no outgoing connection can take one between this check and
// LiveKit's bind (a busy machine makes that race frequent inside the range).
export async function livekitPorts() {
  let low = 32768;
  try { low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low; } catch { /* not Linux */ }
  const base = Math.min(low, 32768) - 12000; // 12000 ports below the range, 20768-32767 by default
  const free = (port, kind) => new Promise((ok) => {
    const s = kind === 'udp' ? dgram.createSocket('udp4') : createServer();
    s.once('error', () => ok(false));
    const done = () => s.close(() => ok(true));
    if (kind === 'udp') s.bind(port, '0.0.0.0', done); else s.listen(port, '0.0.0.0', done);
  });
  const picked = [];
  while (picked.length < 3) {
    const port = base + Math.floor(Math.random() * 12000);
    if (picked.includes(port)) continue;
    if (await free(port, picked.length < 2 ? 'tcp' : 'udp')) picked.push(port);
  }
  const [port, tcp, udp] = picked;
  return { port, tcp, udp };
}

// livekit-server --dev (keys devkey / secret) on the given loopback ports, TURN off, its
// webhooks to `webhook`; resolves once it answers. { child, url, ws, log(), stop(), kill(),
// exited }. stop() is a shutdown as an operator's two SIGTERMs make it (rooms closed at once,
// each participant sent a leave with SERVER_SHUTDOWN, which the exit may outrun); kill() is
// SIGKILL: connections just drop.
export async function startLivekit(bin, { port, tcp, udp, webhook, dir }) {
  const config = join(dir, 'livekit.yaml');
  writeFileSync(config, [
    `port: ${port}`,
    'rtc:',
    `  tcp_port: ${tcp}`,
    `  udp_port: ${udp}`,
    '  use_external_ip: false',
    '  node_ip: 127.0.0.1',
    '  enable_loopback_candidate: true',
    '  interfaces:',
    '    includes: [lo]',
    'turn:',
    '  enabled: false',
    ...(webhook ? ['webhook:', '  api_key: devkey', '  urls:', `    - ${webhook}`] : []),
    'room:',
    '  empty_timeout: 5',
    '  departure_timeout: 1',
    'logging:',
    '  level: info',
    '',
  ].join('\n'));
  const child = spawn(bin, ['--dev', '--bind', '127.0.0.1', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { log += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { log += c; });
  const exited = new Promise((ok) => child.once('exit', ok));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`livekit-server exited (${child.exitCode}):\n${log.slice(-2000)}`);
    try { if ((await (await fetch(`${url}/`)).text()) === 'OK') break; } catch { /* not yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`livekit-server did not answer within 20 s:\n${log.slice(-2000)}`); }
    await sleep(100);
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await sleep(300);
    child.kill('SIGTERM'); // the second: "force", no waiting for participants to leave
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return { child, url, ws: `ws://127.0.0.1:${port}`, log: () => log, stop, kill, exited };
}

// LiveKit's RoomService over Twirp (JSON), with an admin token for `room`; with `missing`,
// null when LiveKit answers not_found (the room is gone).
export async function roomService(lkUrl, method, body, { missing = false } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const token = hs256({ iss: 'devkey', nbf: now - 5, exp: now + 60, video: { roomAdmin: true, roomList: true, room: body.room } }, 'secret');
  const res = await fetch(`${lkUrl}/twirp/livekit.RoomService/${method}`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (missing && res.status === 404) return null;
  assert.equal(res.status, 200, `RoomService/${method}: ${text}`);
  return JSON.parse(text);
}
