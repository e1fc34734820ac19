// roomgate's link to LiveKit after the token, end to end: the one livekit-server of the run
// posts its signed webhooks to the relay (relay.mjs), which forwards them byte for byte to the
// roomgates this file registers; participants join with LiveKit's Node SDK, the agent workers
// take the jobs, and LiveKit's own server SDK (livekit-server-sdk) signs the crafted webhooks
// and lists the rooms as LiveKit sees them.
//
// Two roomgates: A (reconcile_interval 1h: after its start, only webhooks change what it knows)
// serves scenarios 1, 3, 4 and 5; B (reconcile_interval 1s) heals lost webhooks in 2 and 7.
// Both get every webhook the relay forwards. The tests run in order: 4 and 5 use the room 3
// made live, 7 the room 2 healed. 8 stops A and B and starts C, with limits, twice (a restart).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AccessToken, RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';
import {
  Roomgate, env, rand, waitFor, waitForJobs, jobRequests, jobEvents, connectParticipant,
  disposeRtc, waitForParticipant, disconnectedOnce, relay, AGENT_JOIN_MS,
} from './lib.mjs';

const LIVEKIT_URL = env('LIVEKIT_URL');
const API_KEY = env('LIVEKIT_API_KEY', 'devkey');
const API_SECRET = env('LIVEKIT_API_SECRET', 'secret');
const SUPPORT = 'e2e-support';
const NOTES = 'e2e-notes';
const PASSWORDS = { alice: 'alice-pw-e2e', carol: 'carol-pw-e2e', dave: 'dave-pw-e2e', erin: 'erin-pw-e2e' };
// The events roomgate's registry applies; the relay may forward others (track_*).
const APPLIED = new Set(['room_started', 'room_finished', 'participant_joined', 'participant_left',
  'participant_connection_aborted', 'agent_job_started', 'agent_job_ended']);

const config = (reconcileInterval) => ({
  listen: '127.0.0.1:0',
  livekit: {
    url: LIVEKIT_URL, api_key: API_KEY, api_secret: API_SECRET,
    check_existing_rooms: true, reconcile_interval: reconcileInterval,
  },
  session: { secret: 'e2e-session-secret-0123456789abcdefghijkl', ttl: '1h' },
  tokens: { default_ttl: '10m', max_ttl: '1h' },
  rooms: { prefix: 'e2e-' },
  agents: {
    support: { agent_name: SUPPORT, metadata: { user_id: '{{user.id}}', room: '{{room}}' } },
    notes: { agent_name: NOTES, metadata: { user_id: '{{user.id}}', kind: 'notes' } },
  },
  rules: [{ name: 'everyone', rooms: ['*'], session_rooms: true, agents: ['support', 'notes'] }],
});

const svc = new RoomServiceClient(LIVEKIT_URL.replace(/^ws/, 'http'), API_KEY, API_SECRET);
const receiver = new WebhookReceiver(API_KEY, API_SECRET);
const T0 = Date.now();
let A; // reconcile_interval 1h
let B; // reconcile_interval 1s
const tokA = {};
const tokB = {};
const participants = [];
const shared = {}; // the live room of scenario 3, used by 4 and 5
const healed = {}; // the rooms of scenario 2, used by 7

before(async () => {
  [A, B] = await Promise.all([
    new Roomgate({ config: config('1h'), users: PASSWORDS, webhooks: true }).start(),
    new Roomgate({ config: config('1s'), users: PASSWORDS, webhooks: true }).start(),
  ]);
  for (const [u, p] of Object.entries(PASSWORDS)) {
    [tokA[u], tokB[u]] = await Promise.all([A.login(u, p), B.login(u, p)]);
  }
});

after(async () => {
  await relay.clear().catch(() => {}); // scenario 2's drop rules
  for (const p of participants) await p.disconnect().catch(() => {});
  await disposeRtc().catch(() => {});
  await Promise.all([A, B].map(async (rg) => {
    const r = rg && await rg.stop();
    if (r && r.code !== 0) console.error(`roomgate exited ${JSON.stringify(r)}; log:\n${rg.logs.join('\n')}`);
  }));
});

async function join(url, token) {
  const room = await connectParticipant(url, token);
  participants.push(room);
  return room;
}

