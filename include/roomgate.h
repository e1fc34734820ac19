/*
 * roomgate.h - the whole public API of libroomgate.
 *
 * roomgate authenticates users and mints LiveKit access tokens (HS256 JWTs)
 * whose roomConfig dispatches agents when the room is created. The server
 * executable is a thin program over these functions; a C web stack embeds the
 * same ones.
 *
 * Conventions (as curl and libjwt):
 *  - Functions return an rg_err (RG_OK == 0) and fill out-parameters. A human
 *    readable message goes into an optional rg_error (may be NULL).
 *  - The caller owns what a _new/_load/_sign returns and releases it with the
 *    matching _free (or rg_free for strings). Every _free(NULL) is a no-op.
 *  - Pointers passed in are borrowed for the duration of the call unless the
 *    comment says otherwise; the library copies what it keeps.
 *  - Every public symbol is prefixed rg_.
 */
#ifndef ROOMGATE_H
#define ROOMGATE_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RG_VERSION "0.1.0"

/* Error codes. The HTTP layer maps each to one status (see rg_err_status). */
typedef enum rg_err {
	RG_OK = 0,
	RG_ERR_INVALID,         /* malformed or invalid input (400) */
	RG_ERR_UNAUTHENTICATED, /* missing or bad credentials (401) */
	RG_ERR_FORBIDDEN,       /* policy forbids it (403) */
	RG_ERR_NOT_FOUND,       /* no such resource (404) */
	RG_ERR_METHOD,          /* method not allowed (405) */
	RG_ERR_TOO_LARGE,       /* body too large (413) */
	RG_ERR_MEDIA_TYPE,      /* body is not JSON (415) */
	RG_ERR_RATE_LIMITED,    /* too many attempts (429) */
	RG_ERR_UPSTREAM,        /* LiveKit API failed (502) */
	RG_ERR_UNAVAILABLE,     /* not ready (503) */
	RG_ERR_NOMEM,           /* out of memory (500) */
	RG_ERR_IO,              /* file or socket error (500) */
	RG_ERR_CONFIG,          /* configuration is invalid (500 when serving) */
	RG_ERR_CRYPTO,          /* OpenSSL or libjwt failed (500) */
	RG_ERR_INTERNAL         /* a bug (500) */
} rg_err;

/*
 * Details of a failure. `code` is a snake_case machine-readable reason
 * ("invalid_json", "agent_not_allowed", ...); `message` is for humans and
 * never holds a secret.
 */
typedef struct rg_error {
	rg_err err;
	char code[48];
	char message[512];
	long retry_after; /* seconds a client should wait before trying again, 0: none */
} rg_error;

/* HTTP status for an error code (400, 401, ...; 500 for internal errors). */
int rg_err_status(rg_err err);
/* Default snake_case code for an error ("invalid_request", ...). Static. */
const char *rg_err_code(rg_err err);

/* Frees a string returned by the library. */
void rg_free(void *p);

/* ------------------------------------------------------------------------ */
/* Tokens: LiveKit access tokens                                             */
/* ------------------------------------------------------------------------ */

/*
 * A RoomConfiguration (livekit.RoomConfiguration) as the token's roomConfig
 * claim carries it. Parsed from protobuf JSON with proto (snake_case) or JSON
 * (camelCase) names; unknown fields and egress are refused, because LiveKit
 * silently drops what it does not know and egress would carry credentials.
 */
typedef struct rg_roomconfig rg_roomconfig_t;

/* Parses `json` (len bytes, need not be NUL-terminated). On error *out is
 * NULL and err says which field is wrong (RG_ERR_INVALID). */
rg_err rg_roomconfig_parse(const char *json, size_t len, rg_roomconfig_t **out,
			   rg_error *err);
rg_roomconfig_t *rg_roomconfig_new(void);
void rg_roomconfig_free(rg_roomconfig_t *rc);
/* Appends a RoomAgentDispatch. `metadata` and `deployment` may be NULL. */
rg_err rg_roomconfig_add_agent(rg_roomconfig_t *rc, const char *agent_name,
			       const char *metadata, const char *deployment);
