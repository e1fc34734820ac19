// docker/compose.yaml without containers (started by ./topology, which installs what it needs):
//   ROOMGATE_BIN         roomgate under test
//   LIVEKIT_SERVER_BIN   livekit-server, the version tests/e2e pins
// Every process on loopback and free ports; the files are docker/'s own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { imageConfig } from './image-config.mjs';
import net from 'node:net';
import dgram from 'node:dgram';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const D = (...p) => join(REPO, 'docker', ...p);
const WORK = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'roomgate-topology-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const compose = readFileSync(D('compose.yaml'), 'utf8');
const AGENT_NAME = compose.match(/^\s+AGENT_NAME:\s*(\S+)/m)[1];
const agentRequire = createRequire(D('agent', 'package.json'));
const rtc = await import(pathToFileURL(agentRequire.resolve('@livekit/rtc-node')).href);

function freePort(udp = false) {
  return new Promise((res, rej) => {
    if (udp) {
      const s = dgram.createSocket('udp4');
      s.once('error', rej);
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
      return;
    }
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/** A child process whose output goes to a file; `stop` ends its whole process group. */
class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.log = join(WORK, `${name}.log`);
    const fd = openSync(this.log, 'w');
    this.p = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, ...opts });
    closeSync(fd);
    this.exited = new Promise((r) => this.p.once('exit', (code, signal) => r({ code, signal })));
  }
  text() { return existsSync(this.log) ? readFileSync(this.log, 'utf8') : ''; }
  lines() { return this.text().split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }); }
  async waitFor(pred, ms, what) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const v = pred(this);
      if (v) return v;
      if (this.p.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`${this.name}: ${what} not seen within ${ms} ms\n${this.text().slice(-3000)}`);
  }
  async stop() {
    if (this.p.exitCode !== null || this.p.signalCode !== null) return;
    const kill = (sig) => { try { process.kill(-this.p.pid, sig); } catch { /* gone */ } };
    kill('SIGTERM');
    const t1 = setTimeout(() => kill('SIGTERM'), 1000);   // livekit-server: a second one forces
    const t2 = setTimeout(() => kill('SIGKILL'), 6000);
    await this.exited;
    clearTimeout(t1); clearTimeout(t2);
  }
}

let lk, rg, worker, LIVEKIT_URL, RG;
const rooms = [];
let failed = false;

before(async () => {
  // LiveKit from docker/livekit.yaml: free ports, bound to and gathering on loopback only
  // (as tests/e2e/run), so with the loopback candidate the file leaves out (there is no other
  // address here; tests/deploy/published-ports runs the file unchanged in a namespace of its
  // own), the rest (node_ip, TURN off) as in the file.
  // A port found free can be taken by another process before livekit-server binds it:
  // then it exits with "address already in use" and it is tried again on new ports.
  const template = readFileSync(D('livekit.yaml'), 'utf8');
  const rgPort = await freePort();
  for (let attempt = 1; ; attempt++) {
    let y = template;
    const [port, tcp, udp] = [await freePort(), await freePort(), await freePort(true)];
    const sub = (re, to) => { assert.match(y, re, `docker/livekit.yaml: ${re}`); y = y.replace(re, to); };
    sub(/^port: \d+$/m, `port: ${port}`);
    sub(/^(\s+)tcp_port: \d+$/m, `$1tcp_port: ${tcp}`);
    sub(/^(\s+)udp_port: \d+$/m, `$1udp_port: ${udp}\n$1interfaces:\n$1  includes: [lo]\n$1enable_loopback_candidate: true`);
    sub(/^bind_addresses:\n(\s+- .*\n)+/m, 'bind_addresses:\n  - 127.0.0.1\n');
    // webhooks to this roomgate (the file's URL names compose's roomgate port)
    sub(/^(\s+- http:\/\/127\.0\.0\.1:)\d+(\/livekit\/webhook)$/m, `$1${rgPort}$2`);
    writeFileSync(join(WORK, 'livekit.yaml'), y);
    lk = new Proc('livekit', process.env.LIVEKIT_SERVER_BIN, ['--dev', '--config', join(WORK, 'livekit.yaml')]);
    LIVEKIT_URL = `ws://127.0.0.1:${port}`;
    const end = Date.now() + 30000;
    let up = false;
    while (!up && Date.now() <= end && lk.p.exitCode === null) {
      try { up = (await (await fetch(`http://127.0.0.1:${port}/`)).text()) === 'OK'; } catch { /* not yet */ }
      if (!up) await sleep(100);
    }
    if (up) break;
    await lk.stop();
    if (attempt < 3 && /address already in use/.test(lk.text())) continue;
    throw new Error(`livekit-server did not start:\n${lk.text().slice(-3000)}`);
  }

  // the agent worker as the agent service runs it (its environment from compose.yaml)
  worker = new Proc('agent', process.execPath, [D('agent', 'worker.mjs')], {
    env: { ...process.env, NODE_ENV: 'production', LIVEKIT_URL, LIVEKIT_API_KEY: 'devkey',
      LIVEKIT_API_SECRET: 'secret', AGENT_NAME, HEALTH_PORT: String(await freePort()) },
  });
  await worker.waitFor((w) => w.lines().find((l) => l.event === 'registered' && l.agent_name === AGENT_NAME), 60000, 'registration');

  // roomgate with docker/config/roomgate.json; LIVEKIT_URL from the environment, as compose sets it
  rg = new Proc('roomgate', process.env.ROOMGATE_BIN,
    ['serve', '--config', imageConfig(WORK), '--listen', `127.0.0.1:${rgPort}`],
    { env: { ...process.env, LIVEKIT_URL, LIVEKIT_API_KEY: 'devkey', LIVEKIT_API_SECRET: 'secret' } });
  const ev = await rg.waitFor((p) => p.lines().find((l) => l.event === 'listening'), 15000, '"listening"');
  RG = `http://127.0.0.1:${ev.port}`;
});

