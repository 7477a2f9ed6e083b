/* inbox_int.h - helpers shared by the inbox's store files (inbox*.c only). */
#ifndef IC_STORE_INBOX_INT_H
#define IC_STORE_INBOX_INT_H

#include "base/buf.h"
#include "store/inbox.h"

/* Appends to b the LIKE pattern "%s%" for s: lowercase ASCII, with LIKE's
 * wildcards and the escape character ('\\') escaped. */
void ic_inbox_like_pattern(ic_buf *b, const char *s);

/* Whether user id is a user of ws: IC_OK, IC_ERR_NOT_FOUND; *disabled (may
 * be NULL) says whether the user is disabled. */
ic_err ic_inbox_user_check(ic_conn *c, int64_t ws, int64_t id, bool *disabled);

#endif
