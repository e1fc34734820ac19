// roomgate's web page: sign in, pick an agent profile, start a session (a new
// unique LiveKit room whose token dispatches the agent), inspect the token and
// join the room with livekit-client (vendored in vendor/, loaded on demand);
// talk in the room (mute, hang up) and hear why a call ended; see the
// caller's limits; list the caller's live sessions and end them.
//
// Plain ES module, no framework, no build step. Server data only ever reaches
// the DOM as text (textContent / text nodes), never as HTML. The roomgate
// bearer token is kept in sessionStorage (this tab only); the LiveKit
// participant token lives in memory only.

const STORAGE_KEY = 'roomgate.auth';
const LIVEKIT_MODULE = './vendor/livekit-client.esm.js';
const PARAMS = new URLSearchParams(location.search);
const DEBUG = PARAMS.has('debug');
// How long a joined call waits for its agent before the page says none came
// and why (agent-starter-react gives up after 20 s). ?agent_wait=SECONDS (1 to
// 600) changes it for workers that start slowly, and for tests; it decides
// only when that hint shows, nothing else.
const AGENT_WAIT_MS = secondsParam(PARAMS.get('agent_wait'), 20, 1, 600) * 1000;

const $ = (id) => document.getElementById(id);

const state = {
  token: null,      // roomgate bearer token (from /v1/login or pasted)
  via: null,        // 'password' | 'token'
  me: null,         // GET /v1/profiles answer
  session: null,    // { response, request, header, claims }
  room: null,       // livekit-client Room while joined
  timer: null,      // expiry countdown interval
  arrivals: new Map(), // participant identity -> Date first seen
  authLost: null,   // { user } once a request was refused 401 during a call
  agentWait: null,  // timer until the "no agent joined" hint
  agentWaitOver: false, // the wait is over and no agent came
  agentSeen: false, // an agent was in this call at some point
  micBusy: false,   // a mute/unmute is under way
};

function secondsParam(raw, fallback, min, max) {
  const n = Number(raw);
  return raw !== null && Number.isFinite(n) && n >= min && n <= max ? n : fallback;
}

/* ------------------------------------------------------------------ helpers */

// Creates an element; `props` may set className, text, attrs {name: value},
// dataset {key: value}, and on {event: handler}. Children: nodes or strings
// (strings become text nodes).
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [k, v] of Object.entries(props.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const [k, v] of Object.entries(props.dataset || {})) node.dataset[k] = String(v);
  for (const [k, v] of Object.entries(props.on || {})) node.addEventListener(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

function show(node, visible = true) { node.hidden = !visible; }

function sentence(text) {
  const s = String(text || '').trim();
  if (!s) return '';
  const t = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : t + '.';
}

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// JSON request to roomgate (relative URLs, so the page also works under a
// reverse-proxy prefix). Any non-2xx becomes an ApiError carrying the API's
// {"error":{"code","message"}} or, failing that, the HTTP status.
async function api(path, { method = 'GET', body, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error',
      `Can't reach roomgate at ${location.origin}. Is the server running?`);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const e = data && typeof data === 'object' && data.error && typeof data.error === 'object' ? data.error : null;
    const message = e && typeof e.message === 'string' && e.message
      ? e.message
      : `The server answered ${res.status} ${res.statusText || ''}`.trim();
    throw new ApiError(res.status, (e && typeof e.code === 'string' && e.code) || `http_${res.status}`,
      message, res.headers.get('Retry-After'));
  }
  if (data === null || typeof data !== 'object') {
    throw new ApiError(res.status, 'bad_response', `The server's answer to ${path} was not JSON.`);
  }
  return data;
}

// Renders an error into an alert box as readable text: a title, the API's
// message as a sentence, and the code + status (or `detail`) in small print.
function showError(box, title, err, detail) {
  box.replaceChildren();
  const parts = [h('strong', { className: 'alert-title', text: title })];
  const msg = err instanceof Error ? err.message : String(err);
  const text = err instanceof ApiError && err.status === 429 ? withWait(msg, err.retryAfter) : sentence(msg);
  parts.push(h('span', { className: 'alert-text', text }));
  if (err instanceof ApiError && err.status) {
    parts.push(h('span', { className: 'alert-code', text: `${err.code} · HTTP ${err.status}` }));
  }
  if (detail) parts.push(h('span', { className: 'alert-code', text: detail }));
  box.append(...parts);
  show(box);
}

function clearError(box) { box.replaceChildren(); show(box, false); }

// A wait in words: "45 seconds", "10 minutes", "2 h 5 min".
function humanWait(secs) {
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return `${s} ${s === 1 ? 'second' : 'seconds'}`;
  const min = Math.ceil(s / 60);
  if (min < 120) return `${min} ${min === 1 ? 'minute' : 'minutes'}`;
  return min % 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min / 60} hours`;
}

function waitPhrase(secs) {
  const at = new Date(Date.now() + secs * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return secs >= 60 ? `${humanWait(secs)} (at ${at})` : humanWait(secs);
}

// A 429's message with its wait said once, in words. A wait the message
// already states in seconds ("try again in 60 seconds", "the next one in
// 1793 s") is rewritten in place; otherwise Retry-After becomes a sentence.
function withWait(message, retryAfter) {
  const stated = /\bin (\d+) ?(?:s|secs?|seconds?)\b/i;
  const m = stated.exec(message);
  if (m) return sentence(message.replace(stated, `in ${waitPhrase(Number(m[1]))}`));
  const secs = Number.parseInt(retryAfter ?? '', 10);
  return `${sentence(message)} ${Number.isFinite(secs) && secs > 0 ? `Try again in ${waitPhrase(secs)}.` : 'Try again later.'}`;
}

// A duration from the API (seconds) for the limits box: "20 s", "2 min", "1 h 30 min".
function humanDuration(secs) {
  const s = Math.round(Number(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const min = Math.round(s / 60);
  return min % 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min / 60} h`;
}

async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try { return await fn(); } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

// base64url JWT segment -> object (UTF-8 aware), no library.
function decodeSegment(seg) {
  let b64 = seg.replace(/-/g, '+').replace(/_/g, '/');
  b64 += '='.repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
  return { header: decodeSegment(parts[0]), claims: decodeSegment(parts[1]) };
}

