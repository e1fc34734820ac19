// roomgate against a real, certified OpenID provider (npm oidc-provider) on
// loopback, configured by issuer alone: discovery finds the keys, the keeper
// thread keeps them fresh, the token's iss picks the provider. The provider
// issues RFC 9068 JWT access tokens for audience `roomgate` (client
// credentials + resource indicator); jose makes its keys, checks its tokens
// as a reference client library would, and forges the tokens a provider
// would never issue.
//
// Run: tests/oidc/run (npm ci, then this file); ROOMGATE_BIN=build/roomgate by default.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SignJWT, createRemoteJWKSet, jwtVerify, generateKeyPair, exportJWK } from 'jose';
import {
  startServer, baseConfig, PROBE_PROFILE, RULES, bearer, tokenRequest, expectToken, expectError,
  expect401Bearer, request, sleep, until, apikeyCreate,
} from '../integration/rg.mjs';
import { startIdp, newKey, freePort, CLIENT_ID } from './idp.mjs';

const ROLES = 'https://roomgate.example.com/roles'; // an Auth0-style namespaced claim
const STAFF = { [ROLES]: ['staff'] };

const cleanups = [];
after(() => Promise.all(cleanups.map((c) => c())));

async function idp(opts) {
  const p = await startIdp({ issuer: (port) => `http://127.0.0.1:${port}`, ...opts });
  cleanups.push(() => p.close());
  return p;
}

// roomgate with these upstream_jwt providers (one object or a list); fast
// retry and refresh bounds so that the test takes seconds.
async function roomgate(upstream, extra = {}) {
  const fast = (u) => ({ jwks_refresh_min: '1s', ...u });
  const srv = await startServer(baseConfig({
    upstream_jwt: Array.isArray(upstream) ? upstream.map(fast) : fast(upstream),
    agents: PROBE_PROFILE, rules: RULES, ...extra,
  }));
  cleanups.push(() => srv.stop());
  return srv;
}

const ready = (srv) => srv.waitForEvent((e) => e.event === 'jwks_fetched', 8000);
const health = async (srv) => (await request(srv, { method: 'GET', path: '/healthz' })).json;
const staffRoom = (srv, jwt, source) => tokenRequest(srv, bearer(jwt), { room_name: 'staff-room' }, source);

// Signs like a provider would, with its key: for tokens no provider issues.
const forge = (key, claims) => new SignJWT({ sub: 'forged', aud: 'roomgate', ...claims })
  .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
  .setIssuedAt().setExpirationTime('5m').sign(key.privateKey);


