/* channel_cache.h - channels by webhook UUID, remembered for a few seconds.
 *
 * Every webhook POST names its channel by the UUID in its path. Reading the
 * channel from the database for each one cost a statement and, on
 * PostgreSQL, a round trip on another backend per webhook. The cache keeps
 * each channel found for ttl; a channel that is not found is not
 * remembered (it may be created a moment later). A change to a channel's
 * secrets is therefore seen by webhooks within ttl, or at once on the nodes
 * where ic_channel_cache_forget is called.
 *
 * Thread-safe: any thread may call any function with its own connection.
 */
#ifndef IC_STORE_CHANNEL_CACHE_H
#define IC_STORE_CHANNEL_CACHE_H

#include "store/store.h"

#include <stdint.h>

typedef struct ic_channel_cache ic_channel_cache;

/* A cache keeping each channel ttl_us microseconds (> 0) and at most
 * max_entries (> 0) channels; when full, it starts again empty. */
ic_channel_cache *ic_channel_cache_new(int64_t ttl_us, size_t max_entries);

/* Frees the cache and its copies; NULL is a no-op. */
void ic_channel_cache_free(ic_channel_cache *cc);

/* Fills *out with a copy of the channel whose uuid is given (the caller
 * clears it with ic_channel_clear): the remembered one when it was read less
 * than ttl ago, otherwise read on c (ic_store_channel_by_uuid) and
 * remembered. IC_ERR_NOT_FOUND when there is no such channel, the store's
 * error when the read fails; *out is then zeroed. cc NULL reads on c every
 * time. */
ic_err ic_channel_cache_get(ic_channel_cache *cc, ic_conn *c, const char *uuid, ic_channel *out);

/* Forgets every remembered channel: the next lookups read the database, and
 * reads already under way are not remembered. Call after changing a channel. NULL is a no-op. */
void ic_channel_cache_forget(ic_channel_cache *cc);

#endif
