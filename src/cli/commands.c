/*
 * commands.c - `roomgate token create|inspect`, `user add`, `config check`,
 * `apikey create`: thin command-line wrappers over the public library API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/names.h"
#include "cli/commands.h"
#include "cli/opt.h"
#include "roomgate.h"

#define MAX_REPEAT 64

static int fail(const char *cmd, const char *msg)
{
	fprintf(stderr, "roomgate %s: %s\n", cmd, msg);
	return 1;
}

static const char *env_or(const char *v, const char *env)
{
	const char *e = getenv(env);

	return v ? v : (e && *e ? e : NULL);
}

int rg_cli_token_create(int argc, char **argv)
{
	const char *identity = NULL, *room = NULL, *name = NULL, *metadata = NULL, *job_md = NULL,
		   *deployment = NULL, *ttl_s = NULL, *key = NULL, *secret = NULL, *kind = NULL, *v;
	const char *attrs[MAX_REPEAT], *agents[MAX_REPEAT], *grants[MAX_REPEAT];
	size_t nattrs = 0, nagents = 0, ngrants = 0;
	rg_token_t *tok = NULL;
	rg_roomconfig_t *rc = NULL;
	rg_error err = {0};
	char *jwt = NULL;
	long ttl = 600;
	int code = 1;

	for (int i = 3; i < argc; i++) {
		if ((v = rg_cli_opt(&i, argc, argv, "identity")))
			identity = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "room")))
			room = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "name")))
			name = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "metadata")))
			metadata = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "job-metadata")))
			job_md = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "deployment")))
			deployment = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "ttl")))
			ttl_s = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "api-key")))
			key = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "api-secret")))
			secret = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "kind")))
			kind = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "attribute")) && nattrs < MAX_REPEAT)
			attrs[nattrs++] = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "agent")) && nagents < MAX_REPEAT)
			agents[nagents++] = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "grant")) && ngrants < MAX_REPEAT)
			grants[ngrants++] = v;
		else {
			fprintf(stderr, "roomgate token create: unknown or repeated argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	key = env_or(key, "LIVEKIT_API_KEY");
	secret = env_or(secret, "LIVEKIT_API_SECRET");
	if (!identity || !room)
		return fail("token create", "--identity and --room are required");
	if (!key || !secret)
		return fail("token create",
			    "--api-key and --api-secret (or LIVEKIT_API_KEY/LIVEKIT_API_SECRET) needed");
	if (ttl_s && rg_duration_parse(ttl_s, &ttl))
		return fail("token create", "--ttl must be a duration like 90s, 10m, 1h");
	/* the server's rule for names that enter (no site pattern here) */
	if (rg_identity_check("--identity", identity, &err) ||
	    rg_room_name_check("--room", room, NULL, &err))
		return fail("token create", err.message);
	for (size_t i = 0; i < nagents; i++)
		if (rg_agent_name_check("--agent", agents[i], &err))
			return fail("token create", err.message);
	tok = rg_token_new();
	if (!tok)
		return fail("token create", "out of memory");
	if (rg_token_set_identity(tok, identity) || rg_token_set_room(tok, room)) {
		fail("token create", "cannot set --identity or --room");
		goto out;
	}
	if ((name && rg_token_set_name(tok, name)) || (metadata && rg_token_set_metadata(tok, metadata)) ||
	    (kind && rg_token_set_kind(tok, kind))) {
		fail("token create", "invalid --name, --metadata or --kind");
		goto out;
	}
	rg_token_set_ttl(tok, ttl);
	for (size_t i = 0; i < nattrs; i++) {
		const char *eq = strchr(attrs[i], '=');
		char *k2;
		int bad;
		if (!eq || eq == attrs[i]) {
			fail("token create", "--attribute takes key=value");
			goto out;
		}
		k2 = strndup(attrs[i], (size_t)(eq - attrs[i]));
		bad = !k2 || rg_token_set_attribute(tok, k2, eq + 1);
		free(k2);
		if (bad) {
			fail("token create", "invalid --attribute");
			goto out;
		}
	}
	for (size_t i = 0; i < ngrants; i++) {
		const char *eq = strchr(grants[i], '=');
		char g[64];
		int val;
		if (!eq || (size_t)(eq - grants[i]) >= sizeof(g) ||
		    (strcmp(eq + 1, "true") && strcmp(eq + 1, "false"))) {
			fail("token create", "--grant takes name=true or name=false");
			goto out;
		}
		snprintf(g, sizeof(g), "%.*s", (int)(eq - grants[i]), grants[i]);
		val = !strcmp(eq + 1, "true");
		if (rg_token_set_grant(tok, g, val)) {
			fprintf(stderr, "roomgate token create: unknown grant '%s'\n", g);
			goto out;
		}
	}
	if (nagents) {
		if (!(rc = rg_roomconfig_new()))
			goto out;
		for (size_t i = 0; i < nagents; i++)
			if (rg_roomconfig_add_agent(rc, agents[i], job_md, deployment)) {
				fail("token create", "invalid --agent");
				goto out;
			}
		rg_token_set_room_config(tok, rc);
	}
	if (rg_token_sign(tok, key, secret, 0, &jwt, NULL, &err)) {
		fail("token create", err.message);
		goto out;
	}
	printf("%s\n", jwt);
	code = 0;
