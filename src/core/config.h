/*
 * config.h - the parsed, immutable, refcounted configuration: the type
 * every layer from core/ up reads. config_load.c loads and frees it (public
 * in roomgate.h) through the section parsers of config_parse.h. Each lower
 * layer reads only its own section: auth the rg_auth_conf, the LiveKit
 * client the rg_livekit.
 */
#ifndef RG_CORE_CONFIG_H
#define RG_CORE_CONFIG_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/conf.h"
#include "base/names.h"
#include "base/net.h"
#include "livekit/api.h"
#include "roomgate.h"

typedef struct rg_profile {
	char *key;            /* profile name */
	char *agent_name;
	char *description;
	char *deployment;
	json_t *metadata;     /* template object or NULL */
	json_t *client_fields;/* array of strings, or NULL */
	bool client_any;      /* "client_metadata": "*" */
	bool json_only;       /* metadata_format json (default) */
} rg_profile;

/* A rule's "limits" on sessions with agents; 0 = no limit. */
typedef struct rg_limits {
	long live_sessions;     /* held at once, from the token until the room finishes */
	long sessions_per_hour; /* new sessions, GCRA over one hour */
	long max_session;       /* seconds a room may be live, then roomgate ends it */
	long empty_timeout;     /* seconds, into the token's roomConfig */
	long departure_timeout; /* seconds, into the token's roomConfig */
} rg_limits;

/* Whether a rule's limits count sessions (live_sessions, sessions_per_hour,
 * max_session). */
#define RG_LIMITS_COUNT(l) ((l)->live_sessions || (l)->sessions_per_hour || (l)->max_session)

typedef struct rg_rule {
	char *name;
	char **m_users; size_t n_users;
	char **m_groups; size_t n_groups;
	char **m_methods; size_t n_methods;
	char **rooms; size_t n_rooms;
	bool session_rooms;
	char **agents; size_t n_agents;
	bool agents_any;
	json_t *grants;       /* VideoGrant overlay (object) */
	long ttl;             /* seconds, 0 = default */
	bool end_any_session; /* DELETE /v1/sessions/{room} for any room (admins) */
	rg_limits limits;     /* what its users' agent sessions may cost */
} rg_rule;

struct rg_config {
	atomic_int refs;
	bool dev;
	bool access_log; /* one JSON line per request (default true) */
	long max_connections;    /* civetweb worker threads = connections served at once */
	long request_timeout;    /* seconds for a request's headers, then as many for its body */
	long keep_alive_timeout; /* seconds an idle keep-alive connection is kept */
	rg_cidr *trusted_proxies; /* peers whose X-Forwarded-For names the client */
	size_t n_trusted_proxies;
	char *listen;
	rg_livekit livekit; /* url, API key and secret, their signer */
	char *web_root;
	struct {
		char **frame_ancestors; /* web.frame_ancestors; none: 'none' */
		size_t n_frame_ancestors;
		char *connect_src; /* livekit.url's origin as ws(s):// and http(s)://, for the CSP */
	} web;
	char *tls_cert;  /* PEM certificate chain, or NULL for plain HTTP */
	char *tls_key;   /* PEM private key */
	long default_ttl;
	long max_ttl;
	char *room_prefix;
	rg_name_pattern *room_pattern; /* rooms.name_pattern, or NULL */
	bool check_existing_rooms;
	char **cors; size_t n_cors;
	rg_auth_conf auth; /* users, upstream JWT, proxy, API keys, sessions */
	rg_profile *profiles; size_t n_profiles;
	rg_rule *rules; size_t n_rules;
	struct {
		char *redis_url; /* state.redis_url: shared state for replicas, or NULL */
		bool fail_open;  /* limits let requests through while Redis is down */
		long timeout_ms; /* a Redis connect or command's bound */
	} state;
};

/* The agent profile named `key`, or NULL (config_policy.c). */
const rg_profile *rg_config_profile(const rg_config_t *cfg, const char *key);

#endif
