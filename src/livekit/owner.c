/*
 * owner.c - the owner record in a room's metadata (see owner.h).
 *
 * The MAC covers a canonical line per field, not the JSON as written, so
 * that it does not depend on how LiveKit hands the string back.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "livekit/owner.h"

/* base64url of HMAC-SHA256(secret, "roomgate.owner\n" room \n owner \n
 * agents (compact JSON, or empty) \n max_session); malloc'd. */
static char *mac(const char *secret, const char *room, const char *owner, const json_t *agents,
		 long max_session)
{
	char *names = agents ? json_dumps(agents, JSON_COMPACT) : NULL, *text = NULL, *out = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int n;

	if (agents && !names)
		return NULL;
	n = asprintf(&text, "roomgate.owner\n%s\n%s\n%s\n%ld", room, owner, names ? names : "",
		     max_session);
	if (n >= 0 && HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)text,
			   (size_t)n, md, &md_len))
		out = rg_b64url_encode(md, md_len);
	free(names);
	free(text);
	return out;
}

char *rg_owner_record(const char *secret, const char *room, const char *owner,
		      const json_t *agents, long max_session)
{
	const json_t *names = json_array_size(agents) ? agents : NULL;
	char *m = mac(secret, room, owner, names, max_session), *out = NULL;
	json_t *rec;

	if (!m)
		return NULL;
	rec = json_pack("{s:{s:s,s:O*,s:I,s:s}}", "roomgate", "owner", owner, "agents", names,
			"max_session", (json_int_t)max_session, "mac", m);
	if (rec && !max_session)
		json_object_del(json_object_get(rec, "roomgate"), "max_session");
	if (rec)
		out = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	free(m);
	return out;
}

json_t *rg_owner_read(const char *secret, const char *room, const char *metadata)
{
	json_t *doc, *agents = NULL, *out = NULL, *a;
	const char *owner = NULL, *given = NULL;
	json_int_t max_session = 0;
	char *want = NULL;
	size_t i;

	if (!metadata || strncmp(metadata, "{\"roomgate\"", 11) ||
	    !(doc = json_loads(metadata, 0, NULL)))
		return NULL;
	if (json_unpack(doc, "{s:{s:s,s?o,s?I,s:s}}", "roomgate", "owner", &owner, "agents",
			&agents, "max_session", &max_session, "mac", &given) ||
	    !*owner || max_session < 0 || (agents && !json_is_array(agents)))
		goto out;
	json_array_foreach(agents, i, a)
		if (!json_is_string(a))
			goto out;
	want = mac(secret, room, owner, json_array_size(agents) ? agents : NULL, (long)max_session);
	if (want && strlen(want) == strlen(given) && !CRYPTO_memcmp(want, given, strlen(want)))
		out = json_pack("{s:s,s:O*,s:I}", "owner", owner, "agents",
				json_array_size(agents) ? agents : NULL, "max_session", max_session);
out:
	free(want);
	json_decref(doc);
	return out;
}

json_t *rg_owner_read_rooms(const char *secret, const json_t *rooms)
{
	json_t *owners = json_object(), *info;
	size_t i;

	if (!owners)
		return NULL;
	json_array_foreach(rooms, i, info) {
		const char *name = json_string_value(json_object_get(info, "name"));
		json_t *rec = name ? rg_owner_read(secret, name,
						   json_string_value(json_object_get(info, "metadata")))
				   : NULL;
		if (rec)
			json_object_set_new(owners, name, rec);
	}
	return owners;
}
