/*
 * main.c - the roomgate executable: picks the subcommand and calls it.
 * `serve` is in serve.c, the others in commands.c; each is a thin layer
 * over the library (include/roomgate.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opt.h"
#include "cli/serve.h"
#include "roomgate.h"

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *sub = argc > 2 ? argv[2] : "";

	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(rg_cli_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("roomgate %s\n", RG_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return rg_cli_serve(argc, argv);
	if (!strcmp(cmd, "token") && !strcmp(sub, "create"))
		return rg_cli_token_create(argc, argv);
	if (!strcmp(cmd, "token") && !strcmp(sub, "inspect"))
		return rg_cli_token_inspect(argc, argv);
	if (!strcmp(cmd, "user") && !strcmp(sub, "add"))
		return rg_cli_user_add(argc, argv);
	if (!strcmp(cmd, "config") && !strcmp(sub, "check"))
		return rg_cli_config_check(argc, argv);
	if (!strcmp(cmd, "apikey") && !strcmp(sub, "create"))
		return rg_cli_apikey_create(argc, argv);
	fprintf(stderr, "roomgate: unknown command '%s%s%s'\n\n%s", cmd, *sub ? " " : "", sub,
		rg_cli_usage);
	return 2;
}
