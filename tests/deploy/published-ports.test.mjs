// Media for a client that is not in livekit-server's network namespace, through the ports
// docker/compose.yaml publishes (started by ./published-ports inside the "host" namespace it
// made; livekit-server runs in the "container" namespace at the other end of a veth pair):
//   PP_CTR_NS, PP_CTR_IP   the container namespace and its address
//   PP_HOST_IP, PP_VETH    this namespace's address on the veth pair, and its name there
//   LIVEKIT_SERVER_BIN     livekit-server, the version tests/e2e pins
// livekit-server reads docker/livekit.yaml as it is (its fixed ports are free in a namespace
// of its own); the livekit service's `ports:` of compose.yaml become DNAT rules here, as
// podman's and Docker's port publishing makes them (127.0.0.1 → the container, masqueraded).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const D = (...p) => join(REPO, 'docker', ...p);
const WORK = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'roomgate-published-ports-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { PP_CTR_NS: CTR_NS, PP_CTR_IP: CTR_IP, PP_HOST_IP: HOST_IP, PP_VETH: VETH } = process.env;
const JOINS = 3;          // the bug let about 1 join in 7 through: three must all get media
const MEDIA_MS = 20000;

/** compose.yaml's livekit service: its published ports, and its --config file. */
function livekitService() {
  const y = readFileSync(D('compose.yaml'), 'utf8');
  const block = y.match(/^  livekit:\n((?:    .*\n|\s*\n)+)/m)?.[1];
  assert.ok(block, 'docker/compose.yaml: no livekit service');
  const ports = [...block.matchAll(/^\s+- "(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)(?:\/(tcp|udp))?"/gm)]
    .map(([, ip, published, target, proto]) => ({ ip, published: +published, target: +target, proto: proto || 'tcp' }));
  assert.ok(ports.length > 0, 'docker/compose.yaml: the livekit service publishes no ports');
  return { ports, volumes: block };
}
const lkYaml = readFileSync(D('livekit.yaml'), 'utf8');
const lkNum = (re) => { const m = lkYaml.match(re); assert.ok(m, `docker/livekit.yaml: ${re}`); return +m[1]; };
const LK = { port: lkNum(/^port:\s*(\d+)/m), tcp: lkNum(/^\s+tcp_port:\s*(\d+)/m), udp: lkNum(/^\s+udp_port:\s*(\d+)/m) };
const svc = livekitService();
const published = (target, proto) => {
  const p = svc.ports.find((x) => x.target === target && x.proto === proto);
  assert.ok(p, `docker/compose.yaml does not publish livekit's ${target}/${proto}`);
  return p;
};
const SIGNAL = published(LK.port, 'tcp'), RTC_TCP = published(LK.tcp, 'tcp'), RTC_UDP = published(LK.udp, 'udp');

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
  async stop() {
    if (this.p.exitCode !== null || this.p.signalCode !== null) return;
    const kill = (sig) => { try { process.kill(-this.p.pid, sig); } catch { /* gone */ } };
    kill('SIGTERM');
    const t1 = setTimeout(() => kill('SIGTERM'), 1000);   // livekit-server: a second one forces
    const t2 = setTimeout(() => kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t1); clearTimeout(t2);
  }
}

const nft = (script) => {
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, `nft -f -:\n${script}\n${r.stderr}`);
};
const inCtr = (args) => ['netns', 'exec', CTR_NS, ...args];

let lk;
const procs = [];
let failed = false;

before(async () => {
  // compose's port publishing: 127.0.0.1:P → the container's address, the source masqueraded
  // to this side's veth address (127.0.0.1 may not leave lo; route_localnet set by the script)
  const dnat = svc.ports.map((p) => `    ip daddr ${p.ip} ${p.proto} dport ${p.published} dnat to ${CTR_IP}:${p.target}`).join('\n');
  nft(`table ip roomgate_publish {
  chain output { type nat hook output priority -100;\n${dnat}\n  }
  chain postrouting { type nat hook postrouting priority 100;
    oifname "${VETH}" ip saddr 127.0.0.0/8 masquerade
  }
}`);
  // livekit-server in the container namespace with the file compose mounts, unchanged
  assert.match(svc.volumes, /- \.\/livekit\.yaml:\S+:ro/, 'compose.yaml mounts livekit.yaml');
  lk = new Proc('livekit', 'ip', inCtr([process.env.LIVEKIT_SERVER_BIN, '--dev', '--config', D('livekit.yaml')]));
  const url = `http://${SIGNAL.ip}:${SIGNAL.published}/`;
  for (const end = Date.now() + 20000; ;) {
    try { if ((await (await fetch(url)).text()) === 'OK') break; } catch { /* not yet */ }
    if (lk.p.exitCode !== null || Date.now() > end) throw new Error(`livekit-server did not answer on ${url}:\n${lk.text().slice(-3000)}`);
    await sleep(100);
  }
});

