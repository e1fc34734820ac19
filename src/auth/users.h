/*
 * users.h - the local users file (users.c): name, PBKDF2 hash, display
 * name, groups.
 */
#ifndef RG_AUTH_USERS_H
#define RG_AUTH_USERS_H

#include <stddef.h>

#include "roomgate.h"

typedef struct rg_local_user {
	char *name;
	char *hash;
	char *display;
	char **groups;
	size_t ngroups;
	/* the session secret's stamp of `hash` (session.c); "" until set */
	char stamp[16];
} rg_local_user;

typedef struct rg_users {
	rg_local_user *v;
	size_t n;
} rg_users;

rg_err rg_users_parse(const char *text, size_t len, rg_users *out, rg_error *err);
rg_err rg_users_load(const char *path, rg_users *out, rg_error *err);
void rg_users_clear(rg_users *u);
const rg_local_user *rg_users_find(const rg_users *u, const char *name);

#endif
