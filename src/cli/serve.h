/*
 * serve.h - `roomgate serve` (serve.c). Returns the process exit code.
 */
#ifndef RG_CLI_SERVE_H
#define RG_CLI_SERVE_H

int rg_cli_serve(int argc, char **argv);

#endif
