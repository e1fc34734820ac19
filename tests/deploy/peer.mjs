// One participant per room given, for tests/deploy/published-ports: joins with a token signed
// with LiveKit's dev key (devkey / secret, as docker/compose.yaml's livekit --dev), publishes
// a 440 Hz tone as its microphone and listens to the other participants' audio. Prints JSON
// lines: `connected`, then `media` once 50 frames (0.5 s) of a remote track are non-silent,
// with the ICE candidate pair ICE selected, as this client sees it.
// Runs until SIGTERM.
//   node peer.mjs ws://127.0.0.1:7880 IDENTITY ROOM [ROOM...]
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { dirname, resolve } from 'node:path';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const agentRequire = createRequire(resolve(REPO, 'docker', 'agent', 'package.json'));
const rtc = await import(pathToFileURL(agentRequire.resolve('@livekit/rtc-node')).href);
const [url, identity, ...roomNames] = process.argv.slice(2);
const log = (o) => console.log(JSON.stringify({ identity, t: Date.now(), ...o }));
const RATE = 48000, FRAME = RATE / 100, LOUD = 1000;

function token(room) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'devkey', sub: identity, nbf: now - 10, exp: now + 600,
    video: { room, roomJoin: true, canPublish: true, canSubscribe: true } })}`;
  return `${body}.${createHmac('sha256', 'secret').update(body).digest('base64url')}`;
}

/** The candidate pair ICE selected, on the transport that received the most (this SDK may
 *  carry publishing and subscribing on one peer connection), as "address:port/protocol". */
async function icePair(room) {
  // the JSON form, as the stats' protobuf messages print (their oneof flattened, int64 as text)
  const s = JSON.parse(JSON.stringify(await room.getRtcStats(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  const all = [...(s.publisherStats ?? []), ...(s.subscriberStats ?? [])];
  const pick = (k) => all.filter((x) => x[k]).map((x) => x[k]);
  const transport = pick('transport').map((t) => t.transport).filter((t) => t.selectedCandidatePairId)
    .sort((a, b) => Number(b.bytesReceived) - Number(a.bytesReceived))[0];
  const pair = pick('candidatePair').find((p) => p.rtc.id === transport?.selectedCandidatePairId)?.candidatePair;
  if (!pair) return null;
  const cand = (id) => [...pick('localCandidate'), ...pick('remoteCandidate')].find((c) => c.rtc.id === id)?.candidate;
  const fmt = (c) => c && `${c.address || '(prflx)'}:${c.port}/${c.protocol}`;
  return { local: fmt(cand(pair.localCandidateId)), remote: fmt(cand(pair.remoteCandidateId)) };
}

async function join(name) {
  const room = new rtc.Room();
  room.on(rtc.RoomEvent.TrackSubscribed, async (track, _pub, p) => {
    if (track.kind !== rtc.TrackKind.KIND_AUDIO) return;
    let frames = 0, loud = 0, peak = 0;
    for await (const f of new rtc.AudioStream(track, RATE, 1)) {
      let m = 0;
      for (const v of f.data) m = Math.max(m, Math.abs(v));
      frames++; peak = Math.max(peak, m);
      if (m > LOUD && ++loud === 50) {
        log({ event: 'media', room: name, from: p.identity, frames, loud, peak, ice: await icePair(room).catch(() => null) });
      }
    }
  });
  const t0 = Date.now();
  await room.connect(url, token(name), { autoSubscribe: true, dynacast: false });
  log({ event: 'connected', room: name, ms: Date.now() - t0 });
  const source = new rtc.AudioSource(RATE, 1);
  const opts = new rtc.TrackPublishOptions();
  opts.source = rtc.TrackSource.SOURCE_MICROPHONE;
  await room.localParticipant.publishTrack(rtc.LocalAudioTrack.createAudioTrack('tone', source), opts);
  let phase = 0;
  for (;;) {
    const d = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++, phase += (2 * Math.PI * 440) / RATE) d[i] = Math.round(8000 * Math.sin(phase));
    await source.captureFrame(new rtc.AudioFrame(d, RATE, 1, FRAME));   // paced by the source
  }
}

process.on('SIGTERM', () => process.exit(0));
await Promise.all(roomNames.map((n) => join(n).catch((e) => { log({ event: 'error', room: n, error: String(e?.message ?? e) }); })));
