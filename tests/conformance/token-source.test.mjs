// livekit-client's own TokenSource.endpoint (in Node 20, global fetch) gets a
// working token from POST /token, with the agent name and metadata it asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TokenSource } from 'livekit-client';
import { startServer, post, verify, basic } from './helpers.mjs';

let srv;
before(async () => { srv = await startServer(['--dev']); });
after(async () => srv && srv.stop());

test('TokenSource.endpoint with agentName / agentMetadata / deployment', async () => {
  const source = TokenSource.endpoint(`${srv.url}/token`, { headers: { Authorization: basic('demo', 'demo') } });
  const res = await source.fetch({
    roomName: 'ts-room', participantName: 'Tess', participantAttributes: { seat: '4' },
    agentName: 'voice-bot', agentMetadata: '{"persona":"friendly"}', deployment: 'staging',
  });
  assert.equal(res.serverUrl, 'ws://127.0.0.1:7880');
  const { claims, roomConfig } = await verify(res.participantToken);
  assert.equal(claims.video.room, 'ts-room');
  assert.equal(claims.name, 'Tess');
  assert.deepEqual(claims.attributes, { seat: '4' });
  assert.equal(roomConfig.agents.length, 1);
  assert.equal(roomConfig.agents[0].agentName, 'voice-bot');
  assert.equal(roomConfig.agents[0].metadata, '{"persona":"friendly"}');
  assert.equal(roomConfig.agents[0].deployment, 'staging');
});

test('TokenSource.endpoint surfaces a policy refusal as an error with the JSON message', async () => {
  const source = TokenSource.endpoint(`${srv.url}/token`, { headers: { Authorization: basic('demo', 'wrong') } });
  await assert.rejects(source.fetch({ roomName: 'x' }), /received 401 .*invalid_credentials/);
});

test('a token from TokenSource with no room name gets a provisioned room', async () => {
  const login = await post(`${srv.url}/v1/login`, { username: 'demo', password: 'demo' });
  const source = TokenSource.endpoint(`${srv.url}/token`, { headers: { Authorization: `Bearer ${login.json.access_token}` } });
  const res = await source.fetch({ agentName: 'assistant' });
  const { claims, roomConfig } = await verify(res.participantToken);
  assert.match(claims.video.room, /^room-/);
  assert.equal(JSON.parse(roomConfig.agents[0].metadata).user_id, 'demo');
});
