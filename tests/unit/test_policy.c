/* Unit tests: config parsing and policy decisions (rules, rooms, agents, metadata). */
#include <stdlib.h>

#include "check.h"
#include "base/util.h"
#include "core/config.h"
#include "core/issue.h"
#include "core/policy.h"

static const char cfg_json[] =
	"{\"livekit\":{\"url\":\"ws://127.0.0.1:9\",\"api_key\":\"k\",\"api_secret\":\"s\",\"check_existing_rooms\":false},"
	" \"tokens\":{\"default_ttl\":\"10m\",\"max_ttl\":\"30m\"},"
	" \"rooms\":{\"prefix\":\"sess-\"},"
	" \"agents\":{"
	"  \"support\":{\"agent_name\":\"support-agent\",\"deployment\":\"prod\","
	"   \"metadata\":{\"user_id\":\"{{user.id}}\",\"who\":\"{{user.name}} in {{room}}\","
	"    \"groups\":\"{{user.groups}}\",\"tier\":\"gold\"},\"client_metadata\":[\"language\"]},"
	"  \"notes\":{\"agent_name\":\"notes\",\"metadata_format\":\"text\",\"client_metadata\":\"*\"}},"
	" \"rules\":["
	"  {\"name\":\"admins\",\"match\":{\"groups\":[\"admin\"]},\"rooms\":[\"*\"],"
	"   \"session_rooms\":true,\"agents\":[\"*\"],\"grants\":{\"roomAdmin\":true},\"ttl\":\"1h\"},"
	"  {\"name\":\"users\",\"match\":{\"methods\":[\"local\"]},\"rooms\":[\"lobby\",\"team-*\"],"
	"   \"agents\":[\"support\"],\"grants\":{\"canPublishData\":false},\"ttl\":\"5m\"}]}";

static json_t *claims(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
	size_t n;
	unsigned char *raw = rg_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	json_t *v = json_loadb((char *)raw, n, 0, NULL);

	free(raw);
	return v;
}

static rg_err issue(rg_config_t *cfg, rg_user_t *u, const char *room, const char *req_json,
		    rg_join_result *res, rg_error *err)
{
	json_t *rc = req_json ? json_loads(req_json, 0, NULL) : NULL;
	rg_join j = {.room = room, .room_config = rc};
	rg_err e;

	memset(err, 0, sizeof(*err));
	e = rg_join_issue(cfg, u, &j, res, err);
	json_decref(rc);
	return e;
}

