/*
 * internal.h - declarations shared by libroomgate's source files.
 *
 * Nothing here is public API: the public surface is include/roomgate.h.
 */
#ifndef RG_INTERNAL_H
#define RG_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "roomgate.h"

#define RG_MAX_NAME 256        /* LiveKit's limit for identity and room name */
#define RG_MAX_METADATA 64000  /* participant metadata, pre-v1.13.2 limit */
#define RG_LEEWAY 60

/* error.c */
rg_err rg_fail(rg_error *err, rg_err code, const char *slug, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* util.c */
char *rg_strdup(const char *s);
char *rg_strndup(const char *s, size_t n);
void rg_free_secret(char *s);
/* base64url without padding of n bytes; returns malloc'd string. */
char *rg_b64url_encode(const unsigned char *in, size_t n);
/* standard base64 (padded); returns malloc'd string. */
char *rg_b64_encode(const unsigned char *in, size_t n);
/* decodes standard or url base64 (padding optional); malloc'd, *outlen set. */
unsigned char *rg_b64_decode(const char *in, size_t inlen, size_t *outlen);
/* glob match: '*' any run, '?' one char. */
bool rg_glob_match(const char *pattern, const char *s);
bool rg_utf8_valid(const char *s, size_t n);
/* reads a whole file (limit bytes); malloc'd, NUL-terminated. */
rg_err rg_read_file(const char *path, size_t limit, char **out, size_t *len, rg_error *err);
/* joins base_dir and a relative path; absolute paths are copied. */
char *rg_path_resolve(const char *base_dir, const char *path);
/* a string in json, or NULL */
const char *rg_json_str(const json_t *obj, const char *key);
/* s without leading and trailing spaces and tabs (cut in place). */
char *rg_trim(char *s);
/* snprintf(buf, n, "%s", s) without the format parser (n > 0): s cut to
 * n - 1 bytes, NUL-terminated. */
void rg_copy(char *buf, size_t n, const char *s);
/* a value by snake_case or camelCase key; *used gets the key found */
json_t *rg_json_get2(const json_t *obj, const char *snake, const char *camel, const char **used);
#define RG_MAX_JSON_DEPTH 64
bool rg_json_depth_ok(const char *s, size_t n, int max);
/* json_loadb for untrusted text: refuses nesting deeper than RG_MAX_JSON_DEPTH. */
json_t *rg_json_load(const char *s, size_t n, size_t flags, json_error_t *jerr);

/* jsonw.c: compact JSON text, byte for byte json_dumps(v, JSON_COMPACT),
 * without jansson's callback and copy (the token hot path). A buffer starts
 * zeroed (data is then malloc'd and the caller frees it) or from
 * rg_jbuf_on(), which writes into the caller's array until it is full and
 * only then moves to the heap (release with rg_jbuf_done()). data is always
 * NUL-terminated. */
typedef struct rg_jbuf {
	char *data;
	size_t len, cap;
	char *fixed; /* the caller's array, while data points to it */
} rg_jbuf;
void rg_jbuf_on(rg_jbuf *b, char *array, size_t size);
void rg_jbuf_done(rg_jbuf *b); /* frees data unless it is the caller's array */
bool rg_jbuf_reserve(rg_jbuf *b, size_t more); /* room for `more` bytes and the NUL */
bool rg_jbuf_put(rg_jbuf *b, const char *s, size_t n);
/* the decimal text of v (as "%lld" writes it), no NUL; at most 20 bytes */
size_t rg_fmt_int(char *out, long long v);
bool rg_jbuf_int(rg_jbuf *b, long long v);
/* `prefix` as is (e.g. ",\"key\":"), then `value` as a JSON string. */
bool rg_jbuf_member(rg_jbuf *b, const char *prefix, const char *value);
bool rg_jbuf_value(rg_jbuf *b, const json_t *v);
bool rg_jbuf_members(rg_jbuf *b, const json_t *obj); /* an object's members, no braces */
char *rg_json_compact(const json_t *v); /* any value; NULL on error */
/* Both JSON parts of a JWT decode and are nested at most RG_MAX_JSON_DEPTH. */
bool rg_jwt_parts_ok(const char *jwt);
/* Sets roomConfig to rc's object itself (a reference, no copy): only while
 * rc is not changed until the token is signed. */
rg_err rg_token_share_room_config(rg_token_t *tok, const rg_roomconfig_t *rc);

time_t rg_now(void);

/* log.c */
void rg_log_json(const char *level, const char *event, json_t *fields /* stolen, may be NULL */);
void rg_log_flush(void); /* writes queued access log lines now */
/* The per-request access line, written without building a JSON tree. */
void rg_log_access(const char *method, const char *path, int status, double ms,
		   const char *remote, const char *user);

/* roomconfig.c */
struct rg_roomconfig {
	json_t *obj; /* camelCase, only set fields; agents as array (maybe absent) */
};
/* Parses a JSON value into a room config (validating). Metadata given as an
 * object is serialized to a string. */
rg_err rg_roomconfig_from_json(const json_t *in, rg_roomconfig_t **out, rg_error *err);
/* The agents array (borrowed; may be NULL). */
json_t *rg_roomconfig_agents(const rg_roomconfig_t *rc);

/* token.c */
/* The payload the token would have (a new reference), without iss/nbf/exp. */
json_t *rg_token_claims(const rg_token_t *tok);
/* Validates a VideoGrant object and merges it into the token's video claim. */
rg_err rg_token_merge_grants(rg_token_t *tok, const json_t *grants, rg_error *err);
/* sign.c: HS256 with a keyed, reusable HMAC context */
rg_err rg_signer_sign(const rg_signer_t *s, const char *payload, size_t n, char **jwt);
/* Signs `claims` plus ("iss" when with_iss,) "nbf" and "exp". */
rg_err rg_signer_sign_json(const rg_signer_t *s, const json_t *claims, bool with_iss, time_t nbf,
			   time_t exp, char **jwt);
/* Differs between any two signers made by one process (never reused). */
unsigned long rg_signer_serial(const rg_signer_t *s);
/* Verifies a JWT this signer made (exact header, HMAC, nbf/exp with leeway). */
rg_err rg_signer_verify(const rg_signer_t *s, const char *jwt, time_t now, json_t **payload,
			rg_error *err);
/* Verifies an HS256 JWT with `secret` (alg must be HS256, nbf/exp with leeway)
 * and returns the payload (new reference). */
rg_err rg_jwt_verify_hs256(const char *jwt, const char *secret, time_t now,
			   json_t **payload, rg_error *err);
/* A JWT payload's exp (required, integer) and nbf (optional, integer) at
 * `now`, with RG_LEEWAY: one check for every token roomgate signs. */
rg_err rg_jwt_check_times(const json_t *payload, time_t now, rg_error *err);

/* users.c */
typedef struct rg_local_user {
	char *name;
	char *hash;
	char *display;
	char **groups;
	size_t ngroups;
} rg_local_user;

typedef struct rg_users {
	rg_local_user *v;
	size_t n;
} rg_users;

rg_err rg_users_parse(const char *text, size_t len, rg_users *out, rg_error *err);
rg_err rg_users_load(const char *path, rg_users *out, rg_error *err);
void rg_users_clear(rg_users *u);
const rg_local_user *rg_users_find(const rg_users *u, const char *name);

/* jwks.c: public keys for upstream JWTs */
typedef struct rg_key {
	char *kid;   /* may be NULL */
	char *pem;   /* public key, PEM */
	char family; /* 'R' (RSA) or 'E' (EC) */
} rg_key;

typedef struct rg_keyset {
	rg_key *v;
	size_t n;
} rg_keyset;

/* A JWKS URL's keys: the one mutable part of a config, behind its lock. */
typedef struct rg_jwks {
	pthread_mutex_t lock;
	char *url;
	long refresh;     /* seconds */
	time_t fetched;   /* last successful fetch */
	time_t attempted; /* last attempt */
	bool fetching;    /* a fetch is in flight (outside the lock) */
	rg_keyset keys;
} rg_jwks;

void rg_keys_clear(rg_keyset *ks);
rg_err rg_keys_from_jwks(const char *text, size_t len, rg_keyset *out, rg_error *err);
rg_err rg_keys_from_pem_file(const char *path, rg_keyset *ks, rg_error *err);
rg_jwks *rg_jwks_new(const char *url, long refresh);
void rg_jwks_free(rg_jwks *j);
/* The nth key of `family` (matching kid when given), as a malloc'd PEM. */
char *rg_jwks_find(rg_jwks *j, const char *kid, char family, size_t nth);

typedef struct rg_upstream {
	bool enabled;
	char *issuer;
	char **audiences; size_t n_aud;
	unsigned algs;         /* bit (1 << jwt_alg_t) per allowed algorithm */
	char *secret;          /* HS* */
	rg_keyset keys;        /* PEM files and JWKS file */
	rg_jwks *jwks;         /* JWKS URL, or NULL */
	long leeway;
	char *claim_id, *claim_name, *claim_groups;
} rg_upstream;

typedef struct rg_cidr {
	unsigned char addr[16];
	int family; /* 4 or 6 */
	int bits;
} rg_cidr;

typedef struct rg_proxy_auth {
	char *user_header, *name_header, *groups_header;
	rg_cidr *trusted; size_t n_trusted;
} rg_proxy_auth;

typedef struct rg_apikey {
	char *name;
	unsigned char hash[32];
	char **groups; size_t ngroups;
	bool act_as;
} rg_apikey;

rg_err rg_cidr_parse(const char *s, rg_cidr *out);
bool rg_cidr_contains(const rg_cidr *nets, size_t n, const char *addr);
rg_err rg_proxy_authenticate(const rg_config_t *cfg, const rg_request_t *req, rg_user_t *user,
			     rg_error *err);
rg_err rg_upstream_verify(const rg_config_t *cfg, const char *token, rg_user_t *user,
			  rg_error *err);
/* false for roomgate's own session tokens, true for anything else. */
bool rg_upstream_claims_token(const char *token);
rg_err rg_apikey_digest(const char *key, unsigned char out[32]);
rg_err rg_apikey_parse_hash(const char *s, unsigned char out[32]);
rg_err rg_apikey_authenticate(const rg_config_t *cfg, const char *key, rg_user_t *user,
			      rg_error *err);

/* config.c: the parsed, immutable configuration */
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
} rg_rule;

