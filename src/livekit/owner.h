/*
 * owner.h - a room's owner recorded in its LiveKit metadata (owner.c).
 *
 * LiveKit keeps a room's metadata as long as the room lives; roomgate writes
 * there who owns the session, the agents asked for and its max_session, so
 * that a roomgate that restarted (with no Redis to remember for it) learns
 * them back from ListRooms. The record carries an HMAC-SHA256 under the API
 * secret over the room's name and the fields: a participant allowed to
 * change room metadata cannot make itself the owner of a session.
 */
#ifndef RG_LIVEKIT_OWNER_H
#define RG_LIVEKIT_OWNER_H

#include <jansson.h>

/* The metadata string for `room` (malloc'd; NULL if out of memory):
 * {"roomgate":{"owner","agents"?,"max_session"?,"mac"}}. `agents` is a
 * JSON array of agent names or NULL; max_session 0 is left out. */
char *rg_owner_record(const char *secret, const char *room, const char *owner,
		      const json_t *agents, long max_session);
/* What `metadata` records of `room`'s owner, if it is such a record and
 * its MAC verifies: {"owner","agents"?,"max_session"?} (new reference);
 * NULL otherwise. */
json_t *rg_owner_read(const char *secret, const char *room, const char *metadata);
/* The owners a ListRooms answer's metadata records (rg_owner_read of each
 * room's "metadata"), by room name: a new object (NULL if out of memory). */
json_t *rg_owner_read_rooms(const char *secret, const json_t *rooms);

#endif
