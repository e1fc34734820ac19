// The agent's job entry point: LiveKit's agents framework imports this file in a job
// process for every job the worker accepted. No model, no keys: it records that the job
// ran, joins the room as the agent participant, and records that it joined.
import { defineAgent } from '@livekit/agents';
import { appendFileSync } from 'node:fs';

function record(ev, job, extra = {}) {
  const file = process.env.E2E_JOBS_FILE;
  if (!file) return;
  appendFileSync(file, JSON.stringify({
    event: ev, t: Date.now(), pid: process.pid,
    job_id: job.id, dispatch_id: job.dispatchId || null, agent_name: job.agentName,
    room: job.room?.name ?? null, metadata: job.metadata, ...extra,
  }) + '\n');
}

export default defineAgent({
  entry: async (ctx) => {
    record('entry', ctx.job);
    try {
      await ctx.connect();
      record('joined', ctx.job, { identity: ctx.room.localParticipant?.identity ?? null });
    } catch (e) {
      record('join_failed', ctx.job, { error: String(e?.message ?? e) });
    }
  },
});
