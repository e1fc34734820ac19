// A certified OpenID provider (npm oidc-provider) on loopback for roomgate's
// tests: one client, `roomgate-test`, that gets RFC 9068 JWT access tokens
// for audience `roomgate` with the client credentials grant and a resource
// indicator (RFC 8707). Its signing keys come from jose, so that a test can
// rotate them (a new Provider with the new key set takes over the same port
// without dropping a request) and sign tokens of its own with them.
import http from 'node:http';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, decodeProtectedHeader } from 'jose';

export const CLIENT_ID = 'roomgate-test';
const CLIENT_SECRET = 'roomgate-test-secret-0123456789abcdef';
export const RESOURCE = 'urn:roomgate';
const OTHER_RESOURCE = 'urn:other-api';

// A signing key: {kid, alg, privateKey (KeyLike), jwk (private JWK for the provider)}.
export async function newKey(kid, alg = 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

function provider(issuer, keys, claims) {
  const p = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], id_token_signed_response_alg: keys[0].alg,
    }],
    jwks: { keys: keys.map((k) => k.jwk) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'rooms',
          audience: resource === RESOURCE ? 'roomgate' : 'other-api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: keys[0].alg } },
        }),
      },
    },
    extraTokenClaims: () => claims,
    cookies: { keys: ['roomgate-test-cookie-key'] },
    ttl: { ClientCredentials: 300 },
  });
  p.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  return p;
}

// Starts a provider for `issuer` on `port` (0: a free one; the issuer may
// then be given as a function of the port). `listen: false` builds it
// without taking the port (a provider "down at start"); `mint` serves it on
// a port of its own as well, so tokens can be had while the issuer's port is
// closed. Returns a handle to mint tokens, swap keys, count requests, stop.
export async function startIdp({ issuer, port = 0, keys, claims = {}, listen = true, mint = false }) {
  const state = { requests: [], handler: null, provider: null };
  const serve = (req, res) => {
    state.requests.push(req.url);
    state.handler(req, res);
  };
  const server = http.createServer(serve);
  const mintServer = mint ? http.createServer(serve) : null;
  let iss = issuer;
  if (listen) {
    await new Promise((r) => server.listen(port, '127.0.0.1', r));
    port = server.address().port;
  }
  if (typeof issuer === 'function') iss = issuer(port);
  const setKeys = (ks) => {
    state.provider = provider(iss, ks, claims);
    state.handler = state.provider.callback();
  };
  setKeys(keys);
  if (mintServer) await new Promise((r) => mintServer.listen(0, '127.0.0.1', r));
  const tokenUrl = () => `http://127.0.0.1:${(mintServer || server).address().port}/token`;
  return {
    issuer: iss, port, state,
    // The new key set is served from the next request on (the first key signs).
    setKeys,
    // A client credentials access token (JWT) for `resource`.
    async token(resource = RESOURCE) {
      const res = await fetch(tokenUrl(), {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: 'Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'rooms' }),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`oidc-provider /token ${res.status}: ${JSON.stringify(body)}`);
      if (body.token_type !== 'Bearer') throw new Error(`token_type ${body.token_type}`);
      return body.access_token;
    },
    otherToken() { return this.token(OTHER_RESOURCE); },
    kidOf: (jwt) => decodeProtectedHeader(jwt).kid,
    jwksFetches: () => state.requests.filter((u) => u.startsWith('/jwks')).length,
    async listen() {
      await new Promise((r, j) => { server.once('error', j); server.listen(port, '127.0.0.1', r); });
    },
    async close() {
      for (const s of [server, mintServer]) {
        if (!s || !s.listening) continue;
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

// A free loopback port (nothing listens on it when this returns).
export async function freePort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
