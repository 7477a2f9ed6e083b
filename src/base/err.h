/* err.h - the one error type of impactchat.
 *
 * Every fallible function returns an ic_err (IC_OK == 0) and hands results
 * back through out-parameters. A function that can explain itself further
 * takes an optional ic_errmsg* and writes one human sentence into it.
 */
#ifndef IC_BASE_ERR_H
#define IC_BASE_ERR_H

#include <stddef.h>

typedef enum ic_err {
    IC_OK = 0,
    IC_ERR_INVALID,       /* bad input from a caller or a client */
    IC_ERR_PARSE,         /* unreadable document (JSON, SQL result, ...) */
    IC_ERR_TOO_BIG,       /* input over its bound */
    IC_ERR_NOT_FOUND,     /* no such row, file, channel */
    IC_ERR_EXISTS,        /* unique constraint: already there */
    IC_ERR_AUTH,          /* missing or wrong credentials or signature */
    IC_ERR_FORBIDDEN,     /* authenticated but not allowed */
    IC_ERR_IO,            /* file or network failure */
    IC_ERR_DB,            /* database failure */
    IC_ERR_BUSY,          /* a queue is full: try again later (503) */
    IC_ERR_LIMIT,         /* a WhatsApp limit would be broken */
    IC_ERR_WINDOW_CLOSED, /* the 24-hour customer service window is closed */
    IC_ERR_INTERNAL,      /* a bug: an invariant did not hold */
} ic_err;

/* Returns a short static English description of e. Never NULL. Thread-safe. */
const char *ic_strerror(ic_err e);

/* A caller-owned buffer for one sentence of detail about an error. */
typedef struct ic_errmsg {
    char msg[256];
} ic_errmsg;

/* Writes a formatted sentence into em (truncated to fit) and returns code, so
 * that `return ic_errf(em, IC_ERR_INVALID, "...")` reads naturally. em may be
 * NULL, in which case only code is returned. Thread-safe. */
ic_err ic_errf(ic_errmsg *em, ic_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
