// Upstream JWTs checked against a JWKS URL served here on loopback (node:http):
// fetched with libcurl at start and kept fresh by roomgate's keeper thread
// (every jwks_refresh, or sooner as the answer's Cache-Control max-age says,
// never more often than jwks_refresh_min), refetched when a token names an
// unknown kid (key rotation without a restart, at most once per
// jwks_refresh_min however many unknown kids arrive). A JWKS that never
// answered is a 503 idp_unavailable that heals by itself, never a 401 (the
// token may be fine), a 500 or a hang; one that fails later leaves the keys
// it gave in use; a reload keeps them.
//
// Run: ROOMGATE_BIN=build/roomgate node --test tests/integration/jwks-rotation.test.mjs
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer, startJwks, baseConfig, PROBE_PROFILE, RULES, bearer, tokenRequest, signJwt, genKey,
  now, expectToken, expect401Bearer, expectError, nextSecond, sleep, request, until,
} from './rg.mjs';

const ISS = 'https://idp.example.test/realms/rot';
const AUD = 'roomgate';

const cleanups = [];
after(() => Promise.all(cleanups.map((c) => c())));

const fetchEvents = (srv) => srv.events().filter((e) => e.event === 'jwks_fetched');
const firstFetch = (srv) => srv.waitForEvent((e) => e.event === 'jwks_fetched' || e.event === 'jwks_fetch_failed', 8000);

