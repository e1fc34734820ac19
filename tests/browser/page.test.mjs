// roomgate's web page in headless Debian Chromium, driven by playwright-core.
//
//   cd tests/browser && ROOMGATE_BIN=../../build/roomgate ROOMGATE_WEB=../../web \
//     SCREENSHOT_DIR=../../build/screenshots node --test page.test.mjs
//
// Starts `roomgate serve --dev` on a free loopback port with LIVEKIT_URL set to
// a loopback port nothing listens on (so "Join" fails the same way everywhere),
// then walks the page as a person would and saves screenshots.
//
// Console policy (lib.mjs): every console error and uncaught page error fails the test,
// except messages Chromium itself logs for network failures the test causes
// on purpose, each allowed only during its own step:
//   - "Failed to load resource: the server responded with a status of 401"
//     while a wrong password / a bad bearer token is tried (Chromium logs every
//     non-2xx fetch; the page handles the response and shows a message);
//   - "WebSocket connection to 'ws://127.0.0.1:<port>/rtc...' failed" and
//     "Failed to load resource: net::ERR_CONNECTION_REFUSED" for that same
//     port while "Join" tries to reach the absent LiveKit server;
//   - "Failed to load resource: the server responded with a status of 502" for
//     DELETE /v1/sessions/{room} while "End" asks roomgate to end a room on the
//     absent LiveKit server.
//
// The live-sessions steps play LiveKit's part too: they POST webhooks signed
// as livekit-server --dev signs them to roomgate's /livekit/webhook.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  WEB, SHOTS, here, apiLogin, atPhoneWidth, axeClean, checkPrerequisites, freePort, httpStatus, jwtClaims, noHorizontalScroll,
  openBrowser, sendWebhook, startRoomgate,
} from './lib.mjs';

let roomgate;        // startRoomgate(): the child process and its log
let base;            // http://127.0.0.1:PORT
// The page also lists sessions (GET) after sign-in and after each change: a wait for the
// answer to Start session must name the method.
const sessionsPost = (r) => r.url() === `${base}/v1/sessions` && r.request().method() === 'POST';
const sessionsGet = (r) => r.url() === `${base}/v1/sessions` && r.request().method() === 'GET';
let livekitPort;     // a loopback port with no LiveKit server
let browser;         // openBrowser(): context, page, watch
let page;
let watch;           // console policy
const http401 = httpStatus(401, (url) => url.startsWith(`${base}/v1/`));

before(async () => {
  checkPrerequisites();
  livekitPort = await freePort();
  roomgate = await startRoomgate(['--dev', '--web', WEB], { LIVEKIT_URL: `ws://127.0.0.1:${livekitPort}` });
  base = roomgate.base;
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser({ permissions: ['clipboard-read', 'clipboard-write'], origin: base });
  ({ page, watch } = browser);
});

after(async () => {
  await browser?.close();
  await roomgate?.stop();
});

test('vendored livekit-client is the locked npm package, unchanged', () => {
  const vendored = join(WEB, 'vendor/livekit-client.esm.js');
  const npmFile = join(here, 'node_modules/livekit-client/dist/livekit-client.esm.mjs');
  const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const lockVersion = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'))
    .packages['node_modules/livekit-client'].version;
  assert.equal(sha(vendored), sha(npmFile), 'web/vendor differs from node_modules: run scripts/vendor-web');
  assert.match(readFileSync(join(WEB, 'vendor/VERSION'), 'utf8'), new RegExp(`^livekit-client ${lockVersion.replace(/\./g, '\\.')}\\n`));
  assert.match(readFileSync(join(WEB, 'vendor/VERSION'), 'utf8'), new RegExp(`sha256 ${sha(npmFile)}`));
});

