/*
 * ceiling.c - the ceiling for tests/bench/run: civetweb with one handler that
 * answers every request with a fixed JSON body (the size of a /token answer),
 * so the only costs are civetweb's and the kernel's.
 *   ceiling [--listen HOST:PORT] [--header-api] [--floor]
 * By default the whole answer (status line, headers, body) goes out in one
 * mg_write(), i.e. one send(), as roomgate's send_response() writes its
 * keep-alive answers: the best civetweb can do. --header-api sends it through
 * mg_response_header_start/add/send + mg_write instead, which civetweb 1.15
 * turns into one send() per header line (9 small TCP segments per answer with
 * tcp_nodelay=1; about 3x the CPU per request): tests/bench/run
 * --header-api-ceiling shows it. --floor adds the work no /token can skip
 * (see floor_sign below): the most any /token on civetweb, jansson and
 * OpenSSL can reach. --listen defaults to 127.0.0.1:0 (a free port).
 * Prints {"event":"listening","port":N} on stdout once it listens; SIGTERM or
 * SIGINT stops it.
 *
 * KEEP IN SYNC: the mg_start options below are the ones rg_server_start() in
 * src/http/civetweb.c passes (listening_ports, max_request_size, num_threads,
 * tcp_nodelay, enable_keep_alive, keep_alive_timeout_ms, request_timeout_ms,
 * listen_backlog, enable_directory_listing, access_control_allow_origin;
 * no document_root: roomgate serves its web page from memory itself), and
 * like it an authorization handler that lets every request through
 * (civetweb would otherwise stat() a .htpasswd file per request). If you
 * change them there, change them here too, or the ratio roomgate/ceiling
 * compares two different servers.
 */
#include <civetweb.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The size of roomgate's 201 answer in the bench. */
#define BODY_SIZE 854
static char body[BODY_SIZE + 1];
static size_t body_len, token_at;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int header_api;

/*
 * --floor: the work no POST /token on this stack can skip, and nothing else.
 * jansson parses the request body, and the bench's token is signed: the
 * claims roomgate writes for the bench request (fixed text here), base64url
 * by OpenSSL's encoder, HMAC-SHA256 with a context keyed once and copied
 * once per thread, as src/livekit/sign.c does. The token goes into the answer in
 * place of the x's. Nothing else: no authentication (roomgate caches a
 * verified session token), no policy, no claims to build, no access log.
 */
static int floor_mode;
static EVP_MAC_CTX *floor_mac; /* keyed template */
static pthread_key_t thread_mac; /* each thread's copy, freed as it exits */
#define JWT_HEADER "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" /* {"alg":"HS256","typ":"JWT"} */
static const char claims[] =
	"{\"sub\":\"bench\",\"video\":{\"roomJoin\":true,\"room\":\"bench-room\",\"canPublish\":"
	"true,\"canSubscribe\":true,\"canPublishData\":true},\"name\":\"Bench User\",\"roomConfig\":"
	"{\"agents\":[{\"agentName\":\"assistant\",\"metadata\":\"{\\\"language\\\":\\\"en\\\",\\\"user_id\\\":"
	"\\\"bench\\\",\\\"user_name\\\":\\\"Bench User\\\",\\\"room\\\":\\\"bench-room\\\"}\"}]},\"iss\":"
	"\"devkey\",\"nbf\":1795451490,\"exp\":1795452090}";
/* header . base64url(claims) . base64url(32-byte MAC) */
#define JWT_LEN (sizeof(JWT_HEADER) - 1 + 1 + ((sizeof(claims) - 1) * 4 + 2) / 3 + 1 + 43)

static void free_mac(void *mac)
{
	EVP_MAC_CTX_free(mac);
}

static size_t b64url(char *out, const unsigned char *in, size_t n)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[len] = '\0';
	return (size_t)len;
}

