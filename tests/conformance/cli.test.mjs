// `roomgate token create` output verifies with LiveKit's SDK; `token inspect`
// verifies tokens LiveKit's own SDK minted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessToken } from 'livekit-server-sdk';
import { RoomConfiguration, RoomAgentDispatch } from '@livekit/protocol';
import { BIN, cli, verify } from './helpers.mjs';
import { spawnSync } from 'node:child_process';

test('token create: every flag lands in a verified token', async () => {
  const jwt = cli(['token', 'create', '--api-key', 'devkey', '--api-secret', 'secret', '--identity', 'bob',
    '--room', 'r1', '--name', 'Bob', '--metadata', 'm', '--attribute', 'a=b', '--agent', 'agent-x',
    '--job-metadata', '{"x":1}', '--grant', 'canPublish=false', '--ttl', '5m']).trim();
  const { claims, roomConfig } = await verify(jwt);
  assert.equal(claims.sub, 'bob');
  assert.equal(claims.name, 'Bob');
  assert.equal(claims.metadata, 'm');
  assert.deepEqual(claims.attributes, { a: 'b' });
  assert.equal(claims.video.room, 'r1');
  assert.equal(claims.video.canPublish, false);
  assert.equal(claims.exp - claims.nbf, 300);
  assert.equal(roomConfig.agents[0].agentName, 'agent-x');
  assert.equal(roomConfig.agents[0].metadata, '{"x":1}');
});

test('token create takes key and secret from the environment', async () => {
  const jwt = cli(['token', 'create', '--identity', 'env', '--room', 'r2'],
    { LIVEKIT_API_KEY: 'envkey', LIVEKIT_API_SECRET: 'envsecret' }).trim();
  const { claims } = await verify(jwt, 'envkey', 'envsecret');
  assert.equal(claims.iss, 'envkey');
  await assert.rejects(verify(jwt, 'devkey', 'secret'));
});

test('token inspect verifies a token minted by livekit-server-sdk', async () => {
  const at = new AccessToken('devkey', 'secret', { identity: 'sdk-user', name: 'SDK' });
  at.addGrant({ roomJoin: true, room: 'sdk-room' });
  at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'a1', metadata: '{"k":2}' })] });
  const jwt = await at.toJwt();
  const out = JSON.parse(cli(['token', 'inspect', jwt, '--secret', 'secret']));
  assert.equal(out.verified, true);
  assert.equal(out.claims.sub, 'sdk-user');
  assert.equal(out.claims.roomConfig.agents[0].agentName, 'a1');
  const bad = spawnSync(BIN, ['token', 'inspect', jwt, '--secret', 'wrong'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(JSON.parse(bad.stdout).verified, false);
});
