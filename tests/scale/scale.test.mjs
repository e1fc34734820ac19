// roomgate scaled out behind nginx. Started by ./run, which installs the tools and sets
//   ROOMGATE_BIN  the roomgate executable under test
//   NGINX_BIN     Debian's nginx
//   REDIS_BIN     Debian's redis-server
//
// Two roomgate processes share one config file (session secret, LiveKit key) and listen on
// free loopback ports; nginx runs docker/nginx.conf with only the machine-specific parts
// substituted (ports, a throwaway certificate, its own prefix, pid and temp folders), so
// what is tested is what docs/deploy.md tells people to deploy. Nothing here needs root: nginx
// gets its own prefix and `daemon off`. The session limits scenario puts a second pair, on
// one real redis-server (free loopback port), behind the same nginx for its duration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, existsSync, rmSync, openSync, closeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes, createHash } from 'node:crypto';
import net from 'node:net';
import https from 'node:https';
import http from 'node:http';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const BIN = process.env.ROOMGATE_BIN;
const NGINX = process.env.NGINX_BIN || 'nginx';
const REDIS = process.env.REDIS_BIN || 'redis-server';
if (!BIN) throw new Error('ROOMGATE_BIN is not set: run tests/scale/run');

// livekit-server-sdk from tests/conformance (pinned by its package-lock.json).
const confRequire = createRequire(join(REPO, 'tests', 'conformance', 'package.json'));
const { TokenVerifier, AccessToken, WebhookReceiver } = await import(pathToFileURL(confRequire.resolve('livekit-server-sdk')).href);
const { WebhookEvent, Room } = await import(pathToFileURL(confRequire.resolve('@livekit/protocol')).href);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WORK = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'roomgate-scale-'));
const API_KEY = 'scale-key';
const API_SECRET = randomBytes(32).toString('base64url');
const AGENT = 'scale-agent';
const USERS = { alice: 'alice-scale-pw', bob: 'bob-scale-pw' };
const WRK_SECONDS = Number(process.env.SCALE_WRK_SECONDS || 5);
let failed = false;

// ---------------------------------------------------------------- helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** The replicas' config in `dir`; `users` (name: password) get a line each; `extra` is merged
 *  over the config (top-level keys), `limits` goes into the rule. */
