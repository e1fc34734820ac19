/*
 * opt.c - what every subcommand of the executable shares: the usage text and
 * the --name VALUE / --name=VALUE option matcher.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opt.h"
#include "roomgate.h"

const char rg_cli_usage[] =
	"roomgate " RG_VERSION " - LiveKit join tokens with agent dispatch\n"
	"\n"
	"Usage:\n"
	"  roomgate serve --dev [--listen HOST:PORT] [--web DIR]\n"
	"  roomgate serve --config FILE [--listen HOST:PORT]\n"
	"  roomgate token create --identity ID --room ROOM [--name N] [--metadata S]\n"
	"                        [--attribute k=v]... [--agent NAME]... [--job-metadata JSON]\n"
	"                        [--deployment D] [--grant canPublish=false]... [--kind K]\n"
	"                        [--ttl 10m] [--api-key K] [--api-secret S]\n"
	"  roomgate token inspect TOKEN [--secret S]\n"
	"  roomgate user add FILE NAME [--display-name N] [--groups a,b]  (password on stdin)\n"
	"  roomgate config check FILE\n"
	"  roomgate apikey create NAME   (prints a key and its config entry)\n"
	"  roomgate --help | --version\n"
	"\n"
	"serve --dev: 127.0.0.1:8080 only, LiveKit devkey/secret at ws://127.0.0.1:7880,\n"
	"user demo/demo, any room and agent. Not for production.\n"
	"Environment: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET override the config.\n"
	"Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config.\n";

const char *rg_cli_opt(int *i, int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, "--", 2) || strncmp(a + 2, name, n))
		return NULL;
	if (a[2 + n] == '=')
		return a + 3 + n;
	if (a[2 + n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "roomgate: --%s needs a value\n", name);
		exit(2);
	}
	(*i)++;
	return argv[*i];
}
