// Trusted proxy headers (method "proxy") and API keys for backends (method
// "api_key"), next to local users and upstream JWTs on the same server:
// - the proxy's user/name/groups headers are honoured only from the
//   configured source networks (else 401 untrusted_proxy) and win over an
//   Authorization header;
// - API keys (from `roomgate apikey create`, stored as sha256 in the config)
//   authenticate as the key's name with its groups; only a key with scope
//   act_as may set participant_identity, a user credential never can (403);
// - rules match on the method and on groups from any method.
//
// Run: ROOMGATE_BIN=build/roomgate node --test tests/integration/proxy-apikey.test.mjs
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  startServer, baseConfig, PROBE_PROFILE, RULES, request, bearer, basic, tokenRequest, signJwt, now,
  expectToken, expectError, expect401Bearer, apikeyCreate, addUser, tempDir, configCheck, freshSource,
} from './rg.mjs';

const HS_SECRET = 'proxy-suite-hs-secret-' + randomBytes(12).toString('hex');
const PROXY = {
  user_header: 'X-Forwarded-User', name_header: 'X-Forwarded-Preferred-Username',
  groups_header: 'X-Forwarded-Groups',
};
const LOOP = '127.0.0.1';

let srv; // trusted_sources 127.0.0.1/32, ::1/128
let keys; // name -> {key, entry}
const servers = [];
after(() => Promise.all(servers.map((s) => s.stop())));

before(async () => {
  keys = {};
  for (const name of ['backend', 'reporter', 'ops']) keys[name] = apikeyCreate(name);
  keys.backend.entry.scopes = ['act_as'];
  keys.backend.entry.groups = ['services'];
  keys.ops.entry.groups = ['admin'];
  const dir = tempDir();
  addUser(join(dir, 'users.txt'), 'alice', 'alice-pw', ['--display-name', 'Alice Local']);
  srv = await startServer(baseConfig({
    users_file: 'users.txt',
    upstream_jwt: { algorithms: ['HS256'], secret: HS_SECRET, audience: 'roomgate' },
    proxy_auth: { ...PROXY, trusted_sources: ['127.0.0.1/32', '::1/128'] },
    api_keys: [keys.backend.entry, keys.reporter.entry, keys.ops.entry],
    agents: PROBE_PROFILE, rules: RULES,
  }), { dir });
  servers.push(srv);
});

const proxyHeaders = (user, name, groups) => ({
  'X-Forwarded-User': user,
  ...(name !== undefined ? { 'X-Forwarded-Preferred-Username': name } : {}),
  ...(groups !== undefined ? { 'X-Forwarded-Groups': groups } : {}),
});
const userJwt = (sub, extra = {}) => signJwt({ sub, aud: 'roomgate', exp: now() + 300, ...extra },
  { alg: 'HS256', key: HS_SECRET });

// ------------------------------------------------------------------ proxy