async function sessions(rg, token) {
  const r = await rg.request('GET', '/v1/sessions', { token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return r.body.sessions;
}

async function liveRooms(rg) {
  const r = await rg.request('GET', '/healthz');
  assert.equal(r.status, 200, r.text);
  return r.body.registry.live_rooms;
}

const counter = (m, name) => {
  assert.ok(name in m, `no ${name} in /metrics: ${JSON.stringify(m)}`);
  return m[name];
};
const LIST_ROOMS = 'roomgate_livekit_api_calls_total{method="ListRooms"}';
const CREATE_DISPATCH = 'roomgate_livekit_api_calls_total{method="CreateDispatch"}';
const DELETE_ROOM = 'roomgate_livekit_api_calls_total{method="DeleteRoom"}';
const ROOM_DELETED = 5; // livekit.DisconnectReason
const HOOKS = (outcome) => `roomgate_webhooks_total{outcome="${outcome}"}`;
const CORRECTIONS = 'roomgate_registry_corrections_total';

/** A webhook signed as LiveKit signs one (livekit-server-sdk's AccessToken: iss = key, exp,
 *  sha256 = base64 of the body's SHA-256); `secret` and `ttl` (seconds) may be wrong. */
async function sign(body, { secret = API_SECRET, ttl = 300 } = {}) {
  const at = new AccessToken(API_KEY, secret, { ttl });
  at.sha256 = createHash('sha256').update(body).digest('base64');
  return at.toJwt();
}

async function postHook(rg, body, authorization) {
  const headers = { 'Content-Type': 'application/webhook+json' };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await fetch(`${rg.url}/livekit/webhook`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, text };
}

/** LiveKit's WebhookReceiver refuses it too: roomgate and LiveKit's SDK agree. */
async function sdkRefuses(body, authorization) {
  await assert.rejects(receiver.receive(body, authorization), `LiveKit's WebhookReceiver accepted it`);
}

const event = (name, room, extra = {}) => JSON.stringify({
  event: name, room, id: `EV_e2e_${rand(8)}`, createdAt: String(Math.floor(Date.now() / 1000)), ...extra,
});

test('1. the registry sees a room start and finish: GET /v1/sessions and /healthz follow LiveKit\'s webhooks', async (t) => {
  const live0 = await liveRooms(A);
  const s = await A.request('POST', '/v1/sessions', { token: tokA.alice, body: { agents: ['support'] } });
  assert.equal(s.status, 201, s.text);
  const R = s.body.room_name;
  assert.deepEqual((await sessions(A, tokA.alice)).filter((x) => x.room_name === R), [], 'not live before anyone joined');

  const room = await join(s.body.server_url, s.body.participant_token);
  const t0 = Math.floor(Date.now() / 1000);
  await waitForParticipant(room, `agent-${SUPPORT}-`);
  // alice and the agent are in, the agent's job shows running (from its participant: v1.13.5
  // sends no agent_job_* webhooks).
  const listed = await waitFor(async () => (await sessions(A, tokA.alice)).find((x) => x.room_name === R
    && x.participants >= 2 && x.agents.some((a) => a.agent_name === SUPPORT && a.running)), 10000,
  async () => `${R} listed with 2 participants and ${SUPPORT} running: ${JSON.stringify(await sessions(A, tokA.alice))}`);
  assert.equal(listed.participants, 2, JSON.stringify(listed));
  assert.deepEqual(listed.agents, [{ agent_name: SUPPORT, running: true }]);
  assert.ok(Math.abs(listed.created_at - t0) <= 30, `created_at ${listed.created_at} vs ${t0}`);
  assert.equal(await liveRooms(A), live0 + 1);
  assert.deepEqual((await sessions(A, tokA.carol)).filter((x) => x.room_name === R), [], 'not carol\'s session');
  const hz = await A.request('GET', '/healthz');
  assert.equal(hz.body.registry.synced, true, hz.text);

  // alice leaves; the agent alone does not hold the room: departure_timeout (1 s) closes it.
  const left = Date.now();
  await room.disconnect();
  await waitFor(async () => !(await sessions(A, tokA.alice)).some((x) => x.room_name === R), 15000,
    `${R} to leave GET /v1/sessions`);
  const took = Date.now() - left;
  assert.ok(took < 10000, `the room closed ${took} ms after the last participant left (departure_timeout 1 s)`);
  t.diagnostic(`gone from GET /v1/sessions ${took} ms after the participant left`);
  assert.deepEqual(await sessions(A, tokA.alice), [], 'alice has no live session left');
  assert.equal(await liveRooms(A), live0);
  // It was LiveKit's room_finished (A reconciles once an hour), verified by roomgate.
  const fin = (await relay.log(R)).filter((e) => e.event === 'room_finished');
  assert.equal(fin.length, 1, JSON.stringify(fin));
  assert.equal(fin[0].action, 'forwarded');
  assert.ok(fin[0].statuses.some((x) => x.url === A.url && x.status === 200), JSON.stringify(fin[0].statuses));
  assert.deepEqual((await svc.listRooms([R])).map((r) => r.name), [], 'LiveKit closed it');
});

test('2. a lost webhook is healed by reconciliation (reconcile_interval 1s)', async (t) => {
  assert.ok(counter(await B.metrics(), HOOKS('applied')) > 0, 'B applied LiveKit\'s webhooks before');
  // N: alice's token for a named room B checked (ListRooms: not live). Its room_started is
  // lost, so B keeps "not live" until a reconciliation corrects it.
  const N = `e2e-link-lost-${rand()}`;
  const tok = await B.request('POST', '/token', {
    token: tokB.alice, body: { room_name: N, room_config: { agents: [{ agent_name: SUPPORT }] } },
  });
  assert.equal(tok.status, 201, tok.text);
  assert.equal(tok.body.dispatch, 'token', tok.text);
  // L: a session room B never checked: the reconciliation learns it (no correction).
  const s = await B.request('POST', '/v1/sessions', { token: tokB.alice, body: {} });
  assert.equal(s.status, 201, s.text);
  const L = s.body.room_name;
  const lost = ['room_started', 'participant_joined'];
  await relay.drop(N, lost);
  await relay.drop(L, lost);
  const c0 = counter(await B.metrics(), CORRECTIONS);

  const t0 = Date.now();
  await Promise.all([join(tok.body.server_url, tok.body.participant_token), join(s.body.server_url, s.body.participant_token)]);
  const inB = async () => (await sessions(B, tokB.alice)).filter((x) => x.room_name === N || x.room_name === L);
  await waitFor(async () => (await inB()).length === 2, 8000,
    async () => `${N} and ${L} in B's GET /v1/sessions: ${JSON.stringify(await inB())}`);
  const took = Date.now() - t0;
  Object.assign(healed, { N, L });
  // What the relay did: the room_started of both rooms dropped, nothing B applies forwarded.
  for (const room of [N, L]) {
    const log = await relay.log(room);
    assert.ok(log.some((e) => e.event === 'room_started' && e.action === 'dropped'), `${room}: ${JSON.stringify(log.map((e) => [e.event, e.action]))}`);
    assert.deepEqual(log.filter((e) => e.action === 'forwarded' && APPLIED.has(e.event)).map((e) => e.event), [],
      `${room}: an event B applies got through`);
  }
  // N was "not live": a correction, logged and counted. L was unknown: learned, not logged.
  const corr = B.logEvents('registry_corrected');
  assert.ok(corr.some((e) => e.room === N && e.was === 'not_live' && e.now === 'live'), JSON.stringify(corr));
  assert.ok(!corr.some((e) => e.room === L), `${L} was learned, not corrected: ${JSON.stringify(corr)}`);
  assert.ok(counter(await B.metrics(), CORRECTIONS) >= c0 + 1);
  assert.ok(took < 8000, `healed in ${took} ms`);
  t.diagnostic(`healed ${took} ms after the participants joined`);
  // The drop rules stay: no event of N or L reaches A or B for the rest of this file.
});

test('3. a named-room token for a live room dispatches through the API without a ListRooms call', async () => {
  const s = await A.request('POST', '/v1/sessions', { token: tokA.alice, body: { agents: ['support'] } });
  assert.equal(s.status, 201, s.text);
  const R = s.body.room_name;
  const room = await join(s.body.server_url, s.body.participant_token);
  await waitFor(async () => (await sessions(A, tokA.alice)).some((x) => x.room_name === R), 10000,
    `${R} live in A's registry (room_started)`);
  shared.room = R;
  shared.alice = room;

  const m0 = await A.metrics();
  const r = await A.request('POST', '/token', {
    token: tokA.carol, body: { room_name: R, room_config: { agents: [{ agent_name: NOTES }] } },
  });
  const m1 = await A.metrics();
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.dispatch, 'api', r.text);
  assert.equal(counter(m1, LIST_ROOMS), counter(m0, LIST_ROOMS), 'no ListRooms: the registry knew the room was live');
  assert.equal(counter(m1, CREATE_DISPATCH), counter(m0, CREATE_DISPATCH) + 1, 'one CreateDispatch');
  const jobs = await waitForJobs({ room: R, agent_name: NOTES }, { settleMs: 0 });
  assert.equal(jobs.length, 1, JSON.stringify(jobs));
  assert.deepEqual(JSON.parse(jobs[0].metadata), { user_id: 'carol', kind: 'notes' });

  // The counter does count: a room the registry has not heard of costs one ListRooms.
  const other = `e2e-link-unknown-${rand()}`;
  const u = await A.request('POST', '/token', {
    token: tokA.carol, body: { room_name: other, room_config: { agents: [{ agent_name: NOTES }] } },
  });
  assert.equal(u.status, 201, u.text);
  assert.equal(u.body.dispatch, 'token', u.text);
  assert.equal(counter(await A.metrics(), LIST_ROOMS), counter(m1, LIST_ROOMS) + 1);
  assert.equal(jobRequests({ room: other }).length, 0);
});

test('4. forged, unsigned, expired, altered and replayed webhooks change nothing', async () => {
  const R = shared.room;
  assert.ok(R, 'needs the room of scenario 3');
  // Both agents in (alice, support, notes): nothing else changes the room while this runs.
  await waitFor(async () => (await sessions(A, tokA.alice)).find((x) => x.room_name === R && x.participants === 3),
    AGENT_JOIN_MS, async () => `alice and both agents in ${R}: ${JSON.stringify(await sessions(A, tokA.alice))}`);
  const [info] = await svc.listRooms([R]);
  assert.ok(info?.sid, `LiveKit lists ${R}`);
  const roomInfo = { sid: info.sid, name: R };
  const live0 = await liveRooms(A);
  const m0 = await A.metrics();

  // carol's claim on a room nobody started: a room_started would make it her live session.
  const U = `e2e-link-forged-${rand()}`;
  const claim = await A.request('POST', '/token', { token: tokA.carol, body: { room_name: U } });
  assert.equal(claim.status, 201, claim.text);

  const finished = event('room_finished', roomInfo);
  const startedU = event('room_started', { sid: 'RM_e2e_forged', name: U });
  const refusals = [
    ['forged room_finished (another secret)', finished, await sign(finished, { secret: 'not-the-livekit-secret' })],
    ['unsigned (no Authorization)', finished, undefined],
    ['expired (exp 10 min ago)', finished, await sign(finished, { ttl: -600 })],
    ['body altered after signing', finished, await sign(event('participant_joined', roomInfo, {
      participant: { sid: 'PA_e2e', identity: 'someone', kind: 'STANDARD' } }))],
    ['forged room_started for a room not live', startedU, await sign(startedU, { secret: 'not-the-livekit-secret' })],
  ];
  for (const [what, body, auth] of refusals) {
    const r = await postHook(A, body, auth);
    assert.equal(r.status, 401, `${what}: ${r.text}`);
    assert.equal(r.body?.error?.code, 'invalid_webhook', `${what}: ${r.text}`);
    await sdkRefuses(body, auth);
  }
  assert.ok((await sessions(A, tokA.alice)).some((x) => x.room_name === R && x.participants === 3),
    `${R} still live with its 3 participants`);
  assert.deepEqual((await sessions(A, tokA.carol)).map((x) => x.room_name), [], 'no session live for carol');
  assert.equal(await liveRooms(A), live0);
  const m1 = await A.metrics();
  assert.equal(counter(m1, HOOKS('refused')), counter(m0, HOOKS('refused')) + refusals.length);
  assert.ok(A.logEvents('webhook_refused').length >= refusals.length, 'each refusal logged');

  // Replayed: a signed event is applied once; the same delivery again answers duplicate.
  const ghost = { sid: 'PA_e2e_ghost', identity: `ghost-${rand()}`, kind: 'STANDARD' };
  const joined = event('participant_joined', roomInfo, { participant: ghost });
  const joinedAuth = await sign(joined);
  await receiver.receive(joined, joinedAuth); // LiveKit's SDK takes it: the signing is LiveKit's
  let r = await postHook(A, joined, joinedAuth);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, {});
  assert.ok((await sessions(A, tokA.alice)).some((x) => x.room_name === R && x.participants === 4), 'the ghost joined');
  const leftEv = event('participant_left', roomInfo, { participant: ghost });
  r = await postHook(A, leftEv, await sign(leftEv));
  assert.deepEqual([r.status, r.body], [200, {}], r.text);
  assert.ok((await sessions(A, tokA.alice)).some((x) => x.room_name === R && x.participants === 3), 'the ghost left');
  r = await postHook(A, joined, joinedAuth);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { duplicate: true });
  assert.ok((await sessions(A, tokA.alice)).some((x) => x.room_name === R && x.participants === 3),
    'the replayed join changed nothing');
  // LiveKit's own room_started for R, as the relay got it, delivered a second time.
  const started = (await relay.log(R)).find((e) => e.event === 'room_started' && e.action === 'forwarded');
  assert.ok(started, `the relay forwarded ${R}'s room_started`);
  r = await postHook(A, started.body, started.authorization);
  assert.deepEqual([r.status, r.body], [200, { duplicate: true }], r.text);

  const m2 = await A.metrics();
  assert.equal(counter(m2, HOOKS('duplicate')), counter(m1, HOOKS('duplicate')) + 2);
  assert.equal(counter(m2, LIST_ROOMS), counter(m0, LIST_ROOMS), 'webhooks never call LiveKit back');
  assert.deepEqual((await svc.listRooms([U])).map((x) => x.name), [], `LiveKit has no ${U}`);
});