/* Signs the claims into jwt (JWT_LEN + 1 bytes); false on failure. */
static int floor_sign(char *jwt)
{
	unsigned char sig[32];
	size_t at = sizeof(JWT_HEADER) - 1, len = 0;
	EVP_MAC_CTX *mac = pthread_getspecific(thread_mac);

	if (!mac) {
		if (!(mac = EVP_MAC_CTX_dup(floor_mac)))
			return 0;
		if (pthread_setspecific(thread_mac, mac)) {
			EVP_MAC_CTX_free(mac);
			return 0;
		}
	}
	memcpy(jwt, JWT_HEADER, at);
	jwt[at++] = '.';
	at += b64url(jwt + at, (const unsigned char *)claims, sizeof(claims) - 1);
	if (EVP_MAC_init(mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(mac, (const unsigned char *)jwt, at) != 1 ||
	    EVP_MAC_final(mac, sig, &len, sizeof(sig)) != 1 || len != sizeof(sig))
		return 0;
	jwt[at++] = '.';
	at += b64url(jwt + at, sig, sizeof(sig));
	return at == JWT_LEN;
}

static int allow_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

static int handler(struct mg_connection *conn, void *cbdata)
{
	char buf[4096], len[32], date[64], out[2048], mine[sizeof(body)];
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *answer = body;
	time_t now;
	struct tm tm;
	int n, got = 0;

	(void)cbdata;
	/* read the request body as roomgate does */
	if (ri->content_length != 0)
		while ((n = mg_read(conn, buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
	if (floor_mode) {
		json_t *req = json_loadb(buf, (size_t)got, 0, NULL);
		int ok = json_is_object(req) && floor_sign(mine + token_at);
		json_decref(req);
		if (!ok) {
			mg_send_http_error(conn, 400, "%s", "floor: bad body or signing failed");
			return 400;
		}
		memcpy(mine, body, token_at);
		memcpy(mine + token_at + JWT_LEN, body + token_at + JWT_LEN,
		       body_len + 1 - token_at - JWT_LEN);
		answer = mine;
	}
	if (header_api) {
		/* civetweb's header API, as roomgate used it before answering in one write */
		snprintf(len, sizeof(len), "%zu", body_len);
		mg_response_header_start(conn, 201);
		mg_response_header_add(conn, "Content-Type", "application/json", -1);
		mg_response_header_add(conn, "Content-Length", len, -1);
		mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
		mg_response_header_add(conn, "Cache-Control", "no-store", -1);
		mg_response_header_send(conn);
		mg_write(conn, answer, body_len);
		return 201;
	}
	/* the same headers civetweb writes (Date, Connection), in one send() */
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 201 Created\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Cache-Control: no-store\r\n"
		     "Date: %s\r\n"
		     "Connection: keep-alive\r\n\r\n%s",
		     body_len, date, answer);
	mg_write(conn, out, (size_t)n);
	return 201;
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	const char *options[32];
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data ed;
	struct mg_server_port ports[4];
	struct mg_context *ctx;
	char errtxt[256] = "", jwt[JWT_LEN + 1];
	int n = 0, at;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else if (!strcmp(argv[i], "--header-api")) {
			header_api = 1;
		} else if (!strcmp(argv[i], "--floor")) {
			floor_mode = 1;
		} else {
			fprintf(stderr, "usage: ceiling [--listen HOST:PORT] [--header-api] [--floor]\n");
			return 2;
		}
	}
	/* the answer: a token's worth of x's, padded to roomgate's size */
	memset(jwt, 'x', JWT_LEN);
	jwt[JWT_LEN] = '\0';
	at = snprintf(body, sizeof(body),
		      "{\"server_url\":\"ws://127.0.0.1:9\",\"participant_token\":\"%s\","
		      "\"room_name\":\"bench-room\",\"participant_identity\":\"bench\","
		      "\"expires_at\":1700000000,\"pad\":\"",
		      jwt);
	if (at < 0 || at + 2 > BODY_SIZE) {
		fprintf(stderr, "ceiling: the answer does not fit in %d bytes\n", BODY_SIZE);
		return 1;
	}
	memset(body + at, 'x', (size_t)(BODY_SIZE - 2 - at));
	memcpy(body + BODY_SIZE - 2, "\"}", 3);
	body_len = BODY_SIZE;
	token_at = (size_t)(strstr(body, "\"participant_token\":\"") - body) + 21;
	if (floor_mode) {
		/* the LiveKit API secret of the bench's config */
		EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			OSSL_PARAM_construct_end()};
		floor_mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
		EVP_MAC_free(hmac);
		if (!floor_mac || pthread_key_create(&thread_mac, free_mac) ||
		    EVP_MAC_init(floor_mac, (const unsigned char *)"secret", 6, params) != 1) {
			fprintf(stderr, "ceiling: cannot set up HMAC-SHA256\n");
			return 1;
		}
	}

	/* = rg_server_start() in src/http/civetweb.c (keep in sync), with the
	 * defaults of the config's "server" section */
	const char *threads = "64", *ka_ms = "5000", *req_ms = "10000";

	options[n++] = "listening_ports";
	options[n++] = listen;
	options[n++] = "max_request_size";
	options[n++] = "16384";
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
	options[n] = NULL;

	mg_init_library(0);
	memset(&cb, 0, sizeof(cb));
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.configuration_options = options;
	memset(&ed, 0, sizeof(ed));
	ed.text = errtxt;
	ed.text_buffer_size = sizeof(errtxt);
	if (!(ctx = mg_start2(&init, &ed))) {
		fprintf(stderr, "ceiling: cannot listen on %s: %s\n", listen, errtxt);
		return 1;
	}
	/* as rg_server_start() does: no .htpasswd lookup (a stat()) per request */
	mg_set_auth_handler(ctx, "/", allow_all, NULL);
	mg_set_request_handler(ctx, "/", handler, NULL);
	if (mg_get_server_ports(ctx, 4, ports) < 1) {
		fprintf(stderr, "ceiling: no listening port\n");
		mg_stop(ctx);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("{\"event\":\"listening\",\"port\":%d}\n", ports[0].port);
	fflush(stdout);
	while (!stop) {
		struct timespec t = {0, 50 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	mg_stop(ctx);
	mg_exit_library();
	EVP_MAC_CTX_free(floor_mac);
	return 0;
}