int main(void)
{
	rg_config_t *cfg = NULL;
	rg_user_t admin = {0}, user = {0}, jwtuser = {0};
	char *groups_admin[] = {"admin"};
	rg_join_result res = {0};
	rg_error err = {0};
	json_t *c, *a;
	const char *md;

	CHECK(rg_config_parse(cfg_json, sizeof(cfg_json) - 1, NULL, &cfg, &err) == RG_OK);
	if (!cfg) {
		fprintf(stderr, "config: %s\n", err.message);
		return 1;
	}
	rg_user_set(&admin, "ann", "Ann", groups_admin, 1, "basic");
	rg_user_set(&user, "bob", "Bob", NULL, 0, "session");
	rg_user_set(&jwtuser, "carl", "Carl", NULL, 0, "jwt");

	/* first match wins; rules by group and by method */
	CHECK_STR(rg_policy_rule(cfg, &admin)->name, "admins");
	CHECK_STR(rg_policy_rule(cfg, &user)->name, "users");
	CHECK(rg_policy_rule(cfg, &jwtuser) == NULL);
	CHECK(issue(cfg, &jwtuser, "lobby", NULL, &res, &err) == RG_ERR_FORBIDDEN);
	CHECK_STR(err.code, "no_matching_rule");

	/* rooms: exact and glob; session rooms only where allowed */
	CHECK(issue(cfg, &user, "lobby", NULL, &res, &err) == RG_OK);
	c = claims(res.jwt);
	CHECK(json_is_false(json_object_get(json_object_get(c, "video"), "canPublishData")));
	CHECK(json_is_true(json_object_get(json_object_get(c, "video"), "canPublish")));
	CHECK(json_object_get(json_object_get(c, "video"), "roomAdmin") == NULL);
	CHECK(json_integer_value(json_object_get(c, "exp")) - json_integer_value(json_object_get(c, "nbf")) == 300);
	CHECK(json_object_get(c, "roomConfig") == NULL); /* nothing set: no claim */
	json_decref(c);
	rg_join_result_clear(&res);
	CHECK(issue(cfg, &user, "team-red", NULL, &res, &err) == RG_OK);
	rg_join_result_clear(&res);
	CHECK(issue(cfg, &user, "admin-room", NULL, &res, &err) == RG_ERR_FORBIDDEN);
	CHECK_STR(err.code, "room_not_allowed");
	CHECK(strstr(err.message, "'users'") != NULL);
	CHECK(issue(cfg, &user, NULL, NULL, &res, &err) == RG_ERR_FORBIDDEN);
	CHECK(issue(cfg, &admin, NULL, NULL, &res, &err) == RG_OK);
	CHECK(strncmp(res.room, "sess-", 5) == 0 && strlen(res.room) == 27);
	c = claims(res.jwt);
	CHECK(json_is_true(json_object_get(json_object_get(c, "video"), "roomAdmin")));
	/* rule ttl 1h capped at max_ttl 30m */
	CHECK(json_integer_value(json_object_get(c, "exp")) - json_integer_value(json_object_get(c, "nbf")) == 1800);
	json_decref(c);
	rg_join_result_clear(&res);

	/* agents: profile by agent name, template filled, server wins, client field allowed */
	CHECK(issue(cfg, &user, "lobby",
		    "{\"agents\":[{\"agent_name\":\"support-agent\",\"metadata\":"
		    "\"{\\\"language\\\":\\\"fr\\\"}\"}]}",
		    &res, &err) == RG_OK);
	c = claims(res.jwt);
	a = json_array_get(json_object_get(json_object_get(c, "roomConfig"), "agents"), 0);
	CHECK_STR(rg_json_str(a, "agentName"), "support-agent");
	CHECK_STR(rg_json_str(a, "deployment"), "prod");
	md = rg_json_str(a, "metadata");
	CHECK_STR(md, "{\"language\":\"fr\",\"user_id\":\"bob\",\"who\":\"Bob in lobby\","
		      "\"groups\":[],\"tier\":\"gold\"}");
	CHECK_STR(rg_json_str(json_array_get(res.agents, 0), "metadata"), md);
	json_decref(c);
	rg_join_result_clear(&res);
	/* a client field the profile does not list */
	CHECK(issue(cfg, &user, "lobby",
		    "{\"agents\":[{\"agent_name\":\"support-agent\",\"metadata\":{\"user_id\":\"x\"}}]}",
		    &res, &err) == RG_ERR_FORBIDDEN);
	CHECK_STR(err.code, "metadata_not_allowed");
	/* metadata that is not a JSON object for a json profile */
	CHECK(issue(cfg, &user, "lobby",
		    "{\"agents\":[{\"agent_name\":\"support-agent\",\"metadata\":\"hello\"}]}", &res,
		    &err) == RG_ERR_INVALID);
	CHECK_STR(err.code, "invalid_metadata");
	/* an agent the rule does not allow */
	CHECK(issue(cfg, &user, "lobby", "{\"agents\":[{\"agent_name\":\"notes\"}]}", &res, &err) ==
	      RG_ERR_FORBIDDEN);
	CHECK_STR(err.code, "agent_not_allowed");
	/* "*": profiles by agent name, others passed through; text profile keeps text */
	CHECK(issue(cfg, &admin, "any",
		    "{\"agents\":[{\"agent_name\":\"notes\",\"metadata\":\"plain text\"},"
		    "{\"agent_name\":\"other\",\"metadata\":{\"x\":1}}],\"empty_timeout\":30}",
		    &res, &err) == RG_OK);
	c = claims(res.jwt);
	a = json_object_get(json_object_get(c, "roomConfig"), "agents");
	CHECK_STR(rg_json_str(json_array_get(a, 0), "metadata"), "plain text");
	CHECK_STR(rg_json_str(json_array_get(a, 1), "agentName"), "other");
	CHECK_STR(rg_json_str(json_array_get(a, 1), "metadata"), "{\"x\":1}");
	CHECK(json_integer_value(json_object_get(json_object_get(c, "roomConfig"), "emptyTimeout")) == 30);
	json_decref(c);
	rg_join_result_clear(&res);

	/* identity: a user cannot act for another */
	{
		rg_join j = {.room = "lobby", .identity = "alice"};
		CHECK(rg_join_issue(cfg, &user, &j, &res, &err) == RG_ERR_FORBIDDEN);
		CHECK_STR(err.code, "identity_not_allowed");
		j.identity = "bob";
		CHECK(rg_join_issue(cfg, &user, &j, &res, &err) == RG_OK);
		rg_join_result_clear(&res);
	}
	/* room_config.name must match the room */
	CHECK(issue(cfg, &user, "lobby", "{\"name\":\"other\"}", &res, &err) == RG_ERR_INVALID);

	/* /v1/sessions style: by profile key with shared client metadata */
	{
		json_t *profiles = json_pack("[s]", "support"), *md2 = json_pack("{s:s}", "language", "de");
		rg_join j = {.profiles = profiles, .client_metadata = md2};
		CHECK(rg_join_issue(cfg, &admin, &j, &res, &err) == RG_OK);
		CHECK(strstr(rg_json_str(json_array_get(res.agents, 0), "metadata"), "\"language\":\"de\"") != NULL);
		CHECK(strstr(rg_json_str(json_array_get(res.agents, 0), "metadata"), "\"groups\":[\"admin\"]") != NULL);
		rg_join_result_clear(&res);
		json_decref(profiles);
		profiles = json_pack("[s]", "nope");
		j.profiles = profiles;
		CHECK(rg_join_issue(cfg, &user, &j, &res, &err) == RG_ERR_FORBIDDEN);
		json_decref(profiles);
		json_decref(md2);
	}
	rg_config_free(cfg);

	/* config errors name what is wrong */
	{
		static const char *const bad[] = {
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},\"rulez\":[]}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"rules\":[{\"agents\":[\"ghost\"]}]}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"rules\":[{\"ttl\":\"soon\"}]}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"rules\":[{\"grants\":{\"canFly\":true}}]}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"rules\":[{\"match\":{\"methods\":[\"magic\"]}}]}",
			"{\"livekit\":{\"url\":\"ftp://x\",\"api_key\":\"k\",\"api_secret\":\"s\"}}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"session\":{\"secret\":\"short\"}}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"tokens\":{\"default_ttl\":\"2h\",\"max_ttl\":\"1h\"}}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"rooms\":{\"prefix\":\"a b\"}}",
			"{\"livekit\":{\"url\":\"ws://x\"}}",
			"{\"livekit\":{\"url\":\"ws://x\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			"\"users_file\":\"/nonexistent/users\"}",
			"{,}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&err, 0, sizeof(err));
			CHECK(rg_config_parse(bad[i], strlen(bad[i]), NULL, &cfg, &err) == RG_ERR_CONFIG);
			CHECK(cfg == NULL && err.message[0]);
		}
	}
	/* dev config */
	CHECK(rg_config_dev(NULL, &cfg, &err) == RG_OK);
	CHECK(rg_config_is_dev(cfg));
	CHECK_STR(rg_config_listen(cfg), "127.0.0.1:8080");
	CHECK_STR(rg_config_livekit_url(cfg), "ws://127.0.0.1:7880");
	CHECK(rg_password_verify("demo", rg_users_find(&cfg->auth.users, "demo")->hash) == 1);
	rg_config_free(cfg);

	rg_user_clear(&admin);
	rg_user_clear(&user);
	rg_user_clear(&jwtuser);
	CHECK_DONE();
}
