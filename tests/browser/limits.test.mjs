// The caller's limits on the page (issue quotas), and 429 messages said once, in headless
// Debian Chromium.
//
//   cd tests/browser && ROOMGATE_BIN=../../build/roomgate ROOMGATE_WEB=../../web \
//     SCREENSHOT_DIR=../../build/screenshots node --test limits.test.mjs
//
// roomgate runs from a config file with two rules that have limits (as
// tests/integration/test_quotas.py configures them): ada may hold 2 live sessions with
// agents (and has every other limit), bob may start 1 session per hour. No LiveKit is
// needed: a session holds its place from the moment its token is issued. Last, ten failed
// logins from this address make the page's next sign-in a 429 rate_limited.
//
// Console policy: lib.mjs; Chromium's message for each 429 (and the 401s of the failed
// logins) is allowed in its own step only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  WEB, SHOTS, addUser, atPhoneWidth, axeClean, checkPrerequisites, freePort, httpStatus, openBrowser,
  startRoomgate, tempDir,
} from './lib.mjs';

const USERS = { ada: 'ada-password-1', bob: 'bob-password-2' };

let roomgate;
let base;
let tmp;
let browser;
let page;
let watch;

const bodyText = () => page.evaluate(() => document.body.innerText);
const count = (text, what) => text.split(what).length - 1;
const sessionsPost = (r) => r.url() === `${base}/v1/sessions` && r.request().method() === 'POST';

async function signIn(user) {
  await page.fill('#username', user);
  await page.fill('#password', USERS[user]);
  await page.click('#login-submit');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('.profile[data-profile="assistant"]').waitFor();
}

async function signOut() {
  await page.click('#signout');
  await page.locator('#signin-view').waitFor({ state: 'visible' });
}

async function startSession(status) {
  const res = page.waitForResponse(sessionsPost);
  await page.click('#start-session');
  const r = await res;
  assert.equal(r.status(), status);
  return r;
}

// The limits box as text rows, keyed by limit.
const limitsShown = () => page.$$eval('#limits-list .limit', (rows) => Object.fromEntries(rows.map((r) =>
  [r.dataset.limit, { label: r.querySelector('dt').textContent, value: r.querySelector('dd').textContent, full: r.dataset.full }])));

// The figures on the page are the API's.
async function apiLimits() {
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('roomgate.auth')).token);
  const res = await fetch(`${base}/v1/profiles`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).limits;
}

// "in 10 minutes (at 08:52 AM)" for a wait of `secs` from now, as the page words it (en-US).
const AT = '\\(at \\d\\d:\\d\\d [AP]M\\)';
function waitWords(secs) {
  return new RegExp(`in ${Math.ceil(secs / 60)} minutes ${AT}`);
}

before(async () => {
  checkPrerequisites();
  tmp = tempDir('roomgate-limits-');
  const users = tmp.file('users.txt');
  addUser(users, 'ada', USERS.ada, 'Ada', ['metered']);
  addUser(users, 'bob', USERS.bob, 'Bob', ['hourly']);
  const rule = (name, limits) => ({ name, match: { groups: [name] }, rooms: ['*'], session_rooms: true, agents: ['*'], limits });
  const config = tmp.file('config.json', JSON.stringify({
    livekit: { url: `ws://127.0.0.1:${await freePort()}`, api_key: 'devkey', api_secret: 'secret', reconcile_interval: 0, check_existing_rooms: false },
    users_file: users,
    session: { secret: 'browser-limits-session-secret-0123456789abcdef', ttl: '1h' },
    tokens: { default_ttl: '10m', max_ttl: '1h' },
    rooms: { prefix: 'room-' },
    web_root: WEB,
    agents: { assistant: { agent_name: 'assistant', description: 'Assistant' } },
    rules: [
      rule('metered', { live_sessions: 2, sessions_per_hour: 20, max_session: '30m', empty_timeout: '2m', departure_timeout: '20s' }),
      rule('hourly', { sessions_per_hour: 1 }),
    ],
  }));
  roomgate = await startRoomgate(['--config', config]);
  base = roomgate.base;
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser();
  ({ page, watch } = browser);
});

after(async () => {
  await browser?.close();
  await roomgate?.stop();
  tmp?.remove();
});

test('the limits of the rule and the use of them, beside Start session', async () => {
  await page.goto(`${base}/`);
  await signIn('ada');
  await page.locator('#limits').waitFor({ state: 'visible' });
  assert.equal(await page.innerText('#limits-title'), 'Your limits');
  assert.deepEqual(await limitsShown(), {
    live_sessions: { label: 'Live sessions', value: '0 of 2 in use', full: 'false' },
    sessions_per_hour: { label: 'New sessions per hour', value: '20 of 20 left', full: 'false' },
    max_session: { label: 'Longest session, then ended', value: '30 min', full: 'false' },
    empty_timeout: { label: 'Room closes if nobody joins in', value: '2 min', full: 'false' },
    departure_timeout: { label: 'Room closes after everyone left', value: '20 s', full: 'false' },
  });
  // Right above the button it is about.
  assert.ok(await page.evaluate(() => document.getElementById('limits').nextElementSibling.id === 'start-session'));
  await axeClean(page, 'signed in with limits');
  await page.locator('.session-card').screenshot({ path: join(SHOTS, 'limits.png') });
  watch.check('limits shown');
});