function shellQuote(s) { return `'${String(s).replace(/'/g, `'\\''`)}'`; }

function formatLeft(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

function formatTime(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back below */ }
  const ta = h('textarea', { className: 'offscreen', attrs: { readonly: true, 'aria-hidden': 'true' } });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

/* --------------------------------------------------------------- auth state */

function saveAuth(token, via, expiresAt) {
  state.token = token;
  state.via = via;
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ token, via, expiresAt: expiresAt || null }));
  } catch { /* storage may be disabled: keep it in memory */ }
}

function loadAuth() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (!saved || typeof saved.token !== 'string') return null;
    if (saved.expiresAt && saved.expiresAt <= Date.now()) { sessionStorage.removeItem(STORAGE_KEY); return null; }
    return saved;
  } catch { return null; }
}

function forgetAuth() {
  state.token = null;
  state.via = null;
  try { sessionStorage.removeItem(STORAGE_KEY); } catch { /* ignore */ }
}

function isLocalHost() {
  const host = location.hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1' ||
    host.endsWith('.localhost');
}

/* ------------------------------------------------------------------ sign in */

async function onLogin(ev) {
  ev.preventDefault();
  const box = $('signin-error');
  clearError(box);
  const username = $('username').value.trim();
  const password = $('password').value;
  if (!username || !password) {
    showError(box, 'Sign-in failed', 'Enter your user name and password.');
    (username ? $('password') : $('username')).focus();
    return;
  }
  await busy($('login-submit'), 'Signing in…', async () => {
    try {
      const res = await api('v1/login', { method: 'POST', body: { username, password }, auth: false });
      if (typeof res.access_token !== 'string') throw new ApiError(200, 'bad_response', 'The login answer had no access_token.');
      const ttl = Number(res.expires_in);
      saveAuth(res.access_token, 'password', Number.isFinite(ttl) && ttl > 0 ? Date.now() + ttl * 1000 : null);
      await enterApp();
      $('password').value = '';
    } catch (err) {
      forgetAuth();
      showError(box, 'Sign-in failed', err);
      $('password').select();
      $('password').focus();
    }
  });
}

async function onTokenSignIn(ev) {
  ev.preventDefault();
  const box = $('signin-error');
  clearError(box);
  const token = $('bearer').value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    showError(box, 'No token', 'Paste a bearer token first.');
    $('bearer').focus();
    return;
  }
  let expiresAt = null;
  try {
    const { claims } = decodeJwt(token);
    if (typeof claims.exp === 'number') expiresAt = claims.exp * 1000;
  } catch { /* API keys are not JWTs: fine */ }
  await busy($('token-submit'), 'Checking…', async () => {
    try {
      saveAuth(token, 'token', expiresAt);
      await enterApp();
      $('bearer').value = '';
    } catch (err) {
      forgetAuth();
      showError(box, 'Token not accepted', err);
      $('bearer').focus();
    }
  });
}

// The sign-out button: ends a roomgate session token on the server too
// (POST /v1/logout, best effort: the page forgets the token either way).
// Other bearer tokens (API keys, the site's own JWTs) have no session there.
function onSignOut() {
  let session = false;
  if (state.authLost) { signOut(); return; } // nothing left to end on the server
  try { session = !!state.token && decodeJwt(state.token).claims.typ === 'roomgate-session'; } catch { session = false; }
  // api() reads state.token before its first await, so signOut may forget it now.
  if (session) api('v1/logout', { method: 'POST', body: {} }).catch(() => {});
  signOut();
}

function signOut(message) {
  leaveRoom();
  stopCountdown();
  stopSessionsRefresh();
  forgetAuth();
  state.me = null;
  state.session = null;
  state.authLost = null;
  show($('auth-lost'), false);
  closeReauth();
  show($('app-view'), false);
  show($('whoami'), false);
  show($('signin-view'));
  show($('result'), false);
  show($('result-empty'));
  clearError($('session-error'));
  // Nothing of this user's stays in the form for the next one.
  $('session-form').reset();
  $('meta-rows').replaceChildren();
  $('profiles').replaceChildren();
  renderLimits(null);
  lastMode = null;
  const box = $('signin-error');
  if (message) showError(box, 'Signed out', message); else clearError(box);
  $('username').focus();
}

/* ----------------------------------------------------------------- profiles */

// A 401 from roomgate: the sign-in token expired or was ended. Outside a call
// the page goes back to the sign-in form; during one the call goes on (LiveKit
// does not care about roomgate's token) and the next action asks for a new
// sign-in instead (needSignIn).
function authFailed(err) {
  const why = sentence(err.message);
  if (!state.room) {
    signOut(`Your sign-in is no longer accepted (${why}) Sign in again.`);
    return;
  }
  if (!state.authLost) state.authLost = { user: state.me?.user?.id ?? null };
  if (live.timer) clearInterval(live.timer);
  live.timer = null;
  $('auth-lost-code').textContent = `${err.code} · HTTP ${err.status} · ${why}`;
  show($('auth-lost'));
}

function needSignIn() {
  if (!state.authLost) return false;
  openReauth();
  return true;
}

// Signing in again during a call: the sign-in card moves into a modal dialog
// (same forms, same handlers) and back to its place when the dialog closes.
function openReauth() {
  const dialog = $('reauth');
  if (dialog.open) return;
  const card = document.querySelector('.signin-card');
  $('reauth-slot').append(card);
  clearError($('signin-error'));
  const known = state.via === 'password' && state.authLost?.user;
  if (known && !$('username').value) $('username').value = state.authLost.user;
  dialog.showModal();
  (known ? $('password') : $('username')).focus();
}

function closeReauth() {
  const dialog = $('reauth');
  if (dialog.open) dialog.close();
}

function onReauthClosed() {
  const card = document.querySelector('.signin-card');
  if (card.parentElement === $('reauth-slot')) $('signin-view').append(card);
}

async function enterApp() {
  const me = await api('v1/profiles');
  const lost = state.authLost;
  const sameUser = Boolean(lost && me.user && me.user.id === lost.user);
  if (lost) {
    state.authLost = null;
    show($('auth-lost'), false);
    closeReauth();
    if (!sameUser) { // someone else signed in: the call and session were the other user's
      leaveRoom();
      stopCountdown();
      state.session = null;
      show($('result'), false);
      show($('result-empty'));
    }
  }
  state.me = me;
  renderWhoami(me.user || {});
  renderLimits(me.limits);
  if (sameUser) { // the form, the session and the call stay as they are
    startSessionsRefresh();
    return;
  }
  renderProfiles(me);
  clearError($('signin-error'));
  show($('signin-view'), false);
  show($('app-view'));
  show($('whoami'));
  startSessionsRefresh();
  const nameInput = $('participant-name');
  if (!nameInput.value && me.user && me.user.name) nameInput.placeholder = me.user.name;
  $('new-session-title').focus();
}

function renderWhoami(user) {
  const name = user.name || user.id || 'signed in';
  $('who-initial').textContent = name.trim().charAt(0).toUpperCase() || '?';
  $('who-name').textContent = name;
  const bits = [];
  if (user.id) bits.push(`id ${user.id}`);
  if (Array.isArray(user.groups) && user.groups.length) {
    bits.push(`${user.groups.length === 1 ? 'group' : 'groups'} ${user.groups.join(', ')}`);
  }
  if (user.method) bits.push(`via ${user.method}`);
  $('who-meta').textContent = bits.join(' · ');
}

// The rule's limits and the caller's use of them (GET /v1/profiles "limits",
// null without limits), beside the Start button.
function renderLimits(limits) {
  const list = $('limits-list');
  list.replaceChildren();
  if (!limits || typeof limits !== 'object') { show($('limits'), false); return; }
  const used = limits.used && typeof limits.used === 'object' ? limits.used : {};
  const rows = [];
  if (limits.live_sessions) {
    const n = Number(used.live_sessions) || 0;
    rows.push(['live_sessions', 'Live sessions', `${n} of ${limits.live_sessions} in use`, n >= limits.live_sessions]);
  }
  if (limits.sessions_per_hour) {
    const left = used.sessions_left;
    rows.push(['sessions_per_hour', 'New sessions per hour',
      typeof left === 'number' ? `${left} of ${limits.sessions_per_hour} left` : String(limits.sessions_per_hour), left === 0]);
  }
  if (limits.max_session) rows.push(['max_session', 'Longest session, then ended', humanDuration(limits.max_session), false]);
  if (limits.empty_timeout) rows.push(['empty_timeout', 'Room closes if nobody joins in', humanDuration(limits.empty_timeout), false]);
  if (limits.departure_timeout) rows.push(['departure_timeout', 'Room closes after everyone left', humanDuration(limits.departure_timeout), false]);
  for (const [key, label, value, full] of rows) {
    list.append(h('div', { className: 'limit', dataset: { limit: key, full } },
      h('dt', { text: label }), h('dd', { text: value })));
  }
  show($('limits'), rows.length > 0);
}

// Fetches the limits again after something that may change their use.
let limitsSeq = 0;
async function refreshLimits() {
  if (!state.me?.limits || !state.token || state.authLost) return;
  const mine = ++limitsSeq;
  let me;
  try { me = await api('v1/profiles'); } catch (err) {
    if (err instanceof ApiError && err.status === 401 && mine === limitsSeq) authFailed(err);
    return; // the box keeps the last figures
  }
  if (mine !== limitsSeq || !state.me || state.authLost) return;
  state.me.limits = me.limits;
  renderLimits(me.limits);
}

const OTHER = '\u0000other';

function renderProfiles(me) {
  const list = $('profiles');
  list.replaceChildren();
  const profiles = Array.isArray(me.profiles) ? me.profiles : [];
  profiles.forEach((p, i) => {
    list.append(h('label', { className: 'profile', dataset: { profile: p.name } },
      h('input', { attrs: { type: 'radio', name: 'profile', value: p.name, checked: i === 0 } }),
      h('span', { className: 'profile-body' },
        h('span', { className: 'profile-top' },
          h('span', { className: 'profile-name', text: p.name }),
          p.agent_name && p.agent_name !== p.name
            ? h('code', { className: 'profile-agent', text: `agent ${p.agent_name}` }) : null),
        p.description ? h('span', { className: 'profile-desc', text: p.description }) : null)));
  });
  if (me.any_agent) {
    const nameInput = h('input', {
      className: 'other-agent', attrs: {
        id: 'other-agent', 'aria-label': 'Agent name', placeholder: 'agent name', spellcheck: 'false',
        autocomplete: 'off',
      },
    });
    list.append(h('label', { className: 'profile', dataset: { profile: OTHER } },
      h('input', { attrs: { type: 'radio', name: 'profile', value: OTHER, checked: profiles.length === 0 } }),
      h('span', { className: 'profile-body' },
        h('span', { className: 'profile-name profile-name-plain', text: 'Another agent' }),
        h('span', { className: 'profile-desc', text: 'Your policy allows any agent name; its metadata is passed through.' }),
        nameInput)));
  }
  const empty = $('profiles-empty');
  if (!list.children.length) {
    empty.textContent = 'Your policy allows no agent profiles: a session gets a room without agents.';
    show(empty);
  } else show(empty, false);

  const start = $('start-session');
  if (me.session_rooms === false) {
    start.disabled = true;
    showError($('session-error'), 'Sessions not allowed',
      'The policy rule that matched you does not allow new session rooms (session_rooms is false).');
  } else {
    start.disabled = false;
    clearError($('session-error'));
  }
  onProfileChange();
}

function selectedProfile() {
  const checked = $('profiles').querySelector('input[name="profile"]:checked');
  if (!checked) return null;
  if (checked.value === OTHER) return { name: null, other: true, client_metadata: '*' };
  const p = (state.me.profiles || []).find((x) => x.name === checked.value);
  return p || null;
}

function metaRow(key = '', value = '', first = false) {
  const row = h('div', { className: 'meta-row' });
  const k = h('input', { className: 'meta-key', attrs: { 'aria-label': 'Field name', placeholder: first ? 'language' : 'field', spellcheck: 'false', autocomplete: 'off' } });
  const v = h('input', { className: 'meta-value', attrs: { 'aria-label': 'Field value', placeholder: first ? 'fr' : 'value', autocomplete: 'off' } });
  k.value = key;
  v.value = value;
  const remove = h('button', {
    className: 'btn-icon', attrs: { type: 'button', 'aria-label': 'Remove field', title: 'Remove field' },
    on: { click: () => { row.remove(); if (!$('meta-rows').children.length) $('meta-rows').append(metaRow('', '', true)); $('add-field').focus(); } },
  }, '×');
  row.append(k, v, remove);
  return row;
}

function currentFreeRows() {
  return [...$('meta-rows').querySelectorAll('.meta-row')].map((r) => [
    r.querySelector('.meta-key').value, r.querySelector('.meta-value').value]);
}

let lastMode = null;

function onProfileChange() {
  const p = selectedProfile();
  const rows = $('meta-rows');
  const help = $('metadata-help');
  const fs = $('metadata-fieldset');
  const cm = p ? p.client_metadata : [];
  const keep = lastMode === '*' ? currentFreeRows() : null;
  // The free agent-name box is usable (and in the tab order) only when chosen.
  const other = $('other-agent');
  if (other) other.disabled = !(p && p.other);
  if (cm === '*') {
    if (lastMode !== '*') {
      rows.replaceChildren();
      (keep && keep.length ? keep : [['', '']]).forEach(([k, v], i) => rows.append(metaRow(k, v, i === 0)));
    }
    help.textContent = 'This profile lets you set any field. Values are sent as strings; the server adds its own trusted fields (user id, name, room), and those win.';
    show($('add-field'));
    show(fs);
    lastMode = '*';
  } else if (Array.isArray(cm) && cm.length) {
    rows.replaceChildren();
    for (const field of cm) {
      const id = `meta-field-${field.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      rows.append(h('div', { className: 'field' },
        h('label', { attrs: { for: id } }, field, ' ', h('span', { className: 'optional', text: 'optional' })),
        h('input', { className: 'meta-fixed', dataset: { field }, attrs: { id, autocomplete: 'off' } })));
    }
    help.textContent = 'The fields this profile lets a client set; empty ones are left out. The server adds its own trusted fields.';
    show($('add-field'), false);
    show(fs);
    lastMode = 'list';
  } else {
    rows.replaceChildren();
    help.textContent = p ? 'This profile takes no metadata from the client; the server fills it in.' : '';
    show($('add-field'), false);
    show(fs, Boolean(p));
    lastMode = 'none';
  }
}

