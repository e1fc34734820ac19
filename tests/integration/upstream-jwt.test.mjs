// Upstream bearer JWTs (method "jwt"): HS256/384/512 with a shared secret,
// RS256/384/512 and ES256/384/512 with PEM public keys and a JWKS file, signed
// here with keys generated for the run. The algorithm comes from the config,
// never from the token; every rejection is a 401 invalid_credentials with a
// Bearer invalid_token challenge that says why. Accepted tokens are checked
// in the LiveKit token roomgate issues (identity, name, groups via a dotted
// claim path, and the rule they select).
//
// Run: ROOMGATE_BIN=build/roomgate node --test tests/integration/upstream-jwt.test.mjs
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer, baseConfig, PROBE_PROFILE, request, bearer, tokenRequest, signJwt, genKey, now,
  expectToken, expectError, expect401Bearer, decodeJwt, configCheck, RULES,
} from './rg.mjs';

const ISS = 'https://idp.example.test/realms/main';
const AUD = 'roomgate';
const HS_SECRET = 'upstream-hs-secret-' + randomBytes(16).toString('hex');


const claims = (extra = {}) => ({
  iss: ISS, aud: AUD, sub: 'user-1', name: 'User One', iat: now(), exp: now() + 300, ...extra,
});

const servers = [];
after(() => Promise.all(servers.map((s) => s.stop())));
const start = async (cfg, opts) => { const s = await startServer(cfg, opts); servers.push(s); return s; };

// -------------------------------------------------------------------- HS*

