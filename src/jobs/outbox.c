/* outbox.c - per-person FIFOs in two lanes, with heaps by eligible time (see
 * outbox.h). */
#include "jobs/outbox.h"

#include "base/alloc.h"
#include "jobs/idmap.h"

#include <stdint.h>
#include <string.h>

#define DEFAULT_CAP 500000

enum { HEAP_NONE = 0, HEAP_REPLY = 1, HEAP_BULK = 2, HEAP_IDLE = 3, NHEAPS = 4 };

typedef struct ob_msg {
    struct ob_msg *next;
    int64_t id;
    int64_t eligible_us; /* not before this (retries); 0 = at once */
    uint8_t lane;
    uint8_t attempts;
    uint8_t part;
    uint8_t flags;
} ob_msg;

typedef struct ob_person {
    int64_t contact_id;
    ob_msg *head;
    ob_msg *tail;
    int64_t last_id;  /* highest id pushed: order and duplicate guard */
    int64_t pair_tat; /* pacing.h pair-limit state */
    int64_t key;      /* heap key: eligible time (idle heap: pair recovery time) */
    int64_t order;    /* heap tie-break: the head's id (older first) */
    uint32_t heap_idx;
    uint8_t heap;
    uint8_t busy;
} ob_person;

typedef struct ob_heap {
    ob_person **items;
    size_t n;
    size_t cap;
} ob_heap;

struct ic_outbox {
    const ic_pace_config *cfg;
    size_t cap;
    size_t count;
    ic_idmap persons; /* contact id -> ob_person* */
    ob_heap heaps[NHEAPS];
};

/* ---- heaps ------------------------------------------------------------------ */

static bool before(const ob_person *a, const ob_person *b)
{
    return a->key < b->key || (a->key == b->key && a->order < b->order);
}

static void heap_set(ob_heap *h, size_t i, ob_person *p)
{
    h->items[i] = p;
    p->heap_idx = (uint32_t)i;
}

static void heap_up(ob_heap *h, size_t i)
{
    ob_person *p = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(p, h->items[parent]))
            break;
        heap_set(h, i, h->items[parent]);
        i = parent;
    }
    heap_set(h, i, p);
}

static void heap_down(ob_heap *h, size_t i)
{
    ob_person *p = h->items[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= h->n)
            break;
        size_t c = l;
        if (l + 1 < h->n && before(h->items[l + 1], h->items[l]))
            c = l + 1;
        if (!before(h->items[c], p))
            break;
        heap_set(h, i, h->items[c]);
        i = c;
    }
    heap_set(h, i, p);
}

static void heap_insert(ic_outbox *o, int which, ob_person *p)
{
    ob_heap *h = &o->heaps[which];
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = ic_realloc(h->items, h->cap * sizeof *h->items);
    }
    p->heap = (uint8_t)which;
    heap_set(h, h->n++, p);
    heap_up(h, h->n - 1);
}

static void heap_remove(ic_outbox *o, ob_person *p)
{
    if (p->heap == HEAP_NONE)
        return;
    ob_heap *h = &o->heaps[p->heap];
    size_t i = p->heap_idx;
    ob_person *last = h->items[--h->n];
    p->heap = HEAP_NONE;
    if (i == h->n)
        return;
    heap_set(h, i, last);
    if (i > 0 && before(last, h->items[(i - 1) / 2]))
        heap_up(h, i);
    else
        heap_down(h, i);
}

/* ---- persons --------------------------------------------------------------- */

static ob_person *person_find(const ic_outbox *o, int64_t contact_id)
{
    uint64_t v;
    if (!ic_idmap_get(&o->persons, contact_id, &v))
        return NULL;
    return (ob_person *)(uintptr_t)v;
}

static void person_forget(ic_outbox *o, ob_person *p)
{
    heap_remove(o, p);
    ic_idmap_del(&o->persons, p->contact_id);
    ic_free(p);
}