function collectMetadata() {
  const out = {};
  for (const input of $('meta-rows').querySelectorAll('.meta-fixed')) {
    if (input.value !== '') out[input.dataset.field] = input.value;
  }
  for (const row of $('meta-rows').querySelectorAll('.meta-row')) {
    const key = row.querySelector('.meta-key').value.trim();
    const value = row.querySelector('.meta-value').value;
    if (!key && !value) continue;
    if (!key) throw Object.assign(new Error('A metadata value has no field name.'), { focus: row.querySelector('.meta-key') });
    if (Object.hasOwn(out, key)) throw Object.assign(new Error(`The field "${key}" is set twice.`), { focus: row.querySelector('.meta-key') });
    out[key] = value;
  }
  return out;
}

/* ------------------------------------------------------------------ session */

async function onStartSession(ev) {
  ev.preventDefault();
  if (needSignIn()) return;
  const box = $('session-error');
  clearError(box);
  const p = selectedProfile();
  let agents = [];
  if (p && p.other) {
    const name = $('other-agent').value.trim();
    if (!name) {
      showError(box, 'No agent name', 'Type the name of the agent to dispatch, or pick a profile.');
      $('other-agent').focus();
      return;
    }
    agents = [name];
  } else if (p) agents = [p.name];

  let metadata;
  try { metadata = collectMetadata(); } catch (err) {
    showError(box, 'Check the metadata', err.message);
    err.focus?.focus();
    return;
  }
  const body = { agents };
  if (Object.keys(metadata).length) body.metadata = metadata;
  const pname = $('participant-name').value.trim();
  if (pname) body.participant_name = pname;

  await busy($('start-session'), 'Starting…', async () => {
    try {
      const res = await api('v1/sessions', { method: 'POST', body });
      leaveRoom();
      showSession(res, body);
      refreshSessions();
      refreshLimits();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { authFailed(err); return; }
      const title = err instanceof ApiError && err.status === 403 ? 'Not allowed by policy' : 'Could not start the session';
      showError(box, title, err);
      if (err instanceof ApiError && err.status === 429) refreshLimits();
    }
  });
}

