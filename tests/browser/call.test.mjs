// The page as a call screen, in headless Debian Chromium against a real livekit-server.
//
//   cd tests/browser && ROOMGATE_BIN=../../build/roomgate ROOMGATE_WEB=../../web \
//     SCREENSHOT_DIR=../../build/screenshots node --test call.test.mjs
//
// Starts one livekit-server v1.13.5 --dev (keys devkey / secret; installed with `go install`
// when missing, as tests/e2e/run does) on free loopback ports, its webhooks to roomgate, and
// `roomgate serve --dev` pointed at it. Chromium has a fake microphone (a tone) and no
// permission prompt. No agent worker runs, so the dev profile's agent "assistant" never joins.
// The page is opened with ?agent_wait=3 (the documented parameter; 20 s without it) so that
// the "no agent joined" hint comes after 3 s, not 20.
//
// What LiveKit sees is read from its own RoomService API (ListParticipants), not from the page.
// A call ends two ways here: End in the live sessions list (LiveKit's DeleteRoom: the page is
// told ROOM_DELETED) and livekit-server killed (SIGKILL: the connection drops, livekit-client
// retries for about 44 s by its default policy, which the page keeps; the test then runs the
// page's clock fast with Playwright's clock API instead of waiting). A graceful shutdown is
// not a step: livekit-server's forced stop sends SERVER_SHUTDOWN but may exit before the
// message leaves, so the page sees one or the other path at random.
//
// Console policy: lib.mjs; allowed only in their own steps: the 401 that the expired sign-in
// causes, and Chromium's connection-refused messages while livekit-client retries the killed
// server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  WEB, SHOTS, CHROMIUM_MEDIA_ARGS, atPhoneWidth, axeClean, checkPrerequisites, httpStatus, livekitPorts, livekitServerBin,
  openBrowser, roomService, sleep, startLivekit, startRoomgate, tempDir,
} from './lib.mjs';

const AGENT_WAIT_S = 3;

let lkBin;
let lkPorts;         // { port, tcp, udp }: the same again when LiveKit is started anew
let lk;              // startLivekit()
let roomgate;
let base;
let tmp;
let browser;
let page;
let watch;
let room;            // the session's room name
let joinedAt;        // just before Join was clicked: the page's agent wait starts later

async function participants() {
  const res = await roomService(lk.url, 'ListParticipants', { room }, { missing: true });
  return res ? res.participants || [] : []; // null: the room is gone
}

// The microphone track LiveKit has for identity `demo`, polled until `pred` holds.
async function micInLiveKit(pred, what) {
  const deadline = Date.now() + 10_000;
  let seen;
  for (;;) {
    const me = (await participants()).find((p) => p.identity === 'demo');
    seen = me ? (me.tracks || []).filter((t) => t.source === 'MICROPHONE') : null;
    if (pred(seen)) return seen;
    if (Date.now() > deadline) assert.fail(`LiveKit's microphone track never became ${what}: ${JSON.stringify(seen)}`);
    await sleep(150);
  }
}

const micState = () => page.evaluate(() => ({
  pressed: document.getElementById('mute').getAttribute('aria-pressed'),
  label: document.getElementById('mic-state').textContent,
}));

before(async () => {
  checkPrerequisites();
  lkBin = livekitServerBin();
  tmp = tempDir('roomgate-call-');
  // roomgate must know LiveKit's URL and LiveKit roomgate's webhook URL: a port taken before
  // LiveKit binds it means both again, on new ports (three tries, as tests/e2e/run).
  for (let attempt = 1; ; attempt++) {
    lkPorts = await livekitPorts();
    roomgate = await startRoomgate(['--dev', '--web', WEB], { LIVEKIT_URL: `ws://127.0.0.1:${lkPorts.port}` });
    base = roomgate.base;
    try {
      lk = await startLivekit(lkBin, { ...lkPorts, webhook: `${base}/livekit/webhook`, dir: tmp.dir });
      break;
    } catch (err) {
      await roomgate.stop();
      if (attempt === 3 || !/address already in use/.test(err.message)) throw err;
      console.log(`livekit-server did not start on ${JSON.stringify(lkPorts)} (attempt ${attempt}): a port was taken; new ports`);
    }
  }
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser({ args: CHROMIUM_MEDIA_ARGS, permissions: ['microphone'], origin: base });
  ({ page, watch } = browser);
});