describe('a provider configured by its issuer alone', () => {
  test('discovery finds the keys: the provider\'s access tokens are accepted, claims mapped', async () => {
    const p = await idp({ keys: [await newKey('k1')], claims: { ...STAFF, name: 'Backend Service' } });
    const srv = await roomgate({ issuer: p.issuer, audience: 'roomgate', claims: { groups: ROLES } });
    assert.ok(await ready(srv), `keys fetched at start:\n${srv.logs()}`);
    const disc = srv.events().find((e) => e.event === 'oidc_discovered');
    assert.ok(disc, 'discovery logged');
    assert.equal(disc.issuer, p.issuer);
    assert.equal(disc.document, `${p.issuer}/.well-known/openid-configuration`);
    assert.equal(disc.jwks_uri, `${p.issuer}/jwks`);
    assert.equal(disc.algorithms, 'RS256', 'the provider\'s algorithms, cut to those roomgate verifies');

    const jwt = await p.token();
    // a reference client library agrees that this token is good
    const ref = await jwtVerify(jwt, createRemoteJWKSet(new URL(disc.jwks_uri)),
      { issuer: p.issuer, audience: 'roomgate', typ: 'at+jwt' });
    assert.equal(ref.payload.sub, CLIENT_ID);
    expectToken(await staffRoom(srv, jwt), { identity: CLIENT_ID, name: 'Backend Service', groups: ['staff'],
      method: 'jwt', room: 'staff-room' });
    // a token of the same provider for another API (audience other-api) is not for roomgate
    expect401Bearer(await staffRoom(srv, await p.otherToken()), /audience is not 'roomgate'/);
    const h = await health(srv);
    assert.deepEqual(h.upstream_jwt, [{ issuer: p.issuer, keys_from: 'discovery', ready: true, keys: 1 }]);
    const metrics = (await request(srv, { method: 'GET', path: '/metrics' })).text;
    assert.match(metrics, new RegExp(`^roomgate_idp_key_fetches_total\\{issuer="${p.issuer}",outcome="ok"\\} 1$`, 'm'));
    assert.match(metrics, new RegExp(`^roomgate_idp_keys\\{issuer="${p.issuer}"\\} 1$`, 'm'));
  });

  test('key rotation: tokens signed with the new key are accepted with no restart and no failed request', async () => {
    const k1 = await newKey('rot-1');
    const k2 = await newKey('rot-2', 'ES256');
    const p = await idp({ keys: [k1], claims: STAFF });
    const srv = await roomgate({ issuer: p.issuer, audience: 'roomgate', claims: { groups: ROLES } });
    assert.ok(await ready(srv));
    const seen = { 'rot-1': 0, 'rot-2': 0 };
    const failures = [];
    let running = true;
    // three clients at once, each getting a fresh token and using it, again and again
    const client = async () => {
      while (running) {
        const jwt = await p.token();
        const res = await staffRoom(srv, jwt);
        if (res.status === 201) seen[p.kidOf(jwt)]++;
        else failures.push(`${p.kidOf(jwt)}: ${res.status} ${res.text}`);
      }
    };
    const clients = [client(), client(), client()];
    await until(() => seen['rot-1'] >= 5, 5000, 'tokens of the first key');
    // the provider rotates: the new key signs from now on, the old one is still published
    p.setKeys([k2, k1]);
    await until(() => seen['rot-2'] >= 5, 5000, 'tokens of the new key');
    // then the old key is retired
    p.setKeys([k2]);
    const before = seen['rot-2'];
    await until(() => seen['rot-2'] >= before + 5, 5000, 'tokens after the old key left');
    running = false;
    await Promise.all(clients);
    assert.deepEqual(failures, [], 'no request failed during the rotation');
    assert.ok(srv.proc.exitCode === null, 'same process throughout');
    // the new kid made roomgate refetch once, and the rotation logged the new set
    assert.ok(srv.events().filter((e) => e.event === 'jwks_fetched').length >= 2);
    assert.equal(p.jwksFetches() <= 4, true, `JWKS fetched ${p.jwksFetches()} times for ${seen['rot-1'] + seen['rot-2']} tokens`);
  });
});

describe('several providers, chosen by the token\'s iss', () => {
  test('the same kid at a second provider: its keys never verify the first one\'s tokens', async () => {
    const kidA = await newKey('shared-kid');
    const kidB = await newKey('shared-kid'); // same kid, another key
    const a = await idp({ keys: [kidA], claims: STAFF });
    const b = await idp({ keys: [kidB], claims: { realm_access: { roles: ['staff', 'b-users'] } } });

    // only A configured: B's token (its own iss, a kid A also has) is refused
    const onlyA = await roomgate({ issuer: a.issuer, audience: 'roomgate', claims: { groups: ROLES } });
    assert.ok(await ready(onlyA));
    expect401Bearer(await staffRoom(onlyA, await b.token()), /issuer is not/);
    // signed by B's key but claiming A's iss: checked with A's key of that kid only
    const forged = await forge(kidB, { iss: a.issuer, ...STAFF });
    expect401Bearer(await staffRoom(onlyA, forged), /signature does not verify/);
    expectToken(await staffRoom(onlyA, await a.token()), { identity: CLIENT_ID, groups: ['staff'] });

    // both configured, each with its own claim mapping: each token by its own provider's keys
    const both = await roomgate([
      { issuer: a.issuer, audience: 'roomgate', claims: { groups: ROLES } },
      { issuer: b.issuer, audience: 'roomgate', claims: { groups: 'realm_access.roles' } },
    ]);
    await until(async () => (await health(both)).upstream_jwt.every((u) => u.ready), 5000, 'both providers\' keys');
    expectToken(await staffRoom(both, await a.token()), { identity: CLIENT_ID, groups: ['staff'] });
    expectToken(await staffRoom(both, await b.token()), { identity: CLIENT_ID, groups: ['staff', 'b-users'] });
    expect401Bearer(await staffRoom(both, forged), /signature does not verify/);
    expect401Bearer(await staffRoom(both, await forge(kidA, { iss: b.issuer })), /signature does not verify/);
    expect401Bearer(await staffRoom(both, await forge(kidA, { iss: 'https://unknown.example.com' })),
      /issuer is not one of the configured issuers/);
    const h = await health(both);
    assert.deepEqual(h.upstream_jwt.map((u) => [u.issuer, u.ready]), [[a.issuer, true], [b.issuer, true]]);
  });
});

