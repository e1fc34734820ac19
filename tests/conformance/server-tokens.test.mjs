// Every token POST /token issues verifies with livekit-server-sdk's TokenVerifier
// and its roomConfig parses strictly with @livekit/protocol's RoomConfiguration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TokenVerifier } from 'livekit-server-sdk';
import { startServer, post, verify, basic } from './helpers.mjs';

let srv, bearer;
before(async () => {
  srv = await startServer(['--dev']);
  const r = await post(`${srv.url}/v1/login`, { username: 'demo', password: 'demo' });
  assert.equal(r.status, 200);
  bearer = `Bearer ${r.json.access_token}`;
});
after(async () => srv && srv.stop());

test('TokenSource request shape (proto field names) with one agent', async () => {
  const r = await post(`${srv.url}/token`, {
    room_name: 'my-room', participant_name: 'Alice', participant_metadata: '{"a":1}',
    participant_attributes: { k: 'v' },
    room_config: {
      agents: [{ agent_name: 'test-agent', metadata: '{"user_id":"12345"}', deployment: 'prod' }],
      empty_timeout: 60, max_participants: 2,
    },
  }, basic('demo', 'demo'));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.server_url, 'ws://127.0.0.1:7880');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const { claims, roomConfig } = await verify(r.json.participant_token);
  assert.equal(claims.iss, 'devkey');
  assert.equal(claims.sub, 'demo');
  assert.equal(claims.name, 'Alice');
  assert.equal(claims.metadata, '{"a":1}');
  assert.deepEqual(claims.attributes, { k: 'v' });
  assert.equal(claims.video.roomJoin, true);
  assert.equal(claims.video.room, 'my-room');
  assert.equal(claims.exp - claims.nbf, 600, 'default TTL is 10 minutes');
  assert.equal(roomConfig.agents.length, 1);
  assert.equal(roomConfig.agents[0].agentName, 'test-agent');
  assert.equal(roomConfig.agents[0].metadata, '{"user_id":"12345"}');
  assert.equal(roomConfig.agents[0].deployment, 'prod');
  assert.equal(roomConfig.emptyTimeout, 60);
  assert.equal(roomConfig.maxParticipants, 2);
  // the minimal form the Go SDK writes: only the fields that are set
  assert.deepEqual(Object.keys(claims.roomConfig).sort(), ['agents', 'emptyTimeout', 'maxParticipants']);
  assert.deepEqual(Object.keys(claims.roomConfig.agents[0]).sort(), ['agentName', 'deployment', 'metadata']);
});

test('a wrong secret does not verify (the judge can fail)', async () => {
  const r = await post(`${srv.url}/token`, { room_name: 'r' }, bearer);
  assert.equal(r.status, 201, r.text);
  await assert.rejects(new TokenVerifier('devkey', 'not-the-secret').verify(r.json.participant_token));
  await assert.rejects(new TokenVerifier('otherkey', 'secret').verify(r.json.participant_token));
});

test('camelCase request names and agent metadata given as an object', async () => {
  const r = await post(`${srv.url}/token`, {
    roomName: 'camel-room', participantName: 'Cam',
    roomConfig: { agents: [{ agentName: 'bot', metadata: { lang: 'en', n: 2 } }], syncStreams: true },
  }, bearer);
  assert.equal(r.status, 201, r.text);
  const { claims, roomConfig } = await verify(r.json.participant_token);
  assert.equal(claims.video.room, 'camel-room');
  assert.equal(typeof claims.roomConfig.agents[0].metadata, 'string');
  assert.deepEqual(JSON.parse(roomConfig.agents[0].metadata), { lang: 'en', n: 2 });
  assert.equal(roomConfig.syncStreams, true);
});

test('every RoomConfiguration field roomgate accepts survives strict parsing', async () => {
  const r = await post(`${srv.url}/token`, {
    room_name: 'all-fields',
    room_config: {
      name: 'all-fields', empty_timeout: 30, departure_timeout: 20, max_participants: 5,
      metadata: 'room md', min_playout_delay: 100, max_playout_delay: 200, sync_streams: true,
      tags: { team: 'a' },
      agents: [{ agent_name: 'x', metadata: '{}', restart_policy: 'JRP_NEVER', attributes: { role: 'helper' } }],
    },
  }, bearer);
  assert.equal(r.status, 201, r.text);
  const { roomConfig } = await verify(r.json.participant_token);
  assert.equal(roomConfig.name, 'all-fields');
  assert.equal(roomConfig.departureTimeout, 20);
  assert.equal(roomConfig.metadata, 'room md');
  assert.equal(roomConfig.minPlayoutDelay, 100);
  assert.equal(roomConfig.maxPlayoutDelay, 200);
  assert.deepEqual(roomConfig.tags, { team: 'a' });
  assert.equal(roomConfig.agents[0].restartPolicy, 1 /* JRP_NEVER */);
  assert.deepEqual(roomConfig.agents[0].attributes, { role: 'helper' });
});

test('no room_name: a new unique room each time', async () => {
  const a = await post(`${srv.url}/token`, {}, bearer);
  const b = await post(`${srv.url}/token`, {}, bearer);
  assert.equal(a.status, 201, a.text);
  assert.match(a.json.room_name, /^room-[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a.json.room_name, b.json.room_name);
  const { claims } = await verify(a.json.participant_token);
  assert.equal(claims.video.room, a.json.room_name);
  assert.equal(claims.roomConfig, undefined, 'no roomConfig claim when nothing is set');
});

test('OpenVidu tutorial shape answers "token" too', async () => {
  const r = await post(`${srv.url}/token`, { roomName: 'ov-room', participantName: 'Olga' }, bearer);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.token, r.json.participant_token);
  const { claims } = await verify(r.json.token);
  assert.equal(claims.name, 'Olga');
  assert.equal(claims.video.room, 'ov-room');
});

test('the dev profile fills trusted metadata the client cannot override', async () => {
  const r = await post(`${srv.url}/token`, {
    room_name: 'prof-room',
    room_config: { agents: [{ agent_name: 'assistant', metadata: '{"user_id":"mallory","lang":"de"}' }] },
  }, bearer);
  assert.equal(r.status, 201, r.text);
  const { roomConfig } = await verify(r.json.participant_token);
  const md = JSON.parse(roomConfig.agents[0].metadata);
  assert.equal(md.user_id, 'demo');
  assert.equal(md.user_name, 'Demo User');
  assert.equal(md.room, 'prof-room');
  assert.equal(md.lang, 'de');
});

test('/v1/sessions tokens verify too', async () => {
  const r = await post(`${srv.url}/v1/sessions`, { agents: ['assistant'], metadata: { topic: 'billing' } }, bearer);
  assert.equal(r.status, 201, r.text);
  const { claims, roomConfig } = await verify(r.json.participant_token);
  assert.equal(claims.video.room, r.json.room_name);
  assert.equal(roomConfig.agents[0].agentName, 'assistant');
  assert.equal(roomConfig.agents[0].metadata, r.json.agents[0].metadata);
  assert.equal(JSON.parse(roomConfig.agents[0].metadata).topic, 'billing');
  assert.equal(r.json.expires_at, claims.exp);
});