test('the page loads from roomgate with no console errors and shows the dev hint', async () => {
  const res = await page.goto(`${base}/`);
  assert.equal(res.status(), 200);
  await page.waitForLoadState('networkidle');
  assert.equal(await page.title(), 'roomgate');
  assert.ok(await page.isVisible('#login-form'));
  assert.match(await page.textContent('#dev-hint'), /demo.*\/.*demo/s);
  // Served from loopback, the app never loads anything from elsewhere.
  const hosts = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).host));
  for (const host of hosts) assert.equal(`http://${host}`, base);
  await page.screenshot({ path: join(SHOTS, 'signin.png') });
  await axeClean(page, 'signed out');
  watch.check('load');
});

test('a wrong password shows a readable error, not raw JSON (keyboard only)', async () => {
  watch.allowed = [http401];
  await page.focus('#username');
  await page.keyboard.type('demo');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'login-submit', 'Tab reaches the sign-in button');
  const response = page.waitForResponse((r) => r.url().endsWith('/v1/login'));
  await page.keyboard.press('Enter');
  assert.equal((await response).status(), 401);
  const alert = page.locator('#signin-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.match(text, /Sign-in failed/);
  assert.match(text, /Invalid user name or password\./);
  assert.doesNotMatch(text, /[{}"]/, 'no raw JSON');
  assert.equal(await alert.getAttribute('role'), 'alert');
  assert.ok(await page.isVisible('#login-form'), 'still on the sign-in form');
  await page.screenshot({ path: join(SHOTS, 'signin-error.png') });
  watch.check('wrong password');
  watch.allowed = [];
});

test('sign in as demo/demo: Tab to the button, Enter submits; profiles list "assistant"', async () => {
  await page.fill('#password', 'demo');
  await page.focus('#password');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'login-submit');
  await page.keyboard.press('Enter');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  assert.ok(await page.isHidden('#signin-view'));
  assert.ok(await page.isHidden('#signin-error'));
  assert.match(await page.textContent('#who-name'), /Demo User/);
  const profile = page.locator('.profile[data-profile="assistant"]');
  await profile.waitFor();
  assert.match(await profile.innerText(), /assistant/);
  assert.match(await profile.innerText(), /Demo assistant/);
  assert.ok(await profile.locator('input[type=radio]').isChecked());
  // The roomgate token is kept for this tab only, and survives a reload.
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('roomgate.auth'), l: localStorage.length }));
  assert.ok(stored.s && JSON.parse(stored.s).token);
  assert.equal(stored.l, 0);
  await page.reload();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('.profile[data-profile="assistant"]').waitFor();
  // The signed-in page has its own h1 (the sign-in form's is hidden now).
  assert.equal(await page.locator('h1:visible').count(), 1);
  assert.equal(await page.locator('h1:visible').innerText(), 'Start an agent session');
  // The dev rule has no limits: no limits box.
  assert.ok(await page.isHidden('#limits'));
  watch.check('sign in');
});

let session; // the API's answer to POST /v1/sessions