struct rg_config {
	atomic_int refs;
	bool dev;
	bool access_log; /* one JSON line per request (default true) */
	long max_connections;    /* civetweb worker threads = connections served at once */
	long request_timeout;    /* seconds to receive a request (slow clients) */
	long keep_alive_timeout; /* seconds an idle keep-alive connection is kept */
	rg_cidr *trusted_proxies; /* peers whose X-Forwarded-For names the client */
	size_t n_trusted_proxies;
	char *listen;
	char *livekit_url;
	char *api_key;
	char *api_secret;
	char *web_root;
	char *tls_cert;  /* PEM certificate chain, or NULL for plain HTTP */
	char *tls_key;   /* PEM private key */
	char *session_secret;
	rg_signer_t *lk_signer;      /* LiveKit API key/secret */
	rg_signer_t *session_signer; /* session secret */
	long session_ttl;
	long default_ttl;
	long max_ttl;
	char *room_prefix;
	bool check_existing_rooms;
	char **cors; size_t n_cors;
	rg_users users;
	rg_profile *profiles; size_t n_profiles;
	rg_rule *rules; size_t n_rules;
	rg_upstream upstream;
	rg_proxy_auth proxy;
	rg_apikey *apikeys; size_t n_apikeys;
};

const rg_profile *rg_config_profile(const rg_config_t *cfg, const char *key);
/* Loads a PEM certificate chain and an unencrypted PEM key into an SSL_CTX
 * and checks that they match (config check and the server's TLS setup). */