out:
	rg_free(jwt);
	rg_roomconfig_free(rc);
	rg_token_free(tok);
	return code;
}

int rg_cli_token_inspect(int argc, char **argv)
{
	const char *token = NULL, *secret = NULL, *v;
	char *out = NULL;
	int verified = -1;
	rg_error err = {0};

	for (int i = 3; i < argc; i++) {
		if ((v = rg_cli_opt(&i, argc, argv, "secret")))
			secret = v;
		else if (!token && strncmp(argv[i], "--", 2))
			token = argv[i];
		else {
			fprintf(stderr, "roomgate token inspect: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!token)
		return fail("token inspect", "give the token to inspect");
	if (rg_token_inspect(token, secret, 0, &out, &verified, &err))
		return fail("token inspect", err.message);
	printf("%s\n", out);
	rg_free(out);
	if (secret && verified != 1) {
		fprintf(stderr, "roomgate token inspect: does not verify: %s\n", err.message);
		return 1;
	}
	return 0;
}

int rg_cli_user_add(int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *display = NULL, *groups = NULL, *v;
	char pw[1024];
	size_t n;
	rg_error err = {0};
	int code = 0;

	for (int i = 3; i < argc; i++) {
		if ((v = rg_cli_opt(&i, argc, argv, "display-name")))
			display = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "groups")))
			groups = v;
		else if (!file && strncmp(argv[i], "--", 2))
			file = argv[i];
		else if (!name && strncmp(argv[i], "--", 2))
			name = argv[i];
		else {
			fprintf(stderr, "roomgate user add: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!file || !name)
		return fail("user add", "usage: roomgate user add FILE NAME (password on stdin)");
	if (!fgets(pw, sizeof(pw), stdin))
		return fail("user add", "no password on standard input");
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (!n)
		code = fail("user add", "empty password");
	else if (rg_users_file_add(file, name, pw, display, groups, &err))
		code = fail("user add", err.message);
	else
		fprintf(stderr, "roomgate: user '%s' written to %s\n", name, file);
	OPENSSL_cleanse(pw, sizeof(pw));
	return code;
}

int rg_cli_config_check(int argc, char **argv)
{
	rg_config_t *cfg = NULL;
	rg_error err = {0};

	if (argc != 4)
		return fail("config check", "usage: roomgate config check FILE");
	if (rg_config_load(argv[3], &cfg, &err))
		return fail("config check", err.message);
	rg_config_free(cfg);
	printf("ok\n");
	return 0;
}

int rg_cli_apikey_create(int argc, char **argv)
{
	char *key = NULL, *hash = NULL;

	rg_error err = {0};

	if (argc != 4 || !argv[3][0] || argv[3][0] == '-')
		return fail("apikey create", "usage: roomgate apikey create NAME");
	/* the key's name is its identity, and the config entry is JSON */
	if (rg_identity_check("NAME", argv[3], &err))
		return fail("apikey create", err.message);
	if (strpbrk(argv[3], "\"\\"))
		return fail("apikey create", "NAME must not contain '\"' or '\\'");
	if (rg_apikey_new(&key, &hash))
		return fail("apikey create", "cannot make a key");
	/* the key once, on stdout; the config entry holds only its digest */
	printf("%s\n", key);
	printf("{\"name\": \"%s\", \"hash\": \"%s\", \"scopes\": []}\n", argv[3], hash);
	fprintf(stderr, "roomgate: add the second line to \"api_keys\" in your config; the key "
			"itself is shown only now\n");
	OPENSSL_cleanse(key, strlen(key));
	rg_free(key);
	rg_free(hash);
	return 0;
}
