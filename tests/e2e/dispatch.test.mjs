// roomgate end to end: a real livekit-server (started by ./run on free loopback ports), agent
// workers from LiveKit's agents framework registered under explicit agent names (so LiveKit
// dispatches only what a token or the dispatch API names), participants that join with
// roomgate's tokens through LiveKit's Node SDK, and roomgate itself started from
// $ROOMGATE_BIN. Each scenario asserts what the agent worker received.
//
// The tests run in order in one file: later scenarios use rooms made live by earlier ones,
// and the last one stops the LiveKit server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TokenSource } from 'livekit-client';
import {
  Roomgate, env, rand, sleep, jobRequests, waitForJobs, jwtClaims,
  connectParticipant, disposeRtc, waitForParticipant, stopLivekit,
} from './lib.mjs';

const LIVEKIT_URL = env('LIVEKIT_URL');
const SUPPORT = 'e2e-support';
const NOTES = 'e2e-notes';
const PASSWORDS = { alice: 'alice-pw-e2e', carol: 'carol-pw-e2e', bob: 'bob-pw-e2e' };

const config = {
  listen: '127.0.0.1:0',
  livekit: {
    url: LIVEKIT_URL, api_key: env('LIVEKIT_API_KEY', 'devkey'),
    api_secret: env('LIVEKIT_API_SECRET', 'secret'), check_existing_rooms: true,
  },
  session: { secret: 'e2e-session-secret-0123456789abcdefghijkl', ttl: '1h' },
  tokens: { default_ttl: '10m', max_ttl: '1h' },
  rooms: { prefix: 'e2e-' },
  agents: {
    support: {
      agent_name: SUPPORT, description: 'e2e support agent',
      metadata: { user_id: '{{user.id}}', room: '{{room}}' },
      client_metadata: ['language'],
    },
    notes: {
      agent_name: NOTES, description: 'e2e note taker',
      metadata: { user_id: '{{user.id}}', kind: 'notes' },
    },
  },
  rules: [
    // bob may use the support agent only.
    { name: 'support-only', match: { users: ['bob'] }, rooms: ['*'], session_rooms: true, agents: ['support'] },
    { name: 'everyone', rooms: ['*'], session_rooms: true, agents: ['support', 'notes'] },
  ],
};

let rg;
const tok = {};
const participants = [];
const rooms = {};          // rooms made live by earlier scenarios

before(async () => {
  rg = await new Roomgate({ config, users: PASSWORDS }).start();
  for (const [u, p] of Object.entries(PASSWORDS)) tok[u] = await rg.login(u, p);
});

after(async () => {
  for (const p of participants) await p.disconnect().catch(() => {});
  await disposeRtc().catch(() => {});
  const r = rg && await rg.stop();
  if (r && r.code !== 0) console.error(`roomgate exited ${JSON.stringify(r)}; log:\n${rg.logs.join('\n')}`);
});

async function join(url, token) {
  const room = await connectParticipant(url, token);
  participants.push(room);
  return room;
}

test('1. POST /v1/sessions with a profile: the first connect dispatches exactly that agent with the profile metadata', async () => {
  const r = await rg.request('POST', '/v1/sessions', {
    token: tok.alice, body: { agents: ['support'], participant_name: 'Alice', metadata: { language: 'en' } },
  });
  assert.equal(r.status, 201, r.text);
  const s = r.body;
  assert.equal(s.server_url, LIVEKIT_URL);
  assert.match(s.room_name, /^e2e-[A-Za-z0-9_-]{22}$/);
  assert.equal(s.participant_identity, 'alice');
  assert.equal(s.agents.length, 1);
  assert.equal(s.agents[0].agent_name, SUPPORT);
  const expected = { language: 'en', user_id: 'alice', room: s.room_name };
  assert.deepEqual(JSON.parse(s.agents[0].metadata), expected);

  assert.equal(jobRequests({ room: s.room_name }).length, 0, 'no job before anyone joined');
  const room = await join(s.server_url, s.participant_token);
  assert.equal(room.name, s.room_name);

  const jobs = await waitForJobs({ room: s.room_name });
  assert.equal(jobs.length, 1, `exactly one job for the room: ${JSON.stringify(jobs)}`);
  assert.equal(jobs[0].agent_name, SUPPORT);
  assert.deepEqual(JSON.parse(jobs[0].metadata), expected, 'job metadata = profile template, user id by the server');
  assert.ok(jobs[0].dispatch_id, 'LiveKit gave the job a dispatch id');
  // The agent accepted and joined: the participant sees it.
  await waitForParticipant(room, `agent-${SUPPORT}-`);
  rooms.session = s.room_name;
});