/* Puts a person who is not busy where they belong: in their head's lane heap
 * keyed by when the head may go, or in the idle heap until their pair state
 * has recovered, or nowhere (forgotten) when it already has. */
static void person_place(ic_outbox *o, ob_person *p, int64_t now)
{
    heap_remove(o, p);
    if (p->head) {
        int64_t key = p->head->eligible_us;
        if (!(p->head->flags & IC_OUTBOX_NO_PAIR)) {
            int64_t pair_at = ic_pair_next_us(p->pair_tat, o->cfg);
            if (pair_at > key)
                key = pair_at;
        }
        p->key = key;
        p->order = p->head->id;
        heap_insert(o, p->head->lane == IC_LANE_REPLY ? HEAP_REPLY : HEAP_BULK, p);
        return;
    }
    if (ic_pair_idle(p->pair_tat, now)) {
        person_forget(o, p);
        return;
    }
    p->key = p->pair_tat;
    p->order = p->contact_id;
    heap_insert(o, HEAP_IDLE, p);
}

static void forget_idle(ic_outbox *o, int64_t now)
{
    ob_heap *h = &o->heaps[HEAP_IDLE];
    while (h->n > 0 && ic_pair_idle(h->items[0]->key, now))
        person_forget(o, h->items[0]);
}

/* ---- the interface ------------------------------------------------------------ */

ic_outbox *ic_outbox_new(const ic_pace_config *cfg, size_t cap)
{
    ic_outbox *o = ic_calloc(1, sizeof *o);
    o->cfg = cfg;
    o->cap = cap ? cap : DEFAULT_CAP;
    return o;
}

void ic_outbox_free(ic_outbox *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->persons.cap; i++) {
        if (!o->persons.used[i])
            continue;
        ob_person *p = (ob_person *)(uintptr_t)o->persons.slots[i].val;
        ob_msg *m = p->head;
        while (m) {
            ob_msg *next = m->next;
            ic_free(m);
            m = next;
        }
        ic_free(p);
    }
    ic_idmap_clear(&o->persons);
    for (int i = 0; i < NHEAPS; i++)
        ic_free(o->heaps[i].items);
    ic_free(o);
}

/* The link after which message id belongs in p's queue (ids ascending; a
 * busy head stays first), or NULL when the queue holds id already. */
static ob_msg **person_slot(ob_person *p, int64_t id)
{
    ob_msg **link = &p->head;
    if (p->busy && p->head) {
        if (p->head->id == id)
            return NULL;
        link = &p->head->next;
    }
    for (ob_msg *q = *link; q; q = q->next)
        if (q->id == id)
            return NULL;
    while (*link && (*link)->id < id)
        link = &(*link)->next;
    return link;
}

ic_err ic_outbox_push(ic_outbox *o, int64_t msg_id, int64_t contact_id, ic_lane lane,
                      unsigned flags)
{
    if (msg_id <= 0)
        return IC_ERR_INVALID;
    if (o->count >= o->cap)
        return IC_ERR_BUSY;
    ob_person *p = person_find(o, contact_id);
    ob_msg **link = NULL;
    if (p && msg_id <= p->last_id && !(link = person_slot(p, msg_id)))
        return IC_ERR_EXISTS;
    if (!p) {
        p = ic_calloc(1, sizeof *p);
        p->contact_id = contact_id;
        ic_idmap_put(&o->persons, contact_id, (uint64_t)(uintptr_t)p);
    }
    ob_msg *m = ic_calloc(1, sizeof *m);
    m->id = msg_id;
    m->lane = lane == IC_LANE_REPLY ? IC_LANE_REPLY : IC_LANE_BULK;
    m->flags = (uint8_t)flags;
    o->count++;
    ob_msg *old_head = p->head;
    if (link) {
        /* Older than a message pushed before (committed later by another
         * node): it takes its place in id order. */
        m->next = *link;
        *link = m;
        if (!m->next)
            p->tail = m;
    } else {
        p->last_id = msg_id;
        if (p->tail)
            p->tail->next = m;
        else
            p->head = m;
        p->tail = m;
    }
    if (p->head != old_head && !p->busy)
        person_place(o, p, 0);
    return IC_OK;
}