describe('HS256/384/512 with a shared secret (leeway 0, claims from realm_access.roles)', () => {
  let srv;
  before(async () => {
    srv = await start(baseConfig({
      upstream_jwt: {
        issuer: ISS, audience: AUD, algorithms: ['HS256', 'HS384', 'HS512'], secret: HS_SECRET,
        leeway: 0, claims: { identity: 'sub', name: 'name', groups: 'realm_access.roles' },
      },
      agents: PROBE_PROFILE, rules: RULES,
    }));
  });
  const hs = (payload, alg = 'HS256', key = HS_SECRET, opts = {}) => signJwt(payload, { alg, key, ...opts });

  for (const alg of ['HS256', 'HS384', 'HS512']) {
    test(`${alg} accepted: identity, name, groups (dotted path), method jwt`, async () => {
      const jwt = hs(claims({ sub: `u-${alg}`, name: `Name ${alg}`, realm_access: { roles: ['viewer', 'dev'] } }), alg);
      const res = await tokenRequest(srv, bearer(jwt), { room_name: 'jwt-room' });
      const { claims: lk } = expectToken(res, {
        identity: `u-${alg}`, name: `Name ${alg}`, room: 'jwt-room', groups: ['viewer', 'dev'],
        method: 'jwt', roomAdmin: false,
      });
      assert.equal(lk.video.canPublishData, false, "rule 'jwt-users' grants apply");
    });
  }

  test('groups from realm_access.roles select the admins rule (match.groups)', async () => {
    const jwt = hs(claims({ sub: 'boss', realm_access: { roles: ['admin'] } }));
    const res = await tokenRequest(srv, bearer(jwt), { room_name: 'any-room-at-all' });
    expectToken(res, { identity: 'boss', room: 'any-room-at-all', groups: ['admin'], roomAdmin: true });
  });

  test('only the configured path gives groups: a top-level "groups" claim is ignored', async () => {
    const jwt = hs(claims({ sub: 'sneaky', groups: ['admin'], realm_access: { roles: ['dev'] } }));
    const res = await tokenRequest(srv, bearer(jwt), { room_name: 'any-room-at-all' });
    expectError(res, 403, 'room_not_allowed', /jwt-users/);
    expectToken(await tokenRequest(srv, bearer(jwt), { room_name: 'jwt-x' }),
      { identity: 'sneaky', groups: ['dev'], roomAdmin: false });
  });

  test('match.methods + match.groups: staff JWT users get jwt-staff, not jwt-users', async () => {
    const jwt = hs(claims({ sub: 'stef', realm_access: { roles: ['staff'] } }));
    expectToken(await tokenRequest(srv, bearer(jwt), { room_name: 'staff-meeting' }),
      { identity: 'stef', groups: ['staff'], room: 'staff-meeting' });
    expectError(await tokenRequest(srv, bearer(jwt), { room_name: 'jwt-room' }), 403,
      'room_not_allowed', /jwt-staff/);
  });

  test('a JWT user is kept to the jwt rule: other methods\' rooms are 403 naming the rule', async () => {
    const jwt = hs(claims({ sub: 'plain' }));
    for (const room of ['proxy-room', 'svc-room', 'staff-room']) {
      expectError(await tokenRequest(srv, bearer(jwt), { room_name: room }), 403, 'room_not_allowed',
        /rule 'jwt-users'.*plain/);
    }
  });

  test('no name claim: the name is the identity; no groups claim: no groups', async () => {
    const p = claims({ sub: 'nameless' });
    delete p.name;
    expectToken(await tokenRequest(srv, bearer(hs(p)), { room_name: 'jwt-a' }),
      { identity: 'nameless', name: 'nameless', groups: [] });
  });

  test('an integer identity claim becomes its decimal string', async () => {
    expectToken(await tokenRequest(srv, bearer(hs(claims({ sub: 12345 }))), { room_name: 'jwt-a' }),
      { identity: '12345' });
  });

  test('a single-string groups claim is one group', async () => {
    const jwt = hs(claims({ sub: 'solo', realm_access: { roles: 'admin' } }));
    expectToken(await tokenRequest(srv, bearer(jwt), { room_name: 'x' }), { groups: ['admin'], roomAdmin: true });
  });

  test('alg "none" (unsigned) → 401', async () => {
    const jwt = signJwt(claims(), { alg: 'none' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /algorithm not allowed.*none/);
  });

  test('alg "none" with an HMAC signature attached → 401', async () => {
    const good = hs(claims());
    const none = signJwt(claims(), { alg: 'none' }) + good.split('.')[2];
    expect401Bearer(await tokenRequest(srv, bearer(none)), /algorithm not allowed/);
  });

  test('a header with crit (RFC 7515 4.1.11) or b64 (RFC 7797) → 401, though the signature verifies', async () => {
    const room = { room_name: 'jwt-room' };
    const ok = await tokenRequest(srv, bearer(hs(claims(), 'HS256', HS_SECRET, { header: {} })), room);
    assert.equal(ok.status, 201, 'the same claims under a plain header are accepted');
    for (const header of [{ crit: ['x-ext'], 'x-ext': 1 }, { crit: ['exp'], exp: now() + 300 },
      { crit: [] }]) {
      expect401Bearer(await tokenRequest(srv, bearer(hs(claims(), 'HS256', HS_SECRET, { header })), room),
        /critical extensions \(crit\)/);
    }
    // RFC 7797: the payload is signed as it stands, not base64url-encoded;
    // refused with crit and without
    for (const header of [{ b64: false, crit: ['b64'] }, { b64: false }]) {
      expect401Bearer(await tokenRequest(srv, bearer(hs(claims(), 'HS256', HS_SECRET, { header })), room),
        header.crit ? /crit/ : /b64/);
    }
  });

  test('alg "None"/"NONE"/"" spelled otherwise → 401', async () => {
    for (const alg of ['None', 'NONE', '']) {
      const input = `${Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url')}.` +
        Buffer.from(JSON.stringify(claims())).toString('base64url');
      expect401Bearer(await tokenRequest(srv, bearer(`${input}.`)), /algorithm|malformed/);
    }
  });

  test('an algorithm not configured (RS256, ES256, PS256) → 401 naming it', async () => {
    const rsa = genKey('RS256');
    const ec = genKey('ES256');
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims(), { alg: 'RS256', key: rsa.privateKey }))),
      /algorithm not allowed: 'RS256'/);
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims(), { alg: 'ES256', key: ec.privateKey }))),
      /algorithm not allowed: 'ES256'/);
    // PS256 is not supported at all; sign as RS256 and relabel
    const t = signJwt(claims(), { alg: 'RS256', key: rsa.privateKey }).split('.');
    t[0] = Buffer.from(JSON.stringify({ alg: 'PS256', typ: 'JWT' })).toString('base64url');
    expect401Bearer(await tokenRequest(srv, bearer(t.join('.'))), /algorithm not allowed/);
  });

  test('an HS algorithm listed in the header but signed with another HS size → 401', async () => {
    // header says HS384, signature is HS256 over the same input
    const t = hs(claims(), 'HS384').split('.');
    const hs256 = hs(claims(), 'HS256').split('.');
    expect401Bearer(await tokenRequest(srv, bearer(`${t[0]}.${t[1]}.${hs256[2]}`)), /signature/);
  });

  test('wrong secret → 401 signature', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims(), 'HS256', HS_SECRET + 'x'))),
      /signature does not verify/);
  });

  test('payload changed after signing (sub swapped to an admin) → 401 signature', async () => {
    const t = hs(claims({ sub: 'mallory' })).split('.');
    t[1] = Buffer.from(JSON.stringify(claims({ sub: 'boss', realm_access: { roles: ['admin'] } }))).toString('base64url');
    expect401Bearer(await tokenRequest(srv, bearer(t.join('.'))), /signature does not verify/);
  });

  test('signature bytes flipped or cut → 401', async () => {
    const t = hs(claims()).split('.');
    const sig = Buffer.from(t[2], 'base64url');
    sig[0] ^= 0x80;
    expect401Bearer(await tokenRequest(srv, bearer(`${t[0]}.${t[1]}.${sig.toString('base64url')}`)), /signature/);
    expect401Bearer(await tokenRequest(srv, bearer(`${t[0]}.${t[1]}.${t[2].slice(0, 20)}`)), /signature|malformed/);
    expect401Bearer(await tokenRequest(srv, bearer(`${t[0]}.${t[1]}`)), /malformed/);
  });

  test('wrong iss → 401; missing iss → 401', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ iss: 'https://evil.example.test/' })))),
      /issuer is not 'https:\/\/idp\.example\.test\/realms\/main'/);
    const p = claims();
    delete p.iss;
    expect401Bearer(await tokenRequest(srv, bearer(hs(p))), /issuer/);
  });

  test('wrong aud (string, list) or missing aud → 401; aud list holding ours → accepted', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ aud: 'someone-else' })))), /audience is not 'roomgate'/);
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ aud: ['a', 'b'] })))), /audience/);
    const p = claims();
    delete p.aud;
    expect401Bearer(await tokenRequest(srv, bearer(hs(p))), /audience/);
    expectToken(await tokenRequest(srv, bearer(hs(claims({ sub: 'multi', aud: ['other', AUD] }))), { room_name: 'jwt-m' }),
      { identity: 'multi' });
  });

  test('expired (leeway 0) → 401; no exp → 401', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ exp: now() - 5 })))), /expired/);
    const p = claims();
    delete p.exp;
    expect401Bearer(await tokenRequest(srv, bearer(hs(p))), /no exp/);
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ exp: String(now() + 300) })))), /no exp/);
  });

  test('exp/nbf as huge JSON numbers are compared, never cast (UBSan run): 1e300 exp accepted, -1e300 expired, 1e300 nbf not valid yet', async () => {
    expectToken(await tokenRequest(srv, bearer(hs(claims({ sub: 'far-future', exp: 1e300 }))), { room_name: 'jwt-far' }),
      { identity: 'far-future' });
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ exp: -1e300 })))), /expired/);
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ nbf: 1e300 })))), /not valid yet/);
  });

  test('nbf in the future (leeway 0) → 401; nbf in the past → accepted', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ nbf: now() + 30 })))), /not valid yet/);
    expectToken(await tokenRequest(srv, bearer(hs(claims({ sub: 'nbf-ok', nbf: now() - 10 }))), { room_name: 'jwt-n' }),
      { identity: 'nbf-ok' });
  });

  test('missing or empty identity claim → 401', async () => {
    const p = claims();
    delete p.sub;
    expect401Bearer(await tokenRequest(srv, bearer(hs(p))), /no identity claim 'sub'/);
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ sub: '' })))), /identity/);
    expect401Bearer(await tokenRequest(srv, bearer(hs(claims({ sub: { id: 'x' } })))), /identity/);
  });

  test('a user JWT cannot choose participant_identity → 403 identity_not_allowed', async () => {
    const res = await tokenRequest(srv, bearer(hs(claims({ sub: 'eve' }))),
      { room_name: 'jwt-r', participant_identity: 'someone-else' });
    expectError(res, 403, 'identity_not_allowed');
    // its own identity is fine
    expectToken(await tokenRequest(srv, bearer(hs(claims({ sub: 'eve' }))),
      { room_name: 'jwt-r', participant_identity: 'eve' }), { identity: 'eve' });
  });

  test('the JWT works on /v1/profiles and /v1/sessions too', async () => {
    const jwt = hs(claims({ sub: 'prof', name: 'Prof', realm_access: { roles: ['admin'] } }));
    const res = await request(srv, { method: 'GET', path: '/v1/profiles', headers: bearer(jwt) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.user, { id: 'prof', name: 'Prof', groups: ['admin'], method: 'jwt' });
    const s = await request(srv, { path: '/v1/sessions', headers: bearer(jwt), body: {} });
    assert.equal(s.status, 201, s.text);
    assert.equal(decodeJwt(s.json.participant_token).payload.sub, 'prof');
  });

  test('no Authorization → 401 unauthenticated with a bare Bearer challenge', async () => {
    const res = await request(srv, { body: { room_name: 'jwt-x' } });
    expectError(res, 401, 'unauthenticated');
    assert.match(res.headers['www-authenticate'], /^Bearer realm="roomgate"/);
  });
});

