// Tokens from a real config file (profiles, rules, users file) verify with
// LiveKit's SDK, with the server-filled metadata in the agents' job metadata.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, post, verify, basic, tempDir, addUser, writeJson } from './helpers.mjs';

let srv;
before(async () => {
  const dir = tempDir();
  addUser(join(dir, 'users.txt'), 'alice', 'alice-pw', ['--display-name', 'Alice A', '--groups', 'staff']);
  const cfg = writeJson(join(dir, 'roomgate.json'), {
    livekit: { url: 'wss://lk.invalid', api_key: 'APIkey123', api_secret: 'a-much-longer-secret-for-hs256-signing', check_existing_rooms: false },
    users_file: 'users.txt',
    tokens: { default_ttl: '5m', max_ttl: '1h' },
    rooms: { prefix: 'support-' },
    agents: {
      support: {
        agent_name: 'support-agent', deployment: 'prod',
        metadata: { user_id: '{{user.id}}', user_name: '{{user.name}}', room: '{{room}}', groups: '{{user.groups}}' },
        client_metadata: ['language'],
      },
    },
    rules: [{ name: 'staff', match: { groups: ['staff'] }, rooms: ['lobby'], session_rooms: true,
      agents: ['support'], grants: { canPublishData: false, canPublishSources: ['microphone'] } }],
  });
  srv = await startServer(['--config', cfg]);
});
after(async () => srv && srv.stop());

test('/v1/sessions with a profile: verified token, template filled by the server', async () => {
  const r = await post(`${srv.url}/v1/sessions`, { agents: ['support'], metadata: { language: 'fr' } },
    basic('alice', 'alice-pw'));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.server_url, 'wss://lk.invalid');
  assert.match(r.json.room_name, /^support-[A-Za-z0-9_-]{22}$/);
  const { claims, roomConfig } = await verify(r.json.participant_token, 'APIkey123', 'a-much-longer-secret-for-hs256-signing');
  assert.equal(claims.iss, 'APIkey123');
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.name, 'Alice A');
  assert.equal(claims.exp - claims.nbf, 300);
  assert.equal(claims.video.canPublishData, false);
  assert.deepEqual(claims.video.canPublishSources, ['microphone']);
  assert.equal(roomConfig.agents[0].agentName, 'support-agent');
  assert.equal(roomConfig.agents[0].deployment, 'prod');
  assert.deepEqual(JSON.parse(roomConfig.agents[0].metadata), {
    language: 'fr', user_id: 'alice', user_name: 'Alice A', room: r.json.room_name, groups: ['staff'],
  });
});

test('/token into an allowed room through the profile, by agent name', async () => {
  const r = await post(`${srv.url}/token`, {
    room_name: 'lobby', room_config: { agents: [{ agent_name: 'support-agent', metadata: '{"language":"en"}' }] },
  }, basic('alice', 'alice-pw'));
  assert.equal(r.status, 201, r.text);
  const { roomConfig } = await verify(r.json.participant_token, 'APIkey123', 'a-much-longer-secret-for-hs256-signing');
  assert.equal(JSON.parse(roomConfig.agents[0].metadata).user_id, 'alice');
});