function showSession(res, request) {
  let decoded;
  try { decoded = decodeJwt(res.participant_token); } catch (err) {
    showError($('session-error'), 'Unexpected answer', `The participant token could not be decoded: ${err.message}`);
    return;
  }
  const { header, claims } = decoded;
  state.session = { response: res, request, header, claims };

  $('room-name').textContent = res.room_name || claims.video?.room || '';
  $('server-url').textContent = res.server_url || '';
  $('identity').textContent = res.participant_identity || claims.sub || '';
  const expSec = typeof res.expires_at === 'number' ? res.expires_at : claims.exp;
  state.session.expiresAtMs = typeof expSec === 'number' ? expSec * 1000 : null;
  $('expires-at').textContent = state.session.expiresAtMs
    ? new Date(state.session.expiresAtMs).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' })
    : 'no expiry in the token';

  renderGrants(claims.video || {});
  renderAgents(claims, res);
  renderClaims(header, claims);
  renderToken(res.participant_token);
  $('curl').textContent = curlCommand(request);

  resetRoomPanel();
  startCountdown();
  show($('result-empty'), false);
  show($('result'));
  const title = $('result-title');
  title.focus({ preventScroll: true });
  if (window.matchMedia('(max-width: 880px)').matches) title.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function renderGrants(video) {
  const box = $('grants');
  box.replaceChildren();
  for (const [k, v] of Object.entries(video)) {
    if (k === 'room') continue;
    if (typeof v === 'boolean') {
      box.append(h('span', { className: v ? 'chip' : 'chip chip-off', text: v ? k : `no ${k}` }));
    } else if (Array.isArray(v)) {
      box.append(h('span', { className: 'chip', text: `${k}: ${v.join(', ')}` }));
    }
  }
  if (!box.children.length) box.append(h('span', { className: 'muted', text: 'none' }));
}

function renderAgents(claims, res) {
  const list = $('agents');
  list.replaceChildren();
  const agents = Array.isArray(claims.roomConfig?.agents) ? claims.roomConfig.agents : [];
  for (const a of agents) {
    const name = a.agentName ?? a.agent_name ?? '';
    const raw = a.metadata ?? '';
    let pretty = raw;
    let note = null;
    if (raw === '') { pretty = '(no metadata)'; } else {
      try { pretty = JSON.stringify(JSON.parse(raw), null, 2); } catch { note = 'not JSON: shown as sent'; }
    }
    const extras = Object.entries(a).filter(([k]) => !['agentName', 'agent_name', 'metadata'].includes(k));
    list.append(h('li', { className: 'agent', dataset: { agentName: name } },
      h('div', { className: 'agent-head' },
        h('span', { className: 'agent-badge', text: 'agent' }),
        h('span', { className: 'agent-name', text: name }),
        ...extras.map(([k, v]) => h('span', { className: 'chip', text: `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}` }))),
      h('div', { className: 'agent-meta-label', text: note ? `metadata (${note})` : 'metadata' }),
      h('pre', { className: 'code agent-metadata', text: pretty, attrs: { tabindex: 0, 'aria-label': `Metadata for agent ${name}` } })));
  }
  const check = $('agents-check');
  check.className = 'help';
  if (!agents.length) {
    list.append(h('li', { className: 'agent agent-none', text: 'No agents in this token: joining creates the room and dispatches nobody.' }));
  }
  const fromApi = Array.isArray(res.agents) ? res.agents : [];
  const same = fromApi.length === agents.length && fromApi.every((x, i) =>
    x.agent_name === (agents[i].agentName ?? agents[i].agent_name) && (x.metadata ?? '') === (agents[i].metadata ?? ''));
  if (same) {
    check.textContent = agents.length
      ? 'Read from the token’s roomConfig.agents; identical to the agents in the API answer.' : '';
  } else {
    check.textContent = 'The token’s roomConfig.agents differ from the API answer’s agents.';
    check.className = 'help warn';
  }
}

// The decoded claims as pretty JSON, with roomConfig marked. Built from text
// nodes: the JSON is split around a placeholder for roomConfig.
function renderClaims(header, claims) {
  const pre = $('claims');
  pre.replaceChildren();
  pre.append(h('span', { className: 'json-comment', text: `// header ${JSON.stringify(header)}\n` }));
  if (!claims.roomConfig) { pre.append(JSON.stringify(claims, null, 2)); return; }
  const marker = '\u0000roomConfig\u0000';
  const text = JSON.stringify({ ...claims, roomConfig: marker }, null, 2);
  const at = text.indexOf(JSON.stringify(marker));
  const lineStart = text.lastIndexOf('\n', at) + 1;
  let rest = text.slice(at + JSON.stringify(marker).length);
  let comma = '';
  if (rest.startsWith(',')) { comma = ','; rest = rest.slice(1); }
  if (rest.startsWith('\n')) rest = rest.slice(1);
  const value = JSON.stringify(claims.roomConfig, null, 2).replace(/\n/g, '\n  ');
  pre.append(text.slice(0, lineStart),
    h('mark', { className: 'json-mark', text: `${text.slice(lineStart, at)}${value}${comma}` }),
    rest);
}

function renderToken(token) {
  const pre = $('token');
  pre.replaceChildren();
  const [a, b, c] = String(token).split('.');
  pre.dataset.token = token;
  pre.append(h('span', { className: 'jwt-h', text: a }), '.',
    h('span', { className: 'jwt-p', text: b }), '.',
    h('span', { className: 'jwt-s', text: c }));
}

function curlCommand(request) {
  const url = new URL('v1/sessions', location.href).href;
  return [
    `curl -sS ${shellQuote(url)} \\`,
    // the sign-in token is not printed: a shell variable stands for it
    '  -H "Authorization: Bearer $ROOMGATE_TOKEN" \\',
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(request))}`,
  ].join('\n');
}

function startCountdown() {
  stopCountdown();
  const tick = () => {
    const pill = $('expiry-pill');
    const exp = state.session?.expiresAtMs;
    if (!exp) { $('expiry').textContent = 'no expiry'; return; }
    const left = exp - Date.now();
    if (left <= 0) {
      $('expiry').textContent = 'token expired';
      pill.dataset.state = 'expired';
      if (!state.room) $('join').disabled = true;
      stopCountdown();
      return;
    }
    $('expiry').textContent = `expires in ${formatLeft(left)}`;
    pill.dataset.state = left < 60_000 ? 'soon' : 'ok';
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

function stopCountdown() { if (state.timer) clearInterval(state.timer); state.timer = null; }

async function onCopy(ev) {
  const btn = ev.target.closest('[data-copy]');
  if (!btn || !state.session) return;
  const what = btn.dataset.copy;
  const text = what === 'token' ? state.session.response.participant_token
    : what === 'curl' ? $('curl').textContent
      : $('room-name').textContent;
  const label = { token: 'Token', curl: 'curl command', room: 'Room name' }[what];
  const ok = await copyText(text);
  const status = $('copy-status');
  status.textContent = ok ? `${label} copied` : `Copy failed: select the text and copy it by hand`;
  status.dataset.state = ok ? 'ok' : 'error';
  clearTimeout(onCopy.timer);
  onCopy.timer = setTimeout(() => { status.textContent = ''; }, 2500);
}

/* ------------------------------------------------------------ live sessions */

// The caller's live sessions (GET /v1/sessions: the rooms LiveKit's webhooks
// and ListRooms say are open), refreshed every SESSIONS_EVERY_MS while the tab
// is visible. Each refresh has a number; only the newest one's answer is drawn,
// and signing out makes every pending one stale.
const SESSIONS_EVERY_MS = 10_000;

const live = {
  timer: null,     // periodic refresh while signed in
  seq: 0,          // number of the newest refresh
  shown: null,     // JSON of the sessions on screen (redrawn only on change)
  endRoom: null,   // room of the failed End whose error is on screen
  listError: false, // the error on screen is a failed refresh's
};

function startSessionsRefresh() {
  stopSessionsRefresh();
  live.timer = setInterval(() => { if (!document.hidden) refreshSessions(); }, SESSIONS_EVERY_MS);
  refreshSessions();
}

function stopSessionsRefresh() {
  if (live.timer) clearInterval(live.timer);
  live.timer = null;
  live.seq++;
  live.shown = null;
  live.endRoom = null;
  live.listError = false;
  $('sessions').replaceChildren();
  show($('sessions-empty'), false);
  clearError($('sessions-error'));
  $('sessions-status').textContent = '';
}

async function refreshSessions() {
  if (!state.token || state.authLost) return;
  const mine = ++live.seq;
  let res;
  try { res = await api('v1/sessions'); } catch (err) {
    if (mine !== live.seq) return;
    if (err instanceof ApiError && err.status === 401) { authFailed(err); return; }
    if (!live.endRoom) {
      showError($('sessions-error'), 'Could not load your live sessions', err);
      live.listError = true;
    }
    return;
  }
  if (mine !== live.seq) return;
  if (live.listError) { clearError($('sessions-error')); live.listError = false; }
  renderSessions(Array.isArray(res.sessions) ? res.sessions : []);
}

function renderSessions(sessions) {
  // A failed End's message goes once its room is gone.
  if (live.endRoom && !sessions.some((s) => s.room_name === live.endRoom)) {
    clearError($('sessions-error'));
    live.endRoom = null;
  }
  const json = JSON.stringify(sessions);
  if (json === live.shown) return;
  const before = live.shown === null ? -1 : JSON.parse(live.shown).length;
  if (live.shown !== null) refreshLimits(); // a room that started or ended changes the use
  live.shown = json;
  const list = $('sessions');
  const focused = list.contains(document.activeElement) ? document.activeElement.closest('[data-room]')?.dataset.room : null;
  list.replaceChildren(...sessions.map(sessionRow));
  show($('sessions-empty'), sessions.length === 0);
  if (before !== sessions.length) {
    $('sessions-status').textContent = sessions.length
      ? `${sessions.length} live ${sessions.length === 1 ? 'session' : 'sessions'}` : 'No live sessions';
  }
  if (focused) endButton(focused)?.focus();
}

function endButton(room) {
  const row = [...$('sessions').children].find((li) => li.dataset.room === room);
  return row ? row.querySelector('.live-end') : null;
}

function formatStarted(date) {
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function sessionRow(s) {
  const room = String(s.room_name ?? '');
  const n = Number(s.participants) || 0;
  const started = Number(s.created_at) > 0 ? new Date(Number(s.created_at) * 1000) : null;
  const agents = Array.isArray(s.agents) ? s.agents : [];
  return h('li', { className: 'live-session', dataset: { room } },
    h('div', { className: 'live-main' },
      h('code', { className: 'live-room', text: room }),
      h('div', { className: 'live-meta' },
        started ? h('span', {}, 'started ', h('time', {
          text: formatStarted(started),
          attrs: { datetime: started.toISOString(), title: started.toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' }) },
        })) : null,
        h('span', { className: 'live-count', text: `${n} ${n === 1 ? 'participant' : 'participants'}` })),
      agents.length ? h('ul', { className: 'live-agents', attrs: { 'aria-label': `Agents in ${room}` } },
        ...agents.map((a) => h('li', { className: 'live-agent', dataset: { agentName: a.agent_name ?? '', running: Boolean(a.running) } },
          h('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }),
          h('span', { className: 'live-agent-name', text: a.agent_name ?? '' }),
          h('span', { className: 'live-agent-state', text: a.running ? 'running' : 'not running' })))) : null),
    h('button', {
      className: 'btn btn-secondary btn-small btn-danger live-end', text: 'End',
      attrs: { type: 'button', 'aria-label': `End session ${room}` }, on: { click: onEndSession },
    }));
}

async function onEndSession(ev) {
  if (needSignIn()) return;
  const button = ev.currentTarget;
  const room = button.closest('[data-room]').dataset.room;
  const box = $('sessions-error');
  clearError(box);
  live.endRoom = null;
  live.listError = false;
  let ended = false;
  await busy(button, 'Ending…', async () => {
    try {
      await api(`v1/sessions/${encodeURIComponent(room)}`, { method: 'DELETE' });
      ended = true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { authFailed(err); return; }
      showError(box, `Could not end ${room}`, err);
      live.endRoom = room;
    }
  });
  if (!state.token || state.authLost) return;
  await refreshSessions();
  refreshLimits();
  if (ended) {
    $('sessions-status').textContent = `Ended ${room}`;
    if (!document.activeElement || document.activeElement === document.body) $('sessions-title').focus();
  } else {
    endButton(room)?.focus();
  }
}

/* -------------------------------------------------------------- LiveKit room */

let livekit = null;

async function loadLiveKit() {
  if (!livekit) {
    livekit = await import(LIVEKIT_MODULE);
    // livekit-client logs to the console; the page reports connection
    // problems itself. ?debug in the page URL turns its logs on.
    livekit.setLogLevel(DEBUG ? 'debug' : 'silent');
  }
  return livekit;
}

function setConnState(s, label) {
  const chip = $('conn-state');
  chip.dataset.state = s;
  chip.textContent = label;
}

function tokenExpired() {
  const exp = state.session?.expiresAtMs;
  return Boolean(exp && exp <= Date.now());
}

function tokenAgentNames() {
  const agents = state.session?.claims.roomConfig?.agents;
  return Array.isArray(agents) ? agents.map((a) => a.agentName ?? a.agent_name).filter(Boolean) : [];
}

// Before a call: Join and the microphone choice; during one: mute and hang up.
function showCallControls(inCall) {
  show($('join'), !inCall);
  show($('mic-choice'), !inCall);
  show($('call-controls'), inCall);
}

function resetRoomPanel() {
  setConnState('idle', 'not connected');
  clearError($('join-error'));
  clearAgentWait();
  $('participants').replaceChildren();
  state.arrivals.clear();
  showCallControls(false);
  $('join').textContent = 'Join';
  $('join').disabled = false;
}

function describeJoinError(err, url) {
  const reason = err && err.reasonName;
  const detail = err && err.message ? String(err.message) : String(err);
  if (reason === 'NotAllowed') {
    return {
      title: 'LiveKit refused the token',
      text: 'Check that roomgate signs with an API key and secret this LiveKit server knows (LIVEKIT_API_KEY / LIVEKIT_API_SECRET).',
      detail: `livekit-client: ${detail}`,
    };
  }
  if (['ServerUnreachable', 'WebSocket', 'Timeout', 'InternalError'].includes(reason) || !reason) {
    return {
      title: `No LiveKit server reachable at ${url}`,
      text: 'Start one there (for local development: livekit-server --dev) or point roomgate at yours with LIVEKIT_URL. The token stays valid until it expires.',
      detail: `livekit-client: ${detail}`,
    };
  }
  return { title: 'Could not join the room', text: sentence(detail), detail: reason ? `livekit-client: ${reason}` : '' };
}

// Why LiveKit ended a call, by livekit-client's DisconnectReason name.
const DISCONNECT_REASONS = {
  SERVER_SHUTDOWN: 'The LiveKit server shut down.',
  ROOM_DELETED: 'The room was ended through LiveKit\u2019s API: an End button, a max_session limit, or an administrator.',
  ROOM_CLOSED: 'LiveKit closed the room.',
  PARTICIPANT_REMOVED: 'You were removed from the room.',
  DUPLICATE_IDENTITY: 'You joined this room somewhere else with the same identity.',
  MIGRATION: 'LiveKit moved the room to another server and the connection did not follow.',
  AGENT_ERROR: 'An agent in the room failed.',
  USER_REJECTED: 'The call was rejected.',
  USER_UNAVAILABLE: 'The callee was unavailable.',
};

function onDisconnected(lk, reason, hadFocus) {
  const name = reason !== undefined && lk.DisconnectReason ? lk.DisconnectReason[reason] : undefined;
  if (name === 'CLIENT_INITIATED') return;
  const why = DISCONNECT_REASONS[name] || 'The connection to LiveKit was lost and could not be re-established.';
  const expired = tokenExpired();
  setConnState('failed', 'disconnected');
  $('join').textContent = 'Rejoin';
  showError($('join-error'), 'Disconnected from LiveKit',
    `${why} ${expired ? 'The token has expired: start a new session.' : 'Rejoin connects again with the same token.'}`,
    `DisconnectReason ${name || 'unknown'}`);
  if (hadFocus && !expired) $('join').focus();
}

async function onJoin() {
  const s = state.session;
  if (!s || state.room) return;
  const box = $('join-error');
  clearError(box);
  const url = s.response.server_url;
  if (location.protocol === 'https:' && /^ws:/i.test(url)) {
    showError(box, 'Insecure LiveKit URL', `This page is served over HTTPS, so the browser will not connect to ${url}. Use a wss:// URL.`);
    return;
  }
  $('join').disabled = true;
  setConnState('connecting', 'connecting…');
  let lk;
  try { lk = await loadLiveKit(); } catch (err) {
    $('join').disabled = false;
    setConnState('failed', 'not connected');
    showError(box, 'Could not load livekit-client', `${LIVEKIT_MODULE}: ${err.message}`);
    return;
  }
  const room = new lk.Room({ adaptiveStream: true, dynacast: true });
  state.room = room;
  const E = lk.RoomEvent;
  const rerender = () => { if (state.room === room) renderParticipants(room); };
  const mic = () => { if (state.room === room) renderMic(room); };
  room
    .on(E.ParticipantConnected, (p) => { state.arrivals.set(p.identity, new Date()); rerender(); })
    .on(E.ParticipantDisconnected, rerender)
    .on(E.ParticipantAttributesChanged, rerender)
    .on(E.ParticipantMetadataChanged, rerender)
    .on(E.ParticipantNameChanged, rerender)
    .on(E.ActiveSpeakersChanged, rerender)
    .on(E.TrackSubscribed, (track) => {
      if (track.kind === 'audio') $('audio-sink').append(track.attach());
      rerender();
    })
    .on(E.TrackUnsubscribed, (track) => { track.detach().forEach((el) => el.remove()); rerender(); })
    .on(E.AudioPlaybackStatusChanged, rerender)
    .on(E.LocalTrackPublished, mic)
    .on(E.LocalTrackUnpublished, mic)
    .on(E.TrackMuted, mic)
    .on(E.TrackUnmuted, mic)
    .on(E.ConnectionStateChanged, (cs) => {
      if (state.room !== room) return;
      const labels = { connected: 'connected', connecting: 'connecting…', reconnecting: 'reconnecting…', signalReconnecting: 'reconnecting…', disconnected: 'not connected' };
      setConnState(cs, labels[cs] || cs);
    })
    .on(E.Disconnected, (reason) => {
      if (state.room !== room) return;
      const hadFocus = $('call-controls').contains(document.activeElement);
      state.room = null;
      afterLeave();
      onDisconnected(lk, reason, hadFocus);
    });

  try {
    await room.connect(url, s.response.participant_token, { autoSubscribe: true });
  } catch (err) {
    if (state.room === room) state.room = null;
    try { await room.disconnect(); } catch { /* already closed */ }
    afterLeave();
    setConnState('failed', 'no connection');
    const { title, text, detail } = describeJoinError(err, url);
    showError(box, title, text, detail);
    return;
  }
  if (state.room !== room) return;
  state.arrivals.set(room.localParticipant.identity, new Date());
  for (const p of room.remoteParticipants.values()) state.arrivals.set(p.identity, new Date());
  $('join').textContent = 'Join';
  showCallControls(true);
  renderMic(room);
  $('mute').focus();
  startAgentWait(room);
  renderParticipants(room);
  // LiveKit reports the new room to roomgate by webhook, a moment later.
  refreshSessions();
  setTimeout(refreshSessions, 2000);
  if ($('mic').checked) await setMic(room, true);
}

