/*
 * serve.c - `roomgate serve`: loads the config (or the dev default), starts
 * the HTTP server and waits for signals (SIGHUP reloads, SIGTERM/SIGINT stop).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/opt.h"
#include "cli/serve.h"
#include "roomgate.h"

static int is_dir_with_index(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/index.html", dir);
	return stat(path, &st) == 0;
}

static const char *default_web_root(void)
{
	if (is_dir_with_index(ROOMGATE_WEB_DIR))
		return ROOMGATE_WEB_DIR;
	if (is_dir_with_index(ROOMGATE_INSTALLED_WEB_DIR))
		return ROOMGATE_INSTALLED_WEB_DIR;
	return NULL;
}

static rg_err load(int dev, const char *config, const char *listen, const char *web,
		   rg_config_t **cfg, rg_error *err)
{
	rg_err rc = dev ? rg_config_dev(web ? web : default_web_root(), cfg, err)
			: rg_config_load(config, cfg, err);

	if (!rc && listen && rg_config_set_listen(*cfg, listen)) {
		rg_config_free(*cfg);
		*cfg = NULL;
		return RG_ERR_INVALID;
	}
	return rc;
}

static void banner(const rg_config_t *cfg, int port)
{
	printf("\n"
	       "  roomgate %s - DEV MODE, NOT FOR PRODUCTION\n"
	       "  listening   http://127.0.0.1:%d  (loopback only)\n"
	       "  web page    http://127.0.0.1:%d/%s\n"
	       "  LiveKit     %s  key devkey / secret secret (livekit-server --dev)\n"
	       "  user        demo / password demo\n"
	       "  policy      any room, any agent, client metadata passed through\n"
	       "  try         curl -u demo:demo -H 'Content-Type: application/json' \\\n"
	       "                -d '{\"room_config\":{\"agents\":[{\"agent_name\":\"assistant\"}]}}' \\\n"
	       "                http://127.0.0.1:%d/token\n\n",
	       RG_VERSION, port, port, rg_config_web_root(cfg) ? "" : " (no web/ folder found)",
	       rg_config_livekit_url(cfg), port);
	fflush(stdout);
}

int rg_cli_serve(int argc, char **argv)
{
	const char *config = NULL, *listen = NULL, *web = NULL, *v;
	int dev = 0, sig, rcode = 0;
	rg_config_t *cfg = NULL;
	rg_app_t *app = NULL;
	rg_server_t *srv = NULL;
	rg_error err = {0};
	sigset_t set;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dev"))
			dev = 1;
		else if ((v = rg_cli_opt(&i, argc, argv, "config")))
			config = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "listen")))
			listen = v;
		else if ((v = rg_cli_opt(&i, argc, argv, "web")))
			web = v;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(rg_cli_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "roomgate serve: unknown argument '%s'\n%s", argv[i], rg_cli_usage);
			return 2;
		}
	}
	if (dev == !!config) {
		fprintf(stderr, "roomgate serve: give exactly one of --dev or --config FILE\n");
		return 2;
	}
	/* workers inherit this mask; signals are taken by sigwait below */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (load(dev, config, listen, web, &cfg, &err)) {
		rg_log("error", "config_invalid", err.message[0] ? err.message
					: dev ? "invalid --listen: dev mode listens on 127.0.0.1:PORT only"
					      : "invalid --listen: HOST:PORT");
		return 1;
	}
	if (rg_app_new(cfg, &app, &err) || rg_server_start(app, &srv, &err)) {
		rg_log("error", "start_failed", err.message);
		rcode = 1;
		goto out;
	}
	if (dev)
		banner(cfg, rg_server_port(srv));

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP) {
			rg_config_t *fresh = NULL;
			rg_error rerr = {0};
			if (dev) {
				rg_log("info", "reload_skipped", "dev mode has no config file to reload");
				continue;
			}
			if (load(0, config, listen, NULL, &fresh, &rerr)) {
				rg_log("error", "reload_failed", rerr.message);
				continue;
			}
			rg_app_set_config(app, fresh);
			rg_config_free(fresh);
			rg_log("info", "reloaded", config);
			continue;
		}
		rg_log("info", "stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
out:
	rg_server_stop(srv);
	rg_app_free(app);
	rg_config_free(cfg);
	if (!rcode)
		rg_log("info", "stopped", "bye");
	return rcode;
}
