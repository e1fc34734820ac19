// Upstream JWTs checked against a JWKS URL served here on loopback (node:http):
// fetched with libcurl, cached, refetched when a token names an unknown kid
// (key rotation without a restart, at most once a second however many
// unknown kids arrive) and when the cache is older than jwks_refresh; an
// unreachable JWKS is a 401, never a 500 or a hang.
//
// Run: ROOMGATE_BIN=build/roomgate node --test tests/integration/jwks-rotation.test.mjs
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer, startJwks, baseConfig, PROBE_PROFILE, RULES, bearer, tokenRequest, signJwt, genKey,
  now, expectToken, expect401Bearer, nextSecond, sleep,
} from './rg.mjs';

const ISS = 'https://idp.example.test/realms/rot';
const AUD = 'roomgate';

const cleanups = [];
after(() => Promise.all(cleanups.map((c) => c())));

async function setup(jwksKeys, upstream = {}) {
  const jwks = await startJwks(jwksKeys);
  cleanups.push(() => jwks.close());
  const srv = await startServer(baseConfig({
    upstream_jwt: {
      issuer: ISS, audience: AUD, algorithms: ['RS256', 'RS512', 'ES256', 'ES384'],
      jwks_url: jwks.url, jwks_refresh: '1h', leeway: '5s',
      claims: { identity: 'sub', name: 'name', groups: 'realm_access.roles' },
      ...upstream,
    },
    agents: PROBE_PROFILE, rules: RULES,
  }));
  cleanups.push(() => srv.stop());
  return { jwks, srv };
}

const tok = (k, extra = {}, alg = k.alg) => signJwt({
  iss: ISS, aud: AUD, sub: `user-${k.kid}`, name: `User ${k.kid}`, exp: now() + 300,
  realm_access: { roles: ['staff'] }, ...extra,
}, { alg, key: k.privateKey, kid: k.kid });

const accepts = async (srv, k, extra = {}, alg) => expectToken(
  await tokenRequest(srv, bearer(tok(k, extra, alg)), { room_name: 'staff-room' }),
  { identity: extra.sub || `user-${k.kid}`, groups: extra.realm_access ? extra.realm_access.roles : ['staff'],
    method: 'jwt', room: 'staff-room' });

const fetchEvents = (srv) => srv.events().filter((e) => e.event === 'jwks_fetched');

describe('JWKS URL', () => {
  test('RS256, RS512, ES256, ES384 keys from a JWKS URL; the set is fetched once and cached', async () => {
    const keys = [genKey('RS256', 'rs-a'), genKey('RS512', 'rs-b'), genKey('ES256', 'ec-a'), genKey('ES384', 'ec-b')];
    const { jwks, srv } = await setup(keys);
    assert.equal(jwks.fetches, 0, 'nothing fetched before the first token');
    for (const k of keys) await accepts(srv, k);
    // the RSA key of kid rs-a also verifies an RS512 token (the alg picks the hash)
    await accepts(srv, keys[0], {}, 'RS512');
    for (const k of keys) await accepts(srv, k, { sub: `again-${k.kid}` });
    assert.equal(jwks.fetches, 1, 'one fetch serves every later token');
    await srv.waitForEvent((e) => e.event === 'jwks_fetched');
    const ev = fetchEvents(srv);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].keys, 4);
    assert.equal(ev[0].url, jwks.url);
  });

  test('rejections against a JWKS URL: other key under a known kid, wrong iss/aud, expired, alg none, HS with the PEM', async () => {
    const a = genKey('RS256', 'a');
    const { jwks, srv } = await setup([a]);
    await accepts(srv, a);
    const forged = { ...genKey('RS256', 'a') }; // same kid, different key
    expect401Bearer(await tokenRequest(srv, bearer(tok(forged))), /signature does not verify/);
    expect401Bearer(await tokenRequest(srv, bearer(tok(a, { iss: 'https://other/' }))), /issuer/);
    expect401Bearer(await tokenRequest(srv, bearer(tok(a, { aud: 'not-us' }))), /audience/);
    expect401Bearer(await tokenRequest(srv, bearer(tok(a, { exp: now() - 60 }))), /expired/);
    expect401Bearer(await tokenRequest(srv, bearer(tok(a, { nbf: now() + 60 }))), /not valid yet/);
    expect401Bearer(await tokenRequest(srv, bearer(signJwt({ iss: ISS, aud: AUD, sub: 'x', exp: now() + 60 },
      { alg: 'none', kid: 'a' }))), /algorithm not allowed/);
    expect401Bearer(await tokenRequest(srv, bearer(signJwt({ iss: ISS, aud: AUD, sub: 'x', exp: now() + 60 },
      { alg: 'HS256', key: a.pem, kid: 'a' }))), /algorithm not allowed: 'HS256'/);
    expect401Bearer(await tokenRequest(srv, bearer(tok(a, {}, 'RS384'))), /algorithm not allowed: 'RS384'/);
    assert.equal(jwks.fetches, 1, 'tokens naming a known kid do not refetch');
  });
});

