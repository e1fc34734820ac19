/*
 * civetweb.c - serves an rg_app_t over civetweb.
 *
 * One catch-all handler turns each civetweb request into an rg_request_t and
 * writes back the rg_response_t; on roomgate's own server, paths that are
 * not API routes are the web page's files, held in memory and answered by
 * serve_file (web.c says how: versioned names, caching, gzip, the page's
 * security headers); civetweb serves no file itself. civetweb's own error
 * pages are replaced by JSON errors, and every request gets one JSON access
 * log line (method, path without query, status, duration, user).
 *
 * Slow clients: civetweb gives each connection a worker thread for as long
 * as it is open, and roomgate cannot tell, before a request has been read,
 * which address a connection comes from (civetweb 1.15 does not say). What
 * it bounds itself: one deadline for a request's headers and body (the body
 * loop below; civetweb's own clock restarts on every read), a short
 * keep-alive, a deep listen queue and enough file descriptors. Floods of idle
 * connections from one address are for a proxy in front (docker/nginx.conf,
 * docs/deploy.md "Slow clients").
 */
#include <civetweb.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/tls.h"
#include "base/util.h"
#include "core/config.h"
#include "http/app.h"
#include "http/request.h"

/* One worker thread's watch over the request body it reads, if any: made
 * on the thread's first body and kept by the server until it stops. */
typedef struct body_watch {
	pthread_mutex_t lock;    /* the thread and, once a second, the watchdog */
	const struct mg_connection *conn; /* reading this body, or NULL */
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool fired;               /* the watchdog shut the socket's read side */
	struct body_watch *next;
} body_watch;

struct rg_server {
	struct mg_context *ctx;
	rg_mount *mount;
	int port;
	atomic_int in_flight;
	long request_timeout_ms; /* server.request_timeout: headers and body */
	char *tls_cert, *tls_key;
	/* the worker threads' watches, for the body watchdog */
	pthread_mutex_t late_lock;
	pthread_cond_t late_cond;
	struct body_watch *watches;
	pthread_t watchdog;
	bool watchdog_started, stopping;
};

/* Per worker thread: civetweb runs one request at a time on a thread. */
static _Thread_local struct timespec req_start;
static _Thread_local char req_user[128];

static const char *conn_header(void *ctx, const char *name)
{
	return mg_get_header((const struct mg_connection *)ctx, name);
}

/* "Date:" value, formatted once a second per thread. */
static const char *http_date(void)
{
	static _Thread_local time_t last;
	static _Thread_local char buf[40];
	time_t now = time(NULL);
	struct tm tm;

	if (now != last) {
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = now;
	}
	return buf;
}

/* Whether civetweb keeps this connection open after the response (its
 * should_keep_alive(): keep-alive is on; HTTP/1.1 without a Connection
 * header, or a Connection header with keep-alive; never after a 401). */
static bool keeps_alive(const struct mg_connection *conn, int status)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *h = mg_get_header(conn, "Connection");

	if (status == 401)
		return false;
	if (h)
		return strcasestr(h, "keep-alive") != NULL;
	return ri->http_version && !strcmp(ri->http_version, "1.1");
}

/* The socket of this connection (civetweb does not expose it): the one
 * whose local port and peer match the request's. -1 if not found. */
static int conn_socket(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct sockaddr_storage local, peer;
	char host[INET6_ADDRSTRLEN];
	int max = (int)sysconf(_SC_OPEN_MAX);

	for (int fd = 3; fd < max && fd < 65536; fd++) {
		socklen_t ll = sizeof(local), pl = sizeof(peer);
		int lport, pport;
		const void *pa;
		if (getsockname(fd, (struct sockaddr *)&local, &ll) || local.ss_family != AF_INET ||
		    getpeername(fd, (struct sockaddr *)&peer, &pl))
			continue;
		lport = ntohs(((struct sockaddr_in *)&local)->sin_port);
		pport = ntohs(((struct sockaddr_in *)&peer)->sin_port);
		pa = &((struct sockaddr_in *)&peer)->sin_addr;
		if (lport == ri->server_port && pport == ri->remote_port &&
		    inet_ntop(AF_INET, pa, host, sizeof(host)) && !strcmp(host, ri->remote_addr))
			return fd;
	}
	return -1;
}

