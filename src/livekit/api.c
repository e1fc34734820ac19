/*
 * api.c - LiveKit's server API (Twirp over HTTP, JSON) via libcurl.
 *
 * Used for what a token cannot do: dispatching agents into rooms that
 * already exist (AgentDispatchService) and asking whether a room exists
 * (RoomService/ListRooms). Each call is signed with a short-lived token
 * holding only the grant that call needs. Timeouts are short and TLS is
 * verified; any failure is RG_ERR_UPSTREAM (502) carrying LiveKit's message.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fetch.h"
#include "base/jsonw.h"
#include "base/util.h"
#include "livekit/api.h"
#include "livekit/sign.h"

#define LK_MAX_RESPONSE (1024 * 1024)
#define LK_MAX_LIST (64 * 1024 * 1024) /* ListRooms without a filter: every room */
#define POOL_MAX 64                      /* idle handles kept, each with its connection */

/*
 * Connections are kept alive and reused: each call borrows an easy handle
 * from a pool (a handle keeps its connection cache), and gives it back.
 * libcurl's shared connection cache is not safe between threads (a known
 * bug), so handles are not shared while in use; DNS answers and TLS
 * sessions are (that part of the share is thread-safe with its locks).
 */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];
static size_t pool_n;
static atomic_ulong api_calls[RG_LK_METHODS], api_failures, api_connects;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *u)
{
	(void)h, (void)a, (void)u;
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
	(void)h, (void)u;
	pthread_mutex_unlock(&share_locks[data]);
}

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	if ((share = curl_share_init())) {
		curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
}

static CURL *handle_get(void)
{
	CURL *h = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_n)
		h = pool[--pool_n];
	pthread_mutex_unlock(&pool_lock);
	if (h)
		curl_easy_reset(h); /* options go; its connections stay */
	else if (!(h = curl_easy_init()))
		return NULL;
	return h;
}

