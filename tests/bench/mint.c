/*
 * mint.c - in-process minting rate of libroomgate: builds and signs the same
 * token /token issues (identity, name, room grant, one agent with metadata)
 * with one reusable signer, for a fixed time (or count) on one core, and
 * prints tokens/s as JSON.
 *   mint [seconds [max_tokens]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <roomgate.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0, t0, el;
	unsigned long n = 0, max = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	rg_signer_t *signer = rg_signer_new("devkey", "secret");
	rg_claims_t c = {
		.identity = "user-12345",
		.name = "Alice",
		.room = "room-Kz-r4XzVUuwVlQ3rtpiH7Q",
		.room_config_json = "{\"agents\":[{\"agent_name\":\"assistant\",\"metadata\":"
				    "\"{\\\"user_id\\\":\\\"12345\\\",\\\"language\\\":\\\"en\\\"}\"}]}",
		.ttl = 600,
	};

	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++) {
			char *jwt = NULL;
			rg_error err;
			if (rg_token_mint_with(&c, signer, &jwt, NULL, &err)) {
				fprintf(stderr, "mint failed: %s\n", err.message);
				return 1;
			}
			rg_free(jwt);
			n++;
		}
		el = now_s() - t0;
	} while (el < secs && (!max || n < max));
	printf("{\"impl\":\"libroomgate\",\"tokens\":%lu,\"seconds\":%.3f,\"tokens_per_s\":%.0f}\n", n, el,
	       (double)n / el);
	rg_signer_free(signer);
	return 0;
}
