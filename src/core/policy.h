/*
 * policy.h - who may join which room with which agents (policy.c).
 */
#ifndef RG_CORE_POLICY_H
#define RG_CORE_POLICY_H

#include <jansson.h>
#include <stdbool.h>

#include "core/config.h"
#include "roomgate.h"

const rg_rule *rg_policy_rule(const rg_config_t *cfg, const rg_user_t *user);
bool rg_policy_room_allowed(const rg_rule *rule, const char *room);
/* Resolves one requested agent into the dispatch written into the token:
 * *out is {"agentName", "metadata", "deployment"?}. `by_profile` says whether
 * `name` is a profile key (/v1/sessions) or an agent name (/token).
 * `client_md` may be NULL, a string or an object. */
rg_err rg_policy_agent(const rg_config_t *cfg, const rg_rule *rule, const rg_user_t *user,
		       const char *room, const char *name, bool by_profile,
		       const json_t *client_md, const char *deployment, json_t **out,
		       rg_error *err);

#endif