/*
 * Ends a connection whose request body we refused (413) without reading it:
 * civetweb would otherwise read and discard the whole declared body,
 * however large, on this worker thread. The response is already written;
 * we send FIN, give the client a moment (at most 1 s and 1 MiB) to stop
 * sending so that its TCP stack does not reset the response away, then shut
 * the read side, so that civetweb sees the end of the stream and closes.
 */
static void end_refused_body(struct mg_connection *conn)
{
	int fd = conn_socket(conn);
	char sink[16384];
	size_t total = 0;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	struct timespec t0, now;

	if (fd < 0)
		return;
	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0 || (total += (size_t)n) > (1u << 20))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 1)
			break;
	}
	shutdown(fd, SHUT_RD);
}

/* The status line, headers and body in one buffer and one write: with
 * tcp_nodelay, civetweb's header calls would each leave as a packet of
 * their own, which halves the request rate (tests/bench). A body over 64 KiB
 * (a web page file) follows in a second write instead of a copy. `close`:
 * the request body was refused or civetweb reported an error; the
 * connection ends after this response (end_refused_body). A 304 has no
 * Content-Length. */
static void send_parts(struct mg_connection *conn, int code, const char *ct, const char *headers,
		       const void *body, size_t body_len, bool close)
{
	const char *method = mg_get_request_info(conn)->request_method;
	bool head = method && !strcmp(method, "HEAD");
	bool alive = !close && keeps_alive(conn, code);
	bool send_body = body && body_len && !head, apart = send_body && body_len > 65536;
	char small[2048], *buf = small, status[24], length[24];
	/* the status line and headers, in order, joined by hand: snprintf's
	 * format parsing, here and in a few other places per request, was 6%
	 * of a /token request's instructions (callgrind) */
	const char *part[] = {
		"HTTP/1.1 ", status, " ", mg_get_response_code_text(conn, code), "\r\n",
		ct ? "Content-Type: " : "", ct ? ct : "", ct ? "\r\n" : "",
		code == 304 ? "" : "Content-Length: ", code == 304 ? "" : length,
		code == 304 ? "" : "\r\n", "X-Content-Type-Options: nosniff\r\n", headers,
		"Date: ", http_date(), "\r\nConnection: ", alive ? "keep-alive" : "close", "\r\n\r\n",
	};
	size_t plen[sizeof(part) / sizeof(part[0])], n = 0, inline_len;

	status[rg_fmt_int(status, code)] = '\0';
	length[rg_fmt_int(length, (long long)body_len)] = '\0';
	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++)
		n += plen[i] = strlen(part[i]);
	inline_len = send_body && !apart ? body_len : 0;
	if (n + inline_len >= sizeof(small) && !(buf = malloc(n + inline_len + 1)))
		return;
	n = 0;
	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		memcpy(buf + n, part[i], plen[i]);
		n += plen[i];
	}
	if (inline_len) {
		memcpy(buf + n, body, inline_len);
		n += inline_len;
	}
	mg_write(conn, buf, n);
	if (apart)
		mg_write(conn, body, body_len);
	if (buf != small)
		free(buf);
	if (close)
		end_refused_body(conn);
}

static void send_response(struct mg_connection *conn, const rg_response_t *resp, bool close)
{
	send_parts(conn, resp->status, resp->content_type, resp->headers, resp->body,
		   resp->body_len, close);
}