test('each session started counts; the box follows the API', async () => {
  await startSession(201);
  await page.locator('#limits-list [data-limit="live_sessions"] dd', { hasText: '1 of 2 in use' }).waitFor();
  await startSession(201);
  await page.locator('#limits-list [data-limit="live_sessions"] dd', { hasText: '2 of 2 in use' }).waitFor();
  const shown = await limitsShown();
  const api = await apiLimits();
  assert.equal(api.used.live_sessions, 2);
  assert.equal(shown.live_sessions.value, `${api.used.live_sessions} of ${api.live_sessions} in use`);
  assert.equal(shown.live_sessions.full, 'true');
  assert.equal(shown.sessions_per_hour.value, `${api.used.sessions_left} of 20 left`);
  watch.check('sessions counted');
});

test('over live_sessions: the 429 message once, with its wait in words', async () => {
  watch.allowed = [httpStatus(429, `${base}/v1/sessions`)];
  const res = await startSession(429);
  const { error } = await res.json();
  assert.equal(error.code, 'quota_exceeded');
  const retryAfter = Number(res.headers()['retry-after']);
  assert.ok(retryAfter > 60, `Retry-After ${retryAfter}`);
  const alert = page.locator('#session-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.match(text, /^Could not start the session\nLimit reached: /);
  assert.ok(text.includes(error.message.charAt(0).toUpperCase() + error.message.slice(1)), text);
  assert.match(text, /limits\.live_sessions/);
  assert.match(text, /2 live sessions/);
  assert.match(text, new RegExp(`Try again ${waitWords(retryAfter).source}\\.`));
  assert.match(text, /quota_exceeded · HTTP 429/);
  const page1 = await bodyText();
  assert.equal(count(page1, 'limits.live_sessions'), 1, 'the message is on the page once');
  assert.equal(count(page1.toLowerCase(), 'try again'), 1, 'the wait is said once');
  assert.equal(count(page1, 'quota_exceeded'), 1);
  assert.equal(await alert.getAttribute('role'), 'alert');
  await axeClean(page, 'limit reached');
  await page.locator('.session-card').screenshot({ path: join(SHOTS, 'limits-429.png') });
  await atPhoneWidth(page, 'limit reached', () => page.locator('.session-card').screenshot({ path: join(SHOTS, 'limits-429-phone.png') }));
  watch.check('live_sessions 429');
  watch.allowed = [];
});

test('over sessions_per_hour: the wait the message states is put in words, not said twice', async () => {
  await signOut();
  await signIn('bob');
  assert.deepEqual(await limitsShown(), {
    sessions_per_hour: { label: 'New sessions per hour', value: '1 of 1 left', full: 'false' },
  });
  await startSession(201);
  await page.locator('#limits-list [data-limit="sessions_per_hour"][data-full="true"]').waitFor();
  assert.equal((await limitsShown()).sessions_per_hour.value, '0 of 1 left');
  watch.allowed = [httpStatus(429, `${base}/v1/sessions`)];
  const res = await startSession(429);
  const { error } = await res.json();
  const stated = /the next one in (\d+) s/.exec(error.message);
  assert.ok(stated, error.message);
  const alert = page.locator('#session-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.match(text, /limits\.sessions_per_hour/);
  assert.match(text, new RegExp(`the next one ${waitWords(Number(stated[1])).source}\\.`));
  assert.ok(!text.includes(`${stated[1]} s`), 'the wait in seconds as well');
  assert.equal(count((await bodyText()).toLowerCase(), 'try again'), 0, 'the wait twice');
  assert.equal(count(await bodyText(), 'limits.sessions_per_hour'), 1);
  await page.locator('.session-card').screenshot({ path: join(SHOTS, 'limits-429-hourly.png') });
  watch.check('sessions_per_hour 429');
  watch.allowed = [];
});

test('too many failed logins: the rate-limit message once', async () => {
  await signOut();
  // The address's budget (10 failures in 5 minutes), spent from here: same address as Chromium.
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${base}/v1/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'ada', password: `wrong-${i}` }),
    });
    assert.equal(r.status, 401);
  }
  watch.allowed = [httpStatus(429, `${base}/v1/login`)];
  const res = page.waitForResponse((r) => r.url() === `${base}/v1/login`);
  await page.fill('#username', 'ada');
  await page.fill('#password', USERS.ada);
  await page.click('#login-submit');
  const r = await res;
  assert.equal(r.status(), 429);
  const { error } = await r.json();
  assert.equal(error.code, 'rate_limited');
  const alert = page.locator('#signin-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.match(text, new RegExp(`Too many failed logins; try again in 5 minutes ${AT}\\.`));
  assert.equal(count((await bodyText()).toLowerCase(), 'try again'), 1, 'the wait said twice');
  assert.equal(count(await bodyText(), 'rate_limited · HTTP 429'), 1);
  await page.locator('.signin-card').screenshot({ path: join(SHOTS, 'signin-rate-limited.png') });
  watch.check('rate limited');
  watch.allowed = [];
});