rg_err rg_tls_use(void *ssl_ctx, const char *cert, const char *key, rg_error *err);

/* session.c: roomgate's own short-lived bearer tokens */
rg_err rg_session_issue(const rg_config_t *cfg, const rg_user_t *user, char **token,
			long *expires_in, rg_error *err);
rg_err rg_session_verify(const rg_config_t *cfg, const char *token, rg_user_t *user,
			 rg_error *err);
/* rg_session_verify at time `now` (tests). */
rg_err rg_session_verify_at(const rg_config_t *cfg, const char *token, time_t now,
			    rg_user_t *user, rg_error *err);

/* auth.c */
rg_err rg_authenticate(const rg_config_t *cfg, const rg_request_t *req, rg_user_t *user,
		       rg_error *err);
/* Checks a local user's password (PBKDF2) and fills `user`. */
rg_err rg_auth_password(const rg_config_t *cfg, const char *name, const char *password,
			rg_user_t *user, const char *method, rg_error *err);

/* policy.c */
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

/* issue.c: the join-token flow shared by /token and /v1/sessions */
typedef struct rg_join {
	const char *room;        /* NULL: provision a unique room */
	const char *identity;    /* requested identity or NULL */
	const char *name;
	const char *metadata;
	const json_t *attributes;
	const json_t *room_config; /* RoomConfiguration request JSON or NULL */
	/* /v1/sessions: profile keys and shared client metadata */
	const json_t *profiles;
	const json_t *client_metadata;
} rg_join;

typedef struct rg_join_result {
	char room[RG_MAX_NAME + 1];
	char *identity;
	char *jwt;
	time_t expires_at;
	json_t *agents; /* [{"agent_name","metadata"}] */
	const char *dispatch; /* static: "token", "api", or NULL without agents */
} rg_join_result;

rg_err rg_join_issue(const rg_config_t *cfg, const rg_user_t *user, const rg_join *req,
		     rg_join_result *res, rg_error *err);
