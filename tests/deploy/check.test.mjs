// The deployment files in docker/ and the configs in docs/deploy.md, checked without a Docker
// engine. Started by ./check, which installs the tools and sets
//   ROOMGATE_BIN   the roomgate executable
//   COMPOSE_JSON   the Compose v2 command as a JSON array (["docker","compose"] or a path)
//   HADOLINT       the hadolint executable
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { imageConfig } from './image-config.mjs';
import { randomBytes } from 'node:crypto';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const D = (...p) => join(REPO, 'docker', ...p);
const BIN = process.env.ROOMGATE_BIN;
const COMPOSE = JSON.parse(process.env.COMPOSE_JSON || '["docker","compose"]');
const HADOLINT = process.env.HADOLINT;
if (!BIN) throw new Error('ROOMGATE_BIN is not set: run tests/deploy/check');
const WORK = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'roomgate-deploy-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

const read = (p) => readFileSync(p, 'utf8');
const json = (p) => JSON.parse(read(p));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO, ...opts });
  if (r.error) throw r.error;
  return r;
}

/** roomgate config check FILE, with LiveKit variables from the caller's environment removed. */
function configCheck(file) {
  const env = { ...process.env };
  delete env.LIVEKIT_URL; delete env.LIVEKIT_API_KEY; delete env.LIVEKIT_API_SECRET;
  return run(BIN, ['config', 'check', file], { env });
}

/** Dockerfile instructions: continuation lines joined, comments dropped. */
function dockerfile(path) {
  const out = [];
  let cur = '';
  for (const raw of read(path).split('\n')) {
    const line = raw.trim();
    if (!cur && (line.startsWith('#') || !line)) continue;
    if (line.startsWith('#')) continue;
    cur += (cur ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) { out.push(cur); cur = ''; }
  }
  return out.map((l) => { const i = l.indexOf(' '); return { op: l.slice(0, i).toUpperCase(), args: l.slice(i + 1) }; });
}

/** The instructions of the last stage. */
function finalStage(ins) {
  const i = ins.map((x) => x.op).lastIndexOf('FROM');
  return ins.slice(i);
}

// ---------------------------------------------------------------- compose

