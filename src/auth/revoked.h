/*
 * revoked.h - the session tokens ended before their time (revoked.c): ids
 * kept until the token would expire anyway, in this process only.
 */
#ifndef RG_AUTH_REVOKED_H
#define RG_AUTH_REVOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "roomgate.h"

#define RG_REVOKED_MAX 32768 /* ids kept at once (about 4 MiB at most) */
#define RG_REVOKED_ID_MAX 23 /* longest id, in bytes */

/* Refuses `id` until `until`. RG_ERR_UNAVAILABLE when RG_REVOKED_MAX ids
 * are kept and none has expired (*retry_after: seconds until one does);
 * RG_ERR_INVALID for an id longer than RG_REVOKED_ID_MAX; RG_ERR_NOMEM. */
rg_err rg_revoked_add(const char *id, time_t until, time_t now, long *retry_after);
/* True if `id` was added and `now` is not past its `until`. Without any id
 * kept, one atomic load and no lock. */
bool rg_revoked_has(const char *id, time_t now);
/* Tests: a smaller cap (0: RG_REVOKED_MAX), and forgetting every id. */
void rg_revoked_reset(size_t max);

#endif
