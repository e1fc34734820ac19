/*
 * ceiling.c - the ceiling for tests/bench/run: civetweb with one handler that
 * answers every request with a fixed JSON body (the size of a /token answer),
 * so the only costs are civetweb's and the kernel's.
 *   ceiling [--listen HOST:PORT] [--header-api]
 * By default the whole answer (status line, headers, body) goes out in one
 * mg_write(), i.e. one send(), as roomgate's send_response() writes its
 * keep-alive answers: the best civetweb can do. --header-api sends it through
 * mg_response_header_start/add/send + mg_write instead, which civetweb 1.15
 * turns into one send() per header line (9 small TCP segments per answer with
 * tcp_nodelay=1; about 3x the CPU per request): tests/bench/run
 * --header-api-ceiling shows it. --listen defaults to 127.0.0.1:0 (a free port).
 * Prints {"event":"listening","port":N} on stdout once it listens; SIGTERM or
 * SIGINT stops it.
 *
 * KEEP IN SYNC: the mg_start options below are the ones rg_server_start() in
 * src/http_civetweb.c passes (listening_ports, max_request_size, num_threads,
 * tcp_nodelay, enable_keep_alive, keep_alive_timeout_ms, request_timeout_ms,
 * enable_directory_listing, access_control_allow_origin; roomgate adds a
 * document_root only when it serves a web page, which the bench config does
 * not), and like it an authorization handler that lets every request through
 * (civetweb would otherwise stat() a .htpasswd file per request). If you
 * change them there, change them here too, or the ratio roomgate/ceiling
 * compares two different servers.
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The size of roomgate's 201 answer in the bench (854 bytes). */
static char body[1024];
static size_t body_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int header_api;

static int allow_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

static int handler(struct mg_connection *conn, void *cbdata)
{
	char buf[4096], len[32], date[64], out[2048];
	const struct mg_request_info *ri = mg_get_request_info(conn);
	time_t now;
	struct tm tm;
	int n;

	(void)cbdata;
	/* read the request body as roomgate does */
	if (ri->content_length != 0)
		while (mg_read(conn, buf, sizeof(buf)) > 0)
			;
	if (header_api) {
		/* civetweb's header API, as roomgate used it before answering in one write */
		snprintf(len, sizeof(len), "%zu", body_len);
		mg_response_header_start(conn, 201);
		mg_response_header_add(conn, "Content-Type", "application/json", -1);
		mg_response_header_add(conn, "Content-Length", len, -1);
		mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
		mg_response_header_add(conn, "Cache-Control", "no-store", -1);
		mg_response_header_send(conn);
		mg_write(conn, body, body_len);
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
		     body_len, date, body);
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
	char errtxt[256] = "", jwt[719];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else if (!strcmp(argv[i], "--header-api")) {
			header_api = 1;
		} else {
			fprintf(stderr, "usage: ceiling [--listen HOST:PORT] [--header-api]\n");
			return 2;
		}
	}
	memset(jwt, 'x', sizeof(jwt) - 1);
	jwt[sizeof(jwt) - 1] = '\0';
	body_len = (size_t)snprintf(body, sizeof(body),
				    "{\"server_url\":\"ws://127.0.0.1:9\",\"participant_token\":\"%s\","
				    "\"room_name\":\"bench-room\",\"participant_identity\":\"bench\","
				    "\"expires_at\":1700000000}",
				    jwt);

	/* = rg_server_start() in src/http_civetweb.c (keep in sync), with the
	 * defaults of the config's "server" section */
	const char *threads = "64", *ka_ms = "15000", *req_ms = "10000";

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
	return 0;
}
