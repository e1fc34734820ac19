/*
 * web.c - the web page's files (the config's web_root), read into memory
 * and served by roomgate's own server instead of civetweb's file handler.
 *
 * rg_web_load reads every file of the web root: at start, on a reload, and
 * in dev mode when a file changed (rg_web_changed). Each file answers under
 * its own name and under a versioned one that carries the first 16 hex
 * digits of its SHA-256 ("app.js" and "app.0123456789abcdef.js"). An HTML
 * file is rewritten to name the versioned files: its src and href
 * attributes, and an import map (before its first script) for the modules
 * that scripts import by their plain names. Versioned names are cached for a
 * year ("immutable"); HTML files and plain names are revalidated on every
 * use (no-cache, an ETag from the content). So an upgrade's new page never
 * runs with an old module, and an unchanged file is never fetched twice.
 * "X.min.js" (or .css) next to "X.js" stands in for X.js wherever an HTML
 * file names it. Text files of 1 KiB or more go gzip-compressed to clients
 * that accept it (compressed with zlib on the first such request, then
 * kept; Vary: Accept-Encoding). HTML files carry the page's
 * Content-Security-Policy: scripts, styles and images from the page's own
 * origin only, the import map by its hash, connections to the page's origin
 * and the configured LiveKit URL, framing by web.frame_ancestors only.
 *
 * Why not civetweb's own file serving (1.15): one Cache-Control for every
 * file and no per-file headers; its precompressed "file.gz" is chosen only
 * on its own file path (not for a request handler's mg_send_mime_file2), is
 * sent without Vary, and its 304 check compares the plain file's ETag with
 * the one the .gz response carried.
 *
 * Served names are path segments of letters, digits, '.', '_', '-' and '~'
 * that do not start with a dot: nothing else is read (so no name needs
 * escaping in a header, an attribute or the import map), hidden files
 * (.htpasswd) included.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "base/error.h"
#include "base/util.h"
#include "core/config.h"
#include "http/web.h"

#define WEB_MAX_FILES 1000
#define WEB_MAX_BYTES (64u << 20)
#define WEB_MAX_DEPTH 8
#define WEB_MAX_PATH 1024 /* of a served path */
#define ROOT_MAX 4096     /* of the web root's own path */
#define HEX_LEN 16 /* hex digits of SHA-256 in a versioned name and an ETag */
#define GZIP_MIN 1024

#define CACHE_VERSIONED "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"

typedef struct asset {
	char *path;              /* "/vendor/x.js" */
	char *versioned;         /* "/vendor/x.0123456789abcdef.js"; NULL for HTML */
	const char *type;        /* Content-Type */
	unsigned char *body;
	size_t len;
	char hex[HEX_LEN + 1];   /* of the body (HTML: and of its headers) */
	char *headers;           /* lines every answer for it carries */
	bool html, compressible;
	const struct asset *min; /* "x.min.js" for "x.js": HTML files name it instead */
	atomic_int gz_state;     /* 0 not made yet, 1 made, 2 not worth it */
	unsigned char *gz;
	size_t gz_len;
} asset;

struct rg_web {
	atomic_int refs;
	char *root;
	asset *files; /* sorted by path */
	size_t n;
	char **folders; /* "/vendor"; sorted */
	size_t nfolders;
	unsigned char sig[32]; /* rg_web_changed's snapshot of the names, sizes, times */
	pthread_mutex_t gz_lock;
};

/* ------------------------------------------------------------------------ */
/* Reading the folder                                                        */
/* ------------------------------------------------------------------------ */

typedef struct entry {
	char *path;
	off_t size;
	struct timespec mtime;
} entry;

typedef struct listing {
	entry *files;
	size_t n, cap;
	char **folders;
	size_t nfolders, capfolders;
	size_t bytes;
} listing;

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void listing_clear(listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->files[i].path);
	free(l->files);
	strings_free(l->folders, l->nfolders);
	memset(l, 0, sizeof(*l));
}

