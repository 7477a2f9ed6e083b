#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t n)
{
    fprintf(stderr, "level=fatal event=out_of_memory bytes=%zu\n", n);
    abort();
}

void *ic_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom(n);
    return p;
}

void *ic_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        die_oom(count * size);
    return p;
}

void *ic_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom(n);
    return q;
}

char *ic_strdup(const char *s)
{
    return s ? ic_strndup(s, strlen(s)) : NULL;
}

char *ic_strndup(const char *s, size_t n)
{
    char *d = ic_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void ic_free(void *p)
{
    free(p);
}
