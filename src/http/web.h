/*
 * web.h - the web page's files, held in memory and served by roomgate's own
 * server (web.c): versioned names, caching, gzip, the page's security
 * headers.
 */
#ifndef RG_HTTP_WEB_H
#define RG_HTTP_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "roomgate.h"

/* One load of the web root: immutable but for the gzip copies it makes on
 * demand; refcounted, so a request keeps the one it started with. */
typedef struct rg_web rg_web;

/* What a GET or HEAD of a file answers. */
typedef struct rg_web_reply {
	int status;                /* 200, or 304 (no body) */
	const char *type;          /* Content-Type */
	const unsigned char *body; /* borrowed from the rg_web; NULL for a 304 */
	size_t len;                /* the body's length (of the 200 for a 304) */
	char *headers;             /* "Name: value\r\n" lines; rg_web_reply_clear frees them */
} rg_web_reply;

/* What a path names in the web root. */
typedef enum { RG_WEB_NONE, RG_WEB_FILE, RG_WEB_FOLDER } rg_web_kind;

/* Reads cfg->web_root (must be set) with the config's page settings:
 * RG_ERR_IO when a folder or file cannot be read, RG_ERR_CONFIG when the web
 * root is over the limits (1,000 files, 64 MiB). */
rg_err rg_web_load(const rg_config_t *cfg, rg_web **out, rg_error *err);
rg_web *rg_web_ref(rg_web *w);
void rg_web_free(rg_web *w); /* drops a reference; NULL is a no-op */
/* Whether the web root's files differ (names, sizes, modification times)
 * from those w was loaded from. */
bool rg_web_changed(const rg_web *w);
/* A file (by its own or its versioned name), a folder, or nothing. */
rg_web_kind rg_web_find(const rg_web *w, const char *path);
/*
 * Answers a GET or HEAD of path ("/" and "/x/" name their index.html):
 * RG_OK and *r filled, or RG_ERR_NOT_FOUND when path is no file (a folder
 * included). accept_encoding and if_none_match are the request's headers,
 * or NULL.
 */
rg_err rg_web_get(rg_web *w, const char *path, const char *accept_encoding,
		  const char *if_none_match, rg_web_reply *r);
void rg_web_reply_clear(rg_web_reply *r);

#endif
