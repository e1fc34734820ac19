/*
 * mint.c - in-process minting rate of libroomgate: builds and signs the same
 * token /token issues (identity, name, room grant, one agent with metadata)
 * with one reusable signer, for a fixed time (or count) on one core, and
 * prints tokens/s as one JSON line.
 *   mint [--mode json|build|shared|request|parse] [--config FILE] [--body FILE]
 *        [seconds [max_tokens]]
 * How the token's roomConfig is given, per token:
 *   json   (default) parsed from RoomConfiguration JSON (rg_claims_t.room_config_json)
 *   build  built with rg_roomconfig_new + rg_roomconfig_add_agent and freed, as
 *          livekit-server-sdk's callers build a RoomConfiguration per token
 *          (tests/bench/mint-node.mjs)
 *   shared one rg_roomconfig_t built once and passed to every token
 *          (rg_claims_t.room_config): the cost of signing alone
 * Two more modes show where a /token request's own work goes (one "token"
 * per request or parse):
 *   request rg_policy_eval(--config FILE, user "bench", --body FILE):
 *          everything POST /token does after authentication (parse the
 *          body, policy, agent metadata, room config, sign, the answer);
 *          tests/bench/run passes its server config and request body
 *   parse  jansson's json_loadb of the --body FILE, alone
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <roomgate.h>

enum mode { M_JSON, M_BUILD, M_SHARED, M_REQUEST, M_PARSE };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define AGENT_NAME "assistant"
#define AGENT_METADATA "{\"user_id\":\"12345\",\"language\":\"en\"}"

/* The whole file at path, NUL-terminated; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"json", "build", "shared", "request", "parse"};
	enum mode mode = M_JSON;
	double secs = 3.0, t0, el;
	unsigned long n = 0, max = 0;
	int pos = 0;
	rg_signer_t *signer = rg_signer_new("devkey", "secret");
	rg_roomconfig_t *shared = NULL;
	rg_config_t *cfg = NULL;
	rg_user_t user = {0};
	rg_error perr;
	const char *config_path = NULL, *body_path = NULL;
	char *body = NULL;
	size_t body_len = 0;
	int status = 1; /* until the rate is printed; 2 for a usage error */
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
			else if (!strcmp(m, "request"))
				mode = M_REQUEST;
			else if (!strcmp(m, "parse"))
				mode = M_PARSE;
			else
				goto usage;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--body") && i + 1 < argc) {
			body_path = argv[++i];
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
		goto out;
	if (mode == M_JSON) {
		c.room_config_json = "{\"agents\":[{\"agent_name\":\"" AGENT_NAME "\",\"metadata\":"
				     "\"{\\\"user_id\\\":\\\"12345\\\",\\\"language\\\":\\\"en\\\"}\"}]}";
	} else if (mode == M_SHARED) {
		if (!(shared = rg_roomconfig_new()) ||
		    rg_roomconfig_add_agent(shared, AGENT_NAME, AGENT_METADATA, NULL))
			goto out;
		c.room_config = shared;
	}
	if (mode == M_REQUEST || mode == M_PARSE) {
		if (!body_path || !(body = slurp(body_path, &body_len)) ||
		    (mode == M_REQUEST && !config_path)) {
			fprintf(stderr, "mint: --mode %s needs --body FILE%s\n", names[mode],
				mode == M_REQUEST ? " and --config FILE" : "");
			status = 2;
			goto out;
		}
	}
	if (mode == M_REQUEST) {
		memset(&perr, 0, sizeof(perr));
		if (rg_config_load(config_path, &cfg, &perr) ||
		    rg_user_set(&user, "bench", "Bench User", NULL, 0, "session")) {
			fprintf(stderr, "mint: %s: %s\n", config_path, perr.message);
			goto out;
		}
	}

	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++) {
			char *jwt = NULL;
			rg_roomconfig_t *rc = NULL;
			rg_error err;

			if (mode == M_PARSE) {
				json_t *v = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
				if (!v)
					goto out;
				json_decref(v);
				n++;
				continue;
			}
			if (mode == M_REQUEST) {
				char *answer = NULL;
				if (rg_policy_eval(cfg, &user, body, body_len, &answer, &err)) {
					fprintf(stderr, "mint: request failed: %s\n", err.message);
					goto out;
				}
				rg_free(answer);
				n++;
				continue;
			}
			if (mode == M_BUILD) {
				if (!(rc = rg_roomconfig_new()) ||
				    rg_roomconfig_add_agent(rc, AGENT_NAME, AGENT_METADATA, NULL)) {
					fprintf(stderr, "mint: cannot build the room config\n");
					rg_roomconfig_free(rc);
					goto out;
				}
				c.room_config = rc;
			}
			if (rg_token_mint_with(&c, signer, &jwt, NULL, &err)) {
				fprintf(stderr, "mint failed: %s\n", err.message);
				rg_roomconfig_free(rc);
				goto out;
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
	status = 0;
	goto out;
usage:
	fprintf(stderr, "usage: mint [--mode json|build|shared|request|parse] [--config FILE] "
			"[--body FILE] [seconds [max_tokens]]\n");
	status = 2;
out:
	rg_roomconfig_free(shared);
	rg_signer_free(signer);
	rg_user_clear(&user);
	rg_config_free(cfg);
	free(body);
	return status;
}
