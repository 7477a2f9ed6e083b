/* people.c - simulated phones: what each received (the last 200 bodies), the
 * 24-hour window and the pair-limit state, with bounded memory. */
#include "sim.h"

#include "base/alloc.h"
#include "base/str.h"

#include <string.h>

#define PAIR_BURST 45.0
#define PAIR_REFILL_US 6000000.0 /* one message per 6 s */
#define RECENT 64                /* accepted sends remembered for max_in_6s */

typedef struct person person;

typedef struct entry {
    struct entry *prev, *next;   /* the person's list, oldest first */
    struct entry *gprev, *gnext; /* the global list, oldest first */
    person *owner;
    char *body; /* owned JSON text of the send */
    int64_t ts;
    int error;
    uint8_t status;
    char wamid[64];
    char pnid[64];
} entry;

struct person {
    person *hnext;
    uint64_t hash;
    char wa_id[64];
    bool has_inbound;
    int64_t last_inbound_s;
    double tokens;
    int64_t refill_us;
    uint32_t recent[RECENT]; /* monotonic ms of recent accepted sends */
    uint8_t rhead, rlen;
    uint64_t total;
    entry *head, *tail;
    size_t n_entries;
};

struct ic_sim_people {
    person **buckets;
    size_t nb, count;
    size_t max_people, inbox_max;
    entry *ghead, *gtail;
    size_t n_entries;
    uint64_t max_total;
    char max_total_id[64];
    size_t max_6s;
    char max_6s_id[64];
    uint64_t untracked;
};

static const char *const st_names[] = {"accepted", "sent", "delivered", "read", "failed"};

ic_sim_people *ic_sim_people_new(size_t max_people, size_t inbox_max)
{
    ic_sim_people *p = ic_calloc(1, sizeof *p);
    p->max_people = max_people;
    p->inbox_max = inbox_max;
    p->nb = 1024;
    p->buckets = ic_calloc(p->nb, sizeof *p->buckets);
    return p;
}

void ic_sim_people_clear(ic_sim_people *p)
{
    for (size_t i = 0; i < p->nb; i++) {
        person *x = p->buckets[i];
        while (x) {
            person *next = x->hnext;
            for (entry *e = x->head; e;) {
                entry *en = e->next;
                ic_free(e->body);
                ic_free(e);
                e = en;
            }
            ic_free(x);
            x = next;
        }
        p->buckets[i] = NULL;
    }
    p->count = 0;
    p->ghead = p->gtail = NULL;
    p->n_entries = 0;
    p->max_total = 0;
    p->max_6s = 0;
    p->max_total_id[0] = p->max_6s_id[0] = '\0';
    p->untracked = 0;
}

void ic_sim_people_free(ic_sim_people *p)
{
    if (!p)
        return;
    ic_sim_people_clear(p);
    ic_free(p->buckets);
    ic_free(p);
}

static void rehash(ic_sim_people *p)
{
    size_t nb = p->nb * 2;
    person **nbk = ic_calloc(nb, sizeof *nbk);
    for (size_t i = 0; i < p->nb; i++) {
        for (person *x = p->buckets[i]; x;) {
            person *next = x->hnext;
            size_t j = (size_t)x->hash & (nb - 1);
            x->hnext = nbk[j];
            nbk[j] = x;
            x = next;
        }
    }
    ic_free(p->buckets);
    p->buckets = nbk;
    p->nb = nb;
}

/* Finds wa_id; creates it when create is set and the table has room. */
static person *find(ic_sim_people *p, const char *wa_id, bool create)
{
    size_t len = strnlen(wa_id, 64);
    if (len == 0 || len >= 64)
        return NULL;
    uint64_t h = ic_sim_hash64(wa_id, len);
    for (person *x = p->buckets[(size_t)h & (p->nb - 1)]; x; x = x->hnext)
        if (x->hash == h && strcmp(x->wa_id, wa_id) == 0)
            return x;
    if (!create)
        return NULL;
    if (p->count >= p->max_people) {
        p->untracked++;
        return NULL;
    }
    if (p->count >= p->nb)
        rehash(p);
    person *x = ic_calloc(1, sizeof *x);
    x->hash = h;
    memcpy(x->wa_id, wa_id, len + 1);
    x->tokens = PAIR_BURST;
    x->refill_us = -1;
    size_t j = (size_t)h & (p->nb - 1);
    x->hnext = p->buckets[j];
    p->buckets[j] = x;
    p->count++;
    return x;
}

void ic_sim_people_inbound(ic_sim_people *p, const char *wa_id, int64_t ts_s)
{
    person *x = find(p, wa_id, true);
    if (!x)
        return;
    if (!x->has_inbound || ts_s > x->last_inbound_s)
        x->last_inbound_s = ts_s;
    x->has_inbound = true;
}

bool ic_sim_people_window_open(ic_sim_people *p, const char *wa_id, int64_t now_s)
{
    person *x = find(p, wa_id, false);
    return x && x->has_inbound && now_s - x->last_inbound_s < 24 * 3600;
}

static void refill(person *x, int64_t mono_us)
{
    if (x->refill_us < 0) {
        x->refill_us = mono_us;
        return;
    }
    double add = (double)(mono_us - x->refill_us) / PAIR_REFILL_US;
    if (add > 0) {
        x->tokens = x->tokens + add > PAIR_BURST ? PAIR_BURST : x->tokens + add;
        x->refill_us = mono_us;
    }
}

bool ic_sim_people_pair_ok(ic_sim_people *p, const char *wa_id, int64_t mono_us)
{
    person *x = find(p, wa_id, false);
    if (!x)
        return true;
    refill(x, mono_us);
    return x->tokens >= 1.0;
}