function micPublication(room) {
  return room.localParticipant.getTrackPublication(livekit.Track.Source.Microphone);
}

// The mute button shows the published microphone as LiveKit has it:
// pressed (aria-pressed) when muted or not published.
function renderMic(room) {
  const pub = micPublication(room);
  const on = Boolean(pub && pub.track && !pub.isMuted);
  const button = $('mute');
  button.setAttribute('aria-pressed', String(!on));
  button.setAttribute('aria-disabled', String(state.micBusy));
  const label = $('mic-state');
  label.dataset.state = on ? 'on' : pub ? 'muted' : 'off';
  label.textContent = on ? 'Microphone on' : pub ? 'Microphone muted' : 'Microphone off';
}

// Publishes or unmutes (on), or mutes (off) the microphone: a mute keeps the
// track published and muted in LiveKit, as livekit-client does.
async function setMic(room, on) {
  if (state.micBusy) return;
  state.micBusy = true;
  renderMic(room);
  try {
    await room.localParticipant.setMicrophoneEnabled(on);
  } catch (err) {
    if (state.room === room) {
      showError($('join-error'), on ? 'Microphone not on' : 'Microphone not muted',
        err && err.message ? err.message : String(err), err && err.name ? err.name : '');
    }
  } finally {
    state.micBusy = false;
    if (state.room === room) renderMic(room);
  }
}

