/* Unit tests: RoomConfiguration parsing (snake/camel, minimal output, refusals). */
#include <stdlib.h>

#include "check.h"
#include "livekit/roomconfig.h"

static char *parse_out(const char *json, rg_error *err)
{
	rg_roomconfig_t *rc = NULL;
	char *s;

	memset(err, 0, sizeof(*err));
	if (rg_roomconfig_parse(json, strlen(json), &rc, err))
		return NULL;
	s = rg_roomconfig_to_json(rc);
	rg_roomconfig_free(rc);
	return s;
}

int main(void)
{
	rg_error err;
	char *s;

	/* snake_case in, camelCase out, defaults omitted, agentName first */
	s = parse_out("{\"agents\":[{\"metadata\":\"{\\\"a\\\":1}\",\"agent_name\":\"bot\","
		      "\"deployment\":\"\"}],\"empty_timeout\":60,\"departure_timeout\":0,"
		      "\"sync_streams\":false,\"metadata\":\"\"}",
		      &err);
	CHECK_STR(s, "{\"agents\":[{\"agentName\":\"bot\",\"metadata\":\"{\\\"a\\\":1}\"}],"
		     "\"emptyTimeout\":60}");
	free(s);

	/* camelCase accepted; metadata object serialized to a string */
	s = parse_out("{\"agents\":[{\"agentName\":\"bot\",\"metadata\":{\"lang\":\"en\"}}],"
		      "\"maxParticipants\":\"2\"}",
		      &err);
	CHECK_STR(s, "{\"agents\":[{\"agentName\":\"bot\",\"metadata\":\"{\\\"lang\\\":\\\"en\\\"}\"}],"
		     "\"maxParticipants\":2}");
	free(s);

	/* restart policy default omitted, JRP_NEVER kept; attributes and tags kept */
	s = parse_out("{\"agents\":[{\"agent_name\":\"a\",\"restart_policy\":\"JRP_ON_FAILURE\"},"
		      "{\"agent_name\":\"b\",\"restart_policy\":\"JRP_NEVER\",\"attributes\":{\"k\":\"v\"}}],"
		      "\"tags\":{\"t\":\"1\"}}",
		      &err);
	CHECK_STR(s, "{\"agents\":[{\"agentName\":\"a\"},{\"agentName\":\"b\",\"restartPolicy\":"
		     "\"JRP_NEVER\",\"attributes\":{\"k\":\"v\"}}],\"tags\":{\"t\":\"1\"}}");
	free(s);

	/* whole reals are counts; huge or fractional ones are refused (a fuzz
	 * find: casting 2.5e78 to an integer was undefined behaviour) */
	s = parse_out("{\"max_participants\":3.0}", &err);
	CHECK_STR(s, "{\"maxParticipants\":3}");
	free(s);
	CHECK(!parse_out("{\"max_participants\":2555555555555555555555555555555555555555555555555555555"
			 "555555555555555555555555.0}", &err));
	CHECK_STR(err.code, "invalid_room_config");
	CHECK(!parse_out("{\"max_participants\":1e300}", &err));
	CHECK(!parse_out("{\"max_participants\":-1e300}", &err));
	CHECK(!parse_out("{\"max_participants\":4294967296.0}", &err));
	CHECK(!parse_out("{\"max_participants\":2.5}", &err));
	s = parse_out("{\"max_participants\":4294967295.0}", &err);
	CHECK_STR(s, "{\"maxParticipants\":4294967295}");
	free(s);

	/* refusals */
	CHECK(!parse_out("{\"agent\":[{\"agent_name\":\"a\"}]}", &err));
	CHECK_STR(err.code, "invalid_room_config");
	CHECK(strstr(err.message, "'agent'") != NULL);
	CHECK(!parse_out("{\"egress\":{\"room\":{}}}", &err));
	CHECK_STR(err.code, "egress_not_allowed");
	CHECK(!parse_out("{\"agents\":[{\"agent_name\":\"a\",\"metadata\":5}]}", &err));
	CHECK(err.err == RG_ERR_INVALID);
	CHECK(!parse_out("{\"agents\":[{\"metadata\":\"x\"}]}", &err));
	CHECK(strstr(err.message, "agent_name is required") != NULL);
	CHECK(!parse_out("{\"agents\":{}}", &err));
	CHECK(!parse_out("{\"empty_timeout\":-1}", &err));
	CHECK(!parse_out("{\"empty_timeout\":4294967296}", &err));
	CHECK(!parse_out("{\"empty_timeout\":1.5}", &err));
	CHECK(!parse_out("{\"sync_streams\":\"yes\"}", &err));
	CHECK(!parse_out("{\"tags\":{\"a\":1}}", &err));
	CHECK(!parse_out("{\"agents\":[{\"agent_name\":\"a\",\"restart_policy\":\"SOMETIMES\"}]}", &err));
	CHECK(!parse_out("{\"empty_timeout\":1,\"emptyTimeout\":2}", &err));
	CHECK(strstr(err.message, "twice") != NULL);
	CHECK(!parse_out("[1]", &err));
	CHECK(!parse_out("{", &err));
	CHECK_STR(err.code, "invalid_json");

	/* building by API */
	{
		rg_roomconfig_t *rc = rg_roomconfig_new();
		CHECK(rg_roomconfig_add_agent(rc, "x", "{\"k\":1}", "prod") == RG_OK);
		CHECK(rg_roomconfig_add_agent(rc, "", NULL, NULL) == RG_ERR_INVALID);
		CHECK(rg_roomconfig_agent_count(rc) == 1);
		CHECK_STR(rg_roomconfig_agent_name(rc, 0), "x");
		CHECK_STR(rg_roomconfig_agent_metadata(rc, 0), "{\"k\":1}");
		s = rg_roomconfig_to_json(rc);
		CHECK_STR(s, "{\"agents\":[{\"agentName\":\"x\",\"metadata\":\"{\\\"k\\\":1}\","
			     "\"deployment\":\"prod\"}]}");
		free(s);
		rg_roomconfig_free(rc);
		rg_roomconfig_free(NULL);
	}
	CHECK_DONE();
}
