/* idmap.h - a small open-addressing hash map from int64 ids to 64-bit values.
 *
 * Used by the outbox (person by contact id, message by id) and the sender
 * (cached window times). Linear probing with backward-shift deletion, so no
 * tombstones; the table doubles at 50% load and never shrinks (ic_idmap_clear
 * releases it). Keys are any int64 value; values are opaque 64-bit numbers (a
 * pointer fits through uintptr_t). Not thread-safe: one owner at a time.
 */
#ifndef IC_JOBS_IDMAP_H
#define IC_JOBS_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_idmap_slot {
    int64_t key;
    uint64_t val;
} ic_idmap_slot;

typedef struct ic_idmap {
    ic_idmap_slot *slots; /* owned; NULL while empty */
    unsigned char *used;  /* owned; one flag per slot */
    size_t cap;           /* a power of two, or 0 */
    size_t count;
} ic_idmap;

#define IC_IDMAP_INIT                                                                              \
    {                                                                                              \
        NULL, NULL, 0, 0                                                                           \
    }

/* Looks key up; on a hit stores the value in *val (may be NULL) and returns
 * true. */
bool ic_idmap_get(const ic_idmap *m, int64_t key, uint64_t *val);

/* Sets key to val, replacing any value it had. Allocation failure aborts (as
 * every allocation in base/alloc.h). */
void ic_idmap_put(ic_idmap *m, int64_t key, uint64_t val);

/* Removes key; returns true when it was there. */
bool ic_idmap_del(ic_idmap *m, int64_t key);

/* Removes every entry and frees the table; m stays usable. NULL is fine. */
void ic_idmap_clear(ic_idmap *m);

/* Bytes the table holds (for memory accounting). */
size_t ic_idmap_bytes(const ic_idmap *m);

#endif