test('2. POST /token through livekit-client TokenSource.endpoint with agentName/agentMetadata', async () => {
  // Capture the raw response behind the SDK to check roomgate's extra fields too.
  const realFetch = globalThis.fetch;
  let raw;
  globalThis.fetch = async (...a) => {
    const res = await realFetch(...a);
    raw = { status: res.status, body: await res.clone().json().catch(() => null) };
    return res;
  };
  const roomName = `e2e-tok-${rand()}`;
  let creds;
  try {
    const source = TokenSource.endpoint(`${rg.url}/token`, { headers: { Authorization: `Bearer ${tok.alice}` } });
    creds = await source.fetch({
      roomName, participantName: 'Alice', agentName: SUPPORT, agentMetadata: JSON.stringify({ language: 'de' }),
    });
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(raw.status, 201);
  assert.equal(creds.serverUrl, LIVEKIT_URL);
  const claims = jwtClaims(creds.participantToken);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.video.room, roomName);
  assert.equal(claims.roomConfig.agents[0].agentName, SUPPORT);
  // A new room: the agents ride in the token (LiveKit ran ListRooms for us and found none).
  assert.equal(raw.body.dispatch, 'token', JSON.stringify(raw.body));

  const room = await join(creds.serverUrl, creds.participantToken);
  const jobs = await waitForJobs({ room: roomName });
  assert.equal(jobs.length, 1, JSON.stringify(jobs));
  assert.equal(jobs[0].agent_name, SUPPORT);
  assert.deepEqual(JSON.parse(jobs[0].metadata), { language: 'de', user_id: 'alice', room: roomName });
  await waitForParticipant(room, `agent-${SUPPORT}-`);
  rooms.token = roomName;
  rooms.tokenSupportDispatch = jobs[0].dispatch_id;
});

