/* buf.h - a growable byte buffer, always NUL-terminated.
 *
 * ic_buf owns its data. Initialise with IC_BUF_INIT or ic_buf_init(), release
 * with ic_buf_free(). Not thread-safe: one owner at a time.
 */
#ifndef IC_BASE_BUF_H
#define IC_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ic_buf {
    char *data; /* NUL-terminated when non-NULL; may hold embedded NULs */
    size_t len;
    size_t cap;
} ic_buf;

#define IC_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void ic_buf_init(ic_buf *b);
/* Frees the data; b may be NULL. b is left empty and reusable. */
void ic_buf_free(ic_buf *b);
/* Empties b but keeps its memory. */
void ic_buf_reset(ic_buf *b);
/* Makes room for at least n more bytes. */
void ic_buf_reserve(ic_buf *b, size_t n);
void ic_buf_append(ic_buf *b, const void *p, size_t n);
void ic_buf_puts(ic_buf *b, const char *s);
void ic_buf_putc(ic_buf *b, char c);
void ic_buf_printf(ic_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ic_buf_vprintf(ic_buf *b, const char *fmt, va_list ap);
/* Returns b's data (owned by the caller, never NULL) and empties b. */
char *ic_buf_steal(ic_buf *b);
/* Returns b's data as a C string ("" when empty); borrowed from b. */
const char *ic_buf_cstr(const ic_buf *b);

#endif