let project;       // `docker compose config --format json`
test('docker compose config accepts docker/compose.yaml', () => {
  const q = run(COMPOSE[0], [...COMPOSE.slice(1), '-f', 'docker/compose.yaml', 'config', '--quiet']);
  assert.equal(q.status, 0, `compose config:\n${q.stderr}`);
  const r = run(COMPOSE[0], [...COMPOSE.slice(1), '-f', 'docker/compose.yaml', 'config', '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  project = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(project.services).sort(), ['agent', 'livekit', 'nginx', 'roomgate']);
});

const lkYaml = () => {
  const y = read(D('livekit.yaml'));
  const num = (re) => { const m = y.match(re); assert.ok(m, `docker/livekit.yaml: ${re}`); return Number(m[1]); };
  return {
    port: num(/^port:\s*(\d+)/m), tcp: num(/^\s+tcp_port:\s*(\d+)/m), udp: num(/^\s+udp_port:\s*(\d+)/m),
    nodeIp: (y.match(/^\s+node_ip:\s*(\S+)/m) || [])[1],
    loopback: /^\s+enable_loopback_candidate:\s*true/m.test(y),
    webhookKey: (y.match(/^webhook:\n\s+api_key:\s*(\S+)/m) || [])[1],
    webhookUrls: [...y.matchAll(/^\s+- (http\S+)$/gm)].map((m) => m[1]),
  };
};
const e2eLivekitVersion = () => read(join(REPO, 'tests', 'e2e', 'run')).match(/^LK_VERSION=(\S+)/m)[1];
const composeConfig = () => json(D('config', 'roomgate.json'));

test('compose: one network namespace, the ports LiveKit and roomgate use, the LiveKit version e2e pins', () => {
  assert.ok(project, 'compose config failed');
  const { livekit, roomgate, agent } = project.services;
  const lk = lkYaml();
  // same topology as tests/e2e/run: everything on one loopback
  assert.equal(roomgate.network_mode, 'service:livekit');
  assert.equal(agent.network_mode, 'service:livekit');
  // the address the ports are published on; media itself is answered on the container's
  // address, which a loopback candidate would stop (tests/deploy/published-ports)
  assert.equal(lk.nodeIp, '127.0.0.1');
  assert.ok(!lk.loopback, 'livekit.yaml: no enable_loopback_candidate (clients through the published ports get no media)');
  // LiveKit's webhooks go to roomgate itself (its listen address in this namespace), signed
  // with the key roomgate knows
  const rgCfg = composeConfig();
  assert.equal(lk.webhookKey, rgCfg.livekit.api_key, 'livekit.yaml webhook.api_key is roomgate\'s key');
  assert.deepEqual(lk.webhookUrls, [`http://${rgCfg.listen}/livekit/webhook`]);
  assert.equal(livekit.image, `livekit/livekit-server:${e2eLivekitVersion()}`);
  assert.ok(livekit.command.includes('--dev'));
  const cfgPath = livekit.command[livekit.command.indexOf('--config') + 1];
  assert.ok(livekit.volumes.some((v) => v.source === D('livekit.yaml') && v.target === cfgPath && v.read_only),
    'livekit.yaml mounted read-only where --config points');
  const published = livekit.ports.map((p) => `${p.host_ip}:${p.published}:${p.target}/${p.protocol}`).sort();
  // 8080 is nginx's; roomgate's own port is not published (nginx holds slow clients)
  assert.deepEqual(published, [
    `127.0.0.1:${lk.port}:${lk.port}/tcp`, `127.0.0.1:${lk.tcp}:${lk.tcp}/tcp`,
    `127.0.0.1:${lk.udp}:${lk.udp}/udp`, `127.0.0.1:${nginxConf().listen}:${nginxConf().listen}/tcp`,
  ].sort());
  assert.ok(!published.some((p) => p.endsWith(`:${roomgatePort()}/tcp`)), 'roomgate must not be published');
  for (const s of Object.values(project.services)) assert.ok(!s.ports || s === livekit, 'only livekit publishes');
});

const nginxConf = () => {
  const c = read(D('nginx', 'roomgate.conf'));
  const one = (re) => { const m = [...c.matchAll(new RegExp(re.source, 'gm'))]; assert.equal(m.length, 1, `docker/nginx/roomgate.conf: ${re}`); return m[0][1]; };
  return { text: c, listen: Number(one(/^\s+listen (\d+);/)), upstream: one(/^\s+server (127\.0\.0\.1:\d+);/) };
};
const roomgatePort = () => Number(composeConfig().listen.split(':').pop());

test('compose: nginx (Debian 12\'s) in front of roomgate, its config mounted, proxying to roomgate\'s loopback port', () => {
  assert.ok(project, 'compose config failed');
  const { nginx } = project.services;
  assert.equal(nginx.network_mode, 'service:livekit');
  assert.equal(resolve(nginx.build.context), D('nginx'));
  const ins = dockerfile(D('nginx', 'Dockerfile'));
  assert.ok(ins.some((x) => x.op === 'ARG' && x.args === 'DEBIAN_IMAGE=debian:12-slim'), 'the base of docker/Dockerfile');
  assert.ok(ins.some((x) => x.op === 'RUN' && /install .*\bnginx-light\b/.test(x.args)), 'Debian\'s nginx-light');
  const cmd = JSON.parse(finalStage(ins).find((x) => x.op === 'CMD').args);
  const conf = cmd[cmd.indexOf('-c') + 1];
  assert.ok(nginx.volumes.some((v) => v.source === D('nginx', 'roomgate.conf') && v.target === conf && v.read_only),
    `docker/nginx/roomgate.conf mounted read-only at ${conf}`);
  assert.deepEqual(nginx.cap_drop, ['ALL']);
  // nginx reaches roomgate on the shared loopback; roomgate trusts it for X-Forwarded-For
  const cfg = composeConfig();
  assert.equal(nginxConf().upstream, cfg.listen);
  assert.match(cfg.listen, /^127\.0\.0\.1:/);
  assert.deepEqual(cfg.server.trusted_proxies, ['127.0.0.1/32']);
  assert.equal(project.services.roomgate.environment.ROOMGATE_HEALTHCHECK_URL, `http://${cfg.listen}/healthz`);
  // the slow-client settings are docker/nginx.conf's
  const setting = /^\s*(worker_rlimit_nofile|worker_connections|limit_conn_zone|limit_conn|client_header_timeout|client_body_timeout|send_timeout|keepalive_timeout|reset_timedout_connection|proxy_request_buffering|client_body_buffer_size)\s[^;]*;/gm;
  const settings = (t) => [...t.matchAll(setting)].map((m) => m[0].trim()).sort();
  assert.deepEqual(settings(nginxConf().text), settings(read(D('nginx.conf'))));
});

test('compose: roomgate image, mounted config, LiveKit URL and key', () => {
  assert.ok(project, 'compose config failed');
  const { roomgate } = project.services;
  const cfg = composeConfig();
  const lk = lkYaml();
  assert.equal(resolve(roomgate.build.context), REPO);
  assert.equal(roomgate.build.dockerfile, 'docker/Dockerfile');
  const ins = dockerfile(D('Dockerfile'));
  const cmd = JSON.parse(finalStage(ins).find((x) => x.op === 'CMD').args);
  const cfgFile = cmd[cmd.indexOf('--config') + 1];
  assert.ok(roomgate.volumes.some((v) => v.source === D('config') && v.target === dirname(cfgFile) && v.read_only),
    `docker/config mounted read-only at ${dirname(cfgFile)}`);
  assert.equal(roomgate.read_only, true);
  assert.deepEqual(roomgate.cap_drop, ['ALL']);
  // what the browser is told is what roomgate (in the same namespace) reaches LiveKit at
  const url = new URL(roomgate.environment.LIVEKIT_URL);
  assert.equal(roomgate.environment.LIVEKIT_URL, cfg.livekit.url);
  assert.equal(Number(url.port), lk.port);
  assert.ok(['localhost', '127.0.0.1'].includes(url.hostname));
  // livekit-server --dev's key
  assert.equal(roomgate.environment.LIVEKIT_API_KEY, 'devkey');
  assert.equal(roomgate.environment.LIVEKIT_API_SECRET, 'secret');
  assert.equal(cfg.livekit.api_key, 'devkey');
  assert.equal(cfg.livekit.api_secret, 'secret');
});

test('compose: the agent worker registers the agent name roomgate dispatches, with e2e\'s packages', () => {
  assert.ok(project, 'compose config failed');
  const { agent } = project.services;
  const cfg = composeConfig();
  const name = agent.environment.AGENT_NAME;
  const [profile] = Object.entries(cfg.agents).find(([, p]) => p.agent_name === name) || [];
  assert.ok(profile, `no profile in docker/config/roomgate.json has agent_name ${name}`);
  assert.ok(cfg.rules.some((r) => r.session_rooms && r.agents.includes(profile)),
    `no rule lets users start a session with profile ${profile}`);
  const ins = dockerfile(D('agent', 'Dockerfile'));
  assert.match(ins.filter((x) => x.op === 'ENV').map((x) => x.args).join(' '), new RegExp(`AGENT_NAME=${name}\\b`));
  assert.match(read(D('agent', 'worker.mjs')), new RegExp(`process\\.env\\.AGENT_NAME \\|\\| '${name}'`));
  const url = new URL(agent.environment.LIVEKIT_URL);
  assert.equal(url.hostname, '127.0.0.1');
  assert.equal(Number(url.port), lkYaml().port);
  assert.equal(resolve(agent.build.context), D('agent'));
  // the same npm packages as tests/e2e (worker.mjs there drives the same framework)
  const mine = json(D('agent', 'package.json')).dependencies;
  const e2e = json(join(REPO, 'tests', 'e2e', 'package.json')).dependencies;
  for (const [pkg, v] of Object.entries(mine)) assert.equal(v, e2e[pkg], `${pkg}: docker/agent ${v}, tests/e2e ${e2e[pkg]}`);
  const lock = json(D('agent', 'package-lock.json')).packages;
  const e2eLock = json(join(REPO, 'tests', 'e2e', 'package-lock.json')).packages;
  for (const [path, p] of Object.entries(lock)) {
    if (!path) continue;
    assert.equal(p.version, e2eLock[path]?.version, `${path}: docker/agent lock ${p.version}, tests/e2e lock ${e2eLock[path]?.version}`);
  }
});

// ---------------------------------------------------------------- the compose config itself

test('docker/config/roomgate.json passes roomgate config check and listens on loopback only (behind nginx)', () => {
  const r = configCheck(D('config', 'roomgate.json'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
  const cfg = composeConfig();
  assert.equal(cfg.listen, '127.0.0.1:8090');
  // where the Dockerfile installs the page (CMAKE_INSTALL_PREFIX=/usr)
  assert.equal(cfg.web_root, '/usr/share/roomgate/web');
  assert.match(read(D('Dockerfile')), /-DCMAKE_INSTALL_PREFIX=\/usr\b/);
  assert.match(read(D('config', 'users.txt')), /^demo:\$pbkdf2-sha256\$/m);
});

test('the compose config serves a session that dispatches the agent (roomgate on loopback)', async () => {
  const env = { ...process.env };
  delete env.LIVEKIT_URL; delete env.LIVEKIT_API_KEY; delete env.LIVEKIT_API_SECRET;
  const proc = spawn(BIN, ['serve', '--config', imageConfig(WORK), '--listen', '127.0.0.1:0'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  try {
    const port = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`roomgate did not start:\n${log}`)), 15000);
      proc.once('exit', (c) => { clearTimeout(t); rej(new Error(`roomgate exited ${c}:\n${log}`)); });
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (d) => {
        log += d;
        const m = log.match(/"event":"listening"[^\n]*"port":(\d+)/);
        if (m) { clearTimeout(t); res(Number(m[1])); }
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const post = (path, body, token) => fetch(base + path, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    const l = await post('/v1/login', { username: 'demo', password: 'demo' });
    assert.equal(l.status, 200);
    const { access_token: tok } = await l.json();
    const me = await (await fetch(`${base}/v1/profiles`, { headers: { Authorization: `Bearer ${tok}` } })).json();
    const name = project?.services.agent.environment.AGENT_NAME ?? 'support-agent';
    assert.ok(me.profiles.some((p) => p.agent_name === name), JSON.stringify(me));
    assert.equal(me.session_rooms, true);
    const profile = me.profiles.find((p) => p.agent_name === name).name;
    const s = await post('/v1/sessions', { agents: [profile], metadata: { language: 'en' } }, tok);
    const body = await s.json();
    assert.equal(s.status, 201, JSON.stringify(body));
    assert.equal(body.server_url, 'ws://localhost:7880');
    assert.equal(body.agents[0].agent_name, name);
    const claims = JSON.parse(Buffer.from(body.participant_token.split('.')[1], 'base64url'));
    assert.equal(claims.iss, 'devkey');
    assert.equal(claims.roomConfig.agents[0].agentName, name);
    assert.equal(JSON.parse(claims.roomConfig.agents[0].metadata).user_name, 'Demo User');
  } finally {
    proc.kill('SIGTERM');
  }
});

// ---------------------------------------------------------------- Dockerfiles

test('hadolint: the Dockerfiles', () => {
  for (const f of ['docker/Dockerfile', 'docker/agent/Dockerfile', 'docker/nginx/Dockerfile']) {
    const r = run(HADOLINT, ['--no-color', f]);
    assert.equal(r.status, 0, `${f}:\n${r.stdout}${r.stderr}`);
  }
});

test('Dockerfile: two stages, non-root, HEALTHCHECK on /healthz, exactly the runtime libraries the binary links', () => {
  const ins = dockerfile(D('Dockerfile'));
  assert.equal(ins.filter((x) => x.op === 'FROM').length, 2, 'multi-stage');
  assert.ok(ins.find((x) => x.op === 'FROM').args.includes('AS build'));
  assert.ok(ins.some((x) => x.op === 'ARG' && /debian:12/.test(x.args)), 'Debian 12');
  const fin = finalStage(ins);
  const user = fin.filter((x) => x.op === 'USER').pop()?.args ?? '';
  assert.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `USER ${user}: numeric and not root`);
  const hc = fin.find((x) => x.op === 'HEALTHCHECK')?.args ?? '';
  assert.match(hc, /curl/);
  assert.match(fin.find((x) => x.op === 'ENV' && /ROOMGATE_HEALTHCHECK_URL/.test(x.args)).args, /\/healthz$/);
  // the build stage uses the project's CMake
  assert.ok(ins.some((x) => x.op === 'RUN' && /cmake -S \. -B/.test(x.args) && /cmake --install/.test(x.args)));
  for (const src of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from')).map((x) => x.args.split(/\s+/)[0])) {
    assert.ok(existsSync(join(REPO, src)), `COPY ${src}: not in the repository`);
  }
  // final stage: runtime packages only, and every library the binary needs
  const apt = fin.filter((x) => x.op === 'RUN' && /apt-get install/.test(x.args))
    .flatMap((x) => x.args.split(/apt-get install/)[1].split('&&')[0].split(/\s+/)).filter((w) => w && !w.startsWith('-'));
  for (const p of apt) assert.doesNotMatch(p, /-dev$|^build-essential$|^cmake$|^gcc|^ninja/, `build tool in the final image: ${p}`);
  // roomgate's private libraries (cmake --install puts them in lib/<multiarch>/roomgate, e.g.
  // the OpenSSL shims for civetweb's TLS) must reach the final stage too
  const privateLibs = readdirSync(dirname(BIN)).filter((f) => /^libroomgate_.*\.so$/.test(f)).map((f) => join(dirname(BIN), f));
  if (privateLibs.length) {
    assert.ok(ins.some((x) => x.op === 'RUN' && /find usr\/lib -mindepth 2 -maxdepth 2 -type d -name roomgate -exec cp -a --parents/.test(x.args)),
      `the build has ${privateLibs.map((p) => p.split('/').pop()).join(', ')}: the Dockerfile must copy usr/lib/*/roomgate`);
  }
  assert.ok(fin.some((x) => x.op === 'COPY' && /^--from=build \/runtime\/ \/$/.test(x.args)));
  const needed = [BIN, ...privateLibs].flatMap((f) => execFileSync('readelf', ['-d', f], { encoding: 'utf8' })
    .split('\n').map((l) => (l.match(/\(NEEDED\).*\[(.+)\]/) || [])[1]).filter(Boolean))
    .filter((lib, i, all) => all.indexOf(lib) === i);
  const pkgs = new Set();
  for (const lib of needed) {
    const path = execFileSync('sh', ['-c', `ldconfig -p | awk -v l="${lib}" '$1 == l { print $NF; exit }'`], { encoding: 'utf8' }).trim();
    assert.ok(path, `${lib}: not found by ldconfig`);
    const real = execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
    const owner = run('dpkg', ['-S', real]).stdout || run('dpkg', ['-S', path]).stdout;
    const pkg = owner.split(':')[0].trim();
    assert.ok(pkg, `${lib}: no Debian package owns ${real}`);
    pkgs.add(pkg);
  }
  for (const p of pkgs) {
    if (p === 'libc6' || p === 'libgcc-s1') continue; // Priority: required, in every Debian image
    assert.ok(apt.includes(p), `the binary links ${p}, which the final stage does not install (it has: ${apt.join(' ')})`);
  }
  assert.ok(apt.includes('curl') && apt.includes('ca-certificates'));
});

test('.dockerignore lets into the build context only what the Dockerfile copies', () => {
  const ign = read(join(REPO, '.dockerignore')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ign[0], '*', '.dockerignore starts by excluding everything');
  const allowed = ign.slice(1).map((l) => { assert.ok(l.startsWith('!'), l); return l.slice(1).replace(/\/$/, ''); }).sort();
  const copied = dockerfile(D('Dockerfile')).filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))
    .map((x) => x.args.split(/\s+/)[0].replace(/\/$/, '')).sort();
  assert.deepEqual(allowed, copied);
  assert.ok(read(D('agent', '.dockerignore')).split('\n').includes('node_modules'));
});

// ---------------------------------------------------------------- docs/deploy.md configs

/** Creates the files a config names, next to it, so that config check can load them. */
function materialize(dir, cfg) {
  const file = (rel, content, mode = 0o600) => {
    const p = resolve(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (!existsSync(p)) writeFileSync(p, content, { mode });
    return p;
  };
  if (cfg.users_file) {
    const p = resolve(dir, cfg.users_file);
    mkdirSync(dirname(p), { recursive: true });
    const r = run(BIN, ['user', 'add', p, 'alice'], { input: 'alice-password\n' });
    assert.equal(r.status, 0, r.stderr);
  }
  if (cfg.livekit?.api_secret_file) file(cfg.livekit.api_secret_file, randomBytes(32).toString('base64url') + '\n');
  if (cfg.session?.secret_file) file(cfg.session.secret_file, randomBytes(32).toString('base64url') + '\n');
  if (cfg.upstream_jwt?.secret_file) file(cfg.upstream_jwt.secret_file, randomBytes(32).toString('base64url') + '\n');
  if (cfg.tls) {
    const key = resolve(dir, cfg.tls.key), cert = resolve(dir, cfg.tls.certificate);
    mkdirSync(dirname(key), { recursive: true });
    mkdirSync(dirname(cert), { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-days', '1', '-subj', '/CN=roomgate.example.com', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  }
}

test('every full config in docs/deploy.md passes roomgate config check', () => {
  const md = read(join(REPO, 'docs', 'deploy.md'));
  const blocks = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
  const full = blocks.map((b) => JSON.parse(b)).filter((c) => c.livekit);
  assert.ok(full.length >= 2, `docs/deploy.md: expected full configs in json blocks, found ${full.length}`);
  full.forEach((cfg, i) => {
    const dir = join(WORK, `doc-config-${i}`, 'etc', 'roomgate');
    mkdirSync(dir, { recursive: true });
    assert.ok(!cfg.users_file || !cfg.users_file.startsWith('/'), 'relative paths (to the config folder) in the docs');
    materialize(dir, cfg);
    writeFileSync(join(dir, 'roomgate.json'), JSON.stringify(cfg, null, 2));
    const r = configCheck(join(dir, 'roomgate.json'));
    assert.equal(r.status, 0, `docs/deploy.md config #${i + 1}: ${r.stderr}\n${JSON.stringify(cfg, null, 2)}`);
  });
});

// ---------------------------------------------------------------- systemd

test('systemd: docker/roomgate.service verifies and is hardened (systemd-analyze)', () => {
  const unit = read(D('roomgate.service'));
  assert.match(unit, /^ExecStart=\/usr\/bin\/roomgate serve --config \/etc\/roomgate\/roomgate\.json$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  const dir = join(WORK, 'systemd');
  mkdirSync(dir);
  // verify needs the ExecStart binaries to exist: point them at the one under test
  writeFileSync(join(dir, 'roomgate.service'), unit.replaceAll('/usr/bin/roomgate', BIN));
  const v = run('systemd-analyze', ['verify', join(dir, 'roomgate.service')]);
  assert.equal(v.status, 0, `systemd-analyze verify:\n${v.stdout}${v.stderr}`);
  const s = run('systemd-analyze', ['security', '--offline=true', '--no-pager', join(dir, 'roomgate.service')]);
  const m = (s.stdout + s.stderr).match(/Overall exposure level for roomgate\.service: ([\d.]+) (\w+)/);
  assert.ok(m, `systemd-analyze security:\n${s.stdout}${s.stderr}`);
  console.log(`# systemd-analyze security: exposure ${m[1]} ${m[2]}`);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}: more than 2.0`);
});
