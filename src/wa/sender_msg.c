/* sender_msg.c - a picked message's way through the sender: read it, check
 * the 24-hour window, build its bodies, mark it "sending" through the writer,
 * and record its outcome (sent, failed, unknown, or queued for a retry).
 * The writer's done callback hands each job back to the sender thread. */
#include "wa/sender_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "core/window.h"
#include "wa/outbound.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define WINDOW_CACHE_MAX 200000
#define WINDOW_CLOSED_CODE 131047
#define WINDOW_CLOSED_REASON "24-hour window closed: only an approved template can be sent"
#define HOLD_US ((int64_t)1000000) /* wait after a local hold-up (database) */

void ic_snd_fifo_push(snd_fifo *f, snd_job *j, bool front)
{
    if (front) {
        j->next = f->head;
        f->head = j;
        if (!f->tail)
            f->tail = j;
        return;
    }
    j->next = NULL;
    if (f->tail)
        f->tail->next = j;
    else
        f->head = j;
    f->tail = j;
}

snd_job *ic_snd_fifo_pop(snd_fifo *f)
{
    snd_job *j = f->head;
    if (!j)
        return NULL;
    f->head = j->next;
    if (!f->head)
        f->tail = NULL;
    j->next = NULL;
    return j;
}

snd_job *ic_snd_job_new(ic_sender *s, snd_chan *ch, const ic_outbox_item *it)
{
    snd_job *j = ic_calloc(1, sizeof *j);
    j->owner = s;
    j->ch = ch;
    j->msg_id = it->msg_id;
    j->contact_id = it->contact_id;
    j->lane = it->lane;
    j->attempts = it->attempts;
    j->part = it->part;
    j->flags = it->flags;
    ic_strlcpy(j->to_masked, "-", sizeof j->to_masked);
    s->jobs_alive++;
    ch->outstanding++;
    return j;
}

void ic_snd_job_free(ic_sender *s, snd_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < 2; i++)
        ic_free(j->bodies[i]);
    ic_buf_free(&j->resp);
    j->ch->outstanding--;
    s->jobs_alive--;
    ic_free(j);
}

/* ---- writes --------------------------------------------------------------- */

/* Writer thread: the job's write. The "sending" mark, the retry back to
 * "queued" and the requeue only happen while this node holds the channel's
 * lease; final outcomes are facts and are always recorded. */
static ic_err apply_job(ic_conn *tx, ic_write_job *wj)
{
    snd_job *j = wj->arg;
    const char *node = j->owner->opt.node_id;
    int64_t ch = j->ch->ch.id, epoch = j->epoch;
    switch (j->after) {
    case SND_AFTER_READY:
        return ic_store_outbox_mark_sending(tx, ch, j->msg_id, node, epoch, &j->marked);
    case SND_AFTER_RETRY:
        return ic_store_outbox_back_to_queued(tx, ch, j->msg_id, node, epoch, &j->marked);
    case SND_AFTER_REQUEUE:
        return ic_store_outbox_requeue(tx, ch, j->msg_id, node, epoch, j->cutoff_us, &j->marked);
    case SND_AFTER_DONE:
        break;
    }
    return ic_store_message_mark(tx, j->msg_id, j->mark_status, j->wa_id[0] ? j->wa_id : NULL,
                                 j->mark_code, j->mark_reason[0] ? j->mark_reason : NULL);
}

/* Writer thread: hand the job back. The wakeup happens under the lock, so the
 * sender cannot finish and free its multi handle in between. */
static void done_mark(ic_write_job *wj, ic_err result)
{
    snd_job *j = wj->arg;
    ic_sender *s = j->owner;
    j->write_result = result;
    pthread_mutex_lock(&s->mu);
    bool was_empty = s->written.head == NULL;
    ic_snd_fifo_push(&s->written, j, false);
    if (was_empty)
        curl_multi_wakeup(s->multi);
    pthread_mutex_unlock(&s->mu);
}