describe('trusted proxy header', () => {
  test('from a trusted source: user, name and comma-separated groups; method proxy', async () => {
    const res = await tokenRequest(srv, proxyHeaders('pat', 'Pat Proxy', 'staff,dev, qa'), { room_name: 'proxy-a' }, LOOP);
    expectToken(res, { identity: 'pat', name: 'Pat Proxy', room: 'proxy-a', groups: ['staff', 'dev', 'qa'],
      method: 'proxy', roomAdmin: false });
  });

  test('groups header is an HTTP list: whitespace around commas and empty elements are dropped', async () => {
    // RFC 9110 5.6.1: #element = [ element ] *( OWS "," OWS [ element ] )
    const res = await tokenRequest(srv, proxyHeaders('pat', 'Pat', 'staff , dev,, qa ,admin'), { room_name: 'proxy-a' }, LOOP);
    expectToken(res, { identity: 'pat', groups: ['staff', 'dev', 'qa', 'admin'], roomAdmin: true });
  });

  test('proxy groups match rules: admin group → admins rule (any room, roomAdmin)', async () => {
    expectToken(await tokenRequest(srv, proxyHeaders('root', 'Root', 'viewer,admin'), { room_name: 'board' }, LOOP),
      { identity: 'root', groups: ['viewer', 'admin'], roomAdmin: true, method: 'proxy' });
  });

  test('proxy users get the proxy rule: other rooms → 403 naming it', async () => {
    expectError(await tokenRequest(srv, proxyHeaders('pat'), { room_name: 'jwt-room' }, LOOP), 403,
      'room_not_allowed', /rule 'proxy-users'.*pat/);
  });

  test('no name header: the name is the user id; /v1/profiles shows the proxy user', async () => {
    expectToken(await tokenRequest(srv, proxyHeaders('nameless'), { room_name: 'proxy-b' }, LOOP),
      { identity: 'nameless', name: 'nameless', groups: [] });
    const res = await request(srv, { method: 'GET', path: '/v1/profiles', headers: proxyHeaders('pat', 'Pat', 'a,b'), source: LOOP });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.user, { id: 'pat', name: 'Pat', groups: ['a', 'b'], method: 'proxy' });
  });

  test("a trusted proxy's header wins over an Authorization header", async () => {
    expectToken(await tokenRequest(srv, { ...proxyHeaders('pat'), ...basic('alice', 'alice-pw') },
      { room_name: 'proxy-c' }, LOOP), { identity: 'pat', method: 'proxy' });
    expectToken(await tokenRequest(srv, { ...proxyHeaders('pat'), ...bearer(keys.ops.key) },
      { room_name: 'proxy-c' }, LOOP), { identity: 'pat', method: 'proxy', roomAdmin: false });
  });

  test('from an untrusted source → 401 untrusted_proxy, whatever else the request carries', async () => {
    for (const extra of [{}, basic('alice', 'alice-pw'), bearer(keys.ops.key)]) {
      const res = await tokenRequest(srv, { ...proxyHeaders('root', 'Root', 'admin'), ...extra },
        { room_name: 'proxy-a' }, freshSource());
      expectError(res, 401, 'untrusted_proxy', /X-Forwarded-User/);
      assert.match(res.headers['www-authenticate'] || '', /^(Bearer|Basic) realm="roomgate"/);
    }
    // header name in another case is the same header
    const res = await tokenRequest(srv, { 'x-forwarded-user': 'root' }, { room_name: 'proxy-a' }, freshSource());
    expectError(res, 401, 'untrusted_proxy');
  });

  test('without the header, an untrusted address still authenticates normally (Basic)', async () => {
    expectToken(await tokenRequest(srv, basic('alice', 'alice-pw'), { room_name: 'local-a' }),
      { identity: 'alice', name: 'Alice Local', method: 'basic' });
  });

  test('an empty user header from a trusted proxy → 401', async () => {
    const res = await tokenRequest(srv, proxyHeaders(''), { room_name: 'proxy-a' }, LOOP);
    expectError(res, 401, 'invalid_credentials');
    assert.ok(res.headers['www-authenticate']);
  });

  test('a proxy user cannot choose participant_identity → 403', async () => {
    expectError(await tokenRequest(srv, proxyHeaders('pat'), { room_name: 'proxy-a', participant_identity: 'someone' }, LOOP),
      403, 'identity_not_allowed');
  });
});

describe('trusted_sources that exclude 127.0.0.1', () => {
  let p2;
  before(async () => {
    const dir = tempDir();
    addUser(join(dir, 'users.txt'), 'alice', 'alice-pw');
    p2 = await startServer(baseConfig({
      users_file: 'users.txt',
      proxy_auth: { ...PROXY, trusted_sources: ['10.0.0.0/8', '127.0.2.0/24'] },
      agents: PROBE_PROFILE, rules: RULES,
    }), { dir });
    servers.push(p2);
  });

  test('the header from 127.0.0.1 → 401 untrusted_proxy', async () => {
    const res = await tokenRequest(p2, proxyHeaders('pat', 'Pat', 'admin'), { room_name: 'proxy-a' }, LOOP);
    expectError(res, 401, 'untrusted_proxy');
    assert.match(res.headers['www-authenticate'] || '', /^Bearer realm="roomgate"/);
  });

  test('the header from 127.0.3.9 (outside 127.0.2.0/24) → 401; from 127.0.2.77 (inside) → honoured', async () => {
    expectError(await tokenRequest(p2, proxyHeaders('pat'), { room_name: 'proxy-a' }, '127.0.3.9'), 401, 'untrusted_proxy');
    expectToken(await tokenRequest(p2, proxyHeaders('pat', 'Pat', 'g'), { room_name: 'proxy-a' }, '127.0.2.77'),
      { identity: 'pat', name: 'Pat', groups: ['g'], method: 'proxy' });
  });

  test('requests without the header are unaffected (Basic from 127.0.0.1)', async () => {
    expectToken(await tokenRequest(p2, basic('alice', 'alice-pw'), { room_name: 'local-x' }, LOOP),
      { identity: 'alice', method: 'basic' });
  });
});