static void log_access(const struct mg_connection *conn, rg_app_t *app, int status, double ms,
		       const char *user)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (rg_app_access_log(app))
		rg_log_access(ri->request_method, ri->local_uri, status, ms, ri->remote_addr, user);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static const char *error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 411: return "length_required";
	case 413: return "body_too_large";
	case 414: return "uri_too_long";
	case 431: return "headers_too_large";
	case 501: return "not_implemented";
	case 505: return "http_version_not_supported";
	default: return status < 500 ? "bad_request" : "internal_error";
	}
}

/* A JSON error response: {"error":{"code","message"}}, the code from the status. */
static void error_response(rg_response_t *resp, int status, const char *message)
{
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = rg_error_body(error_code(status), message);
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

static void send_error(struct mg_connection *conn, int status, const char *message, bool close,
		       const char *header)
{
	rg_response_t resp = {0};

	error_response(&resp, status, message);
	if (header)
		snprintf(resp.headers, sizeof(resp.headers), "%s\r\n", header);
	send_response(conn, &resp, close);
	rg_response_clear(&resp);
}

static int http_error(struct mg_connection *conn, int status, const char *msg)
{
	(void)msg; /* civetweb's text may name file system paths */
	send_error(conn, status, status == 404 ? "not found" : error_code(status),
		   status >= 400 && status != 404 && status != 405, NULL);
	return 0;
}

/* A page ("/", "/x/", "x.html"): in dev mode, the cue to read the web
 * root again if it changed. */
static bool is_page(const char *path)
{
	size_t n = strlen(path);

	return !n || path[n - 1] == '/' || (n > 5 && !strcasecmp(path + n - 5, ".html"));
}

/* A path that is no API route, on roomgate's own server: the web page's
 * files (web.c) for GET and HEAD; 405 for other methods on them; 404 JSON
 * for anything else, folders included (none is listed). */
static int serve_file(struct mg_connection *conn, rg_app_t *app, const char *path, bool close)
{
	const char *method = mg_get_request_info(conn)->request_method;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	rg_web *web = rg_app_web(app, get && is_page(path));
	rg_web_kind kind = web ? rg_web_find(web, path) : RG_WEB_NONE;
	rg_web_reply r;
	rg_err rc = web && get ? rg_web_get(web, path, mg_get_header(conn, "Accept-Encoding"),
					     mg_get_header(conn, "If-None-Match"), &r)
			       : RG_ERR_NOT_FOUND;
	int status;

	if (!rc) {
		status = r.status;
		send_parts(conn, r.status, r.status == 304 ? NULL : r.type, r.headers, r.body, r.len,
			   close);
		rg_web_reply_clear(&r);
	} else if (rc != RG_ERR_NOT_FOUND) {
		status = 500;
		send_error(conn, status, "out of memory", true, NULL);
	} else if (!get && kind != RG_WEB_NONE) {
		/* never civetweb's PUT/DELETE/WebDAV handling of the web root */
		status = 405;
		send_error(conn, status, "the web page is read-only: use GET", close, "Allow: GET, HEAD");
	} else {
		status = 404;
		send_error(conn, status, kind == RG_WEB_FOLDER ? "not found: a folder (roomgate "
								 "lists no folders)" : "not found",
			   close, NULL);
	}
	rg_web_free(web);
	return status;
}

/* roomgate authenticates requests itself. Without an authorization handler,
 * civetweb looks for a .htpasswd file (a stat() per request) and, when the
 * web root holds one, answers the page with its own 401 and a Digest
 * challenge: this handler lets every request through to roomgate instead. */
static int allow_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * One deadline for a request's headers and body. civetweb bounds the wait
 * for the headers, but mg_read returns only when all it was asked for has
 * come and restarts its request_timeout clock on every byte, so a body sent
 * a byte at a time would hold a worker thread as long as its sender likes.
 * A body is read in one mg_read (the usual body came with the headers: a
 * memcpy) while the thread's own watch says so; a watchdog thread that wakes
 * every second shuts the read side of a socket whose request is still
 * reading request_timeout after its headers arrived, mg_read returns, and
 * the request is answered 408 and closed. Finding the socket (conn_socket)
 * is slow, but only a late request pays it; the usual request takes its own
 * thread's lock twice, which no other request shares.
 */
static _Thread_local body_watch *thread_watch;

static void *watchdog_run(void *arg)
{
	rg_server_t *srv = arg;

	pthread_mutex_lock(&srv->late_lock);
	while (!srv->stopping) {
		struct timespec now, wake;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (body_watch *w = srv->watches; w; w = w->next) {
			pthread_mutex_lock(&w->lock);
			/* w->conn is valid: its thread clears it under this lock */
			if (w->conn && !w->fired && !ts_before(&now, &w->deadline)) {
				int fd = conn_socket(w->conn);
				w->fired = true;
				if (fd >= 0)
					shutdown(fd, SHUT_RD);
			}
			pthread_mutex_unlock(&w->lock);
		}
		wake = now;
		wake.tv_sec += 1;
		pthread_cond_timedwait(&srv->late_cond, &srv->late_lock, &wake);
	}
	pthread_mutex_unlock(&srv->late_lock);
	return NULL;
}

/* This thread's watch, made and listed on its first body; NULL if out of
 * memory (the body is then read unwatched). */
static body_watch *my_watch(rg_server_t *srv)
{
	body_watch *w = thread_watch;

	if (w)
		return w;
	if (!(w = calloc(1, sizeof(*w))))
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_lock(&srv->late_lock);
	w->next = srv->watches;
	srv->watches = w;
	pthread_mutex_unlock(&srv->late_lock);
	return thread_watch = w;
}

static void watch_start(rg_server_t *srv, body_watch *w, const struct mg_connection *conn)
{
	struct timespec d = req_start;

	d.tv_sec += srv->request_timeout_ms / 1000;
	d.tv_nsec += (srv->request_timeout_ms % 1000) * 1000000;
	if (d.tv_nsec >= 1000000000) {
		d.tv_sec++;
		d.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	w->conn = conn;
	w->deadline = d;
	w->fired = false;
	pthread_mutex_unlock(&w->lock);
}

/* The read is over; whether the watchdog found it late. */
static bool watch_end(body_watch *w)
{
	bool fired;

	pthread_mutex_lock(&w->lock);
	w->conn = NULL;
	fired = w->fired;
	pthread_mutex_unlock(&w->lock);
	return fired;
}

static rg_err watchdog_start(rg_server_t *srv, rg_error *err)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&srv->late_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->late_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&srv->watchdog, NULL, watchdog_run, srv))
		return rg_fail(err, RG_ERR_INTERNAL, NULL, "cannot start the body watchdog thread");
	srv->watchdog_started = true;
	return RG_OK;
}

