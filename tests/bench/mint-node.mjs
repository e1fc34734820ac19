// In-process minting rate of livekit-server-sdk (AccessToken.toJwt()) on one
// core: the same token as tests/bench/mint.c mints with libroomgate, built the
// way LiveKit's tutorials do (an AccessToken and a RoomConfiguration per
// token). Prints one JSON line like mint.c.
//   node mint-node.mjs [seconds [max_tokens]]
import { mintToken } from './livekit-token.mjs';

const secs = Number(process.argv[2] ?? 3);
const max = Number(process.argv[3] ?? 0);
const claims = {
  identity: 'user-12345',
  name: 'Alice',
  room: 'room-Kz-r4XzVUuwVlQ3rtpiH7Q',
  agents: [{ agentName: 'assistant', metadata: '{"user_id":"12345","language":"en"}' }],
  ttl: 600,
};

// warm up the JIT so the rate is the steady one
for (let i = 0; i < 2000; i++) await mintToken(claims);
let n = 0;
const t0 = process.hrtime.bigint();
let el = 0;
do {
  for (let i = 0; i < 1000; i++) {
    await mintToken(claims);
    n++;
  }
  el = Number(process.hrtime.bigint() - t0) / 1e9;
} while (el < secs && (!max || n < max));
process.stdout.write(JSON.stringify({ impl: 'livekit-server-sdk', mode: 'build', tokens: n,
  seconds: +el.toFixed(3), tokens_per_s: Math.round(n / el) }) + '\n');
