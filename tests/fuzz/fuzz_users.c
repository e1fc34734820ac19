/* Fuzz target: the users file parser. */
#include "auth/users.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_users users;
	rg_error err;

	if (!rg_users_parse((const char *)data, size, &users, &err)) {
		for (size_t i = 0; i < users.n; i++)
			(void)rg_users_find(&users, users.v[i].name);
		rg_users_clear(&users);
	}
	return 0;
}