/* Number of agents, and the i-th agent's fields (borrowed; NULL if unset). */
size_t rg_roomconfig_agent_count(const rg_roomconfig_t *rc);
const char *rg_roomconfig_agent_name(const rg_roomconfig_t *rc, size_t i);
const char *rg_roomconfig_agent_metadata(const rg_roomconfig_t *rc, size_t i);
/* The claim as compact JSON with camelCase names and only the fields that
 * are set (as LiveKit's Go SDK writes it). Free with rg_free. */
char *rg_roomconfig_to_json(const rg_roomconfig_t *rc);

/* A LiveKit access token being built. */
typedef struct rg_token rg_token_t;

rg_token_t *rg_token_new(void);
void rg_token_free(rg_token_t *tok);

/* Participant identity (`sub`), display name, metadata, kind ("agent", ...). */
rg_err rg_token_set_identity(rg_token_t *tok, const char *identity);
rg_err rg_token_set_name(rg_token_t *tok, const char *name);
rg_err rg_token_set_metadata(rg_token_t *tok, const char *metadata);
rg_err rg_token_set_kind(rg_token_t *tok, const char *kind);
rg_err rg_token_set_attribute(rg_token_t *tok, const char *key, const char *value);
/* Lifetime in seconds (default 600). */
rg_err rg_token_set_ttl(rg_token_t *tok, long seconds);
/* Grants roomJoin for `room` (sets video.room and video.roomJoin). */
rg_err rg_token_set_room(rg_token_t *tok, const char *room);
/* Sets one boolean VideoGrant by its camelCase name ("canPublish", ...).
 * Unknown names are RG_ERR_INVALID. */
rg_err rg_token_set_grant(rg_token_t *tok, const char *grant, int value);
/* Merges a VideoGrant JSON object (camelCase names, as LiveKit writes it).
 * Unknown names or wrong types are RG_ERR_INVALID. */
rg_err rg_token_set_grants_json(rg_token_t *tok, const char *json, rg_error *err);
/* Sets the roomConfig claim (copied). */
rg_err rg_token_set_room_config(rg_token_t *tok, const rg_roomconfig_t *rc);

/*
 * Signs the token with HS256: iss = api_key, nbf = now, exp = now + ttl.
 * `now` == 0 means the current time. On success *jwt_out is a NUL-terminated
 * JWT to free with rg_free; *expires_at (may be NULL) is the exp claim.
 * Fails with RG_ERR_INVALID when no identity is set.
 */
rg_err rg_token_sign(const rg_token_t *tok, const char *api_key,
		     const char *api_secret, time_t now, char **jwt_out,
		     time_t *expires_at, rg_error *err);

/*
 * Everything a token carries, for minting in one call (all but identity
 * optional; NULL = unset). Strings are borrowed.
 */
typedef struct rg_claims {
	const char *identity;         /* participant identity (sub), required */
	const char *name;             /* display name */
	const char *metadata;         /* participant metadata */
	const char *kind;             /* "standard", "agent", "sip", ... */
	const char *room;             /* grants roomJoin to this room */
	const char *const *attributes;/* "key", "value", ..., NULL */
	const char *grants_json;      /* VideoGrant overlay, e.g. {"canPublish":false} */
	const char *room_config_json; /* RoomConfiguration, e.g. {"agents":[{"agent_name":"a"}]} */
	long ttl;                     /* seconds; 0 = 600 */
	/* RoomConfiguration already built (rg_roomconfig_new/_add_agent or
	 * rg_roomconfig_parse), instead of room_config_json: nothing is parsed
	 * per token. Borrowed; only read. Setting both is RG_ERR_INVALID. */
	const rg_roomconfig_t *room_config;
} rg_claims_t;

/* Mints a token from `claims` (rg_token_new + setters + rg_token_sign).
 * Invalid claims are RG_ERR_INVALID with err saying which. */
rg_err rg_token_mint(const rg_claims_t *claims, const char *api_key, const char *api_secret,
		     char **jwt_out, time_t *expires_at, rg_error *err);

/*
 * A reusable HS256 signer: the HMAC key is set up once (OpenSSL EVP_MAC) and
 * each signature reuses it. For minting many tokens with one key; thread-safe.
 * NULL on an empty secret or allocation failure.
 */
typedef struct rg_signer rg_signer_t;
rg_signer_t *rg_signer_new(const char *api_key, const char *api_secret);
void rg_signer_free(rg_signer_t *signer);
/* As rg_token_sign, with a signer (iss = the signer's API key). */
rg_err rg_token_sign_with(const rg_token_t *tok, const rg_signer_t *signer, time_t now,
			  char **jwt_out, time_t *expires_at, rg_error *err);
