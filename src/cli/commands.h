/*
 * commands.h - the executable's subcommands other than serve (commands.c):
 * thin wrappers over the library. Each returns the process exit code.
 */
#ifndef RG_CLI_COMMANDS_H
#define RG_CLI_COMMANDS_H

int rg_cli_token_create(int argc, char **argv);
int rg_cli_token_inspect(int argc, char **argv);
int rg_cli_user_add(int argc, char **argv);
int rg_cli_config_check(int argc, char **argv);
int rg_cli_apikey_create(int argc, char **argv);

#endif