static bool name_ok(const char *s)
{
	if (!*s || *s == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-~", *s))
			return false;
	return true;
}

static rg_err add_folder(listing *l, const char *path)
{
	if (l->nfolders == l->capfolders) {
		size_t cap = l->capfolders ? 2 * l->capfolders : 8;
		char **v = realloc(l->folders, cap * sizeof(*v));
		if (!v)
			return RG_ERR_NOMEM;
		l->folders = v;
		l->capfolders = cap;
	}
	if (!(l->folders[l->nfolders] = strdup(path)))
		return RG_ERR_NOMEM;
	l->nfolders++;
	return RG_OK;
}

static rg_err add_file(listing *l, const char *path, const struct stat *st, rg_error *err)
{
	if (l->n == WEB_MAX_FILES || (size_t)st->st_size > WEB_MAX_BYTES - l->bytes)
		return rg_fail(err, RG_ERR_CONFIG, "config_error",
			       "web_root holds more than %d files or %u MiB: point it at the web "
			       "page's folder", WEB_MAX_FILES, WEB_MAX_BYTES >> 20);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		entry *v = realloc(l->files, cap * sizeof(*v));
		if (!v)
			return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		l->files = v;
		l->cap = cap;
	}
	if (!(l->files[l->n].path = strdup(path)))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	l->files[l->n].size = st->st_size;
	l->files[l->n].mtime = st->st_mtim;
	l->bytes += (size_t)st->st_size;
	l->n++;
	return RG_OK;
}

/* The files and folders under root + rel (rel is "" or "/sub"), following
 * symbolic links, at most WEB_MAX_DEPTH folders down. */