function writeConfig(dir, { sessionSecret, users = USERS, extra = {}, limits } = {}) {
  mkdirSync(dir, { recursive: true });
  for (const [name, pw] of Object.entries(users)) {
    const r = spawnSync(BIN, ['user', 'add', join(dir, 'users.txt'), name], { input: pw + '\n', encoding: 'utf8' });
    assert.equal(r.status, 0, `roomgate user add: ${r.stderr}`);
  }
  const cfg = {
    listen: '127.0.0.1:8080',
    livekit: { url: 'ws://127.0.0.1:7880', api_key: API_KEY, api_secret: API_SECRET, check_existing_rooms: false },
    users_file: 'users.txt',
    tokens: { default_ttl: '10m', max_ttl: '1h' },
    rooms: { prefix: 'scale-' },
    agents: { support: { agent_name: AGENT, metadata: { user_id: '{{user.id}}', room: '{{room}}' }, client_metadata: ['language'] } },
    rules: [{ name: 'users', rooms: ['scale-*'], session_rooms: true, agents: ['support'] }],
  };
  if (sessionSecret) cfg.session = { secret: sessionSecret, ttl: '1h' };
  if (limits) cfg.rules[0].limits = limits;
  Object.assign(cfg, extra);
  const path = join(dir, 'roomgate.json');
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  const r = spawnSync(BIN, ['config', 'check', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `roomgate config check: ${r.stderr}`);
  return path;
}

function cleanEnv() {
  const e = { ...process.env };
  delete e.LIVEKIT_URL; delete e.LIVEKIT_API_KEY; delete e.LIVEKIT_API_SECRET;
  return e;
}

/** A roomgate process on a free loopback port; its stderr (JSON lines) goes to a file. */
class Replica {
  constructor(name, config) { this.name = name; this.config = config; this.log = join(WORK, `${name}.log`); }

  async start() {
    const fd = openSync(this.log, 'w');
    this.proc = spawn(BIN, ['serve', '--config', this.config, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', fd], env: cleanEnv() });
    closeSync(fd);
    this.exited = new Promise((res) => this.proc.once('exit', (code, signal) => res({ code, signal })));
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      const ev = this.lines().find((l) => l.event === 'listening');
      if (ev) { this.port = ev.port; this.url = `http://127.0.0.1:${ev.port}`; return this; }
      if (this.proc.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`${this.name} did not start:\n${readFileSync(this.log, 'utf8')}`);
  }

  lines() {
    if (!existsSync(this.log)) return [];
    return readFileSync(this.log, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
      try { return [JSON.parse(l)]; } catch { return []; }
    });
  }

  /** Access-log lines for `path` logged so far. */
  served(path) { return this.lines().filter((l) => l.event === 'access' && l.path === path).length; }

  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

// nginx from docker/nginx.conf. Each substitution must match exactly once, so that this test
// notices when docker/nginx.conf changes shape.
function nginxConf({ http: httpPort, tls: tlsPort, upstreams, dir }) {
  let s = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');
  const sub = (re, to) => {
    const n = (s.match(new RegExp(re.source, 'gm')) || []).length;
    if (n !== 1) throw new Error(`docker/nginx.conf: expected one match of ${re}, found ${n}`);
    s = s.replace(new RegExp(re.source, 'm'), to);
  };
  sub(/^pid .*;$/, `pid ${dir}/nginx.pid;`);
  sub(/^error_log \S+/, `error_log ${dir}/error.log`);
  sub(/^(\s*)access_log \S+;/, `$1access_log ${dir}/access.log;`);
  sub(/^(\s*)upstream roomgate \{\n(?:\s*server [^\n]*\n)+/,
    `$1upstream roomgate {\n${upstreams.map((p) => `        server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;\n`).join('')}`);
  sub(/^(\s*)listen 80;/, `$1listen 127.0.0.1:${httpPort};`);
  sub(/^(\s*)listen 443 ssl http2;/, `$1listen 127.0.0.1:${tlsPort} ssl http2;`);
  sub(/^(\s*)ssl_certificate\s+\S+;/, `$1ssl_certificate ${WORK}/tls/cert.pem;`);
  sub(/^(\s*)ssl_certificate_key\s+\S+;/, `$1ssl_certificate_key ${WORK}/tls/key.pem;`);
  sub(/^http \{\n/, 'http {\n' + ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `    ${t}_temp_path ${dir}/tmp/${t};\n`).join(''));
  return 'daemon off;\n' + s;
}

class Nginx {
  constructor() { this.dir = join(WORK, 'nginx'); mkdirSync(join(this.dir, 'tmp'), { recursive: true }); }

  write(upstreams) {
    writeFileSync(join(this.dir, 'nginx.conf'), nginxConf({ ...this.ports, upstreams, dir: this.dir }));
    const t = spawnSync(NGINX, ['-t', '-q', '-p', this.dir, '-c', join(this.dir, 'nginx.conf')], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`nginx -t rejected the config from docker/nginx.conf:\n${t.stderr}`);
  }

  async start(upstreams) {
    for (let attempt = 1; ; attempt++) {
      this.ports = { http: await freePort(), tls: await freePort() };
      this.write(upstreams);
      this.proc = spawn(NGINX, ['-p', this.dir, '-c', join(this.dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      this.proc.stderr.on('data', (d) => { err += d; });
      this.exited = new Promise((res) => this.proc.once('exit', (code, signal) => res({ code, signal })));
      const end = Date.now() + 10000;
      while (Date.now() < end && this.proc.exitCode === null) {
        try { if ((await get(`https://127.0.0.1:${this.ports.tls}/healthz`)).status === 200) return this; } catch { /* not yet */ }
        await sleep(100);
      }
      await this.stop();
      if (attempt === 3) throw new Error(`nginx did not start:\n${err}\n${this.errors()}`);
    }
  }

  /** Rewrites the config with other upstreams and reloads (SIGHUP to the master). */
  async reload(upstreams) {
    this.write(upstreams);
    const before = this.workers();
    this.proc.kill('SIGHUP');
    // The reload is done when the old workers have exited.
    const end = Date.now() + 10000;
    while (Date.now() < end && before.some((p) => this.workers().includes(p))) await sleep(50);
    // The old workers closed their idle keep-alive connections: a pooled socket the client
    // had not seen close yet would carry the next request into a hang-up (seen once in CI).
    tlsAgent?.destroy();
    tlsAgent = agent();
  }

  workers() {
    try {
      return execFileSync('pgrep', ['-P', String(this.proc.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch { return []; }
  }

  errors() { try { return readFileSync(join(this.dir, 'error.log'), 'utf8'); } catch { return ''; } }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGQUIT');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Debian's redis-server on a free loopback port: no persistence, no password. */
class Redis {
  async start() {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      this.proc = spawn(REDIS, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      this.proc.stderr.on('data', (d) => { err += d; });
      this.exited = new Promise((res) => this.proc.once('exit', (code, signal) => res({ code, signal })));
      const end = Date.now() + 10000;
      while (Date.now() < end && this.proc.exitCode === null) {
        if (await this.ping()) return this;
        await sleep(50);
      }
      await this.stop();
      if (attempt === 3) throw new Error(`redis-server did not start: ${err}`);
    }
  }

  get url() { return `redis://127.0.0.1:${this.port}`; }

  ping() {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1', () => s.write('PING\r\n'));
      s.setTimeout(500, () => { s.destroy(); resolve(false); });
      s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
      s.once('error', () => resolve(false));
    });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

let CA;            // the throwaway certificate, trusted by the client below
const agent = () => new https.Agent({ keepAlive: true, maxSockets: 64, ca: CA, servername: 'localhost' });
let tlsAgent;

/** One HTTP(S) request; returns {status, body (parsed JSON or null), text}. */
function request(method, url, { body, raw, token, basic, headers = {}, timeoutMs = 15000, agent: via } = {}) {
  const u = new URL(url);
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (basic) h.Authorization = 'Basic ' + Buffer.from(basic).toString('base64');
  let data;
  if (raw !== undefined) { data = raw; h['Content-Length'] = Buffer.byteLength(data); }
  else if (body !== undefined) { data = JSON.stringify(body); h['Content-Type'] = 'application/json'; h['Content-Length'] = Buffer.byteLength(data); }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers: h, agent: u.protocol === 'https:' ? (via || tlsAgent) : undefined, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}
const get = (url, opts) => request('GET', url, opts);

async function login(base, user) {
  const r = await request('POST', `${base}/v1/login`, { body: { username: user, password: USERS[user] } });
  assert.equal(r.status, 200, `login ${user} at ${base}: ${r.status} ${r.text}`);
  return r.body.access_token;
}

const tokenBody = { room_config: { agents: [{ agent_name: AGENT, metadata: '{"language":"en"}' }] } };
const sessionBody = { agents: ['support'], metadata: { language: 'en' } };

/** A LiveKit webhook to `base`, as livekit-server sends one: the event in protobuf JSON
 *  (@livekit/protocol's WebhookEvent) and, in Authorization, a JWT from the API key and secret
 *  (livekit-server-sdk's AccessToken, valid 5 minutes) whose sha256 claim is the base64 SHA-256
 *  of the body. LiveKit's WebhookReceiver accepts it before it is sent. */
async function webhook(base, kind, room, sid) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const body = new WebhookEvent({ event: kind, id: `EV_${randomBytes(8).toString('hex')}`, createdAt: now,
    room: new Room({ sid, name: room, creationTime: now }) }).toJsonString();
  const at = new AccessToken(API_KEY, API_SECRET, { ttl: '5m' });
  at.sha256 = createHash('sha256').update(body).digest('base64');
  const auth = await at.toJwt();
  await new WebhookReceiver(API_KEY, API_SECRET).receive(body, auth);
  return request('POST', `${base}/livekit/webhook`,
    { raw: body, headers: { Authorization: auth, 'Content-Type': 'application/webhook+json' } });
}

async function verifyLiveKit(jwt, identity) {
  const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(jwt);
  assert.equal(claims.sub, identity);
  assert.equal(claims.iss, API_KEY);
  assert.equal(claims.video?.roomJoin, true);
  assert.match(claims.video?.room ?? '', /^scale-[A-Za-z0-9_-]{22}$/);
  assert.equal(claims.roomConfig?.agents?.[0]?.agentName, AGENT);
  const meta = JSON.parse(claims.roomConfig.agents[0].metadata);
  assert.equal(meta.user_id, identity);
  assert.equal(meta.language, 'en');
  return claims;
}

/** wrk against `url` with POST /token and a Bearer token; returns {rps, non2xx, errors, text}. */
function wrk(url, token, seconds = WRK_SECONDS) {
  const script = join(WORK, 'token.lua');
  writeFileSync(script, [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(JSON.stringify(tokenBody))}`,
    'wrk.headers["Content-Type"] = "application/json"',
    `wrk.headers["Authorization"] = "Bearer ${token}"`,
    '',
  ].join('\n'));
  const r = spawnSync('wrk', ['-t2', '-c32', '--latency', `-d${seconds}s`, '--timeout', '5s', '-s', script, url],
    { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed (${r.status}): ${r.stderr}${r.stdout}`);
  const text = r.stdout;
  const rps = Number((text.match(/Requests\/sec:\s+([\d.]+)/) || [])[1]);
  const non2xx = Number((text.match(/Non-2xx or 3xx responses:\s+(\d+)/) || [0, 0])[1]);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const p99 = (text.match(/^\s+99%\s+(\S+)/m) || [])[1];
  const total = Number((text.match(/(\d+) requests in/) || [])[1]);
  return { rps, non2xx, errors, total, p99, text };
}

// ---------------------------------------------------------------- setup

let A, B, nginx, NG;       // replicas, nginx, https://127.0.0.1:<tls port>
let CONFIG;
const stopping = [];       // processes a scenario is done with, stopping in the background

before(async () => {
  // TLS material for nginx (self-signed P-256 for localhost / 127.0.0.1, trusted by our client).
  mkdirSync(join(WORK, 'tls'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(WORK, 'tls', 'key.pem'), '-out', join(WORK, 'tls', 'cert.pem')], { stdio: 'ignore' });
  CA = readFileSync(join(WORK, 'tls', 'cert.pem'));
  tlsAgent = agent();

  CONFIG = writeConfig(join(WORK, 'shared'), { sessionSecret: randomBytes(32).toString('base64url') });
  [A, B] = await Promise.all([new Replica('replica-a', CONFIG).start(), new Replica('replica-b', CONFIG).start()]);
  nginx = await new Nginx().start([A.port, B.port]);
  NG = `https://127.0.0.1:${nginx.ports.tls}`;
  console.log(`# replicas on ports ${A.port} and ${B.port}; nginx https ${nginx.ports.tls}, http ${nginx.ports.http}`);
});

after(async () => {
  tlsAgent?.destroy();
  await nginx?.stop();
  await Promise.all([A?.stop(), B?.stop(), ...stopping]);
  if (failed || process.env.SCALE_KEEP) {
    for (const f of ['replica-a.log', 'replica-b.log', 'limits-c.log', 'limits-d.log', 'nginx/error.log']) {
      const p = join(WORK, f);
      if (failed && existsSync(p)) console.log(`----- ${f} (last 20 lines)\n` + readFileSync(p, 'utf8').trim().split('\n').slice(-20).join('\n'));
    }
  }
  if (process.env.SCALE_KEEP) console.log(`# kept ${WORK}`);
  else rmSync(WORK, { recursive: true, force: true });
});

function track(fn) {
  return async (t) => {
    try { await fn(t); } catch (e) { failed = true; throw e; }
  };
}

// ---------------------------------------------------------------- scenarios

test('nginx serves roomgate over TLS and redirects plain HTTP', track(async () => {
  const h = await get(`${NG}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  assert.match(h.headers['strict-transport-security'] ?? '', /max-age=/);
  const r = await get(`http://127.0.0.1:${nginx.ports.http}/healthz`);
  assert.equal(r.status, 308);
  assert.match(r.headers.location, /^https:\/\/127\.0\.0\.1(:\d+)?\/healthz$/);
  // metrics are per replica: not through the balancer
  assert.equal((await get(`${NG}/metrics`)).status, 404);
  // a client can't pick its identity with a proxy header (cleared by nginx)
  const spoof = await request('POST', `${NG}/token`, { body: {}, headers: { 'X-Forwarded-User': 'admin' } });
  assert.equal(spoof.status, 401, spoof.text);
}));

test('a session token from /v1/login on one replica works on the other', track(async () => {
  const fromA = await login(A.url, 'alice');
  const onB = await request('POST', `${B.url}/token`, { token: fromA, body: tokenBody });
  assert.equal(onB.status, 201, onB.text);
  assert.equal(onB.body.participant_identity, 'alice');
  const fromB = await login(B.url, 'bob');
  const onA = await request('POST', `${A.url}/v1/sessions`, { token: fromB, body: { agents: ['support'], metadata: { language: 'en' } } });
  assert.equal(onA.status, 201, onA.text);
  assert.equal(onA.body.participant_identity, 'bob');
  // and through nginx, whichever replica answers
  const viaNginx = await login(NG, 'alice');
  for (const base of [A.url, B.url, NG, NG]) {
    const r = await request('POST', `${base}/token`, { token: viaNginx, body: tokenBody });
    assert.equal(r.status, 201, `${base}: ${r.text}`);
  }
}));

test('control: without a shared session secret, a session token is good on its own replica only', track(async () => {
  const cfg = writeConfig(join(WORK, 'own-secret'), { sessionSecret: null });
  const [C, D] = await Promise.all([new Replica('own-c', cfg).start(), new Replica('own-d', cfg).start()]);
  try {
    const t = await login(C.url, 'alice');
    assert.equal((await request('POST', `${C.url}/token`, { token: t, body: tokenBody })).status, 201);
    const r = await request('POST', `${D.url}/token`, { token: t, body: tokenBody });
    assert.equal(r.status, 401, r.text);
  } finally {
    await Promise.all([C.stop(), D.stop()]);
  }
}));

test('LiveKit tokens from either replica verify with livekit-server-sdk (TokenVerifier)', track(async () => {
  const session = await login(NG, 'alice');
  for (const base of [A.url, B.url, NG]) {
    const r = await request('POST', `${base}/token`, { token: session, body: tokenBody });
    assert.equal(r.status, 201, r.text);
    await verifyLiveKit(r.body.participant_token, 'alice');
    const s = await request('POST', `${base}/v1/sessions`, { token: session, body: { agents: ['support'], metadata: { language: 'en' } } });
    assert.equal(s.status, 201, s.text);
    await verifyLiveKit(s.body.participant_token, 'alice');
  }
  // the verifier does reject a token signed with another secret
  const other = execFileSync(BIN, ['token', 'create', '--identity', 'alice', '--room', 'scale-x',
    '--api-key', API_KEY, '--api-secret', 'another-secret-another-secret-xx'], { encoding: 'utf8' }).trim();
  await assert.rejects(new TokenVerifier(API_KEY, API_SECRET).verify(other));
}));

test('nginx spreads requests over both replicas (round robin)', track(async () => {
  const session = await login(NG, 'alice');
  const a0 = A.served('/token'), b0 = B.served('/token');
  const N = 40;
  for (let i = 0; i < N; i++) {
    const r = await request('POST', `${NG}/token`, { token: session, body: tokenBody });
    assert.equal(r.status, 201, r.text);
  }
  await sleep(200);
  const a = A.served('/token') - a0, b = B.served('/token') - b0;
  console.log(`# round robin: ${N} requests -> replica A ${a}, replica B ${b}`);
  assert.equal(a + b, N);
  assert.ok(a >= N / 4 && b >= N / 4, `uneven split: A ${a}, B ${b}`);
}));

test('session limits on one Redis behind nginx: 100 concurrent requests over two replicas admit exactly 3, a webhook frees exactly one place', track(async () => {
  // A second pair, on one real redis-server, with a rule limiting each user to 3 sessions with
  // agents at once; nginx (the same process) is pointed at it for this scenario only.
  const LIMIT = 3, N = 100;
  const redis = await new Redis().start();
  const dir = join(WORK, 'limits');
  mkdirSync(dir);
  copyFileSync(join(dirname(CONFIG), 'users.txt'), join(dir, 'users.txt')); // alice and bob (no PBKDF2 again)
  const cfg = writeConfig(dir, {
    sessionSecret: randomBytes(32).toString('base64url'), users: {}, limits: { live_sessions: LIMIT },
    extra: {
      // nothing listens there and nothing calls it: no room check, no reconciliation
      livekit: { url: `ws://127.0.0.1:${await freePort()}`, api_key: API_KEY, api_secret: API_SECRET,
        check_existing_rooms: false, reconcile_interval: 0 },
      state: { redis_url: redis.url, timeout: '500ms' },
    },
  });
  let C, D;
  // 100 requests in flight at once from four client addresses: nginx's limit_conn (64 per
  // address, answered 429 too) must not be what refuses them.
  const clients = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((localAddress) =>
    new https.Agent({ keepAlive: true, maxSockets: N / 4, ca: CA, servername: 'localhost', localAddress }));
  try {
    [C, D] = await Promise.all([new Replica('limits-c', cfg).start(), new Replica('limits-d', cfg).start()]);
    for (const r of [C, D]) assert.deepEqual((await get(`${r.url}/healthz`)).body.state, { store: 'redis', redis: 'up' });
    await nginx.reload([C.port, D.port]);
    const session = await login(NG, 'alice');
    const ask = (i = 0) => request('POST', `${NG}/v1/sessions`, { token: session, body: sessionBody, agent: clients[i % clients.length] });
    const served = (path) => [C.served(path), D.served(path)];
    const used = async () => Promise.all([C, D].map(async (r) => {
      const p = await get(`${r.url}/v1/profiles`, { token: session });
      assert.equal(p.status, 200, p.text);
      return p.body.limits.used.live_sessions;
    }));
    const tally = (rs) => JSON.stringify(rs.reduce((t, r) => ({ ...t, [r.status]: (t[r.status] || 0) + 1 }), {}));

    const s0 = served('/v1/sessions');
    const t0 = Date.now();
    const got = await Promise.all([...Array(N)].map((_, i) => ask(i)));
    const ms = Date.now() - t0;
    await sleep(200); // access lines are written at most ~1 ms late
    const [c, d] = served('/v1/sessions').map((n, i) => n - s0[i]);
    console.log(`# limits: ${N} concurrent POST /v1/sessions through nginx in ${ms} ms: replica C answered ${c}, ` +
      `replica D ${d}; statuses ${tally(got)}`);
    const admitted = got.filter((r) => r.status === 201);
    const refused = got.filter((r) => r.status === 429);
    assert.equal(admitted.length, LIMIT, `statuses ${tally(got)}`);
    assert.equal(refused.length, N - LIMIT, `statuses ${tally(got)}`);
    for (const r of refused) {
      // roomgate's answer (nginx's own 429 has no such body)
      assert.equal(r.body?.error?.code, 'quota_exceeded', r.text);
      assert.match(r.body.error.message, /allows user 'alice' 3 live sessions .*limits\.live_sessions.* 3 are live or starting/);
      assert.ok(Number(r.headers['retry-after']) > 0, `Retry-After: ${r.headers['retry-after']}`);
    }
    for (const r of admitted) await verifyLiveKit(r.body.participant_token, 'alice');
    const rooms = admitted.map((r) => r.body.room_name);
    assert.equal(new Set(rooms).size, LIMIT);
    assert.equal(c + d, N, 'every request answered once (no retry by nginx)');
    assert.ok(c >= N / 4 && d >= N / 4, `uneven split: C ${c}, D ${d}`);
    assert.deepEqual(await used(), [LIMIT, LIMIT]);

    // LiveKit's webhooks, through nginx to whichever replica: a room that started still
    // counts; its room_finished frees its place, and only that one.
    const h0 = served('/livekit/webhook');
    assert.equal((await webhook(NG, 'room_started', rooms[0], 'RM_limits_0')).status, 200);
    const still = await ask();
    assert.equal(still.status, 429, still.text);
    const fin = await webhook(NG, 'room_finished', rooms[0], 'RM_limits_0');
    assert.equal(fin.status, 200, fin.text);
    assert.deepEqual(fin.body, {});
    const n0 = served('/v1/sessions');
    const next = await ask();
    assert.equal(next.status, 201, `the place room_finished freed: ${next.text}`);
    await verifyLiveKit(next.body.participant_token, 'alice');
    const after = await Promise.all([...Array(20)].map((_, i) => ask(i)));
    assert.equal(after.filter((r) => r.status === 429).length, 20, `after the freed place was taken: ${tally(after)}`);
    assert.deepEqual(await used(), [LIMIT, LIMIT]);
    await sleep(200);
    const [hc, hd] = served('/livekit/webhook').map((n, i) => n - h0[i]);
    const [nc, nd] = served('/v1/sessions').map((n, i) => n - n0[i]);
    console.log(`# limits: room_started + room_finished through nginx reached replica C ${hc}, D ${hd}; ` +
      `the freed place and the 20 refused after it: C answered ${nc}, D ${nd}`);
    assert.equal(hc + hd, 2);
  } finally {
    for (const a of clients) a.destroy();
    await nginx.reload([A.port, B.port]);
    // roomgate takes about 2 s to stop: the next scenarios need not wait for it (after() does)
    stopping.push(Promise.all([C?.stop(), D?.stop()]).then(() => redis.stop()));
  }
}));

test('throughput through nginx: one replica vs two (printed, not asserted)', track(async () => {
  const session = await login(NG, 'bob');
  const direct = wrk(`${A.url}/token`, session);
  await nginx.reload([A.port]);
  const one = wrk(`${NG}/token`, session);
  await nginx.reload([A.port, B.port]);
  const two = wrk(`${NG}/token`, session);
  const row = (name, r) => `#   ${name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${String(r.p99).padStart(8)}  (${r.total} requests, ${r.non2xx} non-2xx, ${r.errors} socket errors)`;
  console.log([
    `# throughput, POST /token with a Bearer session token, wrk -t2 -c32 -d${WRK_SECONDS}s, on this ${(await import('node:os')).cpus().length}-core machine:`,
    row('one replica, direct (no nginx)', direct),
    row('one replica behind nginx (TLS)', one),
    row('two replicas behind nginx (TLS)', two),
    `#   two / one behind nginx: ${(two.rps / one.rps).toFixed(2)}x`,
  ].join('\n'));
  for (const r of [direct, one, two]) {
    assert.ok(r.rps > 0, r.text);
    assert.equal(r.non2xx, 0, r.text);
    assert.equal(r.errors, 0, r.text);
  }
}));

test('one replica killed mid-run: nginx fails over, clients see no errors', track(async () => {
  const session = await login(NG, 'alice');
  // Fast requests (Bearer) keep many connections busy; slow ones (HTTP Basic: a PBKDF2 run
  // each) make sure some request is inside replica B when it dies.
  const FAST = 12, SLOW = 4, RUN_MS = 4000, KILL_AT_MS = 1500;
  const results = { ok: 0, errors: [], afterKill: 0 };
  let killedAt = 0;
  const t0 = Date.now();
  async function loop(slow) {
    while (Date.now() - t0 < RUN_MS) {
      const started = Date.now();
      try {
        const r = await request('POST', `${NG}/token`, slow ? { basic: `bob:${USERS.bob}`, body: tokenBody } : { token: session, body: tokenBody });
        if (r.status === 201) {
          results.ok++;
          if (killedAt && started > killedAt) results.afterKill++;
        } else {
          results.errors.push(`${r.status} ${r.text.slice(0, 120)}`);
        }
      } catch (e) {
        results.errors.push(String(e.message || e));
      }
    }
  }
  const inFlightBefore = B.served('/token');
  const load = [...Array(FAST)].map(() => loop(false)).concat([...Array(SLOW)].map(() => loop(true)));
  await sleep(KILL_AT_MS);
  killedAt = Date.now();
  B.proc.kill('SIGKILL');
  const exit = await B.exited;
  await Promise.all(load);
  assert.equal(exit.signal, 'SIGKILL');
  const servedByB = B.served('/token') - inFlightBefore;
  // What nginx saw of B's death: refused connects, and requests already sent when it died
  // (retried on A only because of `non_idempotent`: they are POSTs).
  const failovers = (nginx.errors().match(/(connect\(\) failed|upstream prematurely closed|recv\(\) failed)[^\n]*/g) || []);
  const kinds = {};
  for (const f of failovers) {
    const k = /connect\(\)/.test(f) ? 'connect failed' : /reading response header/.test(f) ? 'request sent, no answer' : 'other';
    kinds[k] = (kinds[k] || 0) + 1;
  }
  console.log(`# failover: ${results.ok} requests ok (${results.afterKill} started after the kill), ` +
    `${results.errors.length} client-visible errors; replica B answered ${servedByB} before it was killed; ` +
    `nginx logged ${failovers.length} upstream failures ${JSON.stringify(kinds)}`);
  assert.deepEqual(results.errors, [], 'client-visible errors');
  assert.ok(results.afterKill > 50, `too few requests after the kill: ${results.afterKill}`);
  assert.ok(servedByB > 0, 'replica B served nothing before it was killed');
  assert.ok(failovers.length > 0, 'nginx logged no upstream failure: was B ever tried after the kill?');
  // still serving from the survivor
  const r = await request('POST', `${NG}/token`, { token: session, body: tokenBody });
  assert.equal(r.status, 201);
}));