function onMute() {
  const room = state.room;
  if (!room || state.micBusy) return;
  const pub = micPublication(room);
  setMic(room, !pub || !pub.track || pub.isMuted);
}

function onHangUp() {
  leaveRoom();
  $('join').focus();
  refreshSessions();
}

// The agents in the token are dispatched when the room is created; when none
// has joined after AGENT_WAIT_MS, the page says so and what it takes.
function startAgentWait(room) {
  clearAgentWait();
  const names = tokenAgentNames();
  if (!names.length) return;
  state.agentWait = setTimeout(() => {
    state.agentWait = null;
    if (state.room !== room) return;
    state.agentWaitOver = true;
    const quoted = names.map((n) => `\u201c${n}\u201d`).join(', ');
    const hint = $('agent-hint');
    hint.replaceChildren(
      h('strong', { className: 'alert-title', text: 'No agent joined' }),
      h('span', { className: 'alert-text', text: `No agent joined within ${Math.round(AGENT_WAIT_MS / 1000)} s. ` +
        `LiveKit gives this room\u2019s job only to an agent worker that is running and registered under the agent name ${quoted} ` +
        '(agent_name in its worker options), and not when every such worker is busy.' }),
      h('span', { className: 'alert-text', text: 'Start one, then start a new session: agents are dispatched when the room is created. You can stay in this room meanwhile.' }));
    renderParticipants(room);
  }, AGENT_WAIT_MS);
}