test('start a session with language=fr: room, agents and token on screen match the API', async () => {
  await page.fill('.meta-row .meta-key', 'language');
  await page.fill('.meta-row .meta-value', 'fr');
  await page.fill('#participant-name', 'Browser Test');
  const response = page.waitForResponse(sessionsPost);
  await page.click('#start-session');
  const res = await response;
  assert.equal(res.status(), 201);
  assert.deepEqual(JSON.parse(res.request().postData()),
    { agents: ['assistant'], metadata: { language: 'fr' }, participant_name: 'Browser Test' });
  session = await res.json();
  await page.locator('#result').waitFor({ state: 'visible' });

  assert.equal(await page.textContent('#room-name'), session.room_name);
  assert.equal(await page.textContent('#server-url'), session.server_url);
  assert.equal(await page.textContent('#identity'), 'demo');
  assert.match(await page.textContent('#expiry'), /^expires in \d+:\d\d$/);

  // The token on screen is the API's; decode it here, independently of the page.
  const token = await page.getAttribute('#token', 'data-token');
  assert.equal(token, session.participant_token);
  assert.equal(await page.textContent('#token'), token);
  const claims = jwtClaims(token);
  assert.equal(claims.video.room, session.room_name);
  const tokenAgents = claims.roomConfig.agents;
  assert.equal(tokenAgents.length, 1);

  const shown = await page.$$eval('#agents li.agent', (lis) => lis.map((li) => ({
    name: li.dataset.agentName,
    nameText: li.querySelector('.agent-name').textContent,
    metadata: li.querySelector('.agent-metadata').textContent,
  })));
  assert.equal(shown.length, tokenAgents.length);
  for (const [i, a] of tokenAgents.entries()) {
    assert.equal(shown[i].name, a.agentName);
    assert.equal(shown[i].nameText, a.agentName);
    assert.deepEqual(JSON.parse(shown[i].metadata), JSON.parse(a.metadata), 'metadata on screen = token metadata');
    assert.equal(shown[i].metadata, JSON.stringify(JSON.parse(a.metadata), null, 2), 'pretty-printed');
  }
  const meta = JSON.parse(tokenAgents[0].metadata);
  assert.equal(tokenAgents[0].agentName, 'assistant');
  assert.equal(meta.user_id, 'demo');
  assert.equal(meta.language, 'fr');
  assert.equal(meta.room, session.room_name);

  // The decoded claims are shown, with roomConfig highlighted.
  const claimsText = await page.textContent('#claims');
  assert.match(claimsText, /"sub": "demo"/);
  const marked = await page.textContent('#claims mark');
  assert.match(marked, /"roomConfig": \{/);
  assert.match(marked, /"agentName": "assistant"/);

  // A ready curl command for the same request, with a placeholder for the sign-in token:
  // that token is nowhere on the page.
  const curl = await page.textContent('#curl');
  assert.ok(curl.includes(`${base}/v1/sessions`), curl);
  assert.ok(curl.includes('-H "Authorization: Bearer $ROOMGATE_TOKEN"'), curl);
  const signin = await page.evaluate(() => JSON.parse(sessionStorage.getItem('roomgate.auth')).token);
  await page.$$eval('#result details', (ds) => ds.forEach((d) => { d.open = true; }));
  assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(signin), 'the sign-in token is shown');
  assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(signin.split('.')[2]), 'its signature is shown');
  await page.$$eval('#result details:not(#claims-details)', (ds) => ds.forEach((d) => { d.open = false; }));
  assert.ok(curl.includes(`-d '${JSON.stringify({ agents: ['assistant'], metadata: { language: 'fr' }, participant_name: 'Browser Test' })}'`));

  // Copy buttons put exactly that text on the clipboard.
  await page.click('#copy-token');
  await page.locator('#copy-status', { hasText: 'Token copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  await page.click('#copy-curl');
  await page.locator('#copy-status', { hasText: 'curl command copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
  await axeClean(page, 'signed in, a session started');
  watch.check('start session');
});

test('Join with no LiveKit server reachable shows a clear message', async () => {
  const wsUrl = `ws://127.0.0.1:${livekitPort}`;
  assert.equal(session.server_url, wsUrl);
  const port = String(livekitPort).replace(/\D/g, '');
  const wsFailed = new RegExp(`^WebSocket connection to 'ws://127\\.0\\.0\\.1:${port}/rtc[^']*' failed`);
  watch.allowed = [
    (p) => wsFailed.test(p.text),
    (p) => p.text === 'Failed to load resource: net::ERR_CONNECTION_REFUSED' &&
      p.url.startsWith(`http://127.0.0.1:${port}/rtc`),
  ];
  const t0 = Date.now();
  await page.click('#join');
  const alert = page.locator('#join-error');
  await alert.waitFor({ state: 'visible', timeout: 30_000 });
  const text = await alert.innerText();
  assert.match(text, new RegExp(`No LiveKit server reachable at ${wsUrl.replace(/\./g, '\\.')}`));
  assert.match(text, /livekit-server --dev/);
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'failed');
  assert.ok(await page.isVisible('#join'), 'Join can be tried again');
  assert.ok(await page.isEnabled('#join'));
  assert.ok(Date.now() - t0 < 30_000);
  // Only the expected messages, and no uncaught errors from livekit-client.
  const unexpected = watch.problems.filter((p) => !watch.isAllowed(p));
  assert.deepEqual(unexpected, []);
  const failedToLoad = watch.problems.filter((p) => /^Failed to load resource/.test(p.text));
  // ERR_CONNECTION_REFUSED is allowed only for LiveKit's own validate request.
  assert.ok(failedToLoad.length <= 2, JSON.stringify(failedToLoad));
  // Everything a developer can unfold, unfolded, for the person looking at it.
  await page.$$eval('#result details', (ds) => ds.forEach((d) => { d.open = true; }));
  await page.screenshot({ path: join(SHOTS, 'desktop.png'), fullPage: true });
  await page.$$eval('#result details:not(#claims-details)', (ds) => ds.forEach((d) => { d.open = false; }));
  watch.check('join');
  watch.allowed = [];
});

test('phone width (390x844): no horizontal scroll, screenshot', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const m = await noHorizontalScroll(page);
  assert.ok(m.scrollWidth <= m.clientWidth, `horizontal scroll at 390 px: ${JSON.stringify(m)}`);
  await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
  // Signing out ends the session token on the server too (POST /v1/logout).
  const ended = await page.evaluate(() => JSON.parse(sessionStorage.getItem('roomgate.auth')).token);
  const logout = page.waitForResponse((r) => r.url().endsWith('/v1/logout'));
  await page.click('#signout');
  assert.equal((await logout).status(), 200);
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  const after = await fetch(`${base}/v1/profiles`, { headers: { Authorization: `Bearer ${ended}` } });
  assert.equal(after.status, 401, 'the token still works after sign out');
  assert.match((await after.json()).error.message, /session has ended/);
  const m2 = await noHorizontalScroll(page);
  assert.ok(m2.scrollWidth <= m2.clientWidth, `horizontal scroll at 390 px (sign-in): ${JSON.stringify(m2)}`);
  await page.screenshot({ path: join(SHOTS, 'phone-signin.png'), fullPage: true });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('roomgate.auth')), null, 'sign out forgets the token');
  await page.setViewportSize({ width: 1280, height: 900 });
  watch.check('phone');
});