test('5. DELETE /v1/sessions/{room}: another user gets 404; the owner ends the room, its participant and its agent jobs', async () => {
  const R = shared.room;
  assert.ok(R, 'needs the room of scenario 3');
  // Both agents' jobs joined (their participants are in; the job records it a moment later).
  const joinedJobs = await waitFor(() => {
    const j = jobEvents('joined', { room: R });
    return j.length === 2 && j;
  }, 5000, () => `both jobs in ${R} to record their join: ${JSON.stringify(jobEvents('joined', { room: R }))}`);
  assert.deepEqual(joinedJobs.map((j) => j.agent_name).sort(), [NOTES, SUPPORT], JSON.stringify(joinedJobs));

  const nobody = await A.request('DELETE', `/v1/sessions/e2e-link-nosuch-${rand()}`, { token: tokA.carol });
  assert.equal(nobody.status, 404, nobody.text);
  const m0 = await A.metrics();
  const other = await A.request('DELETE', `/v1/sessions/${encodeURIComponent(R)}`, { token: tokA.carol });
  assert.equal(other.status, 404, other.text);
  assert.equal(other.body.error.code, 'not_found');
  assert.equal(other.body.error.message.replace(R, 'ROOM'), nobody.body.error.message.replace(/e2e-link-nosuch-[0-9a-f]+/, 'ROOM'),
    'someone else\'s room answers as a room that does not exist');
  assert.equal(counter(await A.metrics(), DELETE_ROOM), counter(m0, DELETE_ROOM), 'no DeleteRoom for carol');
  assert.deepEqual((await svc.listRooms([R])).map((x) => x.name), [R], 'still live');

  const live0 = await liveRooms(A);
  const gone = disconnectedOnce(shared.alice);
  const tDelete = Date.now();
  const d = await A.request('DELETE', `/v1/sessions/${encodeURIComponent(R)}`, { token: tokA.alice });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body, { room_name: R, ended: true });
  assert.equal(counter(await A.metrics(), DELETE_ROOM), counter(m0, DELETE_ROOM) + 1);
  assert.ok(!(await sessions(A, tokA.alice)).some((x) => x.room_name === R), 'gone from GET /v1/sessions at once');
  assert.equal(await liveRooms(A), live0 - 1);

  await waitFor(async () => (await svc.listRooms([R])).length === 0, 5000, `LiveKit to drop ${R}`);
  const reason = await Promise.race([gone, new Promise((_, rej) => setTimeout(() => rej(new Error('alice was not disconnected within 5 s')), 5000))]);
  assert.equal(reason, ROOM_DELETED, 'alice disconnected: room deleted');
  for (const j of joinedJobs) {
    await waitFor(() => jobEvents('shutdown', { job_id: j.job_id }).length > 0, 10000, `job ${j.job_id} (${j.agent_name}) to shut down`);
    // (its reason is ROOM_DELETED, or CLIENT_INITIATED when the worker's job shutdown wins)
    const left = jobEvents('disconnected', { job_id: j.job_id });
    assert.equal(left.length, 1, JSON.stringify(left));
    assert.ok(left[0].t >= tDelete, `${j.agent_name}'s job left after the DELETE`);
  }
  // LiveKit's late webhooks for the deleted room (participants leaving, room_finished) do not
  // bring it back.
  await waitFor(async () => (await relay.log(R)).some((e) => e.event === 'room_finished' && e.action === 'forwarded'),
    10000, `${R}'s room_finished`);
  assert.deepEqual(await sessions(A, tokA.alice), [], 'alice has no live session left');
  assert.equal(await liveRooms(A), live0 - 1);
  const again = await A.request('DELETE', `/v1/sessions/${encodeURIComponent(R)}`, { token: tokA.alice });
  assert.equal(again.status, 404, again.text);
});