void ic_snd_submit(ic_sender *s, snd_job *j)
{
    j->epoch = j->ch->epoch; /* the writer thread must not read ch */
    j->wj.apply = apply_job;
    j->wj.done = done_mark;
    j->wj.arg = j;
    if (s->busy.head || ic_writer_submit(s->writer, &j->wj) != IC_OK)
        ic_snd_fifo_push(&s->busy, j, false);
}

void ic_snd_submit_busy(ic_sender *s)
{
    snd_job *j;
    while ((j = s->busy.head) != NULL) {
        if (ic_writer_submit(s->writer, &j->wj) != IC_OK)
            return;
        ic_snd_fifo_pop(&s->busy);
    }
}

/* Copies reason for a logfmt value: no quotes, no newlines. */
static void log_safe(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in && *in && n + 1 < size; in++)
        out[n++] = (*in == '"' || *in == '\n' || *in == '\r' || *in == '\\') ? '\'' : *in;
    out[n] = '\0';
}

void ic_snd_settle(ic_sender *s, snd_job *j, const char *status, const char *wa_id, int code,
                   const char *reason)
{
    j->after = SND_AFTER_DONE;
    j->mark_status = status;
    ic_strlcpy(j->wa_id, wa_id ? wa_id : "", sizeof j->wa_id);
    j->mark_code = code;
    ic_strlcpy(j->mark_reason, reason ? reason : "", sizeof j->mark_reason);
    if (strcmp(status, "sent") == 0) {
        atomic_fetch_add(&s->st_sent, 1);
        IC_DEBUG("message_sent", "msg=%" PRId64 " channel=%" PRId64 " to=%s", j->msg_id,
                 j->ch->ch.id, j->to_masked);
    } else {
        char safe[256];
        log_safe(reason, safe, sizeof safe);
        atomic_fetch_add(strcmp(status, "failed") == 0 ? &s->st_failed : &s->st_unknown, 1);
        IC_WARN(strcmp(status, "failed") == 0 ? "message_failed" : "message_unknown",
                "msg=%" PRId64 " channel=%" PRId64 " to=%s code=%d reason=\"%s\"", j->msg_id,
                j->ch->ch.id, j->to_masked, code, safe);
    }
    ic_snd_submit(s, j);
}

void ic_snd_retry(ic_sender *s, snd_job *j, int64_t retry_at, bool count_attempt)
{
    if (count_attempt)
        atomic_fetch_add(&s->st_retried, 1);
    if (j->part > 0) {
        /* A body has gone: the row stays "sending" (a crash then makes it
         * "unknown" rather than sending the first body twice). */
        ic_outbox_retry(j->ch->outbox, j->contact_id, retry_at, j->part, count_attempt);
        ic_snd_job_free(s, j);
        return;
    }
    j->after = SND_AFTER_RETRY;
    j->retry_at = retry_at;
    j->count_attempt = count_attempt;
    j->mark_status = "queued";
    j->wa_id[0] = '\0';
    j->mark_code = 0;
    j->mark_reason[0] = '\0';
    ic_snd_submit(s, j);
}

