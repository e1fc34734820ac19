/* Fuzz target: the JSON config parser (strict keys, durations, rules, profiles). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_config_t *cfg = NULL;
	rg_error err;

	if (size > 256 * 1024)
		return 0;
	/* base_dir points nowhere so file references fail fast */
	if (!rg_config_parse((const char *)data, size, "/nonexistent-roomgate-fuzz", &cfg, &err))
		rg_config_free(cfg);
	return 0;
}