/* After mg_stop: no request is reading any more, and the worker threads
 * whose watches these were are gone. */
static void watchdog_stop(rg_server_t *srv)
{
	if (!srv->watchdog_started)
		return;
	pthread_mutex_lock(&srv->late_lock);
	srv->stopping = true;
	pthread_cond_signal(&srv->late_cond);
	pthread_mutex_unlock(&srv->late_lock);
	pthread_join(srv->watchdog, NULL);
	while (srv->watches) {
		body_watch *next = srv->watches->next;
		pthread_mutex_destroy(&srv->watches->lock);
		free(srv->watches);
		srv->watches = next;
	}
	pthread_cond_destroy(&srv->late_cond);
	pthread_mutex_destroy(&srv->late_lock);
	srv->watchdog_started = false;
}

static int api_handler(struct mg_connection *conn, void *cbdata)
{
	rg_mount *m = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	rg_request_t req = {0};
	rg_response_t resp = {0};
	struct timespec t0;
	char *body = NULL;
	size_t len = 0;
	bool too_large = ri->content_length > RG_MAX_BODY;
	const char *path = ri->local_uri;
	rg_server_t *srv;
	body_watch *watch = NULL;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (m->plen) {
		path += m->plen;
		if (!*path)
			path = "/";
	}
	req.method = ri->request_method;
	req.path = path;
	req.query = ri->query_string;
	req.remote_addr = ri->remote_addr;
	req.header = conn_header;
	req.header_ctx = conn;
	if (too_large) {
		/* not read: answer 413 from the declared length and close */
		req.body_len = (size_t)ri->content_length;
	} else if (ri->content_length != 0) {
		/* sized from Content-Length when there is one (chunked: the limit) */
		size_t cap = ri->content_length > 0 ? (size_t)ri->content_length + 1 : RG_MAX_BODY + 1;
		body = malloc(cap + 1);
		if (!body)
			return 500;
		/* roomgate's own server watches the read (an embedding
		 * application's civetweb keeps its own options) */
		srv = m->embedded ? NULL : mg_get_user_data(mg_get_context(conn));
		if (srv && (watch = my_watch(srv)))
			watch_start(srv, watch, conn);
		for (;;) {
			int n = len < cap ? mg_read(conn, body + len, cap - len) : 0;
			if (n <= 0)
				break;
			len += (size_t)n;
			if (len > RG_MAX_BODY) {
				too_large = true;
				break;
			}
		}
		if (watch && watch_end(watch)) {
			free(body);
			send_error(conn, 408, "the request body did not arrive in time", true, NULL);
			return 408;
		}
		body[len] = '\0';
		req.body = body;
		req.body_len = len;
	}
	if (!rg_app_handle(m->app, &req, &resp)) {
		if (!m->embedded) {
			free(body);
			return serve_file(conn, m->app, path, too_large);
		}
		error_response(&resp, 404, "not found");
	}
	send_response(conn, &resp, too_large);
	rg_copy(req_user, sizeof(req_user), resp.user);
	status = resp.status;
	if (m->embedded)
		log_access(conn, m->app, status, ms_since(&t0), resp.user);
	rg_response_clear(&resp);
	free(body);
	return status;
}