describe('key rotation without restart', () => {
  test('a new kid is rejected while the JWKS lacks it and accepted once the JWKS publishes it', async () => {
    const a = genKey('RS256', 'kid-A');
    const b = genKey('ES256', 'kid-B');
    const { jwks, srv } = await setup([a]);
    await accepts(srv, a);
    assert.equal(jwks.fetches, 1);

    // B is not published yet: unknown kid → refetch (rate limit permitting) → still unknown → 401
    await nextSecond();
    expect401Bearer(await tokenRequest(srv, bearer(tok(b))), /signature does not verify/);
    assert.equal(jwks.fetches, 2, 'an unknown kid triggers a refetch');

    // the IdP rotates: B is published next to A
    jwks.setKeys([a, b]);
    await nextSecond();
    await accepts(srv, b);
    assert.equal(jwks.fetches, 3, 'the unknown kid B made roomgate refetch');
    await accepts(srv, a);
    await accepts(srv, b, { sub: 'second-b' });
    assert.equal(jwks.fetches, 3, 'known kids do not refetch');

    // A is retired and C appears; C is picked up the same way
    const c = genKey('RS256', 'kid-C');
    jwks.setKeys([b, c]);
    await nextSecond();
    await accepts(srv, c);
    assert.equal(jwks.fetches, 4);
    // A left the refetched set
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    await accepts(srv, b);
    assert.ok(srv.proc.exitCode === null, 'same process throughout');
  });

  test('refetching for unknown kids is limited to once a second', async () => {
    const a = genKey('RS256', 'steady');
    const { jwks, srv } = await setup([a]);
    await accepts(srv, a);
    assert.equal(jwks.fetches, 1);
    const rogue = genKey('RS256', 'x');
    const t0 = Date.now();
    let sent = 0;
    // ~2.5 s of concurrent requests, each naming a new random kid
    while (Date.now() - t0 < 2500) {
      const batch = [];
      for (let i = 0; i < 10; i++) {
        const k = { ...rogue, kid: 'rnd-' + randomBytes(6).toString('hex') };
        batch.push(tokenRequest(srv, bearer(tok(k))));
      }
      for (const res of await Promise.all(batch)) expect401Bearer(res, /signature does not verify/);
      sent += batch.length;
    }
    const elapsed = (Date.now() - t0) / 1000;
    const during = jwks.fetches - 1;
    assert.ok(sent >= 30, `sent ${sent} requests`);
    assert.ok(during >= 1, 'unknown kids do cause refetches');
    assert.ok(during <= Math.ceil(elapsed) + 1,
      `${during} JWKS fetches for ${sent} unknown-kid tokens in ${elapsed.toFixed(2)} s (limit: 1/s)`);
    // the known key still works while being hammered
    await accepts(srv, a);
  });

  test('jwks_refresh: the cached set is refetched once older than the refresh interval', async () => {
    const a = genKey('ES256', 'old');
    const b = genKey('ES256', 'new');
    const { jwks, srv } = await setup([a], { jwks_refresh: '3s' });
    await accepts(srv, a);
    assert.equal(jwks.fetches, 1);
    const fetchedAt = jwks.state.fetchTimes[0];
    // A is revoked at the IdP; within the refresh interval the cached A still verifies
    jwks.setKeys([b]);
    await accepts(srv, a, { sub: 'cached' });
    assert.equal(jwks.fetches, 1, 'fresh cache: no fetch');
    await sleep(Math.max(0, fetchedAt + 4200 - Date.now()));
    // the set is now stale: the next token refetches and A is gone
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    assert.equal(jwks.fetches, 2, 'refetched after jwks_refresh');
    await accepts(srv, b);
    assert.equal(jwks.fetches, 2);
  });
});