void ic_snd_written(ic_sender *s, snd_job *j, int64_t now)
{
    snd_chan *ch = j->ch;
    switch (j->after) {
    case SND_AFTER_READY:
        if (j->write_result == IC_OK && j->marked) {
            ic_snd_fifo_push(&ch->ready[j->lane == IC_LANE_REPLY ? 0 : 1], j, false);
            return;
        }
        ch->pipeline--;
        if (j->write_result == IC_OK) {
            /* No longer queued, or the lease has moved: not ours to send. */
            IC_INFO("sender_message_skipped", "msg=%" PRId64 " channel=%" PRId64 " status=taken",
                    j->msg_id, ch->ch.id);
            ic_outbox_done(ch->outbox, j->contact_id, now);
            break;
        }
        IC_WARN("sender_mark_failed", "msg=%" PRId64 " channel=%" PRId64 " err=\"%s\"", j->msg_id,
                ch->ch.id, ic_strerror(j->write_result));
        if (j->write_result == IC_ERR_DB || j->write_result == IC_ERR_BUSY)
            ic_outbox_retry(ch->outbox, j->contact_id, now + HOLD_US, j->part, false);
        else
            ic_outbox_done(ch->outbox, j->contact_id, now); /* no longer ours to send */
        break;
    case SND_AFTER_DONE:
        if (j->write_result != IC_OK)
            IC_ERROR("sender_outcome_not_recorded",
                     "msg=%" PRId64 " channel=%" PRId64 " status=%s err=\"%s\"", j->msg_id,
                     ch->ch.id, j->mark_status, ic_strerror(j->write_result));
        ic_outbox_done(ch->outbox, j->contact_id, now);
        break;
    case SND_AFTER_RETRY:
        if (j->write_result != IC_OK || !j->marked) {
            /* The row stays "sending"; whoever holds the lease then queues it
             * again once it is stale (ic_snd_leases_tick). */
            IC_WARN("sender_retry_not_recorded", "msg=%" PRId64 " channel=%" PRId64 " err=\"%s\"",
                    j->msg_id, ch->ch.id,
                    j->write_result != IC_OK ? ic_strerror(j->write_result) : "lease moved");
            ic_outbox_done(ch->outbox, j->contact_id, now);
            break;
        }
        ic_outbox_retry(ch->outbox, j->contact_id, j->retry_at, j->part, j->count_attempt);
        break;
    case SND_AFTER_REQUEUE:
        if (j->write_result == IC_OK && j->marked) {
            atomic_fetch_add(&s->st_resent, 1);
            IC_WARN("message_resent", "msg=%" PRId64 " channel=%" PRId64 " why=no_status",
                    j->msg_id, ch->ch.id);
            ic_outbox_push(ch->outbox, j->msg_id, j->contact_id, j->lane,
                           j->flags & IC_OUTBOX_NO_PAIR);
        }
        break;
    }
    ic_snd_job_free(s, j);
}

/* ---- preparing a picked message --------------------------------------------- */

typedef struct fetched {
    char status[16];
    char *type;
    char *to;
    char *reply_to;
    json_t *msg;
    int64_t ws;
} fetched;

static ic_err fetch_cb(void *arg, const ic_message *m)
{
    fetched *f = arg;
    ic_strlcpy(f->status, m->status ? m->status : "", sizeof f->status);
    f->type = ic_strdup(m->type);
    f->to = ic_strdup(m->to);
    f->reply_to = m->reply_to_wa_id && *m->reply_to_wa_id ? ic_strdup(m->reply_to_wa_id) : NULL;
    f->ws = m->workspace_id;
    if (m->content_json)
        f->msg = json_loads(m->content_json, JSON_REJECT_DUPLICATES, NULL);
    return IC_OK;
}

static void fetched_clear(fetched *f)
{
    ic_free(f->type);
    ic_free(f->to);
    ic_free(f->reply_to);
    json_decref(f->msg);
}

/* Whether contact's 24-hour window on ch is open now. The cache only ever
 * answers "open": the last inbound time only moves forward, so an open
 * window it remembers is still open until its 24 hours run out, while a
 * closed one may have been reopened and is read again. */
static ic_err window_open(ic_sender *s, snd_chan *ch, int64_t ws, int64_t contact, bool *open)
{
    int64_t now = ic_now_us();
    uint64_t v = 0;
    if (ic_idmap_get(&ch->window, contact, &v) && ic_window_is_open((int64_t)v, now)) {
        *open = true;
        return IC_OK;
    }
    int64_t last = 0;
    ic_err e = ic_store_last_inbound_us(s->conn, ws, ch->ch.id, contact, &last);
    if (e == IC_ERR_NOT_FOUND) {
        last = 0;
        e = IC_OK;
    }
    if (e != IC_OK)
        return e;
    if (ch->window.count >= WINDOW_CACHE_MAX)
        ic_idmap_clear(&ch->window);
    ic_idmap_put(&ch->window, contact, (uint64_t)last);
    *open = ic_window_is_open(last, now);
    return IC_OK;
}

