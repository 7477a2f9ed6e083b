/* alloc.h - allocation that never returns NULL.
 *
 * Out of memory is not an input error we can answer sensibly, so these
 * wrappers log and abort (as Redis' zmalloc does). Bad input must never reach
 * them with a huge size: bound sizes where the input is read.
 */
#ifndef IC_BASE_ALLOC_H
#define IC_BASE_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc but abort on failure. Thread-safe. */
void *ic_malloc(size_t n);
void *ic_calloc(size_t count, size_t size);
void *ic_realloc(void *p, size_t n);

/* Returns an owned copy of s, or NULL when s is NULL. */
char *ic_strdup(const char *s);

/* Returns an owned, NUL-terminated copy of the first n bytes of s. */
char *ic_strndup(const char *s, size_t n);

/* Frees p; NULL is fine. */
void ic_free(void *p);

#endif