// ------------------------------------------------- RS*/ES* via PEM files

describe('RS256/384/512 and ES256/384/512 with PEM public keys (leeway 60s, audience list)', () => {
  let srv;
  const keys = {};
  before(async () => {
    keys.rsa = genKey('RS256');
    keys.ES256 = genKey('ES256');
    keys.ES384 = genKey('ES384');
    keys.ES512 = genKey('ES512');
    srv = await start(baseConfig({
      upstream_jwt: {
        issuer: ISS, audience: [AUD, 'roomgate-alt'],
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
        public_keys: ['rsa.pem', 'es256.pem', 'es384.pem', 'es512.pem'],
        leeway: '60s',
      },
      agents: PROBE_PROFILE, rules: RULES,
    }), {
      files: {
        'rsa.pem': keys.rsa.pem, 'es256.pem': keys.ES256.pem, 'es384.pem': keys.ES384.pem,
        'es512.pem': keys.ES512.pem,
      },
    });
  });
  const keyFor = (alg) => (alg.startsWith('RS') ? keys.rsa : keys[alg]);

  for (const alg of ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512']) {
    test(`${alg} accepted via PEM public key (default claims sub/name/groups)`, async () => {
      const jwt = signJwt(claims({ sub: `pem-${alg}`, name: `N ${alg}`, groups: ['g1'] }), { alg, key: keyFor(alg).privateKey });
      expectToken(await tokenRequest(srv, bearer(jwt), { room_name: `jwt-${alg}` }),
        { identity: `pem-${alg}`, name: `N ${alg}`, room: `jwt-${alg}`, groups: ['g1'], method: 'jwt' });
    });
  }

  test('HS256 signed with the RSA public key PEM as the HMAC secret → 401 (alg confusion)', async () => {
    const pem = keys.rsa.pem;
    const variants = [pem, pem.trim(), Buffer.from(keys.rsa.publicKey.export({ type: 'pkcs1', format: 'pem' })),
      keys.rsa.publicKey.export({ type: 'spki', format: 'der' })];
    for (const secret of variants) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const jwt = signJwt(claims({ sub: 'attacker', groups: ['admin'] }), { alg, key: secret });
        expect401Bearer(await tokenRequest(srv, bearer(jwt), { room_name: 'x' }), new RegExp(`algorithm not allowed: '${alg}'`));
      }
    }
    const jwt = signJwt(claims({ sub: 'attacker' }), { alg: 'HS256', key: keys.ES256.pem });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /algorithm not allowed/);
  });

  test('alg "none" → 401 on an RS/ES server too', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims(), { alg: 'none' }))), /algorithm not allowed/);
  });

  test('signed by a key that is not configured → 401', async () => {
    for (const alg of ['RS256', 'ES256', 'ES512']) {
      const other = genKey(alg);
      expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims(), { alg, key: other.privateKey }))),
        /signature does not verify/);
    }
  });

  test('key family comes from alg: an EC signature labelled RS256, an RSA one labelled ES256 → 401', async () => {
    const ecSig = signJwt(claims(), { alg: 'ES256', key: keys.ES256.privateKey }).split('.');
    const rsSig = signJwt(claims(), { alg: 'RS256', key: keys.rsa.privateKey }).split('.');
    const relabel = (parts, alg) => `${Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url')}.${parts[1]}.${parts[2]}`;
    expect401Bearer(await tokenRequest(srv, bearer(relabel(ecSig, 'RS256'))), /signature/);
    expect401Bearer(await tokenRequest(srv, bearer(relabel(rsSig, 'ES256'))), /signature/);
    // RS256 signature relabelled RS512 (same key, wrong hash)
    expect401Bearer(await tokenRequest(srv, bearer(relabel(rsSig, 'RS512'))), /signature/);
    // ES256 signature relabelled ES384 (P-256 key is not the P-384 key)
    expect401Bearer(await tokenRequest(srv, bearer(relabel(ecSig, 'ES384'))), /signature/);
  });

  test('ES256 signature in DER (not JOSE r||s) form → 401', async () => {
    const t = signJwt(claims(), { alg: 'ES256', key: keys.ES256.privateKey }).split('.');
    const { sign } = await import('node:crypto');
    const der = sign('sha256', Buffer.from(`${t[0]}.${t[1]}`), keys.ES256.privateKey); // default DER
    expect401Bearer(await tokenRequest(srv, bearer(`${t[0]}.${t[1]}.${der.toString('base64url')}`)), /signature/);
  });

  test('audience list: either configured audience is accepted; others → 401', async () => {
    const k = keys.rsa.privateKey;
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'alt', aud: 'roomgate-alt' }), { alg: 'RS256', key: k })),
      { room_name: 'jwt-a' }), { identity: 'alt' });
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'alt2', aud: ['x', 'roomgate'] }), { alg: 'RS256', key: k })),
      { room_name: 'jwt-a' }), { identity: 'alt2' });
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims({ aud: 'nope' }), { alg: 'RS256', key: k }))), /audience/);
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims({ aud: ['x', 'y'] }), { alg: 'RS256', key: k }))), /audience/);
  });

  test('wrong issuer → 401', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims({ iss: ISS + '/' }), { alg: 'ES256', key: keys.ES256.privateKey }))),
      /issuer/);
  });

  test('leeway 60s: expired 30 s ago accepted, 120 s ago → 401', async () => {
    const k = keys.ES384.privateKey;
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'late', exp: now() - 30 }), { alg: 'ES384', key: k })),
      { room_name: 'jwt-l' }), { identity: 'late' });
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims({ exp: now() - 120 }), { alg: 'ES384', key: k }))), /expired/);
  });

  test('leeway 60s: nbf 30 s ahead accepted, 120 s ahead → 401', async () => {
    const k = keys.rsa.privateKey;
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'early', nbf: now() + 30 }), { alg: 'RS384', key: k })),
      { room_name: 'jwt-e' }), { identity: 'early' });
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims({ nbf: now() + 120 }), { alg: 'RS384', key: k }))), /not valid yet/);
  });
});