after(async () => {
  await browser?.close();
  await lk?.stop();
  await roomgate?.stop();
  tmp?.remove();
});

test('join a real room: the microphone is published, Mute shows its state, the choice box is gone', async () => {
  await page.goto(`${base}/?agent_wait=${AGENT_WAIT_S}`);
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo');
  await page.click('#login-submit');
  await page.locator('.profile[data-profile="assistant"]').waitFor();
  const created = page.waitForResponse((r) => r.url().endsWith('/v1/sessions') && r.request().method() === 'POST');
  await page.click('#start-session');
  room = (await (await created).json()).room_name;
  assert.equal(await page.textContent('#server-url'), lk.ws);
  assert.ok(await page.isChecked('#mic'), 'the microphone is on by default');

  joinedAt = Date.now();
  await page.click('#join');
  await page.locator('#conn-state[data-state="connected"]').waitFor({ timeout: 20_000 });
  const connectedAt = Date.now();
  // Right after joining: waiting for the agent, no hint yet.
  const early = await page.evaluate(() => ({
    hint: document.getElementById('agent-hint').hidden,
    wait: document.querySelector('#participants .participant-wait')?.textContent ?? '',
  }));
  assert.ok(Date.now() - connectedAt < AGENT_WAIT_S * 1000, 'the check came too late to mean anything');
  assert.equal(early.hint, true, 'the no-agent hint before the wait is over');
  assert.match(early.wait, /^Waiting for assistant/);

  // During the call: mute and hang up; Join and the microphone choice are gone.
  assert.ok(await page.isHidden('#join'));
  assert.ok(await page.isHidden('#mic-choice'), 'the microphone choice box shows during the call');
  assert.ok(await page.isVisible('#hangup'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mute');
  await page.locator('#mic-state[data-state="on"]').waitFor();
  assert.deepEqual(await micState(), { pressed: 'false', label: 'Microphone on' });
  const [mic] = await micInLiveKit((t) => t && t.length === 1 && !t[0].muted, 'published and unmuted');
  assert.equal(mic.type, 'AUDIO');
  assert.equal(await page.locator('#participants li[data-identity="demo"]').count(), 1);
  await page.screenshot({ path: join(SHOTS, 'call.png'), fullPage: true });
  await axeClean(page, 'in a call');
  watch.check('join');
});

test('Mute mutes the published track in LiveKit, Unmute unmutes it (keyboard)', async () => {
  await page.focus('#mute');
  await page.keyboard.press('Enter');
  await page.locator('#mute[aria-pressed="true"]').waitFor();
  assert.deepEqual(await micState(), { pressed: 'true', label: 'Microphone muted' });
  const [muted] = await micInLiveKit((t) => t && t.length === 1 && t[0].muted === true, 'muted');
  await page.locator('#room-panel').screenshot({ path: join(SHOTS, 'call-muted.png') });

  await page.keyboard.press('Space');
  await page.locator('#mute[aria-pressed="false"]').waitFor();
  assert.deepEqual(await micState(), { pressed: 'false', label: 'Microphone on' });
  const [unmuted] = await micInLiveKit((t) => t && t.length === 1 && !t[0].muted, 'unmuted');
  assert.equal(unmuted.sid, muted.sid, 'the same track, muted and unmuted, not a new one');
  watch.check('mute');
});

test('no agent joins: after the wait the page says so and what it takes', async () => {
  const hint = page.locator('#agent-hint');
  await hint.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok(Date.now() - joinedAt >= AGENT_WAIT_S * 1000, 'the hint came before the wait was over');
  const text = await hint.innerText();
  assert.match(text, /No agent joined/);
  assert.match(text, new RegExp(`within ${AGENT_WAIT_S} s`));
  assert.match(text, /agent worker that is running and registered under the agent name “assistant”/);
  assert.match(text, /start a new session/);
  assert.equal(await hint.getAttribute('role'), 'status');
  assert.equal(await page.locator('#participants .participant-wait').count(), 0, 'still "Waiting for" beside the hint');
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'connected', 'the call goes on');
  await page.screenshot({ path: join(SHOTS, 'call-no-agent.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(250); // the buttons' colour transitions
  await page.locator('#room-panel').screenshot({ path: join(SHOTS, 'call-no-agent-dark.png') });
  await axeClean(page, 'in a call, no agent, dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await atPhoneWidth(page, 'in a call', () => page.locator('#room-panel').screenshot({ path: join(SHOTS, 'call-phone.png') }));
  watch.check('no agent');
});

test('a 401 during the call (sign-in ended) leaves the call up; the next action asks to sign in again', async () => {
  const signin = await page.evaluate(() => JSON.parse(sessionStorage.getItem('roomgate.auth')).token);
  const out = await fetch(`${base}/v1/logout`, {
    method: 'POST', headers: { Authorization: `Bearer ${signin}`, 'Content-Type': 'application/json' }, body: '{}',
  });
  assert.equal(out.status, 200);
  watch.allowed = [httpStatus(401, `${base}/v1/sessions`)];
  const refused = page.waitForResponse((r) => r.url() === `${base}/v1/sessions` && r.request().method() === 'GET');
  await page.click('#sessions-refresh');
  assert.equal((await refused).status(), 401);
  const banner = page.locator('#auth-lost');
  await banner.waitFor({ state: 'visible' });
  assert.match(await banner.innerText(), /Your sign-in has expired/);
  assert.match(await banner.innerText(), /Your call goes on/);
  assert.match(await banner.innerText(), /session has ended/);
  assert.equal(await banner.getAttribute('role'), 'alert');
  // Still in the call, in the page and in LiveKit; still signed in as far as the page shows.
  await sleep(500);
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'connected');
  assert.ok(await page.isVisible('#hangup'));
  assert.ok(await page.isVisible('#app-view'));
  assert.ok(await page.isHidden('#signin-view'));
  assert.equal((await participants()).filter((p) => p.identity === 'demo').length, 1);
  await micInLiveKit((t) => t && t.length === 1 && !t[0].muted, 'still published');
  await page.screenshot({ path: join(SHOTS, 'call-signin-expired.png') });
  watch.check('401 in a call');
  watch.allowed = [];

  // The next action (Start session) asks to sign in first, and sends nothing.
  let posted = 0;
  const count = (r) => { if (r.url().endsWith('/v1/sessions') && r.method() === 'POST') posted++; };
  page.on('request', count);
  await page.click('#start-session');
  const dialog = page.locator('#reauth');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(posted, 0, 'Start session went to roomgate with an ended sign-in');
  assert.equal(await page.inputValue('#username'), 'demo');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await axeClean(page, 'sign in again, dialog open');
  await page.screenshot({ path: join(SHOTS, 'call-signin-again.png') });
  await page.keyboard.type('demo');
  const listed = page.waitForResponse((r) => r.url() === `${base}/v1/sessions` && r.request().method() === 'GET');
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await listed).status(), 200, 'the sessions list works again with the new sign-in');
  assert.ok(await page.isHidden('#auth-lost'));
  assert.equal(posted, 0);
  page.off('request', count);
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'connected', 'signing in again ended the call');
  assert.equal(await page.textContent('#room-name'), room);
  assert.ok(await page.isVisible('#signin-view') === false);
  assert.equal((await participants()).filter((p) => p.identity === 'demo').length, 1);
  // The sign-in card went back to its place.
  assert.equal(await page.evaluate(() => document.querySelector('.signin-card').parentElement.id), 'signin-view');
  watch.check('sign in again');
});

test('End in the live sessions list ends the call: the reason, the call state cleared, Rejoin', async () => {
  const row = page.locator(`#sessions li.live-session[data-room="${room}"]`);
  await row.waitFor(); // the room is live: LiveKit's webhooks said so
  await page.focus('#mute'); // where a person in a call has it
  await row.getByRole('button', { name: `End session ${room}` }).click();
  const alert = page.locator('#join-error');
  await alert.waitFor({ state: 'visible' });
  const text = await alert.innerText();
  assert.match(text, /Disconnected from LiveKit/);
  assert.match(text, /The room was ended through LiveKit’s API/);
  assert.match(text, /Rejoin connects again with the same token\./);
  assert.match(text, /DisconnectReason ROOM_DELETED/);
  assert.equal(await alert.getAttribute('role'), 'alert');
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'failed');
  assert.equal(await page.locator('#participants li').count(), 0, 'the participants of the ended call are still listed');
  assert.ok(await page.isHidden('#call-controls'));
  assert.ok(await page.isHidden('#agent-hint'));
  const rejoin = page.locator('#join');
  assert.equal(await rejoin.innerText(), 'Rejoin');
  assert.ok(await rejoin.isEnabled());
  await axeClean(page, 'disconnected');
  await page.locator('#room-panel').screenshot({ path: join(SHOTS, 'call-ended.png') });

  // Rejoin: the same token creates the room again.
  await rejoin.click();
  await page.locator('#conn-state[data-state="connected"]').waitFor({ timeout: 20_000 });
  assert.ok(await page.isHidden('#join-error'));
  assert.equal(await page.locator('#join').innerText(), 'Join', 'still "Rejoin" once joined');
  await micInLiveKit((t) => t && t.length === 1 && !t[0].muted, 'published after Rejoin');
  watch.check('end from the list');
});

