/* idmap.c - int64 -> 64-bit value hash map (see idmap.h). */
#include "jobs/idmap.h"

#include "base/alloc.h"

#include <string.h>

static size_t slot_of(int64_t key, size_t cap)
{
    /* splitmix64 finaliser: ids are sequential, so spread them well. */
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)(x & (cap - 1));
}

static void grow(ic_idmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    ic_idmap_slot *ns = ic_malloc(ncap * sizeof *ns);
    unsigned char *nu = ic_calloc(ncap, 1);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = slot_of(m->slots[i].key, ncap);
        while (nu[j])
            j = (j + 1) & (ncap - 1);
        nu[j] = 1;
        ns[j] = m->slots[i];
    }
    ic_free(m->slots);
    ic_free(m->used);
    m->slots = ns;
    m->used = nu;
    m->cap = ncap;
}

bool ic_idmap_get(const ic_idmap *m, int64_t key, uint64_t *val)
{
    if (m->cap == 0)
        return false;
    size_t i = slot_of(key, m->cap);
    while (m->used[i]) {
        if (m->slots[i].key == key) {
            if (val)
                *val = m->slots[i].val;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return false;
}

void ic_idmap_put(ic_idmap *m, int64_t key, uint64_t val)
{
    if ((m->count + 1) * 2 > m->cap)
        grow(m);
    size_t i = slot_of(key, m->cap);
    while (m->used[i]) {
        if (m->slots[i].key == key) {
            m->slots[i].val = val;
            return;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->used[i] = 1;
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
}

bool ic_idmap_del(ic_idmap *m, int64_t key)
{
    if (m->cap == 0)
        return false;
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, m->cap);
    while (m->used[i] && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->used[i])
        return false;
    /* Backward-shift: move later members of the probe run into the hole when
     * their home slot does not lie strictly between the hole and them. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j])
            break;
        size_t home = slot_of(m->slots[j].key, m->cap);
        bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (between)
            continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    m->used[hole] = 0;
    m->count--;
    return true;
}

void ic_idmap_clear(ic_idmap *m)
{
    if (!m)
        return;
    ic_free(m->slots);
    ic_free(m->used);
    memset(m, 0, sizeof *m);
}

size_t ic_idmap_bytes(const ic_idmap *m)
{
    return m->cap * (sizeof(ic_idmap_slot) + 1);
}
