/*
 * opt.h - the command line's shared pieces (opt.c).
 */
#ifndef RG_CLI_OPT_H
#define RG_CLI_OPT_H

/* The --help text of the executable and every subcommand. */
extern const char rg_cli_usage[];
/* Matches argv[*i] against --name VALUE or --name=VALUE; advances *i past
 * the value. A missing value exits with status 2. */
const char *rg_cli_opt(int *i, int argc, char **argv, const char *name);

#endif
