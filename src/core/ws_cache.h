/* ws_cache.h - a small per-workspace cache with a time to live, shared by
 * the ingest hooks (urgency words, the auto-assigning team) so that a
 * workspace without them costs one hash lookup per message.
 *
 * Each entry holds an opaque pointer (or NULL) and an integer. Entries
 * expire after the cache's ttl, which bounds how long another node's change
 * takes to be seen; the node that made a change calls ic_ws_cache_invalidate
 * after its commit so that it sees it at once. Thread-safe (one mutex).
 */
#ifndef IC_CORE_WS_CACHE_H
#define IC_CORE_WS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IC_WS_CACHE_BUCKETS 256

typedef struct ic_ws_cache_entry ic_ws_cache_entry;

typedef struct ic_ws_cache {
    pthread_mutex_t mu;
    int64_t ttl_us;
    void (*retain)(void *p);  /* takes a reference to an entry's pointer; may be NULL */
    void (*release)(void *p); /* drops one; may be NULL */
    ic_ws_cache_entry *buckets[IC_WS_CACHE_BUCKETS];
} ic_ws_cache;

/* A static initialiser: IC_WS_CACHE_INIT(5000000, retain, release). */
#define IC_WS_CACHE_INIT(ttl, retain_fn, release_fn)                                               \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, (ttl), (retain_fn), (release_fn),                               \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Looks ws up: true when a fresh entry exists, with *p (retained through
 * c->retain when not NULL; the caller releases it) and *n (either may be
 * NULL); false when there is none or it is older than the ttl. */
bool ic_ws_cache_get(ic_ws_cache *c, int64_t ws, void **p, int64_t *n);

/* Stores (p, n) for ws as of now, taking over the caller's reference to p
 * and releasing the entry's old pointer. */
void ic_ws_cache_put(ic_ws_cache *c, int64_t ws, void *p, int64_t n);

/* Forgets ws's entry, so that the next get misses. */
void ic_ws_cache_invalidate(ic_ws_cache *c, int64_t ws);

/* Forgets every entry (tests that reuse workspace ids across databases). */
void ic_ws_cache_clear(ic_ws_cache *c);

#endif