static void unlink_entry(ic_sim_people *p, entry *e)
{
    person *x = e->owner;
    if (e->prev)
        e->prev->next = e->next;
    else
        x->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        x->tail = e->prev;
    x->n_entries--;
    if (e->gprev)
        e->gprev->gnext = e->gnext;
    else
        p->ghead = e->gnext;
    if (e->gnext)
        e->gnext->gprev = e->gprev;
    else
        p->gtail = e->gprev;
    p->n_entries--;
    ic_free(e->body);
    ic_free(e);
}

/* Counts x's accepted sends within the 6 s before now_ms. */
static size_t recent_count(const person *x, uint32_t now_ms)
{
    size_t c = 0;
    for (size_t i = 0; i < x->rlen; i++) {
        uint32_t t = x->recent[(x->rhead + i) % RECENT];
        if (now_ms - t < 6000)
            c++;
    }
    return c;
}

void ic_sim_people_deliver(ic_sim_people *p, const char *wa_id, const char *wamid, const char *pnid,
                           char *body, int64_t mono_us, int64_t now_s)
{
    person *x = find(p, wa_id, true);
    if (!x) {
        ic_free(body);
        return;
    }
    refill(x, mono_us);
    x->tokens = x->tokens >= 1.0 ? x->tokens - 1.0 : 0.0;
    x->total++;
    if (x->total > p->max_total) {
        p->max_total = x->total;
        ic_strlcpy(p->max_total_id, x->wa_id, sizeof p->max_total_id);
    }
    uint32_t now_ms = (uint32_t)(mono_us / 1000);
    if (x->rlen < RECENT) {
        x->recent[(x->rhead + x->rlen++) % RECENT] = now_ms;
    } else {
        x->recent[x->rhead] = now_ms;
        x->rhead = (uint8_t)((x->rhead + 1) % RECENT);
    }
    size_t c6 = recent_count(x, now_ms);
    if (c6 > p->max_6s) {
        p->max_6s = c6;
        ic_strlcpy(p->max_6s_id, x->wa_id, sizeof p->max_6s_id);
    }
    if (p->inbox_max == 0) {
        ic_free(body);
        return;
    }
    if (x->n_entries >= IC_SIM_INBOX_PER_PERSON)
        unlink_entry(p, x->head);
    if (p->n_entries >= p->inbox_max && p->ghead)
        unlink_entry(p, p->ghead);
    entry *e = ic_calloc(1, sizeof *e);
    e->owner = x;
    e->body = body;
    e->ts = now_s;
    e->status = IC_SIM_ST_ACCEPTED;
    ic_strlcpy(e->wamid, wamid, sizeof e->wamid);
    ic_strlcpy(e->pnid, pnid, sizeof e->pnid);
    e->prev = x->tail;
    if (x->tail)
        x->tail->next = e;
    else
        x->head = e;
    x->tail = e;
    x->n_entries++;
    e->gprev = p->gtail;
    if (p->gtail)
        p->gtail->gnext = e;
    else
        p->ghead = e;
    p->gtail = e;
    p->n_entries++;
}

void ic_sim_people_status(ic_sim_people *p, const char *wa_id, const char *wamid, ic_sim_st st,
                          int error_code)
{
    person *x = find(p, wa_id, false);
    if (!x)
        return;
    for (entry *e = x->tail; e; e = e->prev) {
        if (strcmp(e->wamid, wamid) != 0)
            continue;
        bool forward =
            st == IC_SIM_ST_FAILED ? e->status < IC_SIM_ST_DELIVERED : (int)st > (int)e->status;
        if (forward && e->status != IC_SIM_ST_FAILED) {
            e->status = (uint8_t)st;
            e->error = error_code;
        }
        return;
    }
}

void ic_sim_people_stats(ic_sim_people *p, json_t *stats)
{
    json_object_set_new(stats, "recipients", json_integer((json_int_t)p->count));
    json_object_set_new(stats, "untracked_sends", json_integer((json_int_t)p->untracked));
    json_object_set_new(stats, "inbox_entries", json_integer((json_int_t)p->n_entries));
    json_object_set_new(stats, "per_recipient_max",
                        json_pack("{s:I, s:s, s:I, s:s}", "total", (json_int_t)p->max_total,
                                  "total_wa_id", p->max_total_id, "max_in_6s",
                                  (json_int_t)p->max_6s, "max_in_6s_wa_id", p->max_6s_id));
}

void ic_sim_inbox_get(ic_sim_req *r, const char *wa_id)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *msgs = json_array();
    json_int_t total = 0;
    bool window = false;
    pthread_mutex_lock(&s->mu);
    person *x = find(s->people, wa_id, false);
    if (x) {
        total = (json_int_t)x->total;
        window = x->has_inbound && ic_sim_now_s(s) - x->last_inbound_s < 24 * 3600;
        for (entry *e = x->head; e; e = e->next) {
            json_t *m =
                json_pack("{s:s, s:s, s:I, s:s}", "id", e->wamid, "status", st_names[e->status],
                          "timestamp", (json_int_t)e->ts, "number", e->pnid);
            json_t *body = json_loads(e->body, 0, NULL);
            json_object_set_new(m, "message", body ? body : json_null());
            if (e->error)
                json_object_set_new(m, "error", json_integer(e->error));
            json_array_append_new(msgs, m);
        }
    }
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_json(r, 200,
                      json_pack("{s:s, s:I, s:b, s:o}", "wa_id", wa_id, "total", total,
                                "window_open", window, "messages", msgs));
}