static char *dump(const json_t *body)
{
    size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT);
    char *out = ic_malloc(n + 1);
    json_dumpb(body, out, n, JSON_COMPACT);
    out[n] = '\0';
    return out;
}

void ic_snd_prepare(ic_sender *s, snd_chan *ch, const ic_outbox_item *it, int64_t now)
{
    fetched f = {0};
    ic_wa_outbound ob = {0};
    ic_errmsg em = {{0}};
    snd_job *j = ic_snd_job_new(s, ch, it);
    bool resumed = it->part > 0;

    ic_err e = ic_store_outbox_get(s->conn, ch->ch.id, it->msg_id, fetch_cb, &f);
    if (e == IC_ERR_NOT_FOUND || (e == IC_OK && !resumed && strcmp(f.status, "queued") != 0)) {
        /* Erased, or settled elsewhere: nothing for us to send. */
        IC_INFO("sender_message_skipped", "msg=%" PRId64 " channel=%" PRId64 " status=%s",
                it->msg_id, ch->ch.id, e == IC_OK ? f.status : "missing");
        ic_outbox_done(ch->outbox, it->contact_id, now);
        ic_snd_job_free(s, j);
        goto out;
    }
    if (e != IC_OK) {
        IC_ERROR("sender_read_failed", "msg=%" PRId64 " channel=%" PRId64 " err=\"%s\"", it->msg_id,
                 ch->ch.id, ic_strerror(e));
        ic_outbox_retry(ch->outbox, it->contact_id, now + HOLD_US, it->part, false);
        ic_snd_job_free(s, j);
        goto out;
    }
    ic_mask_phone(f.to, j->to_masked, sizeof j->to_masked);
    if (!f.msg) {
        ic_snd_settle(s, j, "failed", NULL, 0, "the stored message is not valid JSON");
        goto out;
    }
    j->is_read = f.type && strcmp(f.type, "read") == 0;
    if (!j->is_read && !ic_wa_outbound_is_template(f.msg)) {
        bool open = false;
        e = window_open(s, ch, f.ws, it->contact_id, &open);
        if (e != IC_OK) {
            IC_ERROR("sender_read_failed", "msg=%" PRId64 " channel=%" PRId64 " err=\"%s\"",
                     it->msg_id, ch->ch.id, ic_strerror(e));
            ic_outbox_retry(ch->outbox, it->contact_id, now + HOLD_US, it->part, false);
            ic_snd_job_free(s, j);
            goto out;
        }
        if (!open) {
            atomic_fetch_add(&s->st_window, 1);
            ic_snd_settle(s, j, "failed", NULL, WINDOW_CLOSED_CODE, WINDOW_CLOSED_REASON);
            goto out;
        }
    }
    char biz[24];
    snprintf(biz, sizeof biz, "%" PRId64, it->msg_id);
    e = ic_wa_outbound_build(f.msg, f.to, biz, f.reply_to, &ob, &em);
    if (e != IC_OK || ob.count < 1 || ob.count > 2) {
        ic_snd_settle(s, j, "failed", NULL, 0,
                      em.msg[0] ? em.msg : "the message cannot be turned into a request");
        goto out;
    }
    for (size_t i = 0; i < ob.count; i++)
        j->bodies[i] = dump(ob.bodies[i]);
    j->nbodies = (int)ob.count;
    ch->pipeline++;
    if (resumed) {
        if (j->part >= j->nbodies) {
            ch->pipeline--;
            ic_snd_settle(s, j, "unknown", NULL, 0,
                          "the message changed while its parts were being sent");
            goto out;
        }
        /* Its "sending" mark is durable already. */
        ic_snd_fifo_push(&ch->ready[j->lane == IC_LANE_REPLY ? 0 : 1], j, false);
        goto out;
    }
    j->after = SND_AFTER_READY;
    j->mark_status = "sending";
    ic_snd_submit(s, j);
out:
    fetched_clear(&f);
    ic_wa_outbound_clear(&ob);
}
