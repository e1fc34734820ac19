// The agent's job entry point: LiveKit's agents framework imports this file in a job
// process for every job the worker accepted. No model, no keys: it records that the job
// ran, joins the room as the agent participant, and records that it joined; then, when the
// room goes (DeleteRoom, the room closing, LiveKit stopping), that it was disconnected and
// that the job shut down.
import { defineAgent } from '@livekit/agents';
import { RoomEvent } from '@livekit/rtc-node';
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
    // The framework disconnects the room and then runs these when the job ends.
    ctx.room.on(RoomEvent.Disconnected, (reason) => record('disconnected', ctx.job, { reason: reason ?? null }));
    ctx.addShutdownCallback(async () => record('shutdown', ctx.job));
    try {
      await ctx.connect();
      record('joined', ctx.job, { identity: ctx.room.localParticipant?.identity ?? null });
    } catch (e) {
      record('join_failed', ctx.job, { error: String(e?.message ?? e) });
    }
  },
});