test('livekit-server killed mid-call: reconnecting, then the reason and Rejoin; Rejoin once it is back', async () => {
  const port = lkPorts.port;
  watch.allowed = [
    (p) => new RegExp(`^WebSocket connection to 'ws://127\\.0\\.0\\.1:${port}/rtc[^']*' failed`).test(p.text),
    (p) => p.text === 'Failed to load resource: net::ERR_CONNECTION_REFUSED' && p.url.startsWith(`http://127.0.0.1:${port}/rtc`),
  ];
  await page.focus('#mute');
  // livekit-client retries for about 44 s (its default policy, which the page keeps); the
  // page's clock is sped through those waits once the connection is gone.
  await page.clock.install();
  await lk.kill();
  await page.locator('#conn-state[data-state$="econnecting"]').waitFor();
  assert.ok(await page.isVisible('#hangup'), 'Hang up while reconnecting');
  const alert = page.locator('#join-error');
  const deadline = Date.now() + 30_000;
  while (await alert.isHidden()) {
    assert.ok(Date.now() < deadline, `still ${await page.getAttribute('#conn-state', 'data-state')} after livekit-client's retries`);
    await page.clock.fastForward(8000);
    await sleep(150);
  }
  const text = await alert.innerText();
  assert.match(text, /Disconnected from LiveKit/);
  assert.match(text, /The connection to LiveKit was lost and could not be re-established\./);
  assert.match(text, /DisconnectReason unknown/); // livekit-client gives none when its retries run out
  assert.equal(await page.getAttribute('#conn-state', 'data-state'), 'failed');
  assert.equal(await page.locator('#participants li').count(), 0, 'the participants of the lost call are still listed');
  assert.ok(await page.isHidden('#call-controls'));
  assert.equal(await page.locator('#join').innerText(), 'Rejoin');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'join', 'focus was lost with the hidden Mute button');
  await page.screenshot({ path: join(SHOTS, 'call-disconnected.png') });
  watch.check('livekit killed');
  watch.allowed = [];

  // LiveKit back on the same address: Rejoin joins the same room with the same token.
  lk = await startLivekit(lkBin, { ...lkPorts, webhook: `${base}/livekit/webhook`, dir: tmp.dir });
  await page.click('#join');
  await page.locator('#conn-state[data-state="connected"]').waitFor({ timeout: 20_000 });
  assert.ok(await page.isHidden('#join-error'));
  await micInLiveKit((t) => t && t.length === 1 && !t[0].muted, 'published after Rejoin');
  watch.check('rejoin');
});

test('Hang up leaves the room in LiveKit', async () => {
  await page.click('#hangup');
  await page.locator('#conn-state[data-state="idle"]').waitFor();
  assert.ok(await page.isVisible('#join'));
  assert.equal(await page.locator('#join').innerText(), 'Join');
  assert.ok(await page.isVisible('#mic-choice'));
  assert.ok(await page.isHidden('#join-error'));
  assert.equal(await page.locator('#participants li').count(), 0);
  const deadline = Date.now() + 10_000;
  while ((await participants()).some((p) => p.identity === 'demo')) {
    assert.ok(Date.now() < deadline, 'still in the room in LiveKit after Hang up');
    await sleep(150);
  }
  watch.check('hang up');
});