rg_err rg_civetweb_mount(rg_app_t *app, struct mg_context *ctx, const char *prefix)
{
	rg_mount *m;
	char *pattern;
	size_t n;

	if (!app || !ctx || !prefix || prefix[0] != '/')
		return RG_ERR_INVALID;
	if (!(m = rg_app_add_mount(app, prefix, true)))
		return RG_ERR_NOMEM;
	n = m->plen + 2;
	if (!(pattern = malloc(n)))
		return RG_ERR_NOMEM;
	/* civetweb matches handler URIs as prefixes */
	snprintf(pattern, n, "%s", m->plen ? m->prefix : "/");
	mg_set_request_handler(ctx, pattern, api_handler, m);
	free(pattern);
	return RG_OK;
}

/* RFC 9112 6.3: a request with two Content-Length headers, or with both
 * Content-Length and Transfer-Encoding, has no agreed end; a proxy in front
 * and roomgate could split it differently (request smuggling). */
static bool framing_ok(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int cl = 0, te = 0;

	for (int i = 0; i < ri->num_headers; i++) {
		if (!strcasecmp(ri->http_headers[i].name, "Content-Length"))
			cl++;
		else if (!strcasecmp(ri->http_headers[i].name, "Transfer-Encoding"))
			te++;
	}
	return cl <= 1 && !(cl && te);
}

static int begin_request(struct mg_connection *conn)
{
	rg_server_t *srv = mg_get_user_data(mg_get_context(conn));

	if (srv)
		atomic_fetch_add(&srv->in_flight, 1);
	clock_gettime(CLOCK_MONOTONIC, &req_start);
	req_user[0] = '\0';
	if (!framing_ok(conn)) {
		send_error(conn, 400, "ambiguous message length (Content-Length and "
				      "Transfer-Encoding, or two Content-Length headers)", true, NULL);
		return 400;
	}
	return 0;
}

static void end_request(const struct mg_connection *conn, int status)
{
	rg_server_t *srv = mg_get_user_data(mg_get_context(conn));

	if (!srv)
		return;
	atomic_fetch_sub(&srv->in_flight, 1);
	log_access(conn, srv->mount->app, status, ms_since(&req_start), req_user);
}