/* As rg_token_mint, with a signer. */
rg_err rg_token_mint_with(const rg_claims_t *claims, const rg_signer_t *signer,
			  char **jwt_out, time_t *expires_at, rg_error *err);

/*
 * Decodes a LiveKit token. If `api_secret` is non-NULL the HS256 signature
 * and nbf/exp (with 60 s leeway) are checked and *verified says whether all
 * held. *claims_json (free with rg_free) is the payload, pretty-printed.
 */
rg_err rg_token_inspect(const char *jwt, const char *api_secret, time_t now,
			char **claims_json, int *verified, rg_error *err);

/* ------------------------------------------------------------------------ */
/* Unique rooms, durations                                                   */
/* ------------------------------------------------------------------------ */

/* Writes prefix + 128 random bits (OpenSSL CSPRNG, base64url, 22 chars) to
 * buf. RG_ERR_INVALID if buf is too small or the name would exceed 256. */
rg_err rg_room_new_name(const char *prefix, char *buf, size_t buflen);

/* Parses "90", "90s", "10m", "1h", "2d" into seconds (> 0). */
rg_err rg_duration_parse(const char *s, long *seconds);

/* ------------------------------------------------------------------------ */
/* Local users and passwords                                                 */
/* ------------------------------------------------------------------------ */

#define RG_PBKDF2_ITERATIONS 600000

/*
 * Hashes a password with PBKDF2-HMAC-SHA256 and a random 16-byte salt:
 * "$pbkdf2-sha256$<iterations>$<b64 salt>$<b64 hash>". iterations 0 means
 * RG_PBKDF2_ITERATIONS. Free *out with rg_free.
 */
rg_err rg_password_hash(const char *password, unsigned iterations, char **out);
/* 1 if `password` matches `encoded` (constant-time compare), else 0. */
int rg_password_verify(const char *password, const char *encoded);

/*
 * Adds or replaces user `name` in the users file at `path` (created if
 * missing, mode 0600). One user per line: name:hash:display name:groups
 * (groups comma separated). Written atomically (temp file + rename).
 */
rg_err rg_users_file_add(const char *path, const char *name,
			 const char *password, const char *display_name,
			 const char *groups, rg_error *err);

/* An authenticated user. */
typedef struct rg_user {
	char *id;          /* the participant identity */
	char *name;        /* display name (may equal id) */
	char **groups;     /* ngroups strings */
	size_t ngroups;
	const char *method; /* static: "basic", "session", "jwt", "proxy", "api_key" */
	int may_act_for_others; /* API keys allowed to set participant_identity */
} rg_user_t;

/* Fills `user` with copies (clearing what it held); method must be static. */
rg_err rg_user_set(rg_user_t *user, const char *id, const char *name, char *const *groups,
		   size_t ngroups, const char *method);
void rg_user_clear(rg_user_t *user);

/* Makes a new API key ("rk_" + 256 random bits) and the "sha256:<hex>"
 * digest that goes into the config's api_keys. Free both with rg_free. */
rg_err rg_apikey_new(char **key, char **hash);

/* ------------------------------------------------------------------------ */
/* Configuration and policy                                                  */
/* ------------------------------------------------------------------------ */

/* A loaded configuration (listen address, LiveKit credentials, users,
 * agent profiles, rules). Immutable once loaded; reference counted so that a
 * reload can swap it while requests still use the old one. */
typedef struct rg_config rg_config_t;

/* Loads a JSON config file. Relative paths in it are relative to its folder.
 * LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET override it. */
rg_err rg_config_load(const char *path, rg_config_t **out, rg_error *err);
/* Parses config JSON text; base_dir resolves relative paths (may be NULL). */
rg_err rg_config_parse(const char *json, size_t len, const char *base_dir,
		       rg_config_t **out, rg_error *err);
/* The embedded dev-mode config (see SPEC: demo/demo, devkey/secret, ...).
 * web_root may be NULL (no static files). */
rg_err rg_config_dev(const char *web_root, rg_config_t **out, rg_error *err);
/* Takes another reference. */
rg_config_t *rg_config_ref(rg_config_t *cfg);
/* Drops a reference; frees (wiping secrets) on the last. */
void rg_config_free(rg_config_t *cfg);