function clearAgentWait() {
  clearTimeout(state.agentWait);
  state.agentWait = null;
  state.agentWaitOver = false;
  state.agentSeen = false;
  show($('agent-hint'), false);
}

function afterLeave() {
  clearAgentWait();
  $('audio-sink').replaceChildren();
  $('participants').replaceChildren();
  state.arrivals.clear();
  state.micBusy = false;
  showCallControls(false);
  $('join').disabled = tokenExpired();
  setConnState('idle', 'not connected');
}

function leaveRoom() {
  const room = state.room;
  state.room = null;
  if (room) {
    room.disconnect().catch(() => {});
    afterLeave();
  }
}

function renderParticipants(room) {
  const list = $('participants');
  list.replaceChildren();
  const everyone = [room.localParticipant, ...room.remoteParticipants.values()];
  for (const p of everyone) {
    const isLocal = p === room.localParticipant;
    const isAgent = Boolean(p.isAgent);
    const label = p.name || p.identity;
    const agentState = p.attributes?.['lk.agent.state'];
    const since = state.arrivals.get(p.identity);
    list.append(h('li', {
      className: `participant${isAgent ? ' is-agent' : ''}${p.isSpeaking ? ' is-speaking' : ''}`,
      dataset: { identity: p.identity, kind: isAgent ? 'agent' : 'standard' },
    },
    h('span', { className: 'avatar', text: (label || '?').charAt(0).toUpperCase(), attrs: { 'aria-hidden': 'true' } }),
    h('span', { className: 'participant-text' },
      h('span', { className: 'participant-name', text: label }),
      h('span', { className: 'participant-id', text: p.name && p.name !== p.identity ? p.identity : '' })),
    h('span', { className: 'participant-badges' },
      isLocal ? h('span', { className: 'chip', text: 'you' }) : null,
      isAgent ? h('span', { className: 'agent-badge', text: 'agent' }) : null,
      agentState ? h('span', { className: 'chip', text: agentState }) : null,
      since ? h('span', { className: 'muted small', text: formatTime(since) }) : null)));
  }
  const names = tokenAgentNames();
  const agentHere = [...room.remoteParticipants.values()].some((p) => p.isAgent);
  if (agentHere) state.agentSeen = true;
  show($('agent-hint'), names.length > 0 && !agentHere && state.agentWaitOver && !state.agentSeen);
  let wait = null;
  if (names.length && !agentHere) {
    wait = state.agentSeen ? 'The agent left the room.'
      : state.agentWaitOver ? null
        : `Waiting for ${names.join(', ')}: LiveKit dispatches it to a worker registered under that name.`;
  } else if (!names.length && room.remoteParticipants.size === 0) wait = 'Nobody else here yet.';
  if (wait) list.append(h('li', { className: 'participant participant-wait', text: wait }));
  if (!room.canPlaybackAudio) {
    list.append(h('li', { className: 'participant participant-wait' },
      h('button', { className: 'btn btn-secondary btn-small', text: 'Enable audio', attrs: { type: 'button' }, on: { click: () => room.startAudio() } })));
  }
}