/* TLS set up by us (civetweb's ssl_certificate wants key and chain in one
 * file): nothing older than TLS 1.2, and the chain and key loaded as
 * `config check` loaded them. */
static int init_ssl(void *ssl_ctx, void *user_data)
{
	rg_server_t *srv = user_data;
	rg_error err = {0};

	if (SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION) != 1) {
		rg_log("error", "tls_failed", "cannot require TLS 1.2");
		return -1;
	}
	if (rg_tls_use(ssl_ctx, srv->tls_cert, srv->tls_key, &err)) {
		rg_log("error", "tls_failed", err.message);
		return -1;
	}
	return 1;
}

/* Loads src/base/ssl_shim.c's two objects (SONAMEs libssl.so and libcrypto.so)
 * from the build tree or the install tree, so that civetweb's
 * dlopen("libssl.so") finds OpenSSL 3 with the names it expects. */
static rg_err load_ssl_shims(rg_error *err)
{
	static const char *const dirs[] = {ROOMGATE_SHIM_BUILD_DIR, ROOMGATE_SHIM_INSTALL_DIR};
	static bool loaded;
	char ssl[512], crypto[512];

	if (loaded)
		return RG_OK;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(ssl, sizeof(ssl), "%s/libroomgate_ssl_shim.so", dirs[i]);
		snprintf(crypto, sizeof(crypto), "%s/libroomgate_crypto_shim.so", dirs[i]);
		if (access(ssl, R_OK) || access(crypto, R_OK))
			continue;
		if (!dlopen(crypto, RTLD_NOW | RTLD_LOCAL) || !dlopen(ssl, RTLD_NOW | RTLD_LOCAL))
			return rg_fail(err, RG_ERR_CONFIG, "config_error", "TLS: cannot load %s: %s",
				       ssl, dlerror());
		loaded = true;
		return RG_OK;
	}
	return rg_fail(err, RG_ERR_CONFIG, "config_error",
		       "TLS: libroomgate_ssl_shim.so not found in %s (install roomgate with "
		       "cmake --install)", ROOMGATE_SHIM_INSTALL_DIR);
}

static int log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	rg_log("warn", "civetweb", message);
	return 1;
}

static void log_listening(const rg_config_t *cfg, int port)
{
	char host[300], url[400];
	char *colon;

	snprintf(host, sizeof(host), "%s", cfg->listen);
	if ((colon = strrchr(host, ':')))
		*colon = '\0';
	if (!host[0] || !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "127.0.0.1");
	snprintf(url, sizeof(url), "%s://%s:%d", cfg->tls_cert ? "https" : "http", host, port);
	rg_log_json("info", "listening",
		    json_pack("{s:s,s:i,s:s,s:b,s:b,s:s?}", "msg", "roomgate is listening", "port", port,
			      "url", url, "tls", cfg->tls_cert != NULL, "dev", cfg->dev, "web_root",
			      cfg->web_root));
}

