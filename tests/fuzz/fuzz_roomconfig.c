/* Fuzz target: RoomConfiguration JSON (snake/camel) -> the token claim. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_roomconfig_t *rc = NULL;
	rg_error err;

	if (!rg_roomconfig_parse((const char *)data, size, &rc, &err))
		rg_free(rg_roomconfig_to_json(rc));
	rg_roomconfig_free(rc);
	return 0;
}
