/* ws_cache.c - the per-workspace cache; see ws_cache.h. */
#include "core/ws_cache.h"

#include "base/alloc.h"
#include "base/time.h"

struct ic_ws_cache_entry {
    ic_ws_cache_entry *next;
    int64_t ws;
    int64_t loaded_us; /* monotonic */
    void *p;
    int64_t n;
};

static ic_ws_cache_entry **slot(ic_ws_cache *c, int64_t ws)
{
    uint64_t h = (uint64_t)ws * 0x9E3779B97F4A7C15ull;
    ic_ws_cache_entry **at = &c->buckets[(h >> 56) % IC_WS_CACHE_BUCKETS];
    while (*at && (*at)->ws != ws)
        at = &(*at)->next;
    return at;
}

bool ic_ws_cache_get(ic_ws_cache *c, int64_t ws, void **p, int64_t *n)
{
    bool hit = false;
    int64_t now = ic_mono_us();
    pthread_mutex_lock(&c->mu);
    ic_ws_cache_entry *e = *slot(c, ws);
    if (e && now - e->loaded_us < c->ttl_us) {
        hit = true;
        if (p) {
            *p = e->p;
            if (e->p && c->retain)
                c->retain(e->p);
        }
        if (n)
            *n = e->n;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void ic_ws_cache_put(ic_ws_cache *c, int64_t ws, void *p, int64_t n)
{
    void *old = NULL;
    pthread_mutex_lock(&c->mu);
    ic_ws_cache_entry **at = slot(c, ws);
    if (!*at) {
        *at = ic_calloc(1, sizeof **at);
        (*at)->ws = ws;
    }
    old = (*at)->p;
    (*at)->p = p;
    (*at)->n = n;
    (*at)->loaded_us = ic_mono_us();
    pthread_mutex_unlock(&c->mu);
    if (old && c->release)
        c->release(old);
}

static void drop(ic_ws_cache *c, ic_ws_cache_entry **at)
{
    ic_ws_cache_entry *e = *at;
    *at = e->next;
    if (e->p && c->release)
        c->release(e->p);
    ic_free(e);
}

void ic_ws_cache_invalidate(ic_ws_cache *c, int64_t ws)
{
    pthread_mutex_lock(&c->mu);
    ic_ws_cache_entry **at = slot(c, ws);
    if (*at)
        drop(c, at);
    pthread_mutex_unlock(&c->mu);
}

void ic_ws_cache_clear(ic_ws_cache *c)
{
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < IC_WS_CACHE_BUCKETS; i++)
        while (c->buckets[i])
            drop(c, &c->buckets[i]);
    pthread_mutex_unlock(&c->mu);
}