/* Each connection, waiting in the listen queue or open, is a file
 * descriptor: take the hard limit when the soft one is lower (a process
 * started from a shell often gets 1024), so that a flood of connections
 * fails at accept rather than leaving roomgate unable to open a file. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			rg_log("warn", "fd_limit", "cannot raise the open file limit to its hard limit");
	}
}

rg_err rg_server_start(rg_app_t *app, rg_server_t **out, rg_error *err)
{
	static int lib_init;
	rg_config_t *cfg = rg_app_config(app);
	struct mg_callbacks cb;
	struct mg_server_port ports[4];
	struct mg_init_data init;
	struct mg_error_data ed;
	char errtxt[256] = "";
	const char *options[32];
	char listen_spec[320], threads[24], req_ms[24], ka_ms[24];
	int n = 0, np;
	rg_server_t *srv = NULL;
	rg_err rc = RG_OK;

	*out = NULL;
	if (cfg->tls_cert && (rc = load_ssl_shims(err)))
		goto out;
	if (!lib_init) {
		mg_init_library(cfg->tls_cert ? MG_FEATURES_TLS : 0);
		lib_init = 1;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	srv->request_timeout_ms = cfg->request_timeout * 1000;
	if ((rc = rg_app_web_load(app, err)) || (rc = watchdog_start(srv, err)))
		goto out;
	raise_fd_limit();
	if (!(srv->mount = rg_app_add_mount(app, "", false))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	/* civetweb marks TLS listeners with a trailing 's' */
	snprintf(listen_spec, sizeof(listen_spec), "%s%s", cfg->listen, cfg->tls_cert ? "s" : "");
	if (cfg->tls_cert && (!(srv->tls_cert = strdup(cfg->tls_cert)) ||
			      !(srv->tls_key = strdup(cfg->tls_key)))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	options[n++] = "listening_ports";
	options[n++] = listen_spec;
	options[n++] = "max_request_size";
	options[n++] = "16384";
	snprintf(threads, sizeof(threads), "%ld", cfg->max_connections);
	snprintf(req_ms, sizeof(req_ms), "%ld", cfg->request_timeout * 1000);
	snprintf(ka_ms, sizeof(ka_ms), "%ld", cfg->keep_alive_timeout * 1000);
	options[n++] = "num_threads";
	options[n++] = threads;
	options[n++] = "tcp_nodelay";
	options[n++] = "1";
	options[n++] = "enable_keep_alive";
	options[n++] = "yes";
	options[n++] = "keep_alive_timeout_ms";
	options[n++] = ka_ms;
	options[n++] = "request_timeout_ms";
	options[n++] = req_ms;
	options[n++] = "listen_backlog";
	options[n++] = "4096";
	options[n++] = "enable_directory_listing";
	options[n++] = "no";
	options[n++] = "access_control_allow_origin";
	options[n++] = "";
	/* no document_root: civetweb serves no file; serve_file serves the web
	 * root (web.c) */
	options[n] = NULL;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.end_request = end_request;
	cb.http_error = http_error;
	cb.log_message = log_message;
	if (cfg->tls_cert)
		cb.init_ssl = init_ssl;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.user_data = srv;
	init.configuration_options = options;
	memset(&ed, 0, sizeof(ed));
	ed.text = errtxt;
	ed.text_buffer_size = sizeof(errtxt);
	srv->ctx = mg_start2(&init, &ed);
	if (!srv->ctx) {
		rc = rg_fail(err, RG_ERR_IO, "listen_failed", "cannot listen on %s: %s", cfg->listen,
			     errtxt[0] ? errtxt : "unknown error");
		goto out;
	}
	mg_set_auth_handler(srv->ctx, "/", allow_all, NULL);
	mg_set_request_handler(srv->ctx, "/", api_handler, srv->mount);
	np = mg_get_server_ports(srv->ctx, 4, ports);
	srv->port = np > 0 ? ports[0].port : 0;
	log_listening(cfg, srv->port);
	*out = srv;
	srv = NULL;
out:
	if (srv) {
		if (srv->ctx)
			mg_stop(srv->ctx);
		watchdog_stop(srv);
		free(srv->tls_cert);
		free(srv->tls_key);
		free(srv);
	}
	rg_config_free(cfg);
	return rc;
}

int rg_server_port(const rg_server_t *srv)
{
	return srv ? srv->port : 0;
}

void rg_server_stop(rg_server_t *srv)
{
	struct timespec pause = {0, 10 * 1000 * 1000};

	if (!srv)
		return;
	/* civetweb refuses writes once stopping, so let requests in flight
	 * finish first (bounded: 15 s) */
	for (int i = 0; i < 1500 && atomic_load(&srv->in_flight) > 0; i++)
		nanosleep(&pause, NULL);
	mg_stop(srv->ctx);
	watchdog_stop(srv);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
}