describe('a provider that is down or wrong', () => {
  test('down at start: 503 idp_unavailable (other methods work), then 201 within the retry interval of its start', async () => {
    const port = await freePort();
    const p = await idp({ issuer: `http://127.0.0.1:${port}`, port, keys: [await newKey('late')], claims: STAFF,
      listen: false, mint: true });
    const svc = apikeyCreate('svc-backend');
    const srv = await roomgate({ issuer: p.issuer, audience: 'roomgate', claims: { groups: ROLES } },
      { api_keys: [svc.entry] });
    const failed = await srv.waitForEvent((e) => e.event === 'oidc_discovery_failed', 8000);
    assert.ok(failed && failed.level === 'warn' && failed.issuer === p.issuer, `discovery failure logged:\n${srv.logs()}`);
    const jwt = await p.token(); // minted on another port: the issuer's own port is closed
    const res = await staffRoom(srv, jwt);
    expectError(res, 503, 'idp_unavailable', new RegExp(`no keys from the identity provider ${p.issuer} yet`));
    assert.ok(Number(res.headers['retry-after']) >= 1);
    // every other method keeps working
    expectToken(await tokenRequest(srv, bearer(svc.key), { room_name: 'svc-room' }), { identity: 'svc-backend' });
    assert.deepEqual((await health(srv)).upstream_jwt, [{ issuer: p.issuer, keys_from: 'discovery', ready: false, keys: 0 }]);
    await sleep(1500); // a few retries against the closed port
    assert.equal(srv.events().filter((e) => e.event === 'oidc_discovery_failed').length, 1, 'logged once per outage');

    await p.listen();
    const t0 = Date.now();
    await until(async () => (await staffRoom(srv, jwt)).status === 201, 4000, '201 once the provider answers');
    const ms = Date.now() - t0;
    assert.ok(ms < 2500, `accepted ${ms} ms after the provider started (retries every 1 s here)`);
    expectToken(await staffRoom(srv, jwt), { identity: CLIENT_ID, groups: ['staff'] });
    assert.equal((await health(srv)).upstream_jwt[0].ready, true);
    const failures = Number(/roomgate_idp_key_fetches_total\{[^}]*outcome="failed"\} (\d+)/.exec(
      (await request(srv, { method: 'GET', path: '/metrics' })).text)[1]);
    assert.ok(failures >= 2, `failed fetches counted: ${failures}`);
  });

  test('a discovery document whose issuer differs is refused, with a clear log line', async () => {
    // the provider calls itself localhost; roomgate is configured with 127.0.0.1
    const port = await freePort();
    const key = await newKey('mm');
    const p = await idp({ issuer: `http://localhost:${port}`, port, keys: [key], claims: STAFF });
    const configured = `http://127.0.0.1:${port}`;
    const srv = await roomgate({ issuer: configured, audience: 'roomgate', claims: { groups: ROLES } });
    const ev = await srv.waitForEvent((e) => e.event === 'oidc_issuer_mismatch', 8000);
    assert.ok(ev, `oidc_issuer_mismatch logged:\n${srv.logs()}`);
    assert.equal(ev.level, 'error');
    assert.equal(ev.issuer, configured);
    assert.match(ev.msg, new RegExp(`names issuer 'http://localhost:${port}', not the configured '${configured}'`));
    assert.match(ev.msg, /refused/);
    assert.equal(p.jwksFetches(), 0, 'the keys it points to are never read');
    // its own tokens name another issuer; a token naming ours finds no keys
    expect401Bearer(await staffRoom(srv, await p.token()), /issuer is not/);
    expectError(await staffRoom(srv, await forge(key, { iss: configured })), 503, 'idp_unavailable', /names issuer/);
    assert.equal((await health(srv)).upstream_jwt[0].ready, false);
  });
});

