/* Shared set-up for roomgate's libFuzzer targets. */
#ifndef RG_FUZZ_COMMON_H
#define RG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomgate.h"

/* A config with profiles, templates and ordered rules; no network. */
static const char fuzz_config[] =
	"{\"livekit\":{\"url\":\"ws://127.0.0.1:9\",\"api_key\":\"k\",\"api_secret\":\"s\","
	"  \"check_existing_rooms\":false, \"reconcile_interval\":0},"
	" \"session\":{\"secret\":\"fuzz-session-secret-fuzz-session-secret\"},"
	" \"tokens\":{\"default_ttl\":\"10m\",\"max_ttl\":\"1h\"},"
	" \"agents\":{\"support\":{\"agent_name\":\"support-agent\",\"deployment\":\"prod\","
	"   \"metadata\":{\"user_id\":\"{{user.id}}\",\"who\":\"{{user.name}} {{room}}\","
	"   \"g\":\"{{user.groups}}\"},\"client_metadata\":[\"language\",\"topic\"]},"
	"  \"notes\":{\"agent_name\":\"notes\",\"metadata_format\":\"text\",\"client_metadata\":\"*\"}},"
	" \"rules\":[{\"name\":\"admins\",\"match\":{\"groups\":[\"admin\"]},\"rooms\":[\"*\"],"
	"   \"session_rooms\":true,\"agents\":[\"*\"],\"grants\":{\"roomAdmin\":true}},"
	"  {\"name\":\"users\",\"rooms\":[\"lobby\",\"team-*\"],\"session_rooms\":true,"
	"   \"agents\":[\"support\"],\"grants\":{\"canPublishData\":false},\"ttl\":\"5m\"}]}";

static rg_config_t *fuzz_cfg(void)
{
	static rg_config_t *cfg;
	rg_error err;

	if (!cfg && rg_config_parse(fuzz_config, sizeof(fuzz_config) - 1, NULL, &cfg, &err)) {
		fprintf(stderr, "fuzz config: %s\n", err.message);
		abort();
	}
	return cfg;
}

#endif
