// The webhook relay between the one livekit-server of a run and the roomgates its test files
// start (each on a free port of its own). ./run starts it before LiveKit, whose livekit.yaml
// posts every webhook to http://127.0.0.1:<E2E_HOOK_PORT>/livekit/webhook.
//
// Each POST is forwarded byte for byte (the body, its Authorization and Content-Type) to every
// roomgate registered now, at the same path; LiveKit gets the status a roomgate answered (the
// first that is not 2xx, 502 if one could not be reached), 200 when none is registered. A test
// can tell the relay to drop events, as a lost webhook: a dropped event is answered 200 and
// reaches no roomgate. Every event is also checked with LiveKit's own WebhookReceiver.
//
// Control (loopback, JSON):
//   POST   /relay/targets {"url"}                      register a roomgate (its base URL)
//   DELETE /relay/targets {"url"}                      unregister it
//   POST   /relay/drop {"room","events":[..],"count"}  drop these events of that room (count
//                                                      times; without count until cleared) -> {"id"}
//   DELETE /relay/drop [{"id"}]                        clear one rule, or all
//   GET    /relay/log[?room=R]                         what came: [{t,id,event,room,sid,action,
//                                                      statuses,sdk_verified,body,authorization}]
// env: LIVEKIT_API_KEY / LIVEKIT_API_SECRET (devkey / secret), E2E_HOOK_PORT_FILE (the port
// is written there once listening).
import http from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';
import { WebhookReceiver } from 'livekit-server-sdk';

const receiver = new WebhookReceiver(process.env.LIVEKIT_API_KEY || 'devkey',
  process.env.LIVEKIT_API_SECRET || 'secret');
const targets = new Set();
let rules = [];
let nextRule = 1;
const log = [];
const MAX_LOG = 5000;

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => resolve(Buffer.concat(chunks)));
  req.on('error', reject);
});

function reply(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function forward(url, path, body, headers) {
  return new Promise((resolve) => {
    const u = new URL(path, url);
    // A connection per delivery (agent: false), so a roomgate stopping has none idle to wait on.
    const req = http.request(u, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(502));
    });
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(502));
    req.end(body);
  });
}

function dropRule(event, room) {
  const r = rules.find((x) => x.room === room && x.events.includes(event));
  if (!r) return null;
  if (r.count !== null && --r.count <= 0) rules = rules.filter((x) => x !== r);
  return r.id;
}

async function webhook(req, res) {
  const body = await readBody(req);
  const authorization = req.headers.authorization;
  let ev = {};
  try { ev = JSON.parse(body.toString('utf8')); } catch { /* forwarded as it is */ }
  const room = ev.room?.name ?? ev.job?.room?.name ?? null;
  let sdkVerified = false;
  try { await receiver.receive(body.toString('utf8'), authorization); sdkVerified = true; } catch { /* logged */ }
  const entry = {
    t: Date.now(), id: ev.id ?? null, event: ev.event ?? null, room, sid: ev.room?.sid ?? null,
    action: null, statuses: [], sdk_verified: sdkVerified,
    body: body.toString('utf8'), authorization: authorization ?? null,
  };
  log.push(entry);
  if (log.length > MAX_LOG) log.shift();
  const rule = dropRule(entry.event, room);
  if (rule !== null) {
    entry.action = 'dropped';
    entry.rule = rule;
    return reply(res, 200, {});
  }
  if (targets.size === 0) {
    entry.action = 'unrouted';
    return reply(res, 200, {});
  }
  const headers = {};
  if (authorization !== undefined) headers.Authorization = authorization;
  if (req.headers['content-type']) headers['Content-Type'] = req.headers['content-type'];
  entry.action = 'forwarded';
  entry.statuses = await Promise.all([...targets].map(async (url) => ({ url, status: await forward(url, req.url, body, headers) })));
  const bad = entry.statuses.find((s) => s.status < 200 || s.status > 299);
  return reply(res, bad ? bad.status : 200, {});
}

async function control(req, res, url) {
  const text = (await readBody(req)).toString('utf8');
  let b = {};
  try { b = text ? JSON.parse(text) : {}; } catch { return reply(res, 400, { error: 'invalid json' }); }
  if (url.pathname === '/relay/targets' && (req.method === 'POST' || req.method === 'DELETE')) {
    if (typeof b.url !== 'string') return reply(res, 400, { error: 'url required' });
    if (req.method === 'POST') targets.add(b.url); else targets.delete(b.url);
    return reply(res, 200, { targets: [...targets] });
  }
  if (url.pathname === '/relay/drop' && req.method === 'POST') {
    if (typeof b.room !== 'string' || !Array.isArray(b.events)) return reply(res, 400, { error: 'room and events required' });
    const id = nextRule++;
    rules.push({ id, room: b.room, events: b.events, count: Number.isInteger(b.count) ? b.count : null });
    return reply(res, 200, { id });
  }
  if (url.pathname === '/relay/drop' && req.method === 'DELETE') {
    rules = b.id === undefined ? [] : rules.filter((r) => r.id !== b.id);
    return reply(res, 200, { rules });
  }
  if (url.pathname === '/relay/log' && req.method === 'GET') {
    const room = url.searchParams.get('room');
    return reply(res, 200, room === null ? log : log.filter((e) => e.room === room));
  }
  return reply(res, 404, { error: 'no such relay route' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://relay');
  const p = url.pathname.startsWith('/relay/') ? control(req, res, url)
    : req.method === 'POST' ? webhook(req, res) : Promise.resolve(reply(res, 405, { error: 'POST only' }));
  p.catch((e) => { try { reply(res, 500, { error: String(e) }); } catch { /* gone */ } });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const file = process.env.E2E_HOOK_PORT_FILE;
  if (file) { writeFileSync(`${file}.tmp`, `${port}\n`); renameSync(`${file}.tmp`, file); }
  console.log(JSON.stringify({ event: 'listening', port }));
});
const stop = () => { server.close(); server.closeAllConnections(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
