// Example agent worker for docker/compose.yaml, built on LiveKit's agents framework
// (@livekit/agents, the version tests/e2e pins). It registers under an explicit agent name,
// so LiveKit gives it only the jobs that name it: the `roomConfig.agents` of a roomgate token
// (the first participant's connect creates the room and dispatches it) or roomgate's
// POST /v1/dispatch. Each job runs agent.mjs in a job process.
//
// The same worker options as tests/e2e/worker.mjs, which runs this topology without
// containers; `tests/deploy/check` keeps the agent name in step with docker/config/roomgate.json.
//
// env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET (livekit-server --dev: devkey / secret),
//      AGENT_NAME (default support-agent), HEALTH_PORT (default 8081: GET / is 200 when
//      registered), LOG_LEVEL (default info).
import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { fileURLToPath } from 'node:url';

const agentName = process.env.AGENT_NAME || 'support-agent';
if (!process.env.LIVEKIT_URL) {
  console.error('worker.mjs: LIVEKIT_URL is required (e.g. ws://127.0.0.1:7880)');
  process.exit(2);
}

initializeLogger({ pretty: false, level: process.env.LOG_LEVEL || 'info' });

const server = new AgentServer(new ServerOptions({
  agent: fileURLToPath(new URL('./agent.mjs', import.meta.url)),
  agentName,
  wsURL: process.env.LIVEKIT_URL,
  apiKey: process.env.LIVEKIT_API_KEY || 'devkey',
  apiSecret: process.env.LIVEKIT_API_SECRET || 'secret',
  host: process.env.HEALTH_HOST || '127.0.0.1',
  port: Number(process.env.HEALTH_PORT || 8081),
  production: false,            // job processes spawned on demand, no CPU-load gating
  loadFunc: async () => 0,
  requestFunc: async (req) => {
    console.log(JSON.stringify({ event: 'job_request', agent_name: req.agentName,
      job_id: req.job.id, room: req.job.room?.name ?? null, metadata: req.job.metadata }));
    await req.accept(`Agent ${agentName}`, `agent-${agentName}-${req.job.id}`);
  },
}));
server.event.on('worker_registered', (workerId) =>
  console.log(JSON.stringify({ event: 'registered', agent_name: agentName, worker_id: String(workerId ?? '') })));

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  await Promise.race([server.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

await server.run().catch((e) => {
  console.error('worker.mjs: worker failed:', e);
  shutdown(1);
});
