#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *ic_strerror(ic_err e)
{
    switch (e) {
    case IC_OK:
        return "ok";
    case IC_ERR_INVALID:
        return "invalid input";
    case IC_ERR_PARSE:
        return "unreadable document";
    case IC_ERR_TOO_BIG:
        return "too large";
    case IC_ERR_NOT_FOUND:
        return "not found";
    case IC_ERR_EXISTS:
        return "already exists";
    case IC_ERR_AUTH:
        return "authentication failed";
    case IC_ERR_FORBIDDEN:
        return "forbidden";
    case IC_ERR_IO:
        return "input/output error";
    case IC_ERR_DB:
        return "database error";
    case IC_ERR_BUSY:
        return "busy, try again later";
    case IC_ERR_LIMIT:
        return "over a WhatsApp limit";
    case IC_ERR_WINDOW_CLOSED:
        return "the 24-hour window is closed";
    case IC_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}

ic_err ic_errf(ic_errmsg *em, ic_err code, const char *fmt, ...)
{
    if (em) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(em->msg, sizeof em->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
