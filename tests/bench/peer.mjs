// The peer for tests/bench/run: a Node server (node:http, one process, as in
// LiveKit's and OpenVidu's tutorials) answering POST /token in LiveKit's
// token-endpoint format (TokenSource request body, {server_url,
// participant_token} answer, like roomgate's) with livekit-server-sdk.
// No authentication: the tutorials have none, so this peer does less work
// per request than roomgate's Bearer-checked /token.
//   node peer.mjs [--port N]     (default 0 = a free port on 127.0.0.1)
// Prints {"event":"listening","port":N} on stdout once it listens.
import http from 'node:http';
import { mintToken } from './livekit-token.mjs';

const SERVER_URL = 'ws://127.0.0.1:9';
const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

const str = (v) => (typeof v === 'string' && v ? v : undefined);

async function token(req, res, raw) {
  let b;
  try {
    b = raw.length ? JSON.parse(raw) : {};
  } catch {
    return send(res, 400, { error: { code: 'invalid_json', message: 'body is not JSON' } });
  }
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    return send(res, 400, { error: { code: 'invalid_json', message: 'body is not an object' } });
  }
  const rc = b.room_config ?? b.roomConfig ?? {};
  const room = str(b.room_name ?? b.roomName) ?? `room-${Math.random().toString(36).slice(2)}`;
  const identity = str(b.participant_identity ?? b.participantIdentity) ?? 'user';
  const name = str(b.participant_name ?? b.participantName);
  // The job metadata roomgate writes with the bench's agent profile: the
  // client's fields with the server's trusted ones written over them.
  const agents = (Array.isArray(rc.agents) ? rc.agents : []).map((a) => {
    let md = a.metadata ?? {};
    if (typeof md === 'string') md = md ? JSON.parse(md) : {};
    return {
      agentName: a.agent_name ?? a.agentName,
      metadata: JSON.stringify({ ...md, user_id: identity, user_name: name, room }),
    };
  });
  const jwt = await mintToken({ identity, name, room, agents });
  send(res, 201, {
    server_url: SERVER_URL,
    participant_token: jwt,
    room_name: room,
    participant_identity: identity,
  });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url !== '/token') return send(res, 404, { error: { code: 'not_found', message: 'not found' } });
    if (req.method !== 'POST') return send(res, 405, { error: { code: 'method_not_allowed', message: 'POST' } });
    token(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
      send(res, 500, { error: { code: 'internal_error', message: String(e && e.message) } });
    });
  });
});
// Node's defaults, as a tutorial leaves them (keep-alive on, 5 s idle timeout).
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: server.address().port }) + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
