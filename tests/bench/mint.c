/*
 * mint.c - in-process minting rate of libroomgate: builds and signs the same
 * token /token issues (identity, name, room grant, one agent with metadata)
 * with one reusable signer, for a fixed time (or count) on one core, and
 * prints tokens/s as one JSON line.
 *   mint [--mode json|build|shared] [seconds [max_tokens]]
 * How the token's roomConfig is given, per token:
 *   json   (default) parsed from RoomConfiguration JSON (rg_claims_t.room_config_json)
 *   build  built with rg_roomconfig_new + rg_roomconfig_add_agent and freed, as
 *          livekit-server-sdk's callers build a RoomConfiguration per token
 *          (tests/bench/mint-node.mjs)
 *   shared one rg_roomconfig_t built once and passed to every token
 *          (rg_claims_t.room_config): the cost of signing alone
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <roomgate.h>

enum mode { M_JSON, M_BUILD, M_SHARED };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define AGENT_NAME "assistant"
#define AGENT_METADATA "{\"user_id\":\"12345\",\"language\":\"en\"}"

int main(int argc, char **argv)
{
	static const char *const names[] = {"json", "build", "shared"};
	enum mode mode = M_JSON;
	double secs = 3.0, t0, el;
	unsigned long n = 0, max = 0;
	int pos = 0;
	rg_signer_t *signer = rg_signer_new("devkey", "secret");
	rg_roomconfig_t *shared = NULL;
	rg_claims_t c = {
		.identity = "user-12345",
		.name = "Alice",
		.room = "room-Kz-r4XzVUuwVlQ3rtpiH7Q",
		.ttl = 600,
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			const char *m = argv[++i];
			if (!strcmp(m, "json"))
				mode = M_JSON;
			else if (!strcmp(m, "build"))
				mode = M_BUILD;
			else if (!strcmp(m, "shared"))
				mode = M_SHARED;
			else
				goto usage;
		} else if (argv[i][0] != '-' && pos == 0) {
			secs = atof(argv[i]);
			pos++;
		} else if (argv[i][0] != '-' && pos == 1) {
			max = strtoul(argv[i], NULL, 10);
			pos++;
		} else {
			goto usage;
		}
	}
	if (!signer)
		return 1;
	if (mode == M_JSON) {
		c.room_config_json = "{\"agents\":[{\"agent_name\":\"" AGENT_NAME "\",\"metadata\":"
				     "\"{\\\"user_id\\\":\\\"12345\\\",\\\"language\\\":\\\"en\\\"}\"}]}";
	} else if (mode == M_SHARED) {
		if (!(shared = rg_roomconfig_new()) ||
		    rg_roomconfig_add_agent(shared, AGENT_NAME, AGENT_METADATA, NULL))
			return 1;
		c.room_config = shared;
	}

	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++) {
			char *jwt = NULL;
			rg_roomconfig_t *rc = NULL;
			rg_error err;

			if (mode == M_BUILD) {
				if (!(rc = rg_roomconfig_new()) ||
				    rg_roomconfig_add_agent(rc, AGENT_NAME, AGENT_METADATA, NULL)) {
					fprintf(stderr, "mint: cannot build the room config\n");
					return 1;
				}
				c.room_config = rc;
			}
			if (rg_token_mint_with(&c, signer, &jwt, NULL, &err)) {
				fprintf(stderr, "mint failed: %s\n", err.message);
				return 1;
			}
			rg_free(jwt);
			rg_roomconfig_free(rc);
			n++;
		}
		el = now_s() - t0;
	} while (el < secs && (!max || n < max));
	printf("{\"impl\":\"libroomgate\",\"mode\":\"%s\",\"tokens\":%lu,\"seconds\":%.3f,"
	       "\"tokens_per_s\":%.0f}\n",
	       names[mode], n, el, (double)n / el);
	rg_roomconfig_free(shared);
	rg_signer_free(signer);
	return 0;
usage:
	fprintf(stderr, "usage: mint [--mode json|build|shared] [seconds [max_tokens]]\n");
	return 2;
}