bool ic_outbox_has(const ic_outbox *o, int64_t contact_id, int64_t msg_id)
{
    ob_person *p = person_find(o, contact_id);
    if (!p)
        return false;
    for (const ob_msg *q = p->head; q; q = q->next)
        if (q->id == msg_id)
            return true;
    return false;
}

bool ic_outbox_pick(ic_outbox *o, int64_t now, ic_outbox_item *out)
{
    forget_idle(o, now);
    for (int which = HEAP_REPLY; which <= HEAP_BULK; which++) {
        ob_heap *h = &o->heaps[which];
        if (h->n == 0 || h->items[0]->key > now)
            continue;
        ob_person *p = h->items[0];
        heap_remove(o, p);
        p->busy = 1;
        ob_msg *m = p->head;
        if (!(m->flags & IC_OUTBOX_NO_PAIR))
            p->pair_tat = ic_pair_take(p->pair_tat, now, o->cfg);
        out->msg_id = m->id;
        out->contact_id = p->contact_id;
        out->lane = (ic_lane)m->lane;
        out->attempts = m->attempts;
        out->part = m->part;
        out->flags = m->flags;
        return true;
    }
    return false;
}

int64_t ic_outbox_next_us(ic_outbox *o, int64_t now)
{
    forget_idle(o, now);
    int64_t t = INT64_MAX;
    for (int which = HEAP_REPLY; which <= HEAP_BULK; which++) {
        ob_heap *h = &o->heaps[which];
        if (h->n > 0 && h->items[0]->key < t)
            t = h->items[0]->key;
    }
    return t;
}

ic_err ic_outbox_done(ic_outbox *o, int64_t contact_id, int64_t now)
{
    ob_person *p = person_find(o, contact_id);
    if (!p || !p->busy || !p->head)
        return IC_ERR_NOT_FOUND;
    ob_msg *m = p->head;
    p->head = m->next;
    if (!p->head)
        p->tail = NULL;
    ic_free(m);
    o->count--;
    p->busy = 0;
    person_place(o, p, now);
    return IC_OK;
}

ic_err ic_outbox_retry(ic_outbox *o, int64_t contact_id, int64_t eligible_us, int part,
                       bool count_attempt)
{
    ob_person *p = person_find(o, contact_id);
    if (!p || !p->busy || !p->head)
        return IC_ERR_NOT_FOUND;
    ob_msg *m = p->head;
    m->eligible_us = eligible_us;
    m->part = (uint8_t)(part < 0 ? 0 : (part > 255 ? 255 : part));
    if (count_attempt && m->attempts < UINT8_MAX)
        m->attempts++;
    p->busy = 0;
    person_place(o, p, 0);
    return IC_OK;
}

void ic_outbox_pause_person(ic_outbox *o, int64_t contact_id, int64_t until)
{
    ob_person *p = person_find(o, contact_id);
    if (!p)
        return;
    p->pair_tat = ic_pair_pause(p->pair_tat, until, o->cfg);
    if (!p->busy && p->heap != HEAP_NONE)
        person_place(o, p, 0);
}

size_t ic_outbox_count(const ic_outbox *o)
{
    return o->count;
}

size_t ic_outbox_persons(const ic_outbox *o)
{
    return o->persons.count;
}

size_t ic_outbox_bytes(const ic_outbox *o)
{
    /* allocator overhead: ~16 bytes per block */
    size_t b = sizeof *o + ic_idmap_bytes(&o->persons);
    b += o->count * (sizeof(ob_msg) + 16);
    b += o->persons.count * (sizeof(ob_person) + 16);
    for (int i = 0; i < NHEAPS; i++)
        b += o->heaps[i].cap * sizeof(ob_person *);
    return b;
}
