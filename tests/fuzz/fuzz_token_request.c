/* Fuzz target: a POST /token body (JSON -> claims) through policy to a signed token. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rg_user_t admin, user;
	static char *groups[] = {"admin"};
	rg_config_t *cfg = fuzz_cfg();
	char *out = NULL;
	rg_error err;

	if (!admin.id) {
		rg_user_set(&admin, "ann", "Ann", groups, 1, "basic");
		rg_user_set(&user, "bob", "Bob", NULL, 0, "session");
	}
	if (size > RG_MAX_BODY)
		return 0;
	/* the first byte picks the caller, so both rules are explored */
	rg_policy_eval(cfg, size && (data[0] & 1) ? &admin : &user, (const char *)data, size, &out,
		       &err);
	rg_free(out);
	return 0;
}
