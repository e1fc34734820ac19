/* Fuzz target: the live-room registry fed whatever a signed webhook body or
 * a ListRooms answer could hold (events, out of order, repeated; room lists),
 * with claims and session listings in between. One registry lives across
 * inputs (so that state piles up), renewed every 4096 inputs.
 *
 * A room list's owners are what the link would hand over: each room's
 * metadata read as an owner record (livekit/owner.c: fuzzed text, which must
 * also pass its MAC), and, for a room with a "fuzz_owner" field, a record
 * made under the same secret from that owner and the room's "agents" and
 * "max_session", so that adoption runs on valid records of any content. */
#include <stdlib.h>

#include "core/registry.h"
#include "fuzz_common.h"
#include "livekit/owner.h"

#define SECRET "fuzz-secret"

/* A room with a "fuzz_owner" gets, as its metadata, a valid record of that
 * owner and its "agents" and "max_session"; then the owners are read as the
 * link reads them. */
static json_t *owners_of(json_t *rooms)
{
	json_t *info;
	size_t i;

	json_array_foreach(rooms, i, info) {
		const char *name = json_string_value(json_object_get(info, "name"));
		const char *owner = json_string_value(json_object_get(info, "fuzz_owner"));
		char *made = name && owner ? rg_owner_record(SECRET, name, owner,
							     json_object_get(info, "agents"),
							     (long)json_integer_value(json_object_get(info, "max_session")))
					   : NULL;
		if (made && json_is_object(info))
			json_object_set_new(info, "metadata", json_string(made));
		free(made);
	}
	return rg_owner_read_rooms(SECRET, rooms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rg_registry *reg;
	static unsigned runs;
	json_t *v, *out, *owners;
	const char *room;

	if (!reg || ++runs % 4096 == 0) {
		rg_registry_free(reg);
		reg = rg_registry_new(256);
	}
	if (!(v = json_loadb((const char *)data, size, 0, NULL)))
		return 0;
	if (json_is_array(v)) {
		owners = owners_of(v);
		json_decref(rg_registry_reconcile(reg, v, owners, rg_registry_mark(reg)));
		json_decref(owners);
	} else {
		rg_registry_event(reg, v);
		room = json_string_value(json_object_get(json_object_get(v, "room"), "name"));
		if (room) {
			rg_registry_issued(reg, room, "bob", json_object_get(v, "agents"), 2000000000);
			rg_registry_learned(reg, room, size & 1, rg_registry_mark(reg));
			(void)rg_registry_owns(reg, room, "bob");
		}
		if (json_is_string(json_object_get(v, "id")))
			(void)rg_registry_seen(reg, json_string_value(json_object_get(v, "id")), 1, 60);
	}
	out = rg_registry_sessions(reg, "bob");
	json_decref(out);
	json_decref(v);
	return 0;
}