test('6. every webhook LiveKit sent during this file was verified by roomgate and by LiveKit\'s WebhookReceiver', async () => {
  const log = (await relay.log()).filter((e) => e.t >= T0 && e.action === 'forwarded');
  assert.ok(log.length >= 10, `only ${log.length} webhooks forwarded`);
  const bad = log.filter((e) => !e.sdk_verified || e.statuses.some((x) => x.status !== 200));
  assert.deepEqual(bad.map((e) => [e.event, e.room, e.statuses]), []);
  const seen = new Set(log.map((e) => e.event));
  for (const ev of ['room_started', 'room_finished', 'participant_joined', 'participant_left']) {
    assert.ok(seen.has(ev), `no ${ev} among ${[...seen]}`);
  }
});

test('7. a room a reconciliation learned shows LiveKit\'s creation time and participant count', async () => {
  // The rooms of scenario 2, whose webhooks were all lost: B knows them from ListRooms alone.
  // LiveKit's Twirp API answers with the proto's field names (num_participants,
  // creation_time), as roomgate reads them.
  const { N, L } = healed;
  assert.ok(N && L, 'needs the rooms of scenario 2');
  const listRooms = async () => {
    const at = new AccessToken(API_KEY, API_SECRET);
    at.addGrant({ roomList: true });
    const res = await fetch(`${LIVEKIT_URL.replace(/^ws/, 'http')}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST', headers: { Authorization: `Bearer ${await at.toJwt()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ names: [N, L] }), signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    return (await res.json()).rooms;
  };
  const rooms = await listRooms();
  assert.equal(rooms.length, 2, JSON.stringify(rooms));
  const mine = await sessions(B, tokB.alice);
  for (const r of rooms) {
    assert.ok('num_participants' in r && 'creation_time' in r, `LiveKit's field names: ${Object.keys(r)}`);
    assert.equal(mine.find((x) => x.room_name === r.name)?.created_at, Number(r.creation_time), `${r.name}'s created_at`);
  }
  // LiveKit refreshes num_participants lazily (every 5 s; agents not counted): once it counts
  // alice in a room, B's next reconciliation shows the same count.
  let seen;
  await waitFor(async () => {
    const [lk, b] = await Promise.all([listRooms(), sessions(B, tokB.alice)]);
    seen = lk.map((r) => [r.name, r.num_participants, b.find((x) => x.room_name === r.name)?.participants]);
    return seen.some(([, n, mineN]) => n >= 1 && mineN === n);
  }, 8000, () => `a room LiveKit counts alice in, with B's count the same: ${JSON.stringify(seen)}`);
});

