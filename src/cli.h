/*
 * cli.h - the roomgate executable's subcommands (thin wrappers over the
 * library). Each returns the process exit code.
 */
#ifndef RG_CLI_H
#define RG_CLI_H

int rg_cli_serve(int argc, char **argv);
int rg_cli_token_create(int argc, char **argv);
int rg_cli_token_inspect(int argc, char **argv);
int rg_cli_user_add(int argc, char **argv);
int rg_cli_config_check(int argc, char **argv);
int rg_cli_apikey_create(int argc, char **argv);
/* Matches argv[*i] against --name VALUE or --name=VALUE; advances *i. */
const char *rg_cli_opt(int *i, int argc, char **argv, const char *name);

#endif