/* Borrowed accessors. */
const char *rg_config_listen(const rg_config_t *cfg);
const char *rg_config_livekit_url(const rg_config_t *cfg);
const char *rg_config_web_root(const rg_config_t *cfg);
int rg_config_is_dev(const rg_config_t *cfg);
/* Overrides the listen address (e.g. from --listen). A dev config accepts
 * only a loopback host (127.x.x.x:PORT, localhost:PORT): RG_ERR_INVALID. */
rg_err rg_config_set_listen(rg_config_t *cfg, const char *listen);

/*
 * Evaluates a token request for a user your stack has already authenticated:
 * `request_json` is a POST /token body (LiveKit's TokenSourceRequest, or {}),
 * checked against cfg's rules exactly as the server does. On success
 * *response_json (free with rg_free) is the 201 body {"server_url",
 * "participant_token", "room_name", ...}; on failure err carries the code,
 * message and (rg_err_status) the HTTP status to answer.
 */
rg_err rg_policy_eval(const rg_config_t *cfg, const rg_user_t *user, const char *request_json,
		      size_t len, char **response_json, rg_error *err);

/* ------------------------------------------------------------------------ */
/* Request handling (independent of any HTTP server)                         */
/* ------------------------------------------------------------------------ */

typedef struct rg_request {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* "/token", without the query string */
	const char *query;       /* may be NULL */
	const char *remote_addr; /* client address, e.g. "127.0.0.1" */
	/* Returns the value of a request header (case-insensitive) or NULL. */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
	const char *body;
	size_t body_len;
} rg_request_t;

#define RG_MAX_BODY (64 * 1024)

typedef struct rg_response {
	int status;
	const char *content_type; /* static */
	char *body;               /* owned; free with rg_response_clear */
	size_t body_len;
	char headers[1024];       /* extra "Name: value\r\n" lines */
	/* for the access log; borrowed from the response itself */
	char user[128];
} rg_response_t;

void rg_response_clear(rg_response_t *resp);

/* The application: a current config (swappable) and runtime state. */
typedef struct rg_app rg_app_t;

/* Creates an app serving `cfg` (a reference is taken). */
rg_err rg_app_new(rg_config_t *cfg, rg_app_t **out, rg_error *err);
void rg_app_free(rg_app_t *app);
/* Swaps in a new config; requests in flight finish on the old one. */
void rg_app_set_config(rg_app_t *app, rg_config_t *cfg);
/* Returns a new reference to the current config (release with rg_config_free). */
rg_config_t *rg_app_config(rg_app_t *app);

/*
 * Handles one API request (routes /token, /v1/sessions, /v1/login, /healthz,
 * /metrics and CORS preflight). Returns 1 and fills resp when the path is an
 * API route, 0 when it is not (the caller serves static files or its own).
 * Never fails: errors become JSON error responses.
 */
int rg_app_handle(rg_app_t *app, const rg_request_t *req, rg_response_t *resp);

/* ------------------------------------------------------------------------ */
/* Serving over civetweb                                                     */
/* ------------------------------------------------------------------------ */

typedef struct rg_server rg_server_t;

/* Starts civetweb on the config's listen address (port 0 picks a free one)
 * serving the app's routes and the config's web root. */
rg_err rg_server_start(rg_app_t *app, rg_server_t **out, rg_error *err);
/*
 * Mounts the app's routes under `prefix` (e.g. "/livekit") of a civetweb
 * server you run: /livekit/token, /livekit/v1/sessions, ... Paths under the
 * prefix that are no route answer 404 JSON. Call before serving; stop your
 * server (mg_stop) before rg_app_free. `ctx` is a struct mg_context *.
 */
struct mg_context;
rg_err rg_civetweb_mount(rg_app_t *app, struct mg_context *ctx, const char *prefix);

/* The bound port (first listener). */
int rg_server_port(const rg_server_t *srv);
/* Stops accepting, finishes in-flight requests, frees. */
void rg_server_stop(rg_server_t *srv);

/* ------------------------------------------------------------------------ */
/* Logs: one JSON object per line on stderr                                  */
/* ------------------------------------------------------------------------ */

/* Writes {"ts":..., "level":level, "event":event, "msg":msg}. */
void rg_log(const char *level, const char *event, const char *msg);

#ifdef __cplusplus
}
#endif
#endif /* ROOMGATE_H */
