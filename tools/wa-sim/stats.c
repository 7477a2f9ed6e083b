/* stats.c - counters, the duplicate check and GET /sim/stats, POST /sim/reset. */
#include "sim.h"

#include "base/alloc.h"
#include "base/log.h"

#include <string.h>

#define DUPSET_MAX (16u * 1024u * 1024u) /* 128 MB of hashes at most */

/* An open-addressing set of 64-bit hashes of biz_opaque_callback_data. */
struct ic_sim_dupset {
    uint64_t *slots;
    size_t cap, len;
    bool full;
};

static void dupset_grow(ic_sim_dupset *d)
{
    size_t ncap = d->cap ? d->cap * 2 : 1024;
    uint64_t *ns = ic_calloc(ncap, sizeof *ns);
    for (size_t i = 0; i < d->cap; i++) {
        uint64_t h = d->slots[i];
        if (!h)
            continue;
        size_t j = (size_t)h & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = h;
    }
    ic_free(d->slots);
    d->slots = ns;
    d->cap = ncap;
}

/* Adds h; true when it was already there. */
static bool dupset_add(ic_sim_dupset *d, uint64_t h)
{
    if (!h)
        h = 1;
    if ((d->len + 1) * 10 > d->cap * 7) {
        if (d->cap >= DUPSET_MAX) {
            d->full = true;
        } else {
            dupset_grow(d);
        }
    }
    if (d->full && d->len * 10 >= d->cap * 9)
        return false;
    size_t j = (size_t)h & (d->cap - 1);
    while (d->slots[j]) {
        if (d->slots[j] == h)
            return true;
        j = (j + 1) & (d->cap - 1);
    }
    d->slots[j] = h;
    d->len++;
    return false;
}

void ic_sim_stats_accept(ic_sim *s, ic_sim_number *n, const char *biz_opaque, int64_t mono_us)
{
    ic_sim_stats *st = &s->stats;
    st->accepted++;
    n->accepted++;
    ic_sim_ratewin_prune(&st->rate, mono_us, 1000000);
    ic_sim_ratewin_push(&st->rate, mono_us);
    if (st->rate.len > st->max_rate_1s)
        st->max_rate_1s = st->rate.len;
    /* n->rate was pruned and pushed by the throughput check. */
    if (n->rate.len > n->max_rate_1s)
        n->max_rate_1s = n->rate.len;
    if (biz_opaque && *biz_opaque) {
        if (!st->dups)
            st->dups = ic_calloc(1, sizeof *st->dups);
        if (dupset_add(st->dups, ic_sim_hash64(biz_opaque, strlen(biz_opaque))))
            st->duplicates++;
    }
}

void ic_sim_stats_free(ic_sim_stats *st)
{
    if (!st)
        return;
    if (st->dups)
        ic_free(st->dups->slots);
    ic_free(st->dups);
    st->dups = NULL;
    ic_sim_ratewin_free(&st->rate);
}

void ic_sim_stats_webhook(ic_sim *s, bool ok, bool given_up, size_t statuses)
{
    pthread_mutex_lock(&s->mu);
    if (ok) {
        s->stats.webhooks_delivered++;
        s->stats.statuses_delivered += statuses;
    } else {
        s->stats.webhooks_failed++;
        if (given_up)
            s->stats.webhooks_given_up++;
    }
    pthread_mutex_unlock(&s->mu);
}

#define U(x) ((json_int_t)(x))

void ic_sim_stats_get(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    size_t pending_statuses = 0, pending_jobs = 0;
    ic_sim_webhooks_pending(s->wh, &pending_statuses, &pending_jobs);
    pthread_mutex_lock(&s->mu);
    const ic_sim_stats *st = &s->stats;
    json_t *per = json_object();
    for (size_t i = 0; i < s->n_numbers; i++) {
        const ic_sim_number *n = &s->numbers[i];
        json_object_set_new(per, n->pnid,
                            json_pack("{s:I, s:I, s:I, s:i}", "accepted", U(n->accepted),
                                      "throttled_130429", U(n->throttled), "max_rate_1s",
                                      U(n->max_rate_1s), "mps", n->mps));
    }
    json_t *j = json_pack(
        "{s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:I, s:I}",
        "accepted", U(st->accepted), "per_number", per, "throttled_130429", U(st->throttled_130429),
        "pair_limited_131056", U(st->pair_limited_131056), "failed_5xx", U(st->failed_5xx),
        "dropped", U(st->dropped), "rejected_4xx", U(st->rejected_4xx), "unauthorized_401",
        U(st->unauthorized_401), "duplicates", U(st->duplicates), "window_failed_131047",
        U(st->window_failed_131047), "max_rate_1s", U(st->max_rate_1s), "marked_read",
        U(st->marked_read), "inbound_sent", U(st->inbound_sent), "inbound_acknowledged",
        U(st->inbound_acknowledged), "media_uploaded", U(st->media_uploaded), "webhooks_delivered",
        U(st->webhooks_delivered), "webhooks_failed", U(st->webhooks_failed), "webhooks_given_up",
        U(st->webhooks_given_up), "statuses_delivered", U(st->statuses_delivered));
    json_object_set_new(j, "statuses_dropped", json_integer(U(st->statuses_dropped)));
    json_object_set_new(j, "pending_statuses", json_integer(U(pending_statuses)));
    json_object_set_new(j, "pending_webhooks", json_integer(U(pending_jobs)));
    ic_sim_people_stats(s->people, j);
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_json(r, 200, j);
}

void ic_sim_reset_post(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    pthread_mutex_lock(&s->mu);
    ic_sim_stats_free(&s->stats);
    memset(&s->stats, 0, sizeof s->stats);
    for (size_t i = 0; i < s->n_numbers; i++) {
        ic_sim_number *n = &s->numbers[i];
        ic_sim_ratewin_free(&n->rate);
        n->accepted = n->throttled = 0;
        n->max_rate_1s = 0;
    }
    ic_sim_people_clear(s->people);
    pthread_mutex_unlock(&s->mu);
    IC_INFO("wasim_reset", NULL);
    ic_sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}