// ---------------------------------------------------------------- API keys

describe('API keys', () => {
  test('a valid key authenticates as its name with its groups; method api_key', async () => {
    const { claims } = expectToken(await tokenRequest(srv, bearer(keys.backend.key), { room_name: 'svc-1' }),
      { identity: 'backend', name: 'backend', room: 'svc-1', groups: ['services'], method: 'api_key', roomAdmin: false });
    assert.equal(claims.video.canPublishData, true);
  });

  test('act_as: participant_identity (and name) are honoured; templates see that user', async () => {
    const res = await tokenRequest(srv, bearer(keys.backend.key),
      { room_name: 'svc-2', participant_identity: 'user-42', participant_name: 'User 42' });
    const { probe } = expectToken(res, { identity: 'user-42', name: 'User 42', room: 'svc-2', method: 'api_key' });
    assert.deepEqual(probe.groups, ['services']);
    expectToken(await tokenRequest(srv, bearer(keys.backend.key), { room_name: 'svc-2', participant_identity: 'user-43' }),
      { identity: 'user-43', name: 'user-43' });
  });

  test('a key without act_as may not set another participant_identity → 403; its own is fine', async () => {
    expectError(await tokenRequest(srv, bearer(keys.reporter.key), { room_name: 'svc-3', participant_identity: 'user-42' }),
      403, 'identity_not_allowed');
    expectToken(await tokenRequest(srv, bearer(keys.reporter.key), { room_name: 'svc-3', participant_identity: 'reporter' }),
      { identity: 'reporter', groups: [] });
  });

  test("a key's groups match rules: ops (group admin) → admins rule", async () => {
    expectToken(await tokenRequest(srv, bearer(keys.ops.key), { room_name: 'anything' }),
      { identity: 'ops', groups: ['admin'], roomAdmin: true, method: 'api_key' });
  });

  test('API-key callers are kept to the backends rule: other rooms → 403 naming it', async () => {
    expectError(await tokenRequest(srv, bearer(keys.backend.key), { room_name: 'proxy-x' }), 403,
      'room_not_allowed', /rule 'backends'/);
  });

  test('wrong, altered, truncated or unprefixed keys, and the stored hash itself → 401', async () => {
    const k = keys.backend.key;
    const flipped = k.slice(0, -1) + (k.endsWith('A') ? 'B' : 'A');
    for (const bad of ['rk_' + randomBytes(32).toString('base64url'), flipped, k.slice(0, -4), k + 'x', 'rk_']) {
      expect401Bearer(await tokenRequest(srv, bearer(bad), { room_name: 'svc-1' }), /unknown API key/);
    }
    for (const bad of [k.slice(3), keys.backend.entry.hash, keys.backend.entry.hash.slice(7)]) {
      expect401Bearer(await tokenRequest(srv, bearer(bad), { room_name: 'svc-1' }));
    }
    // an API key is a Bearer credential, not a Basic password
    const res = await tokenRequest(srv, basic('backend', k), { room_name: 'svc-1' });
    expectError(res, 401, 'invalid_credentials');
    assert.match(res.headers['www-authenticate'], /^Basic realm="roomgate"/);
  });

  test('/v1/profiles with an API key', async () => {
    const res = await request(srv, { method: 'GET', path: '/v1/profiles', headers: bearer(keys.ops.key) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.user, { id: 'ops', name: 'ops', groups: ['admin'], method: 'api_key' });
  });
});

// ------------------------------------------- user credentials vs identity

describe('a user credential can never set participant_identity', () => {
  test('Basic, session, JWT and proxy users asking for another identity → 403 identity_not_allowed', async () => {
    const login = await request(srv, { path: '/v1/login', body: { username: 'alice', password: 'alice-pw' } });
    assert.equal(login.status, 200, login.text);
    const session = login.json.access_token;
    const creds = [
      ['basic', basic('alice', 'alice-pw'), 'local-1', undefined],
      ['session', bearer(session), 'local-1', undefined],
      ['jwt', bearer(userJwt('alice')), 'jwt-1', undefined],
      ['proxy', proxyHeaders('alice'), 'proxy-1', LOOP],
    ];
    for (const [method, headers, room, source] of creds) {
      const res = await tokenRequest(srv, headers, { room_name: room, participant_identity: 'backend' }, source);
      expectError(res, 403, 'identity_not_allowed', /alice/);
      // the same request with its own identity is fine, and shows which rule the method picked
      expectToken(await tokenRequest(srv, headers, { room_name: room, participant_identity: 'alice' }, source),
        { identity: 'alice', method, room });
    }
    // ... and /v1/sessions never lets anyone pick an identity
    const s = await request(srv, { path: '/v1/sessions', headers: basic('alice', 'alice-pw'),
      body: { participant_identity: 'backend' } });
    assert.equal(s.status, 400, s.text);
  });

  test('the method picks the rule: one user id through basic, session, jwt and proxy', async () => {
    const login = await request(srv, { path: '/v1/login', body: { username: 'alice', password: 'alice-pw' } });
    const ways = [
      [basic('alice', 'alice-pw'), 'local-z', ['jwt-z', 'proxy-z'], 'locals', undefined],
      [bearer(login.json.access_token), 'local-z', ['jwt-z', 'svc-z'], 'locals', undefined],
      [bearer(userJwt('alice')), 'jwt-z', ['local-z', 'proxy-z'], 'jwt-users', undefined],
      [proxyHeaders('alice'), 'proxy-z', ['local-z', 'svc-z'], 'proxy-users', LOOP],
    ];
    for (const [headers, ok, denied, rule, source] of ways) {
      expectToken(await tokenRequest(srv, headers, { room_name: ok }, source), { identity: 'alice', room: ok });
      for (const room of denied) {
        expectError(await tokenRequest(srv, headers, { room_name: room }, source), 403, 'room_not_allowed',
          new RegExp(`rule '${rule}'`));
      }
    }
  });
});

describe('secrets stay out of the logs', () => {
  test('no API key, password or signing secret in stderr', async () => {
    const logs = srv.logs();
    for (const { key } of Object.values(keys)) assert.ok(!logs.includes(key.slice(3)), 'API key in logs');
    assert.ok(!logs.includes('alice-pw'));
    assert.ok(!logs.includes(HS_SECRET));
  });
});

describe('api_keys config is checked', () => {
  test('bad entries are refused with a message', () => {
    const { entry } = apikeyCreate('cfg');
    const cases = [
      [{ ...entry, scopes: ['admin'] }, /unknown scope 'admin'/],
      [{ ...entry, hash: 'rk_plaintextkey' }, /sha256:<64 hex>/],
      [{ ...entry, hash: entry.hash.slice(0, -1) }, /sha256:<64 hex>/],
      [{ ...entry, hash: entry.hash.replace('sha256:', 'md5:') }, /sha256/],
      [{ hash: entry.hash }, /name is required/],
      [{ ...entry, extra: true }, /extra/],
    ];
    for (const [e, re] of cases) {
      const r = configCheck(baseConfig({ api_keys: [e], rules: RULES, agents: PROBE_PROFILE }));
      assert.equal(r.ok, false, `api key entry ${JSON.stringify(e)} must be refused`);
      assert.match(r.err, re);
    }
    assert.equal(configCheck(baseConfig({ api_keys: [{ ...entry, scopes: ['act_as'] }], rules: RULES, agents: PROBE_PROFILE })).ok, true);
    for (const p of [{ ...PROXY, trusted_sources: ['127.0.0.1/33'] }, { ...PROXY, trusted_sources: [] },
      { ...PROXY, trusted_sources: ['localhost'] }, { trusted_sources: ['127.0.0.1'] }]) {
      const r = configCheck(baseConfig({ proxy_auth: p, rules: RULES, agents: PROBE_PROFILE }));
      assert.equal(r.ok, false, `proxy_auth ${JSON.stringify(p)} must be refused`);
      assert.match(r.err, /proxy_auth/);
    }
  });
});