static void handle_put(CURL *h, bool reuse)
{
	if (reuse) {
		pthread_mutex_lock(&pool_lock);
		if (pool_n < POOL_MAX) {
			pool[pool_n++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (h)
		curl_easy_cleanup(h);
}

static const char *const method_names[RG_LK_METHODS] = {
	"ListRooms",	  "DeleteRoom",	    "CreateDispatch", "ListDispatch",
	"DeleteDispatch", "UpdateRoomMetadata", "other"};

const char *rg_lk_method_name(int i)
{
	return i >= 0 && i < RG_LK_METHODS ? method_names[i] : "other";
}

static int method_index(const char *method)
{
	const char *slash = strrchr(method, '/');

	for (int i = 0; i < RG_LK_OTHER; i++)
		if (slash && !strcmp(slash + 1, method_names[i]))
			return i;
	return RG_LK_OTHER;
}

void rg_lk_stats_get(rg_lk_stats *out)
{
	for (int i = 0; i < RG_LK_METHODS; i++)
		out->calls[i] = atomic_load(&api_calls[i]);
	out->failures = atomic_load(&api_failures);
	out->connections = atomic_load(&api_connects);
}

char *rg_lk_http_base(const char *url)
{
	const char *rest = url;
	const char *scheme = "http://";
	char *out;
	size_t n;

	if (!strncmp(url, "wss://", 6)) {
		scheme = "https://";
		rest = url + 6;
	} else if (!strncmp(url, "ws://", 5)) {
		rest = url + 5;
	} else if (!strncmp(url, "https://", 8)) {
		scheme = "https://";
		rest = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		rest = url + 7;
	}
	n = strlen(scheme) + strlen(rest) + 1;
	if (!(out = malloc(n)))
		return NULL;
	snprintf(out, n, "%s%s", scheme, rest);
	while (n > 2 && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
	return out;
}

/* A 10-minute server token carrying `video` grants only. */
static rg_err api_token(const rg_livekit *lk, json_t *video, char **out, rg_error *err)
{
	time_t now = rg_now();
	json_t *p = json_pack("{s:s,s:O}", "sub", "roomgate", "video", video);
	rg_err rc;

	if (!p)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	rc = rg_signer_sign_json(lk->signer, p, true, now, now + 600, out)
		     ? rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the API token")
		     : RG_OK;
	json_decref(p);
	return rc;
}

/* One Twirp call: `max` bytes of answer at most, `timeout_ms` in all;
 * `cancel` (may be NULL) set makes it give up. */
static rg_err lk_call(const rg_livekit *lk, const char *method, json_t *video, const json_t *req,
		      size_t max, long timeout_ms, const atomic_bool *cancel, json_t **resp,
		      rg_error *err)
{
	CURL *curl = NULL;
	struct curl_slist *hdrs = NULL;
	const char *base = lk->api_base ? lk->api_base : "";
	char *url = NULL, *token = NULL, *body = NULL, *authz = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	rg_curl_buf b = {.max = max};
	long status = 0, connects = 0;
	size_t n;
	CURLcode cc;
	rg_err rc = RG_OK;
	json_t *r = NULL;

	*resp = NULL;
	pthread_once(&curl_once, curl_init);
	atomic_fetch_add(&api_calls[method_index(method)], 1);
	body = rg_json_compact(req);
	if (!body || (rc = api_token(lk, video, &token, err)))
		goto out;
	n = strlen(base) + strlen(method) + 16;
	url = malloc(n);
	authz = malloc(strlen(token) + 32);
	if (!url || !authz) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(url, n, "%s/twirp/%s", base, method);
	snprintf(authz, strlen(token) + 32, "Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, authz);
	if (!(curl = handle_get()) || !hdrs) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rg_curl_sink);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (share)
		curl_easy_setopt(curl, CURLOPT_SHARE, share);
	if (cancel) {
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, rg_curl_cancel);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)cancel);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
	cc = curl_easy_perform(curl);
	if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
		atomic_fetch_add(&api_connects, (unsigned long)connects);
	if (cc != CURLE_OK) {
		rc = rg_fail(err, RG_ERR_UPSTREAM, "livekit_unreachable", "LiveKit API at %s: %s", base,
			     b.overflow ? "response too large" : cerr[0] ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	r = b.p ? rg_json_load(b.p, b.n, 0, NULL) : NULL;
	if (status < 200 || status > 299) {
		const char *code = rg_json_str(r, "code"), *msg = rg_json_str(r, "msg");
		bool missing = code && !strcmp(code, "not_found");
		rc = rg_fail(err, missing ? RG_ERR_NOT_FOUND : RG_ERR_UPSTREAM,
			     missing ? "not_found" : "livekit_error", "LiveKit %s answered %ld%s%s%s%s",
			     method, status, code ? ": " : "", code ? code : "", msg ? ": " : "",
			     msg ? msg : "");
		goto out;
	}
	if (!json_is_object(r)) {
		rc = rg_fail(err, RG_ERR_UPSTREAM, "livekit_error", "LiveKit %s: response is not JSON",
			     method);
		goto out;
	}
	*resp = r;
	r = NULL;
out:
	if (rc)
		atomic_fetch_add(&api_failures, 1);
	json_decref(r);
	curl_slist_free_all(hdrs);
	/* a handle whose transfer failed may hold a broken connection */
	if (curl)
		handle_put(curl, true); /* libcurl closes a connection that failed */
	free(b.p);
	free(url);
	free(body);
	rg_free_secret(token);
	rg_free_secret(authz);
	return rc;
}

rg_err rg_lk_call(const rg_livekit *lk, const char *method, json_t *video, const json_t *req,
		  json_t **resp, rg_error *err)
{
	return lk_call(lk, method, video, req, LK_MAX_RESPONSE,
		       lk->api_timeout_ms > 0 ? lk->api_timeout_ms : 3000, NULL, resp, err);
}

static json_t *room_admin(const char *room)
{
	return json_pack("{s:b,s:s}", "roomAdmin", 1, "room", room);
}

rg_err rg_lk_room_exists(const rg_livekit *lk, const char *room, bool *exists, rg_error *err)
{
	json_t *video = json_pack("{s:b}", "roomList", 1);
	json_t *req = json_pack("{s:[s]}", "names", room), *resp = NULL;
	rg_err rc = rg_lk_call(lk, "livekit.RoomService/ListRooms", video, req, &resp, err);

	*exists = !rc && json_array_size(json_object_get(resp, "rooms")) > 0;
	json_decref(video);
	json_decref(req);
	json_decref(resp);
	return rc;
}

rg_err rg_lk_list_rooms(const rg_livekit *lk, const atomic_bool *cancel, json_t **rooms,
			rg_error *err)
{
	json_t *video = json_pack("{s:b}", "roomList", 1), *req = json_object(), *resp = NULL;
	rg_err rc = lk_call(lk, "livekit.RoomService/ListRooms", video, req, LK_MAX_LIST, 15000,
			    cancel, &resp, err);

	*rooms = NULL;
	if (!rc) {
		*rooms = json_incref(json_object_get(resp, "rooms"));
		if (!*rooms)
			*rooms = json_array(); /* protojson leaves an empty list out */
		if (!json_is_array(*rooms)) {
			json_decref(*rooms);
			*rooms = NULL;
			rc = rg_fail(err, RG_ERR_UPSTREAM, "livekit_error", "ListRooms: rooms is not a list");
		}
	}
	json_decref(video);
	json_decref(req);
	json_decref(resp);
	return rc;
}

rg_err rg_lk_delete_room(const rg_livekit *lk, const char *room, rg_error *err)
{
	json_t *video = json_pack("{s:b}", "roomCreate", 1), *req = json_pack("{s:s}", "room", room);
	json_t *resp = NULL;
	rg_err rc = rg_lk_call(lk, "livekit.RoomService/DeleteRoom", video, req, &resp, err);

	json_decref(video);
	json_decref(req);
	json_decref(resp);
	return rc;
}

rg_err rg_lk_update_room_metadata(const rg_livekit *lk, const char *room, const char *metadata,
				  rg_error *err)
{
	json_t *video = room_admin(room), *resp = NULL;
	json_t *req = json_pack("{s:s,s:s}", "room", room, "metadata", metadata);
	rg_err rc = rg_lk_call(lk, "livekit.RoomService/UpdateRoomMetadata", video, req, &resp, err);

	json_decref(video);
	json_decref(req);
	json_decref(resp);
	return rc;
}

rg_err rg_lk_list_dispatches(const rg_livekit *lk, const char *room, bool known_live, json_t **out,
			     rg_error *err)
{
	json_t *video, *req;
	bool exists = known_live;
	rg_err rc;

	/* LiveKit answers ListDispatch for a room that does not exist with a
	 * 503 after 3 s; a room that does not exist has no dispatches */
	if (!known_live && (rc = rg_lk_room_exists(lk, room, &exists, err)))
		return rc;
	if (!exists) {
		*out = json_pack("{s:[]}", "agent_dispatches");
		return *out ? RG_OK : rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	video = room_admin(room);
	req = json_pack("{s:s}", "room", room);
	rc = rg_lk_call(lk, "livekit.AgentDispatchService/ListDispatch", video, req, out, err);
	json_decref(video);
	json_decref(req);
	if (!rc && !json_object_get(*out, "agent_dispatches") && !json_object_get(*out, "agentDispatches"))
		json_object_set_new(*out, "agent_dispatches", json_array());
	return rc;
}

rg_err rg_lk_delete_dispatch(const rg_livekit *lk, const char *room, const char *id, json_t **out,
			     rg_error *err)
{
	json_t *video = room_admin(room), *req = json_pack("{s:s,s:s}", "dispatch_id", id, "room", room);
	rg_err rc = rg_lk_call(lk, "livekit.AgentDispatchService/DeleteDispatch", video, req, out, err);

	json_decref(video);
	json_decref(req);
	return rc;
}

rg_err rg_lk_dispatch(const rg_livekit *lk, const char *room, const json_t *agent, bool known_live,
		      bool *created, json_t **out, rg_error *err)
{
	const char *name = rg_json_str(agent, "agentName");
	json_t *list = NULL, *dispatches, *d, *video = NULL, *req = NULL;
	size_t i;
	rg_err rc;

	*out = NULL;
	*created = false;
	/* idempotent: an agent that already has a dispatch in the room is not
	 * started twice (a token dispatch plus an API one would start two) */
	if ((rc = rg_lk_list_dispatches(lk, room, known_live, &list, err)))
		return rc;
	dispatches = json_object_get(list, "agent_dispatches");
	if (!dispatches)
		dispatches = json_object_get(list, "agentDispatches");
	json_array_foreach(dispatches, i, d) {
		const char *dn = rg_json_str(d, "agent_name");
		if (!dn)
			dn = rg_json_str(d, "agentName");
		if (dn && !strcmp(dn, name)) {
			*out = json_incref(d);
			json_decref(list);
			return RG_OK;
		}
	}
	json_decref(list);
	video = room_admin(room);
	req = json_pack("{s:s,s:s,s:s}", "agent_name", name, "room", room, "metadata",
			rg_json_str(agent, "metadata") ? rg_json_str(agent, "metadata") : "");
	if (req && rg_json_str(agent, "deployment"))
		json_object_set_new(req, "deployment", json_string(rg_json_str(agent, "deployment")));
	rc = rg_lk_call(lk, "livekit.AgentDispatchService/CreateDispatch", video, req, out, err);
	*created = rc == RG_OK;
	json_decref(video);
	json_decref(req);
	return rc;
}