// A plain metadata server (no oidc-provider): what a document may and may not say.
async function metadataServer(routes) {
  const srv = http.createServer((req, res) => {
    const body = routes(`http://127.0.0.1:${srv.address().port}`)[req.url];
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  return `http://127.0.0.1:${srv.address().port}`;
}

describe('discovery documents', () => {
  test('RFC 8414 fallback for an issuer with a path; algorithms kept to those configured', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'as-1', alg: 'ES256', use: 'sig' };
    const base = await metadataServer((b) => ({
      '/.well-known/oauth-authorization-server/tenant': { issuer: `${b}/tenant`, jwks_uri: `${b}/tenant/keys` },
      '/tenant/keys': { keys: [jwk] },
    }));
    const issuer = `${base}/tenant`;
    const srv = await roomgate({ issuer, audience: 'roomgate', algorithms: ['ES256'], claims: { groups: ROLES } });
    assert.ok(await ready(srv), srv.logs());
    assert.equal(srv.events().find((e) => e.event === 'oidc_discovered').document,
      `${base}/.well-known/oauth-authorization-server/tenant`);
    const key = { alg: 'ES256', kid: 'as-1', privateKey };
    expectToken(await staffRoom(srv, await forge(key, { iss: issuer, ...STAFF })), { identity: 'forged' });
  });

  test('refused documents: no algorithm in common, a jwks_uri over plain http elsewhere', async () => {
    const base = await metadataServer((b) => ({
      '/ps/.well-known/openid-configuration': { issuer: `${b}/ps`, jwks_uri: `${b}/ps/keys`,
        id_token_signing_alg_values_supported: ['PS256', 'EdDSA', 'HS256', 'none'] },
      '/plain/.well-known/openid-configuration': { issuer: `${b}/plain`, jwks_uri: 'http://idp.example.com/keys' },
    }));
    const srv = await roomgate([{ issuer: `${base}/ps`, audience: 'roomgate' },
      { issuer: `${base}/plain`, audience: 'roomgate' }]);
    const algs = await srv.waitForEvent((e) => e.event === 'oidc_discovery_failed' && /algorithms/.test(e.msg), 8000);
    assert.ok(algs && algs.level === 'error', `no common algorithm logged:\n${srv.logs()}`);
    assert.match(algs.msg, /signs with none of the configured algorithms \(RS256, RS384, RS512, ES256, ES384, ES512\); it offers no RS or ES algorithm/);
    const plain = await srv.waitForEvent((e) => e.event === 'oidc_discovery_failed' && /jwks_uri/.test(e.msg), 8000);
    assert.match(plain.msg, /jwks_uri http:\/\/idp\.example\.com\/keys is not https/);
    assert.deepEqual((await health(srv)).upstream_jwt.map((u) => u.ready), [false, false]);
  });

  test('config check: discovery needs https (http only to loopback); algorithms may be left out', async () => {
    const { configCheck } = await import('../integration/rg.mjs');
    const up = (u) => baseConfig({ upstream_jwt: u });
    const refused = [
      [{ issuer: 'http://idp.example.com/realms/x' }, /must be https \(http only to a loopback host/],
      [{ issuer: 'http://127.0.0.1@idp.example.com' }, /must be https/],
      [{ issuer: 'https://idp.example.com', algorithms: ['HS256'] }, /HS algorithms need secret or secret_file \(discovery gives public keys only\)/],
      [{ issuer: 'https://idp.example.com', jwks_refresh: '5m', jwks_refresh_min: '10m' }, /jwks_refresh_min \(600s\) must not exceed jwks_refresh \(300s\)/],
      [[{ issuer: 'https://a.example.com' }, { issuer: 'https://a.example.com' }], /upstream_jwt\[1\]\.issuer 'https:\/\/a\.example\.com' is upstream_jwt\[0\]'s too/],
      [[{ issuer: 'https://a.example.com' }, { algorithms: ['HS256'], secret: 'x' }], /upstream_jwt\[1\]\.issuer is required/],
      [[], /empty list/],
    ];
    for (const [u, re] of refused) {
      const r = configCheck(up(u));
      assert.equal(r.ok, false, `config ${JSON.stringify(u)} must be refused`);
      assert.match(r.err, re, `config ${JSON.stringify(u)}`);
    }
    for (const u of [{ issuer: 'https://idp.example.com/realms/x', audience: 'roomgate' },
      { issuer: 'http://localhost:8081/realms/dev' }, { issuer: 'http://[::1]:9000' },
      [{ issuer: 'https://a.example.com' }, { issuer: 'https://b.example.com/', algorithms: ['ES256'] }]]) {
      const r = configCheck(up(u));
      assert.equal(r.ok, true, `config ${JSON.stringify(u)}: ${r.err}`);
    }
  });
});
