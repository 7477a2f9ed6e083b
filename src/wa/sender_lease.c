/* sender_lease.c - which channels this node sends for. Each channel's lease
 * is taken and renewed through the writer (ic_store_lease_take); a node
 * sends for a channel only while it holds the lease, and issues nothing
 * once its own view of the lease has run out (a safety margin before the
 * row expires, so that a node that took over never overlaps with it). The
 * holder also queues again the messages left "sending" or "unknown" for
 * longer than reconcile_after without a status webhook (the sweep).
 * See docs/internals/sending.md, "Several nodes". */
#include "wa/sender_int.h"

#include "base/log.h"
#include "base/time.h"

#include <inttypes.h>
#include <string.h>

#define SWEEP_BATCH 256
#define SWEEP_IDLE_US ((int64_t)5000000)  /* between sweeps once caught up */
#define RETRY_FAILED_US ((int64_t)200000) /* a lease write failed: again after */

/* Renewal period, takeover polling and safety margin, from the lease ttl. */
static int64_t renew_every(const ic_sender *s)
{
    return s->opt.lease_ttl_us / 5;
}

static int64_t take_every(const ic_sender *s)
{
    int64_t t = s->opt.lease_ttl_us / 10;
    return t < 50000 ? 50000 : t;
}

static int64_t safety(const ic_sender *s)
{
    return s->opt.lease_ttl_us / 5;
}

bool ic_snd_lease_ok(const snd_chan *ch, int64_t now)
{
    return ch->held && now < ch->lease_valid_until;
}

static ic_err apply_lease(ic_conn *tx, ic_write_job *wj)
{
    snd_lease_job *lj = wj->arg;
    ic_sender *s = lj->owner;
    const ic_channel *c = &lj->ch->ch;
    if (lj->release)
        return ic_store_lease_release(tx, c->id, s->opt.node_id, lj->epoch);
    lj->epoch_out = lj->epoch; /* apply may run twice: start from the input each time */
    return ic_store_lease_take(tx, c->workspace_id, c->id, s->opt.node_id, lj->now_us,
                               s->opt.lease_ttl_us, s->force_lease, &lj->epoch_out, &lj->held);
}

/* Writer thread: hand the job back (as done_mark in sender_msg.c). */
static void done_lease(ic_write_job *wj, ic_err result)
{
    snd_lease_job *lj = wj->arg;
    ic_sender *s = lj->owner;
    lj->result = result;
    pthread_mutex_lock(&s->mu);
    bool was_empty = s->leases_done == NULL && s->written.head == NULL;
    lj->next = s->leases_done;
    s->leases_done = lj;
    if (was_empty)
        curl_multi_wakeup(s->multi);
    pthread_mutex_unlock(&s->mu);
}

/* Prepares ch's lease job: a take-or-renew, or a release. */
static snd_lease_job *lease_job(ic_sender *s, snd_chan *ch, bool release)
{
    snd_lease_job *lj = &ch->lease_job;
    memset(lj, 0, sizeof *lj);
    lj->owner = s;
    lj->ch = ch;
    lj->release = release;
    lj->epoch = ch->held ? ch->epoch : 0;
    lj->wj.apply = apply_lease;
    lj->wj.arg = lj;
    return lj;
}

static void submit_lease(ic_sender *s, snd_chan *ch, int64_t now)
{
    snd_lease_job *lj = lease_job(s, ch, false);
    lj->now_us = ic_now_us();
    lj->submit_mono = now;
    lj->wj.done = done_lease;
    if (ic_writer_submit(s->writer, &lj->wj) != IC_OK) {
        ch->lease_next_us = now + RETRY_FAILED_US; /* the writer is full: later */
        return;
    }
    ch->lease_pending = true;
    s->leases_pending++;
}

/* The channel is no longer ours: nothing more is issued; what was marked
 * "sending" and not issued stays so (the next holder's load makes it
 * "unknown", and its sweep queues it again). The outbox is emptied once
 * nothing of the channel is in flight (fill in sender.c). */
static void lease_lost(ic_sender *s, snd_chan *ch, const char *why)
{
    if (!ch->held)
        return;
    ch->held = false;
    atomic_fetch_add(&s->st_leases_lost, 1);
    atomic_fetch_sub(&s->st_leases_held, 1);
    IC_WARN("sender_lease_lost", "channel=%" PRId64 " epoch=%" PRId64 " why=%s", ch->ch.id,
            ch->epoch, why);
}

