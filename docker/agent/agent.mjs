// The example agent's job entry point (LiveKit's agents framework imports it in a job process
// for every job the worker accepted). No model and no API key: it joins the room as the agent
// participant, shows itself as listening (the page reads the `lk.agent.state` attribute),
// greets on the chat topic with what roomgate put in the job metadata, and stays until the
// room closes. Put your AgentSession (STT/LLM/TTS) here.
import { defineAgent } from '@livekit/agents';

const log = (obj) => console.log(JSON.stringify(obj));

export default defineAgent({
  entry: async (ctx) => {
    let meta = {};
    try { meta = JSON.parse(ctx.job.metadata || '{}'); } catch { /* text metadata */ }
    log({ event: 'job_entry', job_id: ctx.job.id, room: ctx.job.room?.name ?? null, metadata: meta });
    await ctx.connect();
    const me = ctx.room.localParticipant;
    log({ event: 'joined', job_id: ctx.job.id, room: ctx.room.name, identity: me?.identity ?? null });
    await me?.setAttributes({ 'lk.agent.state': 'listening' }).catch(() => {});
    const who = typeof meta.user_name === 'string' ? meta.user_name : 'there';
    await me?.sendText(`Hello ${who}! I am the example agent in room ${ctx.room.name}.`,
      { topic: 'lk.chat' }).catch(() => {});
  },
});