// -------------------------------------------------------------- jwks_file

describe('RS256/ES256 with a JWKS file (kid selects the key)', () => {
  let srv;
  let r1, e1, spare;
  before(async () => {
    r1 = genKey('RS256', 'r1');
    e1 = genKey('ES256', 'e1');
    spare = genKey('RS256', 'spare');
    const jwks = {
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' },            // not usable: skipped
        { ...genKey('RS256', 'enc').jwk, use: 'enc' },          // encryption key: skipped
        r1.jwk, e1.jwk,
      ],
    };
    srv = await start(baseConfig({
      upstream_jwt: {
        issuer: ISS, audience: AUD, algorithms: ['RS256', 'ES256'], jwks_file: 'jwks.json',
        claims: { identity: 'preferred_username', name: 'profile.display', groups: 'realm_access.roles' },
      },
      agents: PROBE_PROFILE, rules: RULES,
    }), { files: { 'jwks.json': JSON.stringify(jwks) } });
  });

  test('RS256 (kid r1) and ES256 (kid e1) accepted; claims from configured paths', async () => {
    for (const k of [r1, e1]) {
      const jwt = signJwt(claims({ sub: 'opaque-uuid', preferred_username: `jf-${k.kid}`, profile: { display: 'JF' },
        realm_access: { roles: ['admin'] } }), { alg: k.alg, key: k.privateKey, kid: k.kid });
      expectToken(await tokenRequest(srv, bearer(jwt), { room_name: 'z' }),
        { identity: `jf-${k.kid}`, name: 'JF', groups: ['admin'], roomAdmin: true });
    }
  });

  test('no kid: the keys of the right family are tried', async () => {
    const jwt = signJwt(claims({ preferred_username: 'nokid' }), { alg: 'RS256', key: r1.privateKey });
    expectToken(await tokenRequest(srv, bearer(jwt), { room_name: 'jwt-k' }), { identity: 'nokid' });
  });

  test('identity claim configured as preferred_username: a token with only sub → 401', async () => {
    const jwt = signJwt(claims({ sub: 'has-sub-only' }), { alg: 'RS256', key: r1.privateKey, kid: 'r1' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /no identity claim 'preferred_username'/);
  });

  test('kid of a listed key but signed by another key → 401', async () => {
    const jwt = signJwt(claims({ preferred_username: 'x' }), { alg: 'RS256', key: spare.privateKey, kid: 'r1' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /signature/);
  });

  test('kid not in the JWKS file → 401 even when the signature would match another key', async () => {
    const jwt = signJwt(claims({ preferred_username: 'x' }), { alg: 'RS256', key: r1.privateKey, kid: 'unknown' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /signature/);
  });

  test('ES256 token naming the RSA kid → 401 (family from alg)', async () => {
    const jwt = signJwt(claims({ preferred_username: 'x' }), { alg: 'ES256', key: e1.privateKey, kid: 'r1' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /signature/);
  });

  test('HS256 signed with the JWKS RSA key as PEM → 401', async () => {
    const jwt = signJwt(claims({ preferred_username: 'x' }), { alg: 'HS256', key: r1.pem, kid: 'r1' });
    expect401Bearer(await tokenRequest(srv, bearer(jwt)), /algorithm not allowed: 'HS256'/);
  });
});

// ----------------------------------------------- HS and RS configured together

describe('HS256 + RS256 configured together: HS is only ever checked with the secret', () => {
  let srv, rsa;
  before(async () => {
    rsa = genKey('RS256');
    srv = await start(baseConfig({
      upstream_jwt: { issuer: ISS, audience: AUD, algorithms: ['HS256', 'RS256'], secret: HS_SECRET,
                      public_keys: ['rsa.pem'] },
      agents: PROBE_PROFILE, rules: RULES,
    }), { files: { 'rsa.pem': rsa.pem } });
  });

  test('HS256 with the secret and RS256 with the key are both accepted', async () => {
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'h' }), { alg: 'HS256', key: HS_SECRET })),
      { room_name: 'jwt-1' }), { identity: 'h' });
    expectToken(await tokenRequest(srv, bearer(signJwt(claims({ sub: 'r' }), { alg: 'RS256', key: rsa.privateKey })),
      { room_name: 'jwt-1' }), { identity: 'r' });
  });

  test('HS256 signed with the RSA public key PEM as the secret → 401 signature', async () => {
    for (const secret of [rsa.pem, rsa.pem.trim()]) {
      const jwt = signJwt(claims({ sub: 'attacker' }), { alg: 'HS256', key: secret });
      expect401Bearer(await tokenRequest(srv, bearer(jwt)), /signature does not verify/);
    }
  });

  test('HS384 is not configured here → 401', async () => {
    expect401Bearer(await tokenRequest(srv, bearer(signJwt(claims(), { alg: 'HS384', key: HS_SECRET }))),
      /algorithm not allowed: 'HS384'/);
  });
});