async function setup(jwksKeys, upstream = {}, { jwks: given, wait = true } = {}) {
  const jwks = given || await startJwks(jwksKeys);
  if (!given) cleanups.push(() => jwks.close());
  const srv = await startServer(baseConfig({
    upstream_jwt: {
      issuer: ISS, audience: AUD, algorithms: ['RS256', 'RS512', 'ES256', 'ES384'],
      jwks_url: jwks.url, jwks_refresh: '1h', jwks_refresh_min: '1s', leeway: '5s',
      claims: { identity: 'sub', name: 'name', groups: 'realm_access.roles' },
      ...upstream,
    },
    agents: PROBE_PROFILE, rules: RULES,
  }));
  cleanups.push(() => srv.stop());
  if (wait) assert.ok(await firstFetch(srv), `the key set is fetched at start:\n${srv.logs()}`);
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

const expect503 = (res) => {
  expectError(res, 503, 'idp_unavailable', /no keys from the identity provider/);
  assert.ok(Number(res.headers['retry-after']) >= 1, `Retry-After on a 503: ${JSON.stringify(res.headers)}`);
  assert.equal(res.headers['www-authenticate'], undefined, 'a 503 is no credentials challenge');
};

const health = async (srv) => (await request(srv, { method: 'GET', path: '/healthz' })).json;
const metric = async (srv, re) => {
  const text = (await request(srv, { method: 'GET', path: '/metrics' })).text;
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};


describe('JWKS URL', () => {
  test('RS256, RS512, ES256, ES384 keys from a JWKS URL: fetched at start, before any token, and cached', async () => {
    const keys = [genKey('RS256', 'rs-a'), genKey('RS512', 'rs-b'), genKey('ES256', 'ec-a'), genKey('ES384', 'ec-b')];
    const { jwks, srv } = await setup(keys);
    assert.equal(jwks.fetches, 1, 'fetched once at start');
    for (const k of keys) await accepts(srv, k);
    // the RSA key of kid rs-a also verifies an RS512 token (the alg picks the hash)
    await accepts(srv, keys[0], {}, 'RS512');
    for (const k of keys) await accepts(srv, k, { sub: `again-${k.kid}` });
    assert.equal(jwks.fetches, 1, 'one fetch serves every later token');
    const ev = fetchEvents(srv);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].keys, 4);
    assert.equal(ev[0].url, jwks.url);
    assert.equal(ev[0].issuer, undefined, 'a jwks_url is not discovery');
    const h = await health(srv);
    assert.deepEqual(h.upstream_jwt, [{ issuer: ISS, keys_from: 'jwks_url', ready: true, keys: 4 }]);
    assert.equal(await metric(srv, /^roomgate_idp_key_fetches_total\{issuer="https:\/\/idp\.example\.test\/realms\/rot",outcome="ok"\} (\d+)$/m), 1);
    assert.equal(await metric(srv, /^roomgate_idp_keys\{issuer="https:\/\/idp\.example\.test\/realms\/rot"\} (\d+)$/m), 4);
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

    // B is not published yet: unknown kid → refetch → still unknown → 401
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

  test('refetching for unknown kids is limited to once per jwks_refresh_min (1 s here)', async () => {
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

  test('jwks_refresh: the set is refetched in the background once it is that old, no token needed', async () => {
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
    assert.equal(jwks.fetches, 2, 'refetched by the keeper after jwks_refresh, without a request');
    const gap = jwks.state.fetchTimes[1] - fetchedAt;
    assert.ok(gap >= 2000 && gap <= 4200, `refetched ${gap} ms after the first fetch (jwks_refresh 3s)`);
    await accepts(srv, b);
    assert.equal(jwks.fetches, 2, 'B came with the background refresh');
    // A's kid is unknown now: one refetch, still unknown
    expect401Bearer(await tokenRequest(srv, bearer(tok(a))), /signature does not verify/);
    assert.equal(jwks.fetches, 3);
  });

  test('Cache-Control max-age sets the refresh interval, held within [jwks_refresh_min, jwks_refresh]', async () => {
    const a = genKey('RS256', 'cc');
    // [Cache-Control, jwks_refresh, jwks_refresh_min], three servers at once
    const cases = [['public, max-age=2, must-revalidate', '1h', '1s'], ['max-age=0', '1h', '2s'],
      ['max-age=86400', '2s', '1s']];
    const runs = await Promise.all(cases.map(async ([cc, max, min]) => {
      const jwks = await startJwks([a]);
      cleanups.push(() => jwks.close());
      jwks.state.headers = { 'Cache-Control': cc };
      return { jwks, ...(await setup(null, { jwks_refresh: max, jwks_refresh_min: min }, { jwks })) };
    }));
    await sleep(3000);
    const [honoured, raised, cut] = runs.map((r) => r.jwks.state.fetchTimes);
    // max-age=2 under jwks_refresh 1h: refetched after about 2 s (roomgate schedules in
    // whole seconds of the wall clock: 1 to 2 s after a fetch late in its second)
    assert.ok(honoured.length >= 2, `max-age=2: refetched within 3 s (${honoured.length} fetches)`);
    assert.ok(honoured[1] - honoured[0] >= 900, `not before max-age ran out: ${honoured[1] - honoured[0]} ms`);
    // max-age=0 is raised to jwks_refresh_min (2 s), not a fetch loop
    assert.ok(raised.length >= 2 && raised.length <= 3, `max-age=0, jwks_refresh_min 2s: ${raised.length} fetches in 3 s`);
    // a max-age longer than jwks_refresh (2 s) is cut to it
    assert.ok(cut.length >= 2, `max-age=86400 under jwks_refresh 2s: refetched (${cut.length} fetches)`);
    for (const r of runs) await accepts(r.srv, a);
  });

  test('SIGHUP keeps the keys: a reload while the JWKS is down still accepts its tokens', async () => {
    const a = genKey('RS256', 'kept');
    const jwks = await startJwks([a]);
    const { srv } = await setup(null, {}, { jwks });
    await accepts(srv, a);
    await jwks.close(); // the IdP goes away
    srv.proc.kill('SIGHUP');
    assert.ok(await srv.waitForEvent((e) => e.event === 'reloaded', 5000), `reloaded:\n${srv.logs()}`);
    await accepts(srv, a, { sub: 'after-reload' });
    const h = await health(srv);
    assert.equal(h.upstream_jwt[0].ready, true);
  });
});

// independent servers that mostly wait: run side by side
describe('JWKS unavailable', { concurrency: true }, () => {
  test('a JWKS erroring at start → 503 idp_unavailable (not 401), retried with backoff; accepted once it answers, without restart', async () => {
    const a = genKey('RS256', 'k1');
    const jwks = await startJwks([a]);
    cleanups.push(() => jwks.close());
    jwks.setStatus(503);
    const { srv } = await setup(null, {}, { jwks });
    const t0 = Date.now();
    expect503(await tokenRequest(srv, bearer(tok(a)), { room_name: 'staff-room' }));
    assert.ok(Date.now() - t0 < 6000);
    const ev = await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed');
    assert.ok(ev && ev.level === 'warn' && ev.keys_kept === false, `jwks_fetch_failed logged:\n${srv.logs()}`);
    assert.match(ev.msg, /HTTP 503/);
    let h = await health(srv);
    assert.equal(h.status, 'ok', 'an IdP down is not roomgate down');
    assert.deepEqual(h.upstream_jwt, [{ issuer: ISS, keys_from: 'jwks_url', ready: false, keys: 0 }]);
    await sleep(2500); // retries after 1 s, then every 1 s (jwks_refresh_min)
    assert.ok(jwks.fetches >= 3, `retried with backoff: ${jwks.fetches} fetches`);
    assert.equal(srv.events().filter((e) => e.event === 'jwks_fetch_failed').length, 1, 'logged once per outage');
    const failed = await metric(srv, /^roomgate_idp_key_fetches_total\{issuer="[^"]*",outcome="failed"\} (\d+)$/m);
    assert.ok(failed >= 3, `failures counted: ${failed}`);
    jwks.setStatus(200);
    const t1 = Date.now();
    await until(async () => (await tokenRequest(srv, bearer(tok(a)), { room_name: 'staff-room' })).status === 201,
      3000, 'accepted once the JWKS answers');
    assert.ok(Date.now() - t1 < 2500, `keys within the retry interval: ${Date.now() - t1} ms`);
    await accepts(srv, a);
    h = await health(srv);
    assert.equal(h.upstream_jwt[0].ready, true);
  });

  test('a JWKS failing after its keys arrived: the keys stay in use, the failure is logged', async () => {
    const a = genKey('RS256', 'stale');
    const jwks = await startJwks([a]);
    cleanups.push(() => jwks.close());
    jwks.state.headers = { 'Cache-Control': 'max-age=1' };
    const { srv } = await setup(null, {}, { jwks });
    jwks.setStatus(500);
    const ev = await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed', 5000);
    assert.ok(ev && ev.keys_kept === true, `failure logged with the keys kept:\n${srv.logs()}`);
    await accepts(srv, a);
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

  test('an unreachable JWKS URL → 503 idp_unavailable quickly', async () => {
    const a = genKey('RS256', 'k1');
    const dead = await startJwks([]);
    await dead.close(); // nothing listens there any more
    const { srv } = await setup(null, {}, { jwks: dead });
    const t0 = Date.now();
    expect503(await tokenRequest(srv, bearer(tok(a)), { room_name: 'staff-room' }));
    assert.ok(Date.now() - t0 < 6000, 'answered within the fetch timeout');
    assert.ok(await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed'), `jwks_fetch_failed logged:\n${srv.logs()}`);
  });

  test('a JWKS without a usable key → 503 until it has one', async () => {
    const a = genKey('RS256', 'k1');
    const jwks = await startJwks([]);
    cleanups.push(() => jwks.close());
    jwks.state.keys = [{ kty: 'RSA', kid: 'k1', n: '!!', e: 'AQAB' }];
    const { srv } = await setup(null, {}, { jwks });
    expect503(await tokenRequest(srv, bearer(tok(a)), { room_name: 'staff-room' }));
    assert.match((await srv.waitForEvent((e) => e.event === 'jwks_fetch_failed')).msg, /no usable signing key/);
    jwks.setKeys([a]);
    await until(async () => (await tokenRequest(srv, bearer(tok(a)), { room_name: 'staff-room' })).status === 201,
      3000, 'accepted once the JWKS has the key');
  });
});