/* --------------------------------------------------------------------- boot */

function boot() {
  $('login-form').addEventListener('submit', onLogin);
  $('token-form').addEventListener('submit', onTokenSignIn);
  $('signout').addEventListener('click', onSignOut);
  $('session-form').addEventListener('submit', onStartSession);
  $('profiles').addEventListener('change', onProfileChange);
  $('add-field').addEventListener('click', () => {
    const row = metaRow();
    $('meta-rows').append(row);
    row.querySelector('.meta-key').focus();
  });
  $('result').addEventListener('click', (ev) => { if (ev.target.closest('[data-copy]')) onCopy(ev); });
  $('join').addEventListener('click', onJoin);
  $('mute').addEventListener('click', onMute);
  $('hangup').addEventListener('click', onHangUp);
  $('reauth-open').addEventListener('click', openReauth);
  $('reauth-cancel').addEventListener('click', closeReauth);
  $('reauth').addEventListener('close', onReauthClosed);
  $('sessions-refresh').addEventListener('click', (ev) => needSignIn() || busy(ev.currentTarget, 'Refreshing…', () => {
    clearError($('sessions-error'));
    live.endRoom = null;
    live.listError = false;
    return refreshSessions();
  }));
  document.addEventListener('visibilitychange', () => { if (!document.hidden && live.timer) refreshSessions(); });
  $('fill-demo').addEventListener('click', () => {
    $('username').value = 'demo';
    $('password').value = 'demo';
    $('login-submit').focus();
  });
  window.addEventListener('pagehide', () => { state.room?.disconnect(); });

  // The demo credentials exist only in `roomgate serve --dev`, which listens
  // on loopback only; the page cannot ask the server whether it is in dev
  // mode before sign-in, so it shows the hint when served from this machine.
  show($('dev-hint'), isLocalHost());

  const saved = loadAuth();
  if (saved) {
    state.token = saved.token;
    state.via = saved.via;
    enterApp().catch((err) => {
      forgetAuth();
      show($('signin-view'));
      if (err instanceof ApiError && err.status === 401) {
        showError($('signin-error'), 'Signed out', 'Your previous sign-in is no longer valid. Sign in again.');
      } else {
        showError($('signin-error'), 'Could not load your profiles', err);
      }
    });
  } else if (window.matchMedia('(pointer: fine)').matches) {
    $('username').focus(); // not on touch screens, where it would pop up the keyboard
  }
}

boot();