describe('JWKS unavailable', () => {
  test('an erroring JWKS → 401 (not 5xx) and a warning; it recovers without restart', async () => {
    const a = genKey('RS256', 'k1');
    const { jwks, srv } = await setup([a]);
    jwks.setStatus(503);
    const t0 = Date.now();
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    assert.ok(Date.now() - t0 < 6000);
    assert.equal(jwks.fetches, 1);
    assert.ok(await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed' && e.level === 'warn'),
      `jwks_fetch_failed logged:\n${srv.logs()}`);
    jwks.setStatus(200);
    await nextSecond();
    await accepts(srv, a);
    assert.equal(jwks.fetches, 2);
  });

  test('a hanging JWKS stalls no request beyond one fetch timeout; cached keys keep working', async () => {
    // The IdP accepts connections but never answers (roomgate's fetch gives
    // up after 5 s). Tokens naming a new kid arrive meanwhile: each may wait
    // for one bounded fetch, but they must not queue behind each other, and
    // a token whose key is already cached must not wait for the fetch at all.
    const a = genKey('RS256', 'cached');
    const { jwks, srv } = await setup([a]);
    await accepts(srv, a);
    jwks.setStatus('hang');
    await nextSecond();
    const t0 = Date.now();
    const rogue = genKey('RS256', 'x');
    const unknown = [0, 1, 2].map((i) => tokenRequest(srv, bearer(tok({ ...rogue, kid: `new-${i}` })),
      { room_name: 'staff-room' }, undefined, 40000).then((res) => ({ res, ms: Date.now() - t0 })));
    await sleep(300);
    const t1 = Date.now();
    const known = await tokenRequest(srv, bearer(tok(a, { sub: 'user-cached' })), { room_name: 'staff-room' },
      undefined, 40000);
    const knownMs = Date.now() - t1;
    const done = await Promise.all(unknown);
    expectToken(known, { identity: 'user-cached' });
    for (const { res } of done) expect401Bearer(res, /signature does not verify/);
    const times = done.map((d) => d.ms);
    assert.ok(knownMs < 2000, `a token with a cached key waited ${knownMs} ms for a JWKS fetch (unknown-kid requests answered after ${times} ms)`);
    assert.ok(Math.max(...times) < 8000, `unknown-kid requests queued behind each other's fetches: answered after ${times} ms`);
  });

  test('an unreachable JWKS URL → 401 quickly', async () => {
    const a = genKey('RS256', 'k1');
    const dead = await startJwks([]);
    const deadUrl = dead.url;
    await dead.close(); // nothing listens there any more
    const { srv } = await setup([a], { jwks_url: deadUrl });
    const t0 = Date.now();
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    assert.ok(Date.now() - t0 < 6000, 'answered within the fetch timeout');
    assert.ok(await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed'), `jwks_fetch_failed logged:\n${srv.logs()}`);
  });

  test('a JWKS that is not a key set → 401', async () => {
    const a = genKey('RS256', 'k1');
    const { jwks, srv } = await setup([]);
    jwks.state.keys = [{ kty: 'RSA', kid: 'k1', n: '!!', e: 'AQAB' }];
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    jwks.setKeys([a]);
    await nextSecond();
    await accepts(srv, a);
  });
});