test('8. limits on a real server: owners are recorded in the rooms\' metadata, a restarted roomgate learns them back, and max_session ends a room and its agent job', async (t) => {
  // C limits dave and erin (users of no other scenario: C learns the other rooms' owners too)
  // to one live session each: dave's may last 10 min, erin's 8 s. C reconciles every second.
  // A and B are done: stopped, so that the roomgate that ends erin's room is C (B would learn
  // the limit from the metadata too). C restarts as soon as both owners are recorded, well
  // before erin's 8 s, and without Redis: whatever it knows after that, it learned from
  // LiveKit's ListRooms (the owner records), however slow the machine is afterwards.
  await Promise.all([A.stop(), B.stop()]);
  const limited = config('1s');
  const base = limited.rules[0];
  limited.rules = [
    { ...base, name: 'dave', match: { users: ['dave'] }, limits: { live_sessions: 1, max_session: '10m' } },
    { ...base, name: 'erin', match: { users: ['erin'] }, limits: { live_sessions: 1, max_session: '8s' } },
  ];
  const C = await new Roomgate({ config: limited, users: PASSWORDS, webhooks: true }).start();
  t.after(() => C.stop());
  const tok = { dave: await C.login('dave', PASSWORDS.dave), erin: await C.login('erin', PASSWORDS.erin) };
  const open = async (user) => {
    const s = await C.request('POST', '/v1/sessions', { token: tok[user], body: { agents: ['support'] } });
    assert.equal(s.status, 201, s.text);
    const R = s.body.room_name;
    const room = await join(s.body.server_url, s.body.participant_token);
    // room_started reached C: it records the owner in the room's metadata.
    let info;
    const record = await waitFor(async () => {
      [info] = await svc.listRooms([R]);
      return info?.metadata && JSON.parse(info.metadata).roomgate;
    }, 5000, `${R}'s metadata to record its owner`);
    return { R, room, gone: disconnectedOnce(room), record, created: Number(info.creationTime ?? info.creation_time) };
  };
  const [dave, erin] = await Promise.all([open('dave'), open('erin')]);
  assert.equal(dave.record.owner, 'dave');
  assert.deepEqual(dave.record.agents, [SUPPORT]);
  assert.equal(dave.record.max_session, 600);
  assert.equal(erin.record.owner, 'erin');
  assert.equal(erin.record.max_session, 8);

  // C restarts (no Redis).
  await C.stop();
  const mark = C.logs.length; // what the restarted C logs comes after this
  await C.start();
  const restarted = Date.now() / 1000;
  t.diagnostic(`C restarted ${(restarted - erin.created).toFixed(1)} s after erin's room was created`);
  assert.equal(C.logEvents('session_limit_reached').length, 0, `C ended a room before its restart:\n${C.logs.join('\n')}`);

  // It lists dave's session again, and his one live session still counts.
  await waitFor(async () => (await sessions(C, tok.dave)).some((x) => x.room_name === dave.R), 10000,
    `the restarted roomgate to list ${dave.R} as dave's`);
  const over = await C.request('POST', '/v1/sessions', { token: tok.dave, body: { agents: ['support'] } });
  assert.equal(over.status, 429, over.text);
  assert.equal(over.body.error.code, 'quota_exceeded');
  await waitForParticipant(dave.room, `agent-${SUPPORT}-`);

  // max_session: the restarted roomgate ends erin's room 8 s after its creation (or at once, if
  // it came back later than that); erin and the agent's job see it close.
  const [job] = await waitForJobs({ room: erin.R });
  const reason = await Promise.race([erin.gone, new Promise((_, rej) => setTimeout(() => rej(new Error('erin was not disconnected within 20 s')), 20000))]);
  const endedAt = Date.now() / 1000;
  assert.equal(reason, ROOM_DELETED, 'erin disconnected: room deleted');
  const due = Math.max(erin.created + 8, restarted);
  assert.ok(endedAt - erin.created >= 8 && endedAt < due + 4,
    `ended ${(endedAt - erin.created).toFixed(1)} s after the room was created (max_session 8 s), ${(endedAt - restarted).toFixed(1)} s after C's restart`);
  t.diagnostic(`ended ${(endedAt - erin.created).toFixed(1)} s after creation (max_session 8 s)`);
  const logged = await waitFor(() => C.logEvents('session_limit_reached', mark).length && C.logEvents('session_limit_reached', mark),
    3000, () => `the restarted C to log session_limit_reached:\n${C.logs.join('\n')}`);
  assert.deepEqual(logged.map((e) => [e.room, e.owner]), [[erin.R, 'erin']], C.logs.join('\n'));
  // Its agent job ends with it, if it had joined by then (a job process can take longer than
  // 8 s to start on a busy machine; scenario 5 checks the same for DeleteRoom without a race).
  if (jobEvents('joined', { job_id: job.job_id }).length) {
    await waitFor(() => jobEvents('shutdown', { job_id: job.job_id }).length > 0, 10000, `job ${job.job_id} to shut down`);
  } else {
    t.diagnostic(`erin's agent job had not joined when the room ended: its shutdown is not checked`);
  }
  await waitFor(async () => !(await sessions(C, tok.erin)).some((x) => x.room_name === erin.R), 5000, `${erin.R} to leave GET /v1/sessions`);
  const again = await C.request('POST', '/v1/sessions', { token: tok.erin, body: { agents: ['support'] } });
  assert.equal(again.status, 201, again.text);
  assert.ok((await sessions(C, tok.dave)).some((x) => x.room_name === dave.R), `dave's ${dave.R} (10 min) is still live`);
});
