/* channel_cache.c - channels by webhook UUID; see channel_cache.h.
 *
 * A chained hash table under one mutex. Entries hold a full copy of the
 * channel and the time it was read; a lookup copies the entry out under the
 * lock, so callers never share memory with the cache. Reads from the
 * database happen outside the lock: two threads missing the same UUID at
 * once both read it, and the later one's copy replaces the earlier.
 */
#include "store/channel_cache.h"

#include "base/alloc.h"
#include "base/time.h"

#include <pthread.h>
#include <string.h>

#define BUCKETS 256u

typedef struct entry {
    struct entry *next;
    ic_channel ch;
    int64_t read_mono_us;
} entry;

struct ic_channel_cache {
    pthread_mutex_t mu;
    int64_t ttl_us;
    size_t max_entries;
    size_t count;
    uint64_t generation; /* bumped by forget: reads begun before it are not kept */
    entry *buckets[BUCKETS];
};

/* FNV-1a of the UUID. */
static size_t bucket_of(const char *uuid)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)uuid; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

static void entry_free(entry *e)
{
    ic_channel_clear(&e->ch);
    ic_free(e);
}

/* Frees every entry; called with the lock held. */
static void drop_all(ic_channel_cache *cc)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        entry *e = cc->buckets[b];
        while (e) {
            entry *next = e->next;
            entry_free(e);
            e = next;
        }
        cc->buckets[b] = NULL;
    }
    cc->count = 0;
}

/* Unlinks and returns the entry for uuid, or NULL; lock held. */
static entry *unlink_entry(ic_channel_cache *cc, const char *uuid)
{
    for (entry **pp = &cc->buckets[bucket_of(uuid)]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->ch.uuid, uuid) == 0) {
            entry *e = *pp;
            *pp = e->next;
            cc->count--;
            return e;
        }
    }
    return NULL;
}

ic_channel_cache *ic_channel_cache_new(int64_t ttl_us, size_t max_entries)
{
    ic_channel_cache *cc = ic_calloc(1, sizeof *cc);
    pthread_mutex_init(&cc->mu, NULL);
    cc->ttl_us = ttl_us > 0 ? ttl_us : 1;
    cc->max_entries = max_entries > 0 ? max_entries : 1;
    return cc;
}

void ic_channel_cache_free(ic_channel_cache *cc)
{
    if (!cc)
        return;
    drop_all(cc);
    pthread_mutex_destroy(&cc->mu);
    ic_free(cc);
}

void ic_channel_cache_forget(ic_channel_cache *cc)
{
    if (!cc)
        return;
    pthread_mutex_lock(&cc->mu);
    drop_all(cc);
    cc->generation++;
    pthread_mutex_unlock(&cc->mu);
}

/* Copies a fresh entry for uuid into *out; false when there is none, with
 * *generation the cache's generation at that moment. */
static bool lookup(ic_channel_cache *cc, const char *uuid, ic_channel *out, uint64_t *generation)
{
    int64_t now = ic_mono_us();
    bool hit = false;
    pthread_mutex_lock(&cc->mu);
    *generation = cc->generation;
    for (entry *e = cc->buckets[bucket_of(uuid)]; e; e = e->next) {
        if (strcmp(e->ch.uuid, uuid) != 0)
            continue;
        if (now - e->read_mono_us < cc->ttl_us) {
            ic_channel_copy(out, &e->ch);
            hit = true;
        }
        break;
    }
    pthread_mutex_unlock(&cc->mu);
    return hit;
}

/* Remembers a copy of ch, read at read_mono_us, unless the cache was
 * forgotten since generation. */
static void remember(ic_channel_cache *cc, const ic_channel *ch, int64_t read_mono_us,
                     uint64_t generation)
{
    entry *fresh = ic_calloc(1, sizeof *fresh);
    ic_channel_copy(&fresh->ch, ch);
    fresh->read_mono_us = read_mono_us;
    pthread_mutex_lock(&cc->mu);
    if (cc->generation != generation) {
        pthread_mutex_unlock(&cc->mu);
        entry_free(fresh);
        return;
    }
    entry *old = unlink_entry(cc, ch->uuid);
    if (!old && cc->count >= cc->max_entries)
        drop_all(cc);
    size_t b = bucket_of(ch->uuid);
    fresh->next = cc->buckets[b];
    cc->buckets[b] = fresh;
    cc->count++;
    pthread_mutex_unlock(&cc->mu);
    if (old)
        entry_free(old);
}

ic_err ic_channel_cache_get(ic_channel_cache *cc, ic_conn *c, const char *uuid, ic_channel *out)
{
    memset(out, 0, sizeof *out);
    if (!uuid)
        return IC_ERR_NOT_FOUND;
    uint64_t generation = 0;
    if (cc && lookup(cc, uuid, out, &generation))
        return IC_OK;
    int64_t read_at = ic_mono_us();
    ic_err e = ic_store_channel_by_uuid(c, uuid, out);
    if (e != IC_OK) {
        ic_channel_clear(out);
        return e;
    }
    if (cc)
        remember(cc, out, read_at, generation);
    return IC_OK;
}