after(async () => {
  for (const r of rooms) await r.disconnect().catch(() => {});
  await rtc.dispose().catch(() => {});
  for (const p of [rg, worker, lk]) await p?.stop();
  if (failed) for (const p of [worker, rg]) if (p) console.log(`----- ${p.name}.log (tail)\n${p.text().slice(-2500)}`);
  rmSync(WORK, { recursive: true, force: true });
});

test('the page\'s flow: demo logs in, starts a session, joins; the agent is dispatched, joins and greets', async () => {
  try {
    const post = async (path, body, token) => {
      const r = await fetch(RG + path, { method: 'POST', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
      return { status: r.status, body: await r.json() };
    };
    const l = await post('/v1/login', { username: 'demo', password: 'demo' });
    assert.equal(l.status, 200, JSON.stringify(l.body));
    const s = await post('/v1/sessions', { agents: ['support'], participant_name: 'Demo', metadata: { language: 'en' } }, l.body.access_token);
    assert.equal(s.status, 201, JSON.stringify(s.body));
    assert.equal(s.body.server_url, LIVEKIT_URL);
    assert.equal(s.body.agents[0].agent_name, AGENT_NAME);

    const room = new rtc.Room();
    rooms.push(room);
    const greeting = new Promise((res) => room.registerTextStreamHandler('lk.chat', async (reader, from) => {
      res({ text: await reader.readAll(), from: from.identity });
    }));
    await room.connect(s.body.server_url, s.body.participant_token, { autoSubscribe: false, dynacast: false });
    assert.equal(room.name, s.body.room_name);

    const job = await worker.waitFor((w) => w.lines().find((x) => x.event === 'job_request' && x.room === s.body.room_name), 20000, 'the job request');
    assert.equal(job.agent_name, AGENT_NAME);
    const meta = JSON.parse(job.metadata);
    assert.equal(meta.user_id, 'demo');
    assert.equal(meta.user_name, 'Demo User');
    assert.equal(meta.room, s.body.room_name);
    assert.equal(meta.language, 'en');

    const end = Date.now() + 20000;
    let agent;
    while (!(agent = [...room.remoteParticipants.values()].find((p) => p.identity.startsWith(`agent-${AGENT_NAME}-`)))) {
      if (Date.now() > end) throw new Error('the agent did not join the room');
      await sleep(100);
    }
    const hello = await Promise.race([greeting, sleep(15000).then(() => null)]);
    assert.ok(hello, 'no greeting on lk.chat within 15 s');
    assert.equal(hello.from, agent.identity);
    assert.match(hello.text, /^Hello Demo User!/);
    while (agent.attributes['lk.agent.state'] !== 'listening' && Date.now() < end) await sleep(100);
    assert.equal(agent.attributes['lk.agent.state'], 'listening');
    console.log(`# ${agent.identity} joined ${room.name} and said: ${hello.text}`);

    // LiveKit's webhooks (docker/livekit.yaml) reached roomgate: the session is live for demo
    let live;
    while (Date.now() < end + 10000) {
      const r = await fetch(RG + '/v1/sessions', { headers: { Authorization: `Bearer ${l.body.access_token}` } });
      live = (await r.json()).sessions.find((x) => x.room_name === s.body.room_name);
      if (live && live.participants >= 2) break;
      await sleep(200);
    }
    assert.ok(live, 'GET /v1/sessions does not list the live session: no webhook reached roomgate');
    assert.ok(live.participants >= 2, `participants ${live.participants}: the webhooks of the joins are missing`);
  } catch (e) {
    failed = true;
    throw e;
  }
});
