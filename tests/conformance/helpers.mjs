// Shared helpers for the conformance suite: start the real roomgate binary on
// a free loopback port and judge its tokens with LiveKit's own packages.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { TokenVerifier } from 'livekit-server-sdk';
import { RoomConfiguration } from '@livekit/protocol';

export const BIN = process.env.ROOMGATE_BIN;
if (!BIN) throw new Error('set ROOMGATE_BIN to the roomgate binary');

const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET']) delete env[k];
  return env;
};

// Starts `roomgate serve ARGS --listen 127.0.0.1:0`; resolves once it logs "listening".
export async function startServer(args) {
  const proc = spawn(BIN, ['serve', ...args, '--listen', '127.0.0.1:0'], {
    env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 20 s:\n${stderr}`)), 20000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      for (const line of stderr.split('\n')) {
        try {
          const ev = JSON.parse(line);
          if (ev.event === 'listening') { clearTimeout(timer); resolve(ev.port); }
        } catch { /* partial line */ }
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${stderr}`)); });
  });
  proc.stdout.resume();
  const url = `http://127.0.0.1:${port}`;
  return {
    url, proc,
    logs: () => stderr,
    async stop() {
      const done = new Promise((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      assert.equal(await done, 0, 'roomgate exits 0 on SIGTERM');
    },
  };
}

export const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

export async function post(url, body, auth) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, headers: res.headers };
}

// The judge: LiveKit's own verifier, then strict RoomConfiguration parsing.
export async function verify(jwt, key = 'devkey', secret = 'secret') {
  const claims = await new TokenVerifier(key, secret).verify(jwt);
  let roomConfig = null;
  if (claims.roomConfig !== undefined) {
    // no ignoreUnknownFields: a field LiveKit does not know fails here
    roomConfig = RoomConfiguration.fromJson(claims.roomConfig);
  }
  return { claims, roomConfig };
}

export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'rg-conf-'));
}

export function addUser(file, name, password, extra = []) {
  execFileSync(BIN, ['user', 'add', file, name, ...extra], { input: password + '\n', env: cleanEnv() });
}

export function writeJson(path, obj) {
  writeFileSync(path, JSON.stringify(obj, null, 2));
  return path;
}

export function cli(args, env = {}) {
  return execFileSync(BIN, args, { env: { ...cleanEnv(), ...env }, encoding: 'utf8' });
}
