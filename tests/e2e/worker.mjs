// Agent workers from LiveKit's agents framework (@livekit/agents), one per agent name in
// E2E_AGENT_NAMES (comma-separated). An explicit agent name turns automatic dispatch off,
// so a worker only gets jobs that name it: from a token's roomConfig.agents or from
// AgentDispatchService/CreateDispatch. Every job request is appended to E2E_JOBS_FILE as a
// JSON line, then accepted (the job process runs agent.mjs, which joins the room).
//
// env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, E2E_AGENT_NAMES, E2E_JOBS_FILE
import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const jobsFile = process.env.E2E_JOBS_FILE;
const names = (process.env.E2E_AGENT_NAMES || '').split(',').map((s) => s.trim()).filter(Boolean);
if (!jobsFile || names.length === 0 || !process.env.LIVEKIT_URL) {
  console.error('worker.mjs: E2E_JOBS_FILE, E2E_AGENT_NAMES and LIVEKIT_URL are required');
  process.exit(2);
}
const write = (obj) => appendFileSync(jobsFile, JSON.stringify({ t: Date.now(), ...obj }) + '\n');

initializeLogger({ pretty: false, level: process.env.E2E_WORKER_LOG_LEVEL || 'info' });

const servers = names.map((agentName) => {
  const server = new AgentServer(new ServerOptions({
    agent: fileURLToPath(new URL('./agent.mjs', import.meta.url)),
    agentName,
    wsURL: process.env.LIVEKIT_URL,
    apiKey: process.env.LIVEKIT_API_KEY || 'devkey',
    apiSecret: process.env.LIVEKIT_API_SECRET || 'secret',
    host: '127.0.0.1',
    port: 0,                      // health server on a free port
    production: false,            // no CPU-load gating, job processes spawned on demand
    loadFunc: async () => 0,      // a busy 2-core test machine must not mark us unavailable
    // A job process starts node and loads the framework (10 s by default): on a 2-core machine
    // running the sanitizer suite beside it, that took longer, and the job was dropped.
    initializeProcessTimeout: 60_000,
    requestFunc: async (req) => {
      const job = req.job;
      write({
        event: 'request', agent_name: req.agentName, job_id: job.id,
        dispatch_id: job.dispatchId || null, room: job.room?.name ?? null,
        metadata: job.metadata, worker_agent_name: agentName,
      });
      await req.accept(`e2e agent ${agentName}`, `agent-${agentName}-${job.id}`);
    },
  }));
  server.event.on('worker_registered', (workerId) => write({ event: 'registered', agent_name: agentName, worker_id: String(workerId ?? '') }));
  return server;
});

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  await Promise.race([
    Promise.allSettled(servers.map((s) => s.close())),
    new Promise((r) => setTimeout(r, 5000)),
  ]);
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

await Promise.all(servers.map((s) => s.run())).catch((e) => {
  console.error('worker.mjs: worker failed:', e);
  shutdown(1);
});