void rg_join_result_clear(rg_join_result *res);

/* livekit_api.c: LiveKit's Twirp API (JSON) over libcurl */
rg_err rg_lk_call(const rg_config_t *cfg, const char *method, json_t *video, const json_t *req,
		  json_t **resp, rg_error *err);
rg_err rg_lk_room_exists(const rg_config_t *cfg, const char *room, bool *exists, rg_error *err);
rg_err rg_lk_list_dispatches(const rg_config_t *cfg, const char *room, json_t **out, rg_error *err);
rg_err rg_lk_delete_dispatch(const rg_config_t *cfg, const char *room, const char *id, json_t **out,
			     rg_error *err);
/* Creates a dispatch for `agent` ({"agentName","metadata","deployment"?})
 * unless the room already has one for that agent (*created says which). */
rg_err rg_lk_dispatch(const rg_config_t *cfg, const char *room, const json_t *agent, bool *created,
		      json_t **out, rg_error *err);
void rg_lk_counters(unsigned long *calls, unsigned long *failures);

/* ratelimit.c: failed-login counting */
typedef struct rg_limiter rg_limiter;
rg_limiter *rg_limiter_new(long window);
void rg_limiter_free(rg_limiter *l);
/* Seconds until `key`, which failed `max` times in the window, may try
 * again (0: not blocked). */
long rg_limiter_blocked(rg_limiter *l, const char *key, time_t now, unsigned max);
void rg_limiter_fail(rg_limiter *l, const char *key, time_t now);

#define RG_LOGIN_MAX_PER_ADDR 10
#define RG_LOGIN_MAX_PER_USER 20
#define RG_LOGIN_WINDOW 300

/* app.c: shared HTTP helpers for the route handlers */
typedef struct rg_ctx {
	rg_app_t *app;
	rg_config_t *cfg;
	const rg_request_t *req;
	rg_response_t *resp;
} rg_ctx;

void rg_respond_json(rg_ctx *c, int status, json_t *body /* stolen */);
/* The same with the body already written as JSON text (stolen). */
void rg_respond_text(rg_ctx *c, int status, char *json);
void rg_respond_error(rg_ctx *c, const rg_error *err);
/* {"error":{"code":...,"message":...}} as compact JSON text (free it); NULL
 * if out of memory or not UTF-8. */
char *rg_error_body(const char *code, const char *message);
void rg_add_header(rg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads the JSON object body (empty body = {}); checks Content-Type. */
rg_err rg_body_json(rg_ctx *c, json_t **out, rg_error *err);
/* The client's address: the TCP peer, or with server.trusted_proxies the
 * right-most X-Forwarded-For hop that is not a trusted proxy. */
const char *rg_client_addr(const rg_config_t *cfg, const rg_request_t *req, char *buf, size_t n);
const char *rg_req_header(const rg_request_t *req, const char *name);
/* rg_authenticate behind the failed-login limits (429 + Retry-After). */
rg_err rg_ctx_authenticate(rg_ctx *c, rg_user_t *user, rg_error *err);
/* The password check of /v1/login behind the same limits, per user too. */
rg_err rg_ctx_password(rg_ctx *c, const char *name, const char *password, rg_user_t *user,
		       rg_error *err);
void rg_metrics_token_issued(rg_app_t *app);
void rg_metrics_auth_failed(rg_app_t *app);

/* http_token.c: a parsed POST /token body for an authenticated user -> the
 * 201 response body as compact JSON text (free it). */
rg_err rg_token_request(const rg_config_t *cfg, const rg_user_t *user, const json_t *body,
			char **resp, rg_error *err);
/* A place the app's routes are served from: the server's root, or a
 * prefix inside someone else's civetweb server (freed with the app). */
typedef struct rg_mount {
	rg_app_t *app;
	char *prefix;
	size_t plen;
	bool embedded; /* inside another civetweb app: log here, no static files */
	struct rg_mount *next;
} rg_mount;
/* Whether the current config wants access log lines (atomic, no lock). */
bool rg_app_access_log(rg_app_t *app);
rg_mount *rg_app_add_mount(rg_app_t *app, const char *prefix, bool embedded);
void rg_route_token(rg_ctx *c);
void rg_route_sessions(rg_ctx *c);
void rg_route_login(rg_ctx *c);
void rg_route_profiles(rg_ctx *c);
void rg_route_dispatch(rg_ctx *c);
/* URL-decoded query parameter into buf; false when absent. */
bool rg_query_param(const rg_request_t *req, const char *name, char *buf, size_t len);

#endif /* RG_INTERNAL_H */