after(async () => {
  for (const p of [...procs, lk]) await p?.stop();
  if (failed) {
    for (const p of procs) console.log(`----- ${p.name}.log\n${p.lines().map((l) => JSON.stringify(l)).join('\n')}`);
    const ice = lk?.text().split('\n').filter((l) => /ICE candidate pair stats|ice connection|ICE failed|failed/i.test(l)) ?? [];
    console.log(`----- livekit.log, ICE lines (${ice.length})\n${ice.slice(-6).map((l) => l.slice(0, 1200)).join('\n')}`);
  }
  rmSync(WORK, { recursive: true, force: true });
});

/** The agent's place (loopback in livekit's namespace, as compose's agent service) and a host
 *  client (this namespace, through the published ports) join each room and must hear each
 *  other's tone. Returns the host client's `media` events. */
async function joinAndHear(tag, rooms) {
  const peer = join(HERE, 'peer.mjs');
  const agent = new Proc(`${tag}-agent`, 'ip', inCtr([process.execPath, peer, `ws://127.0.0.1:${LK.port}`, 'agent', ...rooms]));
  const host = new Proc(`${tag}-host`, process.execPath, [peer, `ws://${SIGNAL.ip}:${SIGNAL.published}`, 'host', ...rooms]);
  procs.push(agent, host);
  const heard = (p, from) => p.lines().filter((l) => l.event === 'media' && l.from === from);
  const end = Date.now() + MEDIA_MS;
  while (Date.now() < end && (heard(host, 'agent').length < rooms.length || heard(agent, 'host').length < rooms.length)) await sleep(200);
  await Promise.all([host.stop(), agent.stop()]);
  const got = rooms.filter((r) => heard(host, 'agent').some((l) => l.room === r) && heard(agent, 'host').some((l) => l.room === r));
  assert.equal(got.length, rooms.length,
    `${tag}: ${got.length} of ${rooms.length} joins from outside livekit's namespace got media both ways within ${MEDIA_MS} ms `
    + `(host connected: ${host.lines().filter((l) => l.event === 'connected').length}, errors: ${JSON.stringify(host.lines().filter((l) => l.event === 'error').map((l) => l.error))})`);
  return heard(host, 'agent');
}

test(`UDP: ${JOINS} joins from another network namespace, through compose's published ports, get media both ways`, async () => {
  try {
    const media = await joinAndHear('udp', Array.from({ length: JOINS }, (_, i) => `udp-${i + 1}`));
    for (const m of media) {
      console.log(`# ${m.room}: host heard the agent (${m.loud} loud frames, peak ${m.peak}) over ${m.ice?.local} -> ${m.ice?.remote}`);
      // from this side of the veth (not livekit's loopback) to the published UDP port; the
      // server's end may be peer-reflexive (its check came first), whose address stats hide
      assert.ok(m.ice, `${m.room}: no selected ICE candidate pair`);
      assert.equal(m.ice.local.split(':')[0], HOST_IP, `${m.room}: the host client's candidate`);
      assert.match(m.ice.remote, new RegExp(`^(${RTC_UDP.ip.replaceAll('.', '\\.')}|\\(prflx\\)):${RTC_UDP.published}/udp$`),
        `${m.room}: the server candidate`);
    }
  } catch (e) { failed = true; throw e; }
});

test('TCP: with UDP to the published port dropped, a join gets media over the published TCP port', async () => {
  try {
    nft(`table ip roomgate_block_udp {
  chain output { type filter hook output priority 0;
    ip daddr ${CTR_IP} udp dport ${RTC_UDP.target} drop
  }
}`);
    const [m] = await joinAndHear('tcp', ['tcp-1']);
    console.log(`# ${m.room}: host heard the agent (${m.loud} loud frames, peak ${m.peak}) over ${m.ice?.local} -> ${m.ice?.remote}`);
    assert.ok(m.ice, `${m.room}: no selected ICE candidate pair`);
    assert.equal(m.ice.local.split(':')[0], HOST_IP, `${m.room}: the host client's candidate`);
    assert.equal(m.ice.remote, `${RTC_TCP.ip}:${RTC_TCP.published}/tcp`, `${m.room}: the server candidate`);
  } catch (e) { failed = true; throw e; }
});