static rg_err walk(const char *root, const char *rel, int depth, listing *l, rg_error *err)
{
	char dir[ROOT_MAX + WEB_MAX_PATH], path[WEB_MAX_PATH], full[ROOT_MAX + WEB_MAX_PATH];
	struct dirent *de;
	struct stat st;
	rg_err rc = RG_OK;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s%s", root, rel);
	if (!(d = opendir(dir)))
		return rg_fail(err, RG_ERR_IO, "io_error", "web_root: cannot open %s: %s", dir,
			       strerror(errno));
	while (!rc && (de = readdir(d))) {
		if (!name_ok(de->d_name) ||
		    snprintf(path, sizeof(path), "%s/%s", rel, de->d_name) >= (int)sizeof(path))
			continue;
		snprintf(full, sizeof(full), "%s%s", root, path);
		if (stat(full, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth < WEB_MAX_DEPTH) {
			if ((rc = add_folder(l, path)))
				rg_fail(err, rc, NULL, "out of memory");
			else
				rc = walk(root, path, depth + 1, l, err);
		} else if (S_ISREG(st.st_mode)) {
			rc = add_file(l, path, &st, err);
		}
	}
	closedir(d);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listing of root, sorted, and its signature: SHA-256 over each file's
 * path, size and modification time. */
static rg_err list_root(const char *root, listing *l, unsigned char sig[32], rg_error *err)
{
	EVP_MD_CTX *md = NULL;
	rg_err rc;

	memset(l, 0, sizeof(*l));
	if ((rc = walk(root, "", 0, l, err)))
		goto out;
	if (l->n)
		qsort(l->files, l->n, sizeof(entry), entry_cmp);
	if (l->nfolders)
		qsort(l->folders, l->nfolders, sizeof(char *), str_cmp);
	if (!(md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "SHA-256 failed");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		long long stamp[3] = {(long long)l->files[i].size, (long long)l->files[i].mtime.tv_sec,
				      (long long)l->files[i].mtime.tv_nsec};
		EVP_DigestUpdate(md, l->files[i].path, strlen(l->files[i].path) + 1);
		EVP_DigestUpdate(md, stamp, sizeof(stamp));
	}
	if (!EVP_DigestFinal_ex(md, sig, NULL))
		rc = rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "SHA-256 failed");
out:
	EVP_MD_CTX_free(md);
	if (rc)
		listing_clear(l);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Types, hashes, names                                                      */
/* ------------------------------------------------------------------------ */

static const char *type_of(const char *path)
{
	static const char *const types[][2] = {
		{".html", "text/html; charset=utf-8"},
		{".htm", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".map", "application/json"},
		{".webmanifest", "application/manifest+json"},
		{".txt", "text/plain; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},
		{".gif", "image/gif"},
		{".webp", "image/webp"},
		{".avif", "image/avif"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
		{".woff", "font/woff"},
		{".wasm", "application/wasm"},
		{".mp3", "audio/mpeg"},
		{".ogg", "audio/ogg"},
		{".wav", "audio/wav"},
		{".mp4", "video/mp4"},
		{".webm", "video/webm"},
		{".pdf", "application/pdf"},
	};
	const char *base = strrchr(path, '/') + 1, *dot = strrchr(base, '.');

	if (!dot)
		return "text/plain; charset=utf-8"; /* VERSION, LICENSE */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

static bool type_compressible(const char *type)
{
	return !strncmp(type, "text/", 5) || !strcmp(type, "image/svg+xml") ||
	       !strncmp(type, "application/json", 16) || !strcmp(type, "application/wasm") ||
	       !strcmp(type, "application/manifest+json");
}

static bool sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(md, a, alen) && EVP_DigestUpdate(md, b, blen) &&
		  EVP_DigestFinal_ex(md, out, NULL);

	EVP_MD_CTX_free(md);
	return ok;
}

static void hex16(const unsigned char *d, char out[HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < HEX_LEN / 2; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[HEX_LEN] = '\0';
}

/* "/a/b.c.js" + hex -> "/a/b.c.<hex>.js"; "/a/VERSION" -> "/a/VERSION.<hex>". */
static char *versioned_name(const char *path, const char *hex)
{
	const char *base = strrchr(path, '/') + 1, *dot = strrchr(base, '.');
	size_t stem = dot ? (size_t)(dot - path) : strlen(path);
	char *out = NULL;

	if (asprintf(&out, "%.*s.%s%s", (int)stem, path, hex, dot ? dot : "") < 0)
		return NULL;
	return out;
}

static const asset *find(const rg_web *w, const char *path)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(path, w->files[mid].path);
		if (!c)
			return &w->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool is_hex16(const char *s, size_t n)
{
	if (n != HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* The file a versioned name stands for ("x.<hex>.js" or "VERSION.<hex>"),
 * when the hex is that file's own. */
static const asset *find_versioned(const rg_web *w, const char *path)
{
	const char *base = strrchr(path, '/'), *last, *prev = NULL;
	char plain[WEB_MAX_PATH];
	const asset *a = NULL;
	size_t n = strlen(path);

	if (!base || n >= sizeof(plain) || !(last = strrchr(base, '.')))
		return NULL;
	for (const char *p = last - 1; p > base; p--)
		if (*p == '.') {
			prev = p;
			break;
		}
	if (prev && is_hex16(prev + 1, (size_t)(last - prev - 1))) {
		snprintf(plain, sizeof(plain), "%.*s%s", (int)(prev - path), path, last);
		a = find(w, plain);
	}
	if (!a && is_hex16(last + 1, strlen(last + 1))) {
		snprintf(plain, sizeof(plain), "%.*s", (int)(last - path), path);
		a = find(w, plain);
	}
	if (!a || a->html || strcmp(a->versioned, path))
		return NULL;
	return a;
}

/* ------------------------------------------------------------------------ */
/* HTML: versioned names, the import map, the page's headers                 */
/* ------------------------------------------------------------------------ */

/* The file an src/href value of the HTML file in folder dir ("/" or "/x/")
 * names, when it is one of ours; what the page should load in its place. */
static const asset *ref_target(const rg_web *w, const char *dir, const char *ref, size_t n)
{
	char path[WEB_MAX_PATH], buf[WEB_MAX_PATH], *seg, *save = NULL;
	const asset *a;
	size_t len = 0;

	if (!n || n >= sizeof(buf) || memchr(ref, ':', n) || memchr(ref, '?', n) ||
	    memchr(ref, '#', n) || (n > 1 && ref[0] == '/' && ref[1] == '/'))
		return NULL;
	if (snprintf(buf, sizeof(buf), "%s%.*s", ref[0] == '/' ? "" : dir, (int)n, ref) >=
	    (int)sizeof(buf))
		return NULL;
	/* resolve "." and ".." segments */
	for (seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			while (len && path[--len] != '/')
				;
			continue;
		}
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/%s", seg);
		if (len >= sizeof(path))
			return NULL;
	}
	path[len] = '\0';
	if (!(a = find(w, path)) || a->html)
		return NULL;
	return a->min ? a->min : a;
}

/* The value with its last segment replaced by the versioned file's name
 * (the value's folder is the target's: a .min twin sits beside its file). */
static void put_versioned(FILE *f, const char *ref, size_t n, const asset *target)
{
	const char *slash = NULL;

	for (size_t i = 0; i < n; i++)
		if (ref[i] == '/')
			slash = ref + i;
	if (slash)
		fwrite(ref, 1, (size_t)(slash + 1 - ref), f);
	fputs(strrchr(target->versioned, '/') + 1, f);
}

/* {"imports": {"./x.js": "./x.<hex>.js", ...}} for every module of the web
 * root, as the HTML file in folder dir names them; NULL if there is none. */
static char *import_map(const rg_web *w, const char *dir)
{
	json_t *imports = json_object(), *map = NULL;
	char *text = NULL;
	size_t dl = strlen(dir);

	if (!imports)
		return NULL;
	for (size_t i = 0; i < w->n; i++) {
		const asset *a = &w->files[i], *t = a->min ? a->min : a;
		char *key = NULL, *val = NULL;
		bool inside = !strncmp(a->path, dir, dl);
		if (a->html || strncmp(a->type, "text/javascript", 15))
			continue;
		if (asprintf(&key, "%s%s", inside ? "./" : "", a->path + (inside ? dl : 0)) < 0)
			key = NULL;
		if (asprintf(&val, "%s%s", inside ? "./" : "", t->versioned + (inside ? dl : 0)) < 0)
			val = NULL;
		if (!key || !val || json_object_set_new(imports, key, json_string(val))) {
			free(key);
			free(val);
			json_decref(imports);
			return NULL;
		}
		free(key);
		free(val);
	}
	if (json_object_size(imports) && (map = json_pack("{s:O}", "imports", imports)))
		text = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	json_decref(imports);
	return text;
}

static bool attr_at(const char *s, size_t i, size_t *vstart, char *quote)
{
	static const char *const names[] = {"src=", "href="};

	if (i == 0 || !isspace((unsigned char)s[i - 1]))
		return false;
	for (size_t k = 0; k < 2; k++) {
		size_t nl = strlen(names[k]);
		if (!strncasecmp(s + i, names[k], nl) && (s[i + nl] == '"' || s[i + nl] == '\'')) {
			*quote = s[i + nl];
			*vstart = i + nl + 1;
			return true;
		}
	}
	return false;
}

/* The page's headers: its CSP (script-src with the import map's hash, if
 * any), framing, opener isolation. */
static char *page_headers(const rg_config_t *cfg, const char *map)
{
	unsigned char d[32];
	char *hash = NULL, *fa = NULL, *out = NULL, *script = NULL;
	const char *xfo = "";
	size_t falen = 0;
	FILE *f;

	if (map && (!sha256(map, strlen(map), "", 0, d) || !(hash = rg_b64_encode(d, 32))))
		return NULL;
	if (!(f = open_memstream(&fa, &falen))) {
		free(hash);
		return NULL;
	}
	for (size_t i = 0; i < cfg->web.n_frame_ancestors; i++)
		fprintf(f, "%s%s", i ? " " : "", cfg->web.frame_ancestors[i]);
	if (!cfg->web.n_frame_ancestors)
		fputs("'none'", f);
	fclose(f);
	if (!cfg->web.n_frame_ancestors)
		xfo = "X-Frame-Options: DENY\r\n";
	else if (cfg->web.n_frame_ancestors == 1 && !strcmp(cfg->web.frame_ancestors[0], "'self'"))
		xfo = "X-Frame-Options: SAMEORIGIN\r\n";
	if (asprintf(&script, "'self'%s%s%s", hash ? " 'sha256-" : "", hash ? hash : "",
		     hash ? "'" : "") < 0)
		script = NULL;
	if (fa && script &&
	    asprintf(&out,
		     "Content-Security-Policy: default-src 'self'; script-src %s; connect-src 'self' "
		     "%s; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors "
		     "%s\r\n"
		     "%sCross-Origin-Opener-Policy: same-origin\r\n",
		     script, cfg->web.connect_src ? cfg->web.connect_src : "", fa, xfo) < 0)
		out = NULL;
	free(hash);
	free(fa);
	free(script);
	return out;
}

/* Rewrites HTML file a: versioned names in src/href, the import map before
 * the first script; sets its page headers. */
static rg_err rewrite_html(const rg_web *w, asset *a, const rg_config_t *cfg)
{
	const char *s = (const char *)a->body, *script = strcasestr(s, "<script");
	char dir[WEB_MAX_PATH], *out = NULL, *map = NULL, *page = NULL;
	size_t outlen = 0, i = 0;
	FILE *f;
	rg_err rc = RG_ERR_NOMEM;

	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(a->path, '/') + 1 - a->path), a->path);
	if (script)
		map = import_map(w, dir);
	if (!(page = page_headers(cfg, map)) || !(f = open_memstream(&out, &outlen)))
		goto out;
	while (i < a->len) {
		size_t v, end;
		char q;
		const asset *t;
		if (map && s + i == script) {
			fprintf(f, "<script type=\"importmap\">%s</script>\n", map);
		}
		if (!attr_at(s, i, &v, &q)) {
			fputc(s[i++], f);
			continue;
		}
		for (end = v; end < a->len && s[end] != q; end++)
			;
		fwrite(s + i, 1, v - i, f);
		if ((t = ref_target(w, dir, s + v, end - v)))
			put_versioned(f, s + v, end - v, t);
		else
			fwrite(s + v, 1, end - v, f);
		i = end;
	}
	if (fclose(f) || !out)
		goto out;
	free(a->body);
	a->body = (unsigned char *)out;
	a->len = outlen;
	out = NULL;
	a->headers = page;
	page = NULL;
	rc = RG_OK;
out:
	free(out);
	free(map);
	free(page);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

static void asset_clear(asset *a)
{
	free(a->path);
	free(a->versioned);
	free(a->body);
	free(a->headers);
	free(a->gz);
}

/* For "x.js" (or .css): "x.min.js" in the same folder, if there is one. */
static const asset *min_twin(const rg_web *w, const asset *a)
{
	const char *dot = strrchr(strrchr(a->path, '/'), '.');
	char twin[WEB_MAX_PATH];

	if (!dot || (strcmp(dot, ".js") && strcmp(dot, ".css")) ||
	    (dot - a->path >= 4 && !strncmp(dot - 4, ".min", 4)) ||
	    snprintf(twin, sizeof(twin), "%.*s.min%s", (int)(dot - a->path), a->path, dot) >=
		    (int)sizeof(twin))
		return NULL;
	return find(w, twin);
}

/* Reads and names one file (HTML files are rewritten once all are read). */
static rg_err load_file(rg_web *w, asset *a, const entry *e, rg_error *err)
{
	char full[ROOT_MAX + WEB_MAX_PATH], *text = NULL;
	unsigned char d[32];
	rg_err rc;

	snprintf(full, sizeof(full), "%s%s", w->root, e->path);
	if ((rc = rg_read_file(full, WEB_MAX_BYTES, &text, &a->len, err)))
		return rc;
	a->body = (unsigned char *)text;
	a->type = type_of(e->path);
	a->html = !strncmp(a->type, "text/html", 9);
	if (!sha256(a->body, a->len, "", 0, d))
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "SHA-256 failed");
	hex16(d, a->hex);
	if (!a->html && !(a->versioned = versioned_name(e->path, a->hex)))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	return RG_OK;
}

/* The headers of a file that is no HTML page, and an HTML page's ETag
 * (which covers its headers: a new CSP is a new version). */
static rg_err finish_file(asset *a)
{
	unsigned char d[32];
	const char *vary = a->compressible ? "Vary: Accept-Encoding\r\n" : "";
	char *h = NULL;

	if (a->html) {
		if (!sha256(a->body, a->len, a->headers, strlen(a->headers), d))
			return RG_ERR_CRYPTO;
		hex16(d, a->hex);
	}
	if (asprintf(&h, "%sReferrer-Policy: no-referrer\r\nCross-Origin-Resource-Policy: "
			 "same-origin\r\n%s", a->headers ? a->headers : "", vary) < 0)
		return RG_ERR_NOMEM;
	free(a->headers);
	a->headers = h;
	return RG_OK;
}

rg_err rg_web_load(const rg_config_t *cfg, rg_web **out, rg_error *err)
{
	rg_web *w = NULL;
	listing l;
	size_t rl;
	rg_err rc = RG_OK;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	if (!cfg || !cfg->web_root)
		return rg_fail(err, RG_ERR_INVALID, NULL, "no web_root");
	if (!(w = calloc(1, sizeof(*w))) || !(w->root = strdup(cfg->web_root))) {
		free(w);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	atomic_init(&w->refs, 1);
	pthread_mutex_init(&w->gz_lock, NULL);
	rl = strlen(w->root);
	while (rl > 1 && w->root[rl - 1] == '/')
		w->root[--rl] = '\0';
	if (rl >= ROOT_MAX) {
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error", "web_root: the path is too long");
		goto out;
	}
	if ((rc = list_root(w->root, &l, w->sig, err)))
		goto out;
	if (l.n && !(w->files = calloc(l.n, sizeof(asset)))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (; w->n < l.n; w->n++) {
		asset *a = &w->files[w->n];
		if (!(a->path = strdup(l.files[w->n].path))) {
			rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		if ((rc = load_file(w, a, &l.files[w->n], err))) {
			w->n++;
			goto out;
		}
	}
	w->folders = l.folders;
	w->nfolders = l.nfolders;
	l.folders = NULL;
	l.nfolders = 0;
	for (size_t i = 0; i < w->n; i++)
		w->files[i].min = min_twin(w, &w->files[i]);
	for (size_t i = 0; i < w->n && !rc; i++) {
		asset *a = &w->files[i];
		if (a->html && (rc = rewrite_html(w, a, cfg)))
			rg_fail(err, rc, NULL, "cannot rewrite %s", a->path);
	}
	for (size_t i = 0; i < w->n && !rc; i++) {
		asset *a = &w->files[i];
		a->compressible = a->len >= GZIP_MIN && type_compressible(a->type);
		if ((rc = finish_file(a)))
			rg_fail(err, rc, NULL, "cannot prepare %s", a->path);
	}
out:
	listing_clear(&l);
	if (rc) {
		rg_web_free(w);
		return rc;
	}
	*out = w;
	return RG_OK;
}

rg_web *rg_web_ref(rg_web *w)
{
	if (w)
		atomic_fetch_add(&w->refs, 1);
	return w;
}

void rg_web_free(rg_web *w)
{
	if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	for (size_t i = 0; i < w->n; i++)
		asset_clear(&w->files[i]);
	free(w->files);
	strings_free(w->folders, w->nfolders);
	pthread_mutex_destroy(&w->gz_lock);
	free(w->root);
	free(w);
}

bool rg_web_changed(const rg_web *w)
{
	listing l;
	unsigned char sig[32];
	bool changed;

	if (list_root(w->root, &l, sig, NULL))
		return true;
	changed = memcmp(sig, w->sig, sizeof(sig)) != 0;
	listing_clear(&l);
	return changed;
}

/* ------------------------------------------------------------------------ */
/* Serving                                                                   */
/* ------------------------------------------------------------------------ */

rg_web_kind rg_web_find(const rg_web *w, const char *path)
{
	char p[WEB_MAX_PATH];
	size_t n = strlen(path);

	if (!strcmp(path, "/"))
		return RG_WEB_FOLDER;
	if (find(w, path) || find_versioned(w, path))
		return RG_WEB_FILE;
	if (n >= sizeof(p))
		return RG_WEB_NONE;
	memcpy(p, path, n + 1);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (size_t i = 0; i < w->nfolders; i++)
		if (!strcmp(w->folders[i], p))
			return RG_WEB_FOLDER;
	return RG_WEB_NONE;
}

/* Whether the q value that starts at s is zero ("0", "0.0", "0.000"). */
static bool q_zero(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s++ != '0')
		return false;
	if (*s == '.')
		while (*++s == '0')
			;
	while (*s == ' ' || *s == '\t')
		s++;
	return !*s || *s == ',' || *s == ';';
}

/* Accept-Encoding names gzip (or "*") with a q above 0 (RFC 9110 12.5.3). */
static bool accepts_gzip(const char *ae)
{
	int gzip = -1, any = -1;

	while (ae && *ae) {
		size_t n;
		const char *p;
		bool zero = false;
		while (*ae == ' ' || *ae == '\t' || *ae == ',')
			ae++;
		n = strcspn(ae, " \t;,");
		for (p = ae + n; *p && *p != ','; p++)
			if (*p == ';') {
				const char *q = p + 1;
				while (*q == ' ' || *q == '\t')
					q++;
				if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
					zero = q_zero(q + 2);
			}
		if ((n == 4 && !strncasecmp(ae, "gzip", 4)) || (n == 6 && !strncasecmp(ae, "x-gzip", 6)))
			gzip = !zero;
		else if (n == 1 && *ae == '*')
			any = !zero;
		ae = p;
	}
	return gzip >= 0 ? gzip == 1 : any == 1;
}

/* If-None-Match lists etag, or is "*" (the weak comparison of RFC 9110 13.1.2). */
static bool etag_listed(const char *inm, const char *etag)
{
	size_t el = strlen(etag);

	while (*inm) {
		const char *q;
		while (*inm == ' ' || *inm == '\t' || *inm == ',')
			inm++;
		if (*inm == '*')
			return true;
		if (!strncmp(inm, "W/", 2))
			inm += 2;
		if (*inm != '"' || !(q = strchr(inm + 1, '"'))) {
			inm += strcspn(inm, ",");
			continue;
		}
		if ((size_t)(q + 1 - inm) == el && !memcmp(inm, etag, el))
			return true;
		inm = q + 1;
	}
	return false;
}

static bool gzip_make(const asset *a, unsigned char **out, size_t *outlen)
{
	z_stream zs;
	unsigned char *buf;
	uLong cap;
	int rc;

	memset(&zs, 0, sizeof(zs));
	/* 31: a gzip wrapper (mtime 0, so the same bytes every time) */
	if (deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	cap = deflateBound(&zs, (uLong)a->len);
	if (!(buf = malloc(cap))) {
		deflateEnd(&zs);
		return false;
	}
	zs.next_in = a->body;
	zs.avail_in = (uInt)a->len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	rc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(buf);
		return false;
	}
	*out = buf;
	*outlen = zs.total_out;
	return true;
}

/* Whether a's gzip copy is there, made now if this is the first time; not
 * kept when it saves less than a tenth. */
static bool gzip_ready(rg_web *w, asset *a)
{
	int st = atomic_load_explicit(&a->gz_state, memory_order_acquire);

	if (st)
		return st == 1;
	pthread_mutex_lock(&w->gz_lock);
	if (!(st = atomic_load_explicit(&a->gz_state, memory_order_relaxed))) {
		st = gzip_make(a, &a->gz, &a->gz_len) ? 1 : 2;
		if (st == 1 && a->gz_len > a->len - a->len / 10) {
			free(a->gz);
			a->gz = NULL;
			st = 2;
		}
		atomic_store_explicit(&a->gz_state, st, memory_order_release);
	}
	pthread_mutex_unlock(&w->gz_lock);
	return st == 1;
}

rg_err rg_web_get(rg_web *w, const char *path, const char *accept_encoding,
		  const char *if_none_match, rg_web_reply *r)
{
	char idx[WEB_MAX_PATH], etag[HEX_LEN + 8];
	const asset *found;
	asset *a;
	bool versioned = false, gz;

	memset(r, 0, sizeof(*r));
	if (path[0] && path[strlen(path) - 1] == '/') {
		if (snprintf(idx, sizeof(idx), "%sindex.html", path) >= (int)sizeof(idx))
			return RG_ERR_NOT_FOUND;
		found = find(w, idx);
	} else if (!(found = find(w, path)) && (found = find_versioned(w, path))) {
		versioned = true;
	}
	if (!found)
		return RG_ERR_NOT_FOUND;
	a = &w->files[found - w->files];
	gz = a->compressible && accepts_gzip(accept_encoding) && gzip_ready(w, a);
	snprintf(etag, sizeof(etag), "\"%s%s\"", a->hex, gz ? "-gz" : "");
	r->type = a->type;
	r->len = gz ? a->gz_len : a->len;
	r->status = if_none_match && etag_listed(if_none_match, etag) ? 304 : 200;
	if (r->status == 200)
		r->body = gz ? a->gz : a->body;
	if (asprintf(&r->headers, "%sCache-Control: %s\r\nETag: %s\r\n%s", a->headers,
		     versioned ? CACHE_VERSIONED : CACHE_REVALIDATE, etag,
		     gz && r->status == 200 ? "Content-Encoding: gzip\r\n" : "") < 0) {
		r->headers = NULL;
		return RG_ERR_NOMEM;
	}
	return RG_OK;
}

void rg_web_reply_clear(rg_web_reply *r)
{
	free(r->headers);
	r->headers = NULL;
}
