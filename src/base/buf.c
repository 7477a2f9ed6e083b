#include "base/buf.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

void ic_buf_init(ic_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ic_buf_free(ic_buf *b)
{
    if (!b)
        return;
    ic_free(b->data);
    ic_buf_init(b);
}

void ic_buf_reset(ic_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ic_buf_reserve(ic_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = ic_realloc(b->data, cap);
    b->cap = cap;
}

void ic_buf_append(ic_buf *b, const void *p, size_t n)
{
    ic_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ic_buf_puts(ic_buf *b, const char *s)
{
    ic_buf_append(b, s, strlen(s));
}

void ic_buf_putc(ic_buf *b, char c)
{
    ic_buf_append(b, &c, 1);
}

void ic_buf_vprintf(ic_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n <= 0)
        return;
    ic_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void ic_buf_printf(ic_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ic_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *ic_buf_steal(ic_buf *b)
{
    char *d = b->data ? b->data : ic_strdup("");
    ic_buf_init(b);
    return d;
}

const char *ic_buf_cstr(const ic_buf *b)
{
    return b->data ? b->data : "";
}