void ic_snd_lease_written(ic_sender *s, snd_lease_job *lj, int64_t now)
{
    snd_chan *ch = lj->ch;
    ch->lease_pending = false;
    s->leases_pending--;
    if (lj->release)
        return;
    if (lj->result != IC_OK) {
        IC_WARN("sender_lease_write_failed", "channel=%" PRId64 " err=\"%s\"", ch->ch.id,
                ic_strerror(lj->result));
        ch->lease_next_us = now + RETRY_FAILED_US; /* lease_valid_until stands */
        return;
    }
    if (!lj->held) {
        lease_lost(s, ch, "taken_by_another_node");
        ch->lease_next_us = now + take_every(s);
        return;
    }
    if (!ch->held) {
        ch->held = true;
        ch->epoch = lj->epoch_out;
        ch->must_reload = true; /* load the outbox once nothing is in flight */
        ch->sweep_next_us = now;
        ch->sweep_after_id = 0;
        atomic_fetch_add(&s->st_leases_taken, 1);
        atomic_fetch_add(&s->st_leases_held, 1);
        IC_INFO("sender_lease_taken", "channel=%" PRId64 " epoch=%" PRId64 " node=%s", ch->ch.id,
                ch->epoch, s->opt.node_id);
    }
    ch->lease_valid_until = lj->submit_mono + s->opt.lease_ttl_us - safety(s);
    ch->lease_next_us = lj->submit_mono + renew_every(s);
}

/* ---- the sweep: stale "sending" and "unknown" messages ---------------------- */

typedef struct sweep_ctx {
    ic_sender *s;
    snd_chan *ch;
    int64_t cutoff_us;
    int rows;
    int64_t last_id;
} sweep_ctx;

static ic_err sweep_cb(void *arg, const ic_message *m)
{
    sweep_ctx *x = arg;
    x->rows++;
    x->last_id = m->id;
    if (ic_outbox_has(x->ch->outbox, m->contact_id, m->id))
        return IC_OK; /* this node is working on it */
    ic_outbox_item it = {
        .msg_id = m->id,
        .contact_id = m->contact_id,
        .lane = m->lane,
        .flags = m->type && strcmp(m->type, "read") == 0 ? IC_OUTBOX_NO_PAIR : 0,
    };
    snd_job *j = ic_snd_job_new(x->s, x->ch, &it);
    j->after = SND_AFTER_REQUEUE;
    j->cutoff_us = x->cutoff_us;
    ic_snd_submit(x->s, j);
    return IC_OK;
}

static void sweep(ic_sender *s, snd_chan *ch, int64_t now)
{
    sweep_ctx x = {s, ch, ic_now_us() - s->opt.reconcile_after_us, 0, 0};
    ic_err e = ic_store_outbox_stale(s->conn, ch->ch.id, x.cutoff_us, s->opt.max_resends,
                                     ch->sweep_after_id, SWEEP_BATCH, sweep_cb, &x);
    if (e != IC_OK) {
        IC_WARN("sender_sweep_failed", "channel=%" PRId64 " err=\"%s\"", ch->ch.id, ic_strerror(e));
        ch->sweep_next_us = now + SWEEP_IDLE_US;
        return;
    }
    if (x.rows == SWEEP_BATCH) {
        ch->sweep_after_id = x.last_id; /* more: go on at the next turn */
        ch->sweep_next_us = now;
    } else {
        ch->sweep_after_id = 0;
        ch->sweep_next_us = now + SWEEP_IDLE_US;
    }
}

void ic_snd_leases_tick(ic_sender *s, int64_t now)
{
    for (size_t i = 0; i < s->nchans; i++) {
        snd_chan *ch = s->chans[i];
        if (ch->held && now >= ch->lease_valid_until)
            lease_lost(s, ch, "not_renewed_in_time");
        if (!ch->lease_pending && now >= ch->lease_next_us)
            submit_lease(s, ch, now);
        if (ic_snd_lease_ok(ch, now) && !ch->must_reload && s->opt.reconcile_after_us > 0 &&
            now >= ch->sweep_next_us && !s->busy.head)
            sweep(s, ch, now);
    }
}

int64_t ic_snd_leases_next_us(ic_sender *s, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->nchans; i++) {
        snd_chan *ch = s->chans[i];
        if (!ch->lease_pending && ch->lease_next_us < next)
            next = ch->lease_next_us;
        if (ch->held && ch->lease_valid_until < next)
            next = ch->lease_valid_until;
        if (ic_snd_lease_ok(ch, now) && s->opt.reconcile_after_us > 0 && ch->sweep_next_us < next)
            next = ch->sweep_next_us;
    }
    return next;
}

void ic_snd_leases_release(ic_sender *s)
{
    for (size_t i = 0; i < s->nchans; i++) {
        snd_chan *ch = s->chans[i];
        if (!ch->held || ch->lease_pending)
            continue;
        snd_lease_job *lj = lease_job(s, ch, true);
        if (ic_writer_run(s->writer, &lj->wj) == IC_OK)
            IC_INFO("sender_lease_released", "channel=%" PRId64, ch->ch.id);
        ch->held = false;
    }
}
