// Prints free loopback ports: `node free-ports.mjs TCP_COUNT UDP_COUNT` -> "t1 t2 ... u1 ...".
// Every port is held until all are picked (so no two are the same), then released for the
// caller to bind. The kernel's ephemeral range is used; a race with another process is
// possible but rare, and run retries LiveKit's start with new ports.
import net from 'node:net';
import dgram from 'node:dgram';

const [nt, nu] = process.argv.slice(2).map(Number);
const held = [];
const tcp = () => new Promise((res, rej) => {
  const s = net.createServer();
  s.once('error', rej);
  s.listen(0, '127.0.0.1', () => { held.push(() => s.close()); res(s.address().port); });
});
const udp = (avoid) => new Promise((res, rej) => {
  const s = dgram.createSocket('udp4');
  s.once('error', rej);
  s.bind(0, '127.0.0.1', () => { held.push(() => s.close()); res(s.address().port); });
});
const out = [];
for (let i = 0; i < (nt || 0); i++) out.push(await tcp());
for (let i = 0; i < (nu || 0); i++) {
  let p;
  do { p = await udp(); } while (out.includes(p));
  out.push(p);
}
held.forEach((f) => f());
console.log(out.join(' '));
