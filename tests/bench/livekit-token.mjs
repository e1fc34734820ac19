// The token both Node programs of the bench mint with LiveKit's own SDK, the
// way LiveKit's and OpenVidu's tutorials do: AccessToken + a room grant +
// roomConfig with the requested agents. Same claims as roomgate's /token
// answer (identity, name, room grant with the default publish/subscribe/data
// rights, one agent dispatch with its metadata, 10 minute lifetime).
import { AccessToken, RoomConfiguration, RoomAgentDispatch } from 'livekit-server-sdk';

export const API_KEY = 'devkey';
export const API_SECRET = 'secret';

export async function mintToken({ identity, name, room, agents, ttl = 600 }) {
  const at = new AccessToken(API_KEY, API_SECRET, { identity, name, ttl });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  if (agents && agents.length) {
    at.roomConfig = new RoomConfiguration({
      agents: agents.map((a) => new RoomAgentDispatch({ agentName: a.agentName, metadata: a.metadata })),
    });
  }
  return at.toJwt();
}
