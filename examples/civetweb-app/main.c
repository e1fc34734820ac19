/*
 * An existing civetweb app (it serves its own page at /) that embeds
 * roomgate: its users get LiveKit join tokens at /livekit/token,
 * /livekit/v1/sessions, ... from the same process.
 *
 *   civetweb_app --config roomgate.json [--listen 127.0.0.1:0]
 *   civetweb_app --dev [--listen 127.0.0.1:0]
 *
 * It prints "listening on PORT" once serving and stops on SIGTERM/SIGINT.
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <roomgate.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int home(struct mg_connection *conn, void *cbdata)
{
	static const char page[] = "<!doctype html><title>My app</title>"
				   "<h1>My existing app</h1><p>Tokens at /livekit/token</p>";
	(void)cbdata;
	mg_send_http_ok(conn, "text/html; charset=utf-8", (long long)strlen(page));
	mg_write(conn, page, strlen(page));
	return 200;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *listen = "127.0.0.1:8081";
	int dev = 0;
	rg_config_t *cfg = NULL;
	rg_app_t *app = NULL;
	rg_error err = {0};
	struct mg_context *ctx;
	struct mg_server_port port;
	const char *options[] = {"listening_ports", NULL, "tcp_nodelay", "1",
				 "enable_keep_alive", "yes", NULL};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dev"))
			dev = 1;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
		else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
	}
	if (dev ? rg_config_dev(NULL, &cfg, &err) : rg_config_load(config, &cfg, &err)) {
		fprintf(stderr, "config: %s\n", err.message);
		return 1;
	}
	if (rg_app_new(cfg, &app, &err)) {
		fprintf(stderr, "app: %s\n", err.message);
		return 1;
	}
	options[1] = listen;
	mg_init_library(0);
	ctx = mg_start(NULL, NULL, options);
	if (!ctx) {
		fprintf(stderr, "cannot listen on %s\n", listen);
		return 1;
	}
	mg_set_request_handler(ctx, "/$", home, NULL);
	if (rg_civetweb_mount(app, ctx, "/livekit")) {
		fprintf(stderr, "cannot mount roomgate\n");
		return 1;
	}
	if (mg_get_server_ports(ctx, 1, &port) < 1)
		return 1;
	printf("listening on %d\n", port.port);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	mg_stop(ctx);
	rg_app_free(app);
	rg_config_free(cfg);
	mg_exit_library();
	return 0;
}
