// Helpers for roomgate's end-to-end tests: start roomgate from $ROOMGATE_BIN with a config
// file, speak HTTP to it, read the jobs the agent worker recorded, connect participants with
// LiveKit's Node SDK. The LiveKit server and the agent worker are started by ./run, which
// passes their whereabouts in the environment:
//   ROOMGATE_BIN        roomgate executable under test
//   LIVEKIT_URL         ws://127.0.0.1:PORT of the running livekit-server (free port)
//   LIVEKIT_API_KEY / LIVEKIT_API_SECRET   its key pair (devkey / secret)
//   E2E_JOBS_FILE       JSON lines the agent worker appends for every job it receives
//   E2E_LIVEKIT_PID     livekit-server's pid (the "LiveKit down" scenario stops it)
//   E2E_WORK            a scratch folder for this run
//   E2E_HOOK_PORT       the webhook relay (relay.mjs): LiveKit posts its webhooks there, and it
//                       forwards them to the roomgates registered with it
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';

export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`${name} is not set: run the e2e tests through tests/e2e/run`);
  return v;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const rand = (n = 6) => randomBytes(n).toString('hex');

// ---------------------------------------------------------------- the agent worker's record

/** Every JSON line the agent worker wrote so far. */
export function readJobs() {
  const file = env('E2E_JOBS_FILE');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Job requests (what LiveKit sent the worker), optionally filtered. */
export function jobRequests(filter = {}) {
  return readJobs().filter((j) => j.event === 'request'
    && (filter.room === undefined || j.room === filter.room)
    && (filter.agent_name === undefined || j.agent_name === filter.agent_name)
    && (filter.since === undefined || j.t >= filter.since));
}

/** What the job processes (agent.mjs) recorded: 'entry', 'joined', 'join_failed',
 *  'disconnected', 'shutdown'. */
export function jobEvents(event, filter = {}) {
  return readJobs().filter((j) => j.event === event
    && (filter.room === undefined || j.room === filter.room)
    && (filter.job_id === undefined || j.job_id === filter.job_id)
    && (filter.agent_name === undefined || j.agent_name === filter.agent_name));
}

/** Waits until `pred()` returns a truthy value; returns it. Throws after `timeoutMs`; `what`
 *  (a string, or a function giving one then) says what was awaited. */
export async function waitFor(pred, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? await what() : what}`);
    }
    await sleep(100);
  }
}

/** Waits for `count` job requests matching `filter`, then `settleMs` more, and returns all
 *  matching requests (so a caller can assert that no extra job arrived). */
export async function waitForJobs(filter, { count = 1, timeoutMs = 20000, settleMs = 1500 } = {}) {
  await waitFor(() => jobRequests(filter).length >= count, timeoutMs,
    () => `${count} job(s) for ${JSON.stringify(filter)}; worker saw: ${JSON.stringify(readJobs().filter((j) => j.event === 'request'))}`);
  await sleep(settleMs);
  return jobRequests(filter);
}

// ---------------------------------------------------------------- roomgate

export class Roomgate {
  /** `webhooks`: register with the webhook relay once listening (LiveKit's webhooks reach
   *  this roomgate), unregister at stop. */
  constructor({ config, users, webhooks = false }) {
    this.webhooks = webhooks;
    this.bin = env('ROOMGATE_BIN');
    this.dir = mkdtempSync(join(process.env.E2E_WORK || tmpdir(), 'roomgate-'));
    this.configPath = join(this.dir, 'roomgate.json');
    this.usersPath = join(this.dir, 'users.txt');
    for (const [name, password] of Object.entries(users)) {
      const r = spawnSync(this.bin, ['user', 'add', this.usersPath, name], {
        input: password + '\n', encoding: 'utf8', env: cleanEnv(),
      });
      if (r.status !== 0) throw new Error(`roomgate user add ${name} failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
    writeFileSync(this.configPath, JSON.stringify({ ...config, users_file: 'users.txt' }, null, 2));
    this.logs = [];
    this.tokens = new Map();
  }

  async start() {
    const r = spawnSync(this.bin, ['config', 'check', this.configPath], { encoding: 'utf8', env: cleanEnv() });
    if (r.status !== 0) throw new Error(`roomgate config check failed: ${r.stderr}`);
    this.proc = spawn(this.bin, ['serve', '--config', this.configPath, '--listen', '127.0.0.1:0'], {
      env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    let buf = '';
    this.exited = new Promise((res) => this.proc.once('exit', (code, sig) => res({ code, sig })));
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`roomgate did not log "listening" within 15 s:\n${this.logs.join('\n')}`)), 15000);
      this.proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`roomgate exited (${code}) before listening:\n${this.logs.join('\n')}`)); });
      this.proc.stderr.setEncoding('utf8');
      this.proc.stderr.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i); buf = buf.slice(i + 1);
          this.logs.push(line);
          try {
            const ev = JSON.parse(line);
            if (ev.event === 'listening' && ev.port) { clearTimeout(timer); resolve(ev.port); }
          } catch { /* not JSON: kept in logs */ }
        }
      });
    });
    this.url = `http://127.0.0.1:${port}`;
    if (this.webhooks) await relay.register(this.url);
    return this;
  }

  async stop() {
    if (this.webhooks && this.url) await relay.unregister(this.url).catch(() => {});
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** A roomgate session token for a local user (POST /v1/login), cached. */
  async login(user, password) {
    if (!this.tokens.has(user)) {
      const r = await this.request('POST', '/v1/login', { body: { username: user, password } });
      if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
      this.tokens.set(user, r.body.access_token);
    }
    return this.tokens.get(user);
  }

  /** HTTP request; returns {status, headers, body (parsed JSON or null), text}. */
  async request(method, path, { body, token, headers = {}, timeoutMs = 15000 } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(this.url + path, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  /** GET /metrics as {'name{labels}': value}. */
  async metrics() {
    const r = await this.request('GET', '/metrics');
    if (r.status !== 200) throw new Error(`/metrics: ${r.status} ${r.text}`);
    const out = {};
    for (const line of r.text.split('\n')) {
      const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  /** The log lines (JSON) whose event is `event`. */
  /** The JSON log lines of this event, from line `from` on (C.logs.length before a restart). */
  logEvents(event, from = 0) {
    return this.logs.slice(from).flatMap((l) => { try { const e = JSON.parse(l); return e.event === event ? [e] : []; } catch { return []; } });
  }
}

function cleanEnv() {
  const e = { ...process.env };
  // The config file is the authority for these tests, not the caller's environment.
  delete e.LIVEKIT_URL; delete e.LIVEKIT_API_KEY; delete e.LIVEKIT_API_SECRET;
  return e;
}

/** Decodes a JWT's claims (no verification: LiveKit verifies when the participant joins). */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------- participants

let rtc;
/** Connects a participant with LiveKit's Node SDK (@livekit/rtc-node). */
export async function connectParticipant(url, token) {
  rtc ??= await import('@livekit/rtc-node');
  const room = new rtc.Room();
  await room.connect(url, token, { autoSubscribe: false, dynacast: false });
  return room;
}

export async function disposeRtc() {
  if (rtc) await rtc.dispose();
}

/** How long an agent may take to join once its job is requested: the worker starts a job
 *  process (node and the agents framework), a second or two on a quiet machine; 17 s were seen
 *  on 2 cores running the sanitizer suite beside it. Only waits for agents use it. */
export const AGENT_JOIN_MS = 60000;

/** Waits until a remote participant whose identity starts with `prefix` is in `room`. */
export function waitForParticipant(room, prefix, timeoutMs = AGENT_JOIN_MS) {
  return waitFor(() => [...room.remoteParticipants.keys()].find((id) => id.startsWith(prefix)),
    timeoutMs, `participant ${prefix}* in room ${room.name}`);
}

/** Resolves with the reason when `room` (@livekit/rtc-node) is disconnected. */
export async function disconnectedOnce(room) {
  rtc ??= await import('@livekit/rtc-node');
  return new Promise((resolve) => room.once(rtc.RoomEvent.Disconnected, (reason) => resolve(reason ?? null)));
}

// ---------------------------------------------------------------- the webhook relay

async function relayCall(method, path, body) {
  const res = await fetch(`http://127.0.0.1:${env('E2E_HOOK_PORT')}${path}`, {
    method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const parsed = await res.json();
  if (res.status !== 200) throw new Error(`relay ${method} ${path}: ${res.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

/** The webhook relay ./run started (relay.mjs): which roomgates get LiveKit's webhooks, which
 *  events are dropped on the way (a lost webhook), and what came. */
export const relay = {
  register: (url) => relayCall('POST', '/relay/targets', { url }),
  unregister: (url) => relayCall('DELETE', '/relay/targets', { url }),
  /** Drops `events` of `room` (`count` times; without it until cleared); returns the rule id. */
  drop: async (room, events, count) => (await relayCall('POST', '/relay/drop', { room, events, count })).id,
  clear: (id) => relayCall('DELETE', '/relay/drop', id === undefined ? {} : { id }),
  /** [{t, id, event, room, sid, action: forwarded|dropped|unrouted, statuses: [{url, status}],
   *  sdk_verified, body, authorization}], optionally of one room. */
  log: (room) => relayCall('GET', room === undefined ? '/relay/log' : `/relay/log?room=${encodeURIComponent(room)}`),
};

// ---------------------------------------------------------------- LiveKit server

/** Stops the livekit-server that ./run started and waits until it is gone. */
export async function stopLivekit() {
  const pid = Number(env('E2E_LIVEKIT_PID'));
  const alive = () => {
    try { process.kill(pid, 0); } catch { return false; }
    try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
  };
  if (!alive()) return;
  // The first SIGTERM drains (livekit-server waits for participants, agents included, to
  // leave); a second one forces the stop.
  const waitGone = async (ms) => { const end = Date.now() + ms; while (alive() && Date.now() < end) await sleep(100); };
  process.kill(pid, 'SIGTERM');
  await waitGone(1000);
  if (alive()) { process.kill(pid, 'SIGTERM'); await waitGone(5000); }
  if (alive()) { process.kill(pid, 'SIGKILL'); await waitFor(() => !alive(), 5000, 'livekit-server to exit'); }
  // The port must refuse connections now.
  const http = env('LIVEKIT_URL').replace(/^ws/, 'http');
  await waitFor(async () => {
    try { await fetch(http, { signal: AbortSignal.timeout(1000) }); return false; } catch { return true; }
  }, 5000, 'livekit-server port to close');
}