// ----------------------------------------------------------- config checks

describe('upstream_jwt config is checked', () => {
  const up = (u) => baseConfig({ upstream_jwt: u, rules: RULES, agents: PROBE_PROFILE });
  test('bad configs are refused with a message', () => {
    const cases = [
      [{ issuer: ISS, secret: 's' }, /algorithms is required/],
      [{ algorithms: ['none'], secret: 's' }, /'none' is not one of/],
      [{ algorithms: ['hs256'], secret: 's' }, /'hs256' is not one of/],
      [{ algorithms: ['PS256'], public_keys: ['k.pem'] }, /'PS256'/],
      [{ algorithms: ['HS256'] }, /need secret/],
      [{ algorithms: ['RS256'] }, /need public_keys, jwks_file or jwks_url/],
      [{ algorithms: ['RS256'], secret: 's', jwks_url: 'http://127.0.0.1:9/c' }, /secret is set but no HS/],
      [{ algorithms: ['RS256'], jwks_url: 'file:///etc/passwd' }, /http\(s\) URL/],
      [{ algorithms: ['RS256'], public_keys: ['missing.pem'] }, /missing\.pem/],
      [{ algorithms: ['RS256'], public_keys: ['k.pem'], issuer: ISS, unknown: 1 }, /unknown/],
    ];
    const rsa = genKey('RS256');
    for (const [u, re] of cases) {
      const r = configCheck(up(u), { 'k.pem': rsa.pem });
      assert.equal(r.ok, false, `config ${JSON.stringify(u)} must be refused`);
      assert.match(r.err, re, `config ${JSON.stringify(u)}`);
    }
    assert.equal(configCheck(up({ algorithms: ['RS256'], public_keys: ['k.pem'] }), { 'k.pem': rsa.pem }).ok, true);
  });
});