test('sign in by pasting a bearer token; a bad one is refused readably', async () => {
  watch.allowed = [http401];
  await page.click('#paste-token summary');
  await page.fill('#bearer', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtc2lnbmF0dXJl');
  await page.click('#token-submit');
  const alert = page.locator('#signin-error');
  await alert.waitFor({ state: 'visible' });
  assert.match(await alert.innerText(), /Token not accepted/);
  assert.doesNotMatch(await alert.innerText(), /[{}"]/);
  watch.check('bad bearer token');
  watch.allowed = [];

  const access = await apiLogin(base);
  await page.fill('#bearer', `Bearer ${access}`);
  await page.focus('#bearer');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token-submit');
  await page.keyboard.press('Enter');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('.profile[data-profile="assistant"]').waitFor();
  assert.match(await page.textContent('#who-meta'), /via session/);
  // And the session works with it.
  const response = page.waitForResponse(sessionsPost);
  await page.click('#start-session');
  assert.equal((await response).status(), 201);
  await page.locator('#result').waitFor({ state: 'visible' });
  assert.ok(!(await page.textContent('#curl')).includes(access), 'the pasted token in the curl command');
  assert.match(await page.textContent('#curl'), /Bearer \$ROOMGATE_TOKEN/);
  watch.check('bearer token');
});

test('another agent name (policy allows any): keyboard selects it; the token dispatches it', async () => {
  const other = page.locator('.profile[data-profile="assistant"] input[type=radio]');
  await other.focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.isEnabled('#other-agent'), true);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'other-agent');
  await page.keyboard.type('my-agent');
  // Duplicate field names are caught before anything is sent.
  await page.fill('.meta-row .meta-key', 'topic');
  await page.fill('.meta-row .meta-value', 'billing');
  await page.click('#add-field');
  await page.keyboard.type('topic');
  await page.click('#start-session');
  const alert = page.locator('#session-error');
  await alert.waitFor({ state: 'visible' });
  assert.match(await alert.innerText(), /The field "topic" is set twice\./);
  await page.click('.meta-row:nth-child(2) button[aria-label="Remove field"]');
  const response = page.waitForResponse(sessionsPost);
  await page.click('#start-session');
  const res = await response;
  assert.equal(res.status(), 201);
  assert.deepEqual(JSON.parse(res.request().postData()).agents, ['my-agent']);
  await page.locator('#agents li.agent[data-agent-name="my-agent"]').waitFor();
  assert.ok(await page.isHidden('#session-error'));
  const claims = jwtClaims(await page.getAttribute('#token', 'data-token'));
  assert.equal(claims.roomConfig.agents[0].agentName, 'my-agent');
  assert.deepEqual(JSON.parse(await page.textContent('#agents .agent-metadata')), JSON.parse(claims.roomConfig.agents[0].metadata));
  assert.equal(JSON.parse(claims.roomConfig.agents[0].metadata).topic, 'billing');
  watch.check('another agent');
});

let live; // { room, info }: the session made live by webhooks
test('live sessions: a session shows up once LiveKit reports its room, with participants and agents', async () => {
  const card = page.locator('#sessions-card');
  assert.equal(await card.locator('h2').innerText(), 'Your live sessions');
  // Sessions started so far were never joined: none is live.
  await page.locator('#sessions-empty').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#sessions-empty'), /No live sessions/);
  assert.equal(await page.locator('#sessions li.live-session').count(), 0);

  // Start one through the page; the page refreshes the list right after.
  await page.check('.profile[data-profile="assistant"] input[type=radio]');
  const created = page.waitForResponse(sessionsPost);
  const listed = page.waitForResponse(sessionsGet);
  await page.click('#start-session');
  const res = await created;
  assert.equal(res.status(), 201);
  const room = (await res.json()).room_name;
  assert.equal((await listed).status(), 200);
  assert.equal(await page.textContent('#room-name'), room);
  assert.ok(await page.isVisible('#sessions-empty'), 'not live before LiveKit says so');

  // LiveKit creates the room when someone joins, and tells roomgate.
  const info = { sid: `RM_${randomBytes(6).toString('hex')}`, name: room, creationTime: String(Math.floor(Date.now() / 1000)) };
  live = { room, info };
  await sendWebhook(base, { event: 'room_started', room: info });
  await sendWebhook(base, { event: 'participant_joined', room: info, participant: { sid: 'PA_1', identity: 'demo', name: 'Demo User', state: 'ACTIVE' } });
  const refreshed = page.waitForResponse(sessionsGet);
  await page.click('#sessions-refresh');
  assert.equal((await refreshed).status(), 200);
  const row = page.locator('#sessions li.live-session');
  await row.waitFor();
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-room'), room);
  assert.equal(await row.locator('.live-room').innerText(), room);
  assert.equal(await row.locator('.live-count').innerText(), '1 participant');
  assert.match(await row.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  assert.ok(await page.isHidden('#sessions-empty'));
  const agent = row.locator('.live-agent[data-agent-name="assistant"]');
  assert.equal(await agent.getAttribute('data-running'), 'false');
  assert.match(await agent.innerText(), /assistant\s*not running/);
  const end = row.getByRole('button', { name: `End session ${room}` });
  assert.equal(await end.innerText(), 'End');
  assert.equal(await page.textContent('#sessions-status'), '1 live session');

  // The agent's job starts: the next refresh shows it running.
  await sendWebhook(base, { event: 'agent_job_started', room: info, job: { id: 'AJ_1', agentName: 'assistant', room: info } });
  await page.click('#sessions-refresh');
  await row.locator('.live-agent[data-running="true"]').waitFor();
  assert.match(await agent.innerText(), /assistant\s*running/);
  assert.ok(await page.isHidden('#sessions-error'));
  await card.screenshot({ path: join(SHOTS, 'sessions.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await card.screenshot({ path: join(SHOTS, 'sessions-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  watch.check('live sessions');
});

test('End with no LiveKit server reachable: the 502 message once, and the row stays', async () => {
  const { room } = live;
  const url = `${base}/v1/sessions/${encodeURIComponent(room)}`;
  watch.allowed = [httpStatus(502, url)];
  const row = page.locator('#sessions li.live-session');
  const ended = page.waitForResponse((r) => r.url() === url && r.request().method() === 'DELETE');
  const relisted = page.waitForResponse(sessionsGet);
  await row.getByRole('button', { name: `End session ${room}` }).click();
  const res = await ended;
  assert.equal(res.status(), 502);
  assert.equal((await res.json()).error.code, 'livekit_unreachable');
  await relisted; // the page refreshes the list after End, whatever the answer
  const alert = page.locator('#sessions-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.equal(await alert.getAttribute('role'), 'alert');
  assert.match(text, new RegExp(`Could not end ${room}`));
  assert.match(text, new RegExp(`LiveKit API at http://127\\.0\\.0\\.1:${livekitPort}`));
  assert.match(text, /livekit_unreachable · HTTP 502/);
  assert.doesNotMatch(text, /[{}"]/, 'no raw JSON');
  const once = () => page.evaluate(() => document.body.innerText.split('livekit_unreachable').length - 1);
  assert.equal(await once(), 1, 'the message is on the page once');
  // The room is still live (roomgate could not end it): the row stays, ready to try again.
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-room'), room);
  const end = row.locator('.live-end');
  assert.equal(await end.innerText(), 'End');
  assert.ok(await end.isEnabled());
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), `End session ${room}`);
  // A periodic refresh keeps it so, and the message once.
  assert.equal((await page.waitForResponse(sessionsGet, { timeout: 15_000 })).status(), 200);
  await page.waitForTimeout(100);
  assert.equal(await once(), 1);
  assert.equal(await row.count(), 1);
  await page.locator('#sessions-card').screenshot({ path: join(SHOTS, 'sessions-end-failed.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator('#sessions-card').screenshot({ path: join(SHOTS, 'sessions-end-failed-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  await atPhoneWidth(page, 'live sessions', () => page.locator('#sessions-card').screenshot({ path: join(SHOTS, 'sessions-phone.png') }));
  watch.check('end session');
  watch.allowed = [];
});

test('room_finished from LiveKit: the row goes on the next refresh', async () => {
  await sendWebhook(base, { event: 'room_finished', room: live.info });
  // The page's own periodic refresh (every 10 s), no click: the first one asked after the webhook.
  const req = await page.waitForRequest((r) => r.url() === `${base}/v1/sessions` && r.method() === 'GET', { timeout: 15_000 });
  const res = await req.response();
  assert.deepEqual((await res.json()).sessions, []);
  await page.locator('#sessions-empty').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#sessions li.live-session').count(), 0);
  assert.ok(await page.isHidden('#sessions-error'), 'the failed End\'s message went with its room');
  assert.equal(await page.textContent('#sessions-status'), 'No live sessions');
  watch.check('room finished');
});

test('the server never logged a token', () => {
  assert.ok(session);
  assert.ok(!roomgate.log().includes(session.participant_token), 'participant token in the server log');
  assert.ok(!roomgate.log().includes(session.participant_token.split('.')[2]), 'token signature in the server log');
});
