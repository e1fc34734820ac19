/* Fuzz target: the live-room registry fed whatever a signed webhook body or
 * a ListRooms answer could hold (events, out of order, repeated; room lists),
 * with claims and session listings in between. One registry lives across
 * inputs (so that state piles up), renewed every 4096 inputs. */
#include "core/registry.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rg_registry *reg;
	static unsigned runs;
	json_t *v, *out;
	const char *room;

	if (!reg || ++runs % 4096 == 0) {
		rg_registry_free(reg);
		reg = rg_registry_new(256);
	}
	if (!(v = json_loadb((const char *)data, size, 0, NULL)))
		return 0;
	if (json_is_array(v)) {
		json_decref(rg_registry_reconcile(reg, v, rg_registry_mark(reg)));
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