test('3. a second user\'s token for the live room asking for another agent is dispatched through the API', async () => {
  const R = rooms.token;
  assert.ok(R, 'needs the room from scenario 2');
  const t0 = Date.now();
  const r = await rg.request('POST', '/token', {
    token: tok.carol,
    body: { room_name: R, participant_name: 'Carol', room_config: { agents: [{ agent_name: NOTES }] } },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.dispatch, 'api', r.text);
  assert.deepEqual(r.body.agents?.map((a) => a.agent_name), [NOTES], r.text);
  const expected = { user_id: 'carol', kind: 'notes' };
  assert.deepEqual(JSON.parse(r.body.agents[0].metadata), expected);

  // The job arrives through the dispatch API, before carol even connects.
  const jobs = await waitForJobs({ room: R, agent_name: NOTES }, { settleMs: 0 });
  assert.equal(jobs.length, 1);
  assert.deepEqual(JSON.parse(jobs[0].metadata), expected);
  assert.ok(jobs[0].t >= t0);

  // carol joins the live room with her token: LiveKit ignores its agents, so no second job.
  await join(r.body.server_url, r.body.participant_token);
  await sleep(1500);
  assert.equal(jobRequests({ room: R, agent_name: NOTES }).length, 1, 'no duplicate notes job');
  assert.equal(jobRequests({ room: R, agent_name: SUPPORT }).length, 1, 'support still dispatched once');

  // GET /v1/dispatch lists both dispatches, as LiveKit returns them.
  const l = await rg.request('GET', `/v1/dispatch?room_name=${encodeURIComponent(R)}`, { token: tok.carol });
  assert.equal(l.status, 200, l.text);
  assert.ok(Array.isArray(l.body.agent_dispatches), l.text);
  const byName = Object.fromEntries(l.body.agent_dispatches.map((d) => [d.agent_name, d]));
  assert.deepEqual(Object.keys(byName).sort(), [NOTES, SUPPORT], l.text);
  assert.equal(byName[SUPPORT].id, rooms.tokenSupportDispatch);
  assert.equal(byName[NOTES].id, jobs[0].dispatch_id);
  for (const d of l.body.agent_dispatches) assert.equal(d.room, R);
  assert.deepEqual(JSON.parse(byName[NOTES].metadata), expected);
});

test('3b. asking again for an agent the live room already has does not start a second one', async () => {
  const R = rooms.token;
  const r = await rg.request('POST', '/token', {
    token: tok.carol,
    body: { room_name: R, room_config: { agents: [{ agent_name: SUPPORT, metadata: '{"language":"fr"}' }] } },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.dispatch, 'api', r.text);
  await sleep(2000);
  assert.equal(jobRequests({ room: R, agent_name: SUPPORT }).length, 1, 'still one support job');
  const l = await rg.request('GET', `/v1/dispatch?room_name=${encodeURIComponent(R)}`, { token: tok.carol });
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.agent_dispatches.filter((d) => d.agent_name === SUPPORT).length, 1, l.text);
});

test('3c. POST, GET and DELETE /v1/dispatch', async () => {
  const R = rooms.session;
  assert.ok(R, 'needs the room from scenario 1');
  const r = await rg.request('POST', '/v1/dispatch', { token: tok.alice, body: { room_name: R, agent: 'notes', metadata: {} } });
  assert.equal(r.status, 201, r.text);
  assert.ok(r.body.id, r.text);
  assert.equal(r.body.agent_name, NOTES);
  assert.equal(r.body.room, R);
  assert.deepEqual(JSON.parse(r.body.metadata), { user_id: 'alice', kind: 'notes' });

  const jobs = await waitForJobs({ room: R, agent_name: NOTES });
  assert.equal(jobs.length, 1, JSON.stringify(jobs));
  assert.equal(jobs[0].dispatch_id, r.body.id);
  assert.deepEqual(JSON.parse(jobs[0].metadata), { user_id: 'alice', kind: 'notes' });

  // Idempotent: the profile already has a dispatch in the room.
  const again = await rg.request('POST', '/v1/dispatch', { token: tok.alice, body: { room_name: R, agent: 'notes' } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.id, r.body.id);
  await sleep(1000);
  assert.equal(jobRequests({ room: R, agent_name: NOTES }).length, 1, 'no second notes job');

  const del = await rg.request('DELETE', `/v1/dispatch/${encodeURIComponent(r.body.id)}?room_name=${encodeURIComponent(R)}`, { token: tok.alice });
  assert.equal(del.status, 200, del.text);
  const l = await rg.request('GET', `/v1/dispatch?room_name=${encodeURIComponent(R)}`, { token: tok.alice });
  assert.equal(l.status, 200, l.text);
  assert.ok(!l.body.agent_dispatches.some((d) => d.id === r.body.id), `deleted dispatch still listed: ${l.text}`);
  assert.ok(l.body.agent_dispatches.some((d) => d.agent_name === SUPPORT), l.text);
});

test('3d. POST /v1/dispatch into a room nobody has joined yet: LiveKit creates it and dispatches', async () => {
  // CreateDispatch creates the room (auto-create is on); LiveKit's ListDispatch for a room
  // that does not exist answers 503 "no response from servers" after about 3 s, so an
  // idempotency check that lists first must not turn that into a 502.
  const R = `e2e-fresh-${rand()}`;
  const t0 = Date.now();
  const r = await rg.request('POST', '/v1/dispatch', { token: tok.alice, body: { room_name: R, agent: 'support', metadata: { language: 'it' } } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.agent_name, SUPPORT);
  assert.equal(r.body.room, R);
  const jobs = await waitForJobs({ room: R, agent_name: SUPPORT });
  assert.equal(jobs.length, 1, JSON.stringify(jobs));
  assert.equal(jobs[0].dispatch_id, r.body.id);
  assert.deepEqual(JSON.parse(jobs[0].metadata), { language: 'it', user_id: 'alice', room: R });
  assert.ok(jobs[0].t >= t0);
});

test('4. an agent the policy does not allow: 403, and the worker receives nothing', async () => {
  const t0 = Date.now();
  const newRoom = `e2e-denied-${rand()}`;
  const a = await rg.request('POST', '/token', {
    token: tok.bob, body: { room_name: newRoom, room_config: { agents: [{ agent_name: NOTES }] } },
  });
  assert.equal(a.status, 403, a.text);
  assert.equal(a.body.error.code, 'agent_not_allowed', a.text);

  const b = await rg.request('POST', '/v1/sessions', { token: tok.bob, body: { agents: ['notes'] } });
  assert.equal(b.status, 403, b.text);
  assert.equal(b.body.error.code, 'agent_not_allowed', b.text);

  // Into a live room, by the dispatch API and by a token.
  const live = rooms.token;
  const c = await rg.request('POST', '/v1/dispatch', { token: tok.bob, body: { room_name: live, agent: 'notes' } });
  assert.equal(c.status, 403, c.text);
  assert.equal(c.body.error.code, 'agent_not_allowed', c.text);
  const d = await rg.request('POST', '/token', {
    token: tok.bob, body: { room_name: rooms.session, room_config: { agents: [{ agent_name: NOTES }] } },
  });
  assert.equal(d.status, 403, d.text);

  // None of the refused requests reaches the worker.
  await sleep(3000);
  const seen = jobRequests({ since: t0 });
  assert.deepEqual(seen, [], `the worker got jobs after refusals: ${JSON.stringify(seen)}`);
  assert.equal(jobRequests({ room: newRoom }).length, 0);
});

test('5. LiveKit server stopped: /v1/dispatch answers 502, the token endpoints keep working', async () => {
  for (const p of participants.splice(0)) await p.disconnect().catch(() => {});
  await stopLivekit();

  const R = rooms.session;
  const a = await rg.request('POST', '/v1/dispatch', { token: tok.alice, body: { room_name: R, agent: 'support', metadata: { language: 'en' } } });
  assert.equal(a.status, 502, a.text);
  assert.equal(a.body.error.code, 'livekit_unreachable', a.text);
  assert.ok(a.body.error.message, a.text);

  const g = await rg.request('GET', `/v1/dispatch?room_name=${encodeURIComponent(R)}`, { token: tok.alice });
  assert.equal(g.status, 502, g.text);

  // POST /token with agents for a named room: the room check is skipped, the token path used.
  const t0 = Date.now();
  const roomName = `e2e-down-${rand()}`;
  const b = await rg.request('POST', '/token', {
    token: tok.alice, body: { room_name: roomName, room_config: { agents: [{ agent_name: SUPPORT, metadata: '{"language":"en"}' }] } },
  });
  assert.equal(b.status, 201, b.text);
  assert.ok(b.body.participant_token, b.text);
  assert.equal(b.body.dispatch, 'token', b.text);
  assert.equal(jwtClaims(b.body.participant_token).roomConfig.agents[0].agentName, SUPPORT);
  assert.ok(Date.now() - t0 < 10000, 'no long stall on the unreachable LiveKit');

  const c = await rg.request('POST', '/token', { token: tok.alice, body: {} });
  assert.equal(c.status, 201, c.text);
  const s = await rg.request('POST', '/v1/sessions', { token: tok.alice, body: { agents: ['support'] } });
  assert.equal(s.status, 201, s.text);
});
