/* sender.c - the sender's life: start (channels and their outboxes from the
 * store), its inputs from other threads (notify, channel_added, the writer's
 * done callbacks), the thread's loop, and stop. Preparing messages and
 * recording outcomes is in sender_msg.c; the requests in sender_http.c. */
#include "wa/sender_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/crypto.h"
#include "base/time.h"
#include "store/bus.h"

#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_GRAPH_URL "https://graph.facebook.com/v21.0"
#define NOTES_MAX 2000000          /* notifications waiting for the thread */
#define BUSY_WAKE_US 5000          /* writer queue full: try again after */
#define PREPARES_PER_ROUND 256     /* picks per channel per loop turn */
#define IDLE_WAKE_US 1000000       /* housekeeping wake when nothing is due */
#define ABANDON_WRITES_US 30000000 /* stop: give up on a writer that refuses */

/* ---- options ---------------------------------------------------------------- */

static void env_i64(const char *name, int64_t lo, int64_t hi, int64_t scale, int64_t *out)
{
    const char *v = getenv(name);
    int64_t x = 0;
    if (!v || !*v)
        return;
    if (ic_parse_i64(v, &x) != IC_OK || x < lo || x > hi) {
        IC_WARN("sender_option_ignored", "name=%s", name);
        return;
    }
    *out = x * scale;
}

/* "host:pid:random": unique per process, so a restarted node never takes
 * its old leases for its own before they expire. */
static void node_id_make(char *out, size_t size)
{
    char host[64] = "node";
    if (gethostname(host, sizeof host) != 0)
        ic_strlcpy(host, "node", sizeof host);
    host[sizeof host - 1] = '\0';
    char rnd[9];
    ic_random_hex(rnd, 4);
    snprintf(out, size, "%s:%ld:%s", host, (long)getpid(), rnd);
}

void ic_sender_options_default(ic_sender_options *o)
{
    ic_pace_config pc;
    ic_pace_config_default(&pc);
    memset(o, 0, sizeof *o);
    o->max_conns = 64;
    o->connect_timeout_ms = 10000;
    o->request_timeout_ms = 30000;
    o->max_attempts = 10;
    o->stop_grace_ms = 10000;
    o->outbox_cap = 500000;
    o->window_margin_us = pc.window_margin_us;
    o->pair_burst = pc.pair_burst;
    o->pair_interval_us = pc.pair_interval_us;
    o->retry_base_us = pc.retry_base_us;
    int64_t v = o->max_conns;
    env_i64("IC_SENDER_MAX_CONNS", 1, 1024, 1, &v);
    o->max_conns = (int)v;
    env_i64("IC_SENDER_MARGIN_MS", 0, 500, 1000, &o->window_margin_us);
    v = o->pair_burst;
    env_i64("IC_SENDER_PAIR_BURST", 1, 45, 1, &v);
    o->pair_burst = (int)v;
    env_i64("IC_SENDER_PAIR_INTERVAL_MS", 1, 3600000, 1000, &o->pair_interval_us);
    env_i64("IC_SENDER_RETRY_BASE_MS", 1, 3600000, 1000, &o->retry_base_us);
    o->lease_ttl_us = 10 * (int64_t)1000000;
    env_i64("IC_SENDER_LEASE_MS", 500, 600000, 1000, &o->lease_ttl_us);
    o->reconcile_after_us = 600 * (int64_t)1000000;
    env_i64("IC_SENDER_RECONCILE_MS", 0, 7 * 86400000LL, 1000, &o->reconcile_after_us);
    v = 2;
    env_i64("IC_SENDER_MAX_RESENDS", 0, 100, 1, &v);
    o->max_resends = (int)v;
    node_id_make(o->node_id, sizeof o->node_id);
}

/* ---- channels ------------------------------------------------------------------ */

static snd_chan *chan_find(ic_sender *s, int64_t id)
{
    for (size_t i = 0; i < s->nchans; i++)
        if (s->chans[i]->ch.id == id)
            return s->chans[i];
    return NULL;
}

static void bury(ic_sender *s, char *url, struct curl_slist *headers)
{
    if (s->ndead == s->dead_cap) {
        s->dead_cap = s->dead_cap ? s->dead_cap * 2 : 8;
        s->dead_urls = ic_realloc(s->dead_urls, s->dead_cap * sizeof *s->dead_urls);
        s->dead_headers = ic_realloc(s->dead_headers, s->dead_cap * sizeof *s->dead_headers);
    }
    s->dead_urls[s->ndead] = url;
    s->dead_headers[s->ndead++] = headers;
}

/* Sets the request URL and headers of c from its channel copy. */
static void chan_endpoints(ic_sender *s, snd_chan *c)
{
    const char *base = c->ch.graph_url && *c->ch.graph_url ? c->ch.graph_url : s->default_url;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b, "%.*s/%s/messages", (int)blen, base,
                  c->ch.phone_number_id ? c->ch.phone_number_id : "");
    c->url = ic_buf_steal(&b);
    ic_buf_printf(&b, "Authorization: Bearer %s", c->ch.access_token ? c->ch.access_token : "");
    c->headers = curl_slist_append(NULL, ic_buf_cstr(&b));
    c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    /* the token is a secret: do not leave it in freed memory */
    memset(b.data, 0, b.len);
    ic_buf_free(&b);
}

static int chan_rate(const ic_channel *ch)
{
    return ch->throughput_mps > 0 ? ch->throughput_mps : 80;
}

static void chan_set_rate(ic_sender *s, snd_chan *c)
{
    ic_pacer_free(&c->pacer);
    ic_pacer_init(&c->pacer, chan_rate(&c->ch), &s->pace);
    c->pipeline_cap = (size_t)(c->pacer.rate / 20);
    if (c->pipeline_cap < 4)
        c->pipeline_cap = 4;
}

typedef struct load_ctx {
    snd_chan *ch;
    size_t n;
} load_ctx;

static ic_err load_cb(void *arg, const ic_message *m)
{
    load_ctx *x = arg;
    unsigned flags = m->type && strcmp(m->type, "read") == 0 ? IC_OUTBOX_NO_PAIR : 0;
    ic_err e = ic_outbox_push(x->ch->outbox, m->id, m->contact_id, m->lane, flags);
    if (e == IC_ERR_BUSY)
        return e;
    if (e == IC_OK)
        x->n++;
    return IC_OK;
}

/* Loads ch's queued messages from the store (oldest first). On overflow the
 * rest stays in the database and is loaded once memory has drained. */
static void chan_load(snd_chan *ch, ic_conn *conn)
{
    load_ctx x = {ch, 0};
    ch->must_reload = false;
    ic_err e = ic_store_outbox_load(conn, ch->ch.id, load_cb, &x);
    if (e == IC_ERR_BUSY) {
        ch->must_reload = true;
        IC_WARN("sender_outbox_full", "channel=%" PRId64 " held=%zu", ch->ch.id,
                ic_outbox_count(ch->outbox));
    } else if (e != IC_OK) {
        ch->must_reload = true; /* tried again once the channel is idle */
        IC_ERROR("sender_outbox_load_failed", "channel=%" PRId64 " err=\"%s\"", ch->ch.id,
                 ic_strerror(e));
    }
    IC_INFO("sender_outbox_loaded", "channel=%" PRId64 " messages=%zu", ch->ch.id, x.n);
}

/* Adds channel src (copied), or updates the one with its id. A new channel
 * is not held: its lease is taken at the next turn, and its outbox loaded
 * then. */
static snd_chan *chan_add(ic_sender *s, const ic_channel *src)
{
    snd_chan *c = chan_find(s, src->id);
    if (c) {
        int old_rate = chan_rate(&c->ch);
        bury(s, c->url, c->headers);
        ic_channel_clear(&c->ch);
        ic_channel_copy(&c->ch, src);
        chan_endpoints(s, c);
        if (chan_rate(&c->ch) != old_rate)
            chan_set_rate(s, c);
        IC_INFO("sender_channel_updated", "channel=%" PRId64, c->ch.id);
        return c;
    }
    c = ic_calloc(1, sizeof *c);
    ic_channel_copy(&c->ch, src);
    chan_endpoints(s, c);
    chan_set_rate(s, c);
    c->outbox = ic_outbox_new(&s->pace, s->opt.outbox_cap);
    s->chans = ic_realloc(s->chans, (s->nchans + 1) * sizeof *s->chans);
    s->chans[s->nchans++] = c;
    IC_INFO("sender_channel_added", "channel=%" PRId64 " mps=%d", c->ch.id, c->pacer.rate);
    return c;
}

static void chan_free(snd_chan *c)
{
    if (!c)
        return;
    ic_channel_clear(&c->ch);
    ic_free(c->url);
    curl_slist_free_all(c->headers);
    ic_pacer_free(&c->pacer);
    ic_outbox_free(c->outbox);
    ic_idmap_clear(&c->window);
    ic_free(c);
}

/* ---- the thread ------------------------------------------------------------------ */

static void take_note(ic_sender *s, const snd_note *n)
{
    snd_chan *ch = chan_find(s, n->channel_id);
    if (!ch) {
        ic_channel c = {0};
        if (ic_store_channel_get(s->conn, n->ws, n->channel_id, &c) == IC_OK)
            ch = chan_add(s, &c); /* its outbox is loaded once its lease is held */
        ic_channel_clear(&c);
        if (!ch) {
            IC_WARN("sender_unknown_channel", "channel=%" PRId64 " msg=%" PRId64, n->channel_id,
                    n->id);
            return;
        }
    }
    if (!ch->held)
        return; /* another node sends for it, or the load will see it */
    if (ch->must_reload) {
        atomic_fetch_add(&s->st_overflowed, 1);
        return; /* stays queued in the database: reloaded after draining */
    }
    ic_err e = ic_outbox_push(ch->outbox, n->id, n->contact_id, (ic_lane)n->lane, n->flags);
    if (e == IC_ERR_BUSY) {
        ch->must_reload = true;
        atomic_fetch_add(&s->st_overflowed, 1);
        IC_WARN("sender_outbox_full", "channel=%" PRId64 " held=%zu", ch->ch.id,
                ic_outbox_count(ch->outbox));
    } else if (e != IC_OK && e != IC_ERR_EXISTS) {
        IC_WARN("sender_note_ignored", "channel=%" PRId64 " msg=%" PRId64 " err=\"%s\"", ch->ch.id,
                n->id, ic_strerror(e));
    }
}

static void fill(ic_sender *s, snd_chan *ch, int64_t now)
{
    if (!ic_snd_lease_ok(ch, now)) {
        if (!ch->held && ch->outstanding == 0 && ic_outbox_count(ch->outbox) > 0) {
            ic_outbox_free(ch->outbox); /* another node sends for it now */
            ch->outbox = ic_outbox_new(&s->pace, s->opt.outbox_cap);
        }
        return;
    }
    if (ch->pacer.paused_until > now)
        return;
    if (ch->must_reload && ic_outbox_count(ch->outbox) == 0 && ch->outstanding == 0)
        chan_load(ch, s->conn); /* nothing of this channel is in flight: safe */
    ic_outbox_item it;
    for (int i = 0; i < PREPARES_PER_ROUND && ch->pipeline < ch->pipeline_cap; i++) {
        if (!ic_outbox_pick(ch->outbox, now, &it))
            break;
        ic_snd_prepare(s, ch, &it, now);
    }
}

/* Issues the channel's ready jobs as the pacer and the in-flight cap allow.
 * A job that may no longer go (the lease is not, or no longer surely, ours,
 * or it was marked under an older epoch) is dropped instead: its row stays
 * "sending", and whoever holds the lease queues it again once it is stale. */
static void issue_ready(ic_sender *s, snd_chan *ch)
{
    size_t dropped = 0;
    while (s->in_flight < (size_t)s->opt.max_conns) {
        snd_fifo *q = ch->ready[0].head ? &ch->ready[0] : &ch->ready[1];
        if (!q->head)
            break;
        int64_t now = ic_mono_us(); /* the pacer counts the real issue time */
        bool sendable = ic_snd_lease_ok(ch, now) && q->head->epoch == ch->epoch;
        if (sendable && ic_pacer_next_us(&ch->pacer, now) > now)
            break;
        snd_job *j = ic_snd_fifo_pop(q);
        ch->pipeline--;
        if (sendable) {
            ic_snd_http_issue(s, j, now);
            continue;
        }
        ic_outbox_done(ch->outbox, j->contact_id, now);
        ic_snd_job_free(s, j);
        dropped++;
    }
    if (dropped)
        IC_WARN("sender_ready_dropped", "channel=%" PRId64 " messages=%zu", ch->ch.id, dropped);
}

/* Stop: what was picked but never left goes back to "queued". */
static void unpick_ready(ic_sender *s, snd_chan *ch, int64_t now)
{
    for (int lane = 0; lane < 2; lane++) {
        snd_job *j;
        while ((j = ic_snd_fifo_pop(&ch->ready[lane])) != NULL) {
            ch->pipeline--;
            if (j->part > 0)
                ic_snd_settle(s, j, "unknown", NULL, 0,
                              "the sender stopped after the first of the message's two parts");
            else
                ic_snd_retry(s, j, now, false);
        }
    }
}

static int64_t next_wake(ic_sender *s, int64_t now, bool draining, int64_t grace_end)
{
    int64_t next = now + IDLE_WAKE_US;
    if (s->busy.head && now + BUSY_WAKE_US < next)
        next = now + BUSY_WAKE_US;
    if (draining) {
        if (s->in_flight > 0 && grace_end < next)
            next = grace_end;
        return next;
    }
    int64_t lease_at = ic_snd_leases_next_us(s, now);
    if (lease_at < next)
        next = lease_at;
    for (size_t i = 0; i < s->nchans; i++) {
        snd_chan *ch = s->chans[i];
        if ((ch->ready[0].head || ch->ready[1].head) && s->in_flight < (size_t)s->opt.max_conns) {
            int64_t t = ic_pacer_next_us(&ch->pacer, now);
            if (t < next)
                next = t;
        }
        if (ch->pipeline < ch->pipeline_cap && ic_snd_lease_ok(ch, now)) {
            int64_t t = ic_outbox_next_us(ch->outbox, now);
            if (t != INT64_MAX && t < ch->pacer.paused_until)
                t = ch->pacer.paused_until;
            if (t < next)
                next = t;
        }
    }
    return next;
}

static void *sender_main(void *arg)
{
    ic_sender *s = arg;
    pthread_setname_np(pthread_self(), "ic-sender"); /* shows in top -H and /proc */
    bool draining = false;
    int64_t grace_end = 0, abandon_at = 0;
    snd_note *notes = NULL;
    size_t nnotes = 0, notes_cap = 0;
    s->conn = ic_db_thread_conn(s->db);
    for (;;) {
        int64_t now = ic_mono_us();
        pthread_mutex_lock(&s->mu);
        /* swap the notes array with our spare one */
        snd_note *tmp = s->notes;
        size_t tmp_cap = s->notes_cap;
        s->notes = notes;
        s->notes_cap = notes_cap;
        notes = tmp;
        notes_cap = tmp_cap;
        nnotes = s->nnotes;
        s->nnotes = 0;
        bool overflowed = s->notes_overflowed;
        s->notes_overflowed = false;
        ic_channel *added = s->added;
        size_t nadded = s->nadded;
        s->added = NULL;
        s->nadded = s->added_cap = 0;
        snd_job *written = s->written.head;
        s->written.head = s->written.tail = NULL;
        snd_lease_job *leases = s->leases_done;
        s->leases_done = NULL;
        bool resync = s->resync;
        s->resync = false;
        bool stopping = atomic_load(&s->stopping);
        pthread_mutex_unlock(&s->mu);

        for (size_t i = 0; i < nadded; i++) {
            chan_add(s, &added[i]);
            ic_channel_clear(&added[i]);
        }
        ic_free(added);
        while (written) {
            snd_job *next = written->next;
            ic_snd_written(s, written, now);
            written = next;
        }
        while (leases) {
            snd_lease_job *next = leases->next;
            ic_snd_lease_written(s, leases, now);
            leases = next;
        }
        if (resync)
            overflowed = true; /* notes may be lost: reload what we hold */
        if (stopping && !draining) {
            draining = true;
            grace_end = now + (int64_t)s->opt.stop_grace_ms * 1000;
            abandon_at = grace_end + ABANDON_WRITES_US;
            IC_INFO("sender_stopping", "in_flight=%zu jobs=%zu", s->in_flight, s->jobs_alive);
        }
        if (!draining) {
            for (size_t i = 0; i < nnotes; i++)
                take_note(s, &notes[i]);
            if (overflowed)
                for (size_t i = 0; i < s->nchans; i++)
                    s->chans[i]->must_reload = true;
        }
        if (!draining)
            ic_snd_leases_tick(s, now);
        ic_snd_submit_busy(s);
        uint64_t queued = 0;
        for (size_t i = 0; i < s->nchans; i++) {
            snd_chan *ch = s->chans[i];
            if (draining) {
                unpick_ready(s, ch, now);
            } else {
                fill(s, ch, now);
                issue_ready(s, ch);
            }
            queued += ic_outbox_count(ch->outbox);
        }
        atomic_store(&s->st_queued, queued);
        ic_snd_http_reap(s, ic_mono_us());
        if (draining) {
            now = ic_mono_us();
            if (s->in_flight > 0 && now >= grace_end)
                ic_snd_http_abort_all(s);
            if (s->jobs_alive == 0 && s->leases_pending == 0)
                break;
            if (now >= abandon_at && s->busy.head && s->in_flight == 0) {
                /* The writer has refused for long: leave these rows as they
                 * are ("sending" becomes "unknown" at the next start). */
                IC_ERROR("sender_writes_abandoned", "jobs=%zu", s->jobs_alive);
                snd_job *j;
                while ((j = ic_snd_fifo_pop(&s->busy)) != NULL)
                    ic_snd_job_free(s, j);
                if (s->jobs_alive == 0 && s->leases_pending == 0)
                    break;
            }
        }
        now = ic_mono_us();
        int64_t next = next_wake(s, now, draining, grace_end);
        int timeout_ms = next <= now ? 0 : (int)((next - now + 999) / 1000);
        curl_multi_poll(s->multi, NULL, 0, timeout_ms, NULL);
    }
    ic_free(notes);
    ic_snd_leases_release(s); /* another node may take over at once */
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        atomic_store(&s->st_cpu_final,
                     (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    atomic_store(&s->running, false);
    return NULL;
}

/* ---- the interface ---------------------------------------------------------------- */

static void sender_free(ic_sender *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nchans; i++)
        chan_free(s->chans[i]);
    ic_free(s->chans);
    ic_snd_http_free(s);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    for (size_t i = 0; i < s->ndead; i++) {
        ic_free(s->dead_urls[i]);
        curl_slist_free_all(s->dead_headers[i]);
    }
    ic_free(s->dead_urls);
    ic_free(s->dead_headers);
    for (size_t i = 0; i < s->nadded; i++)
        ic_channel_clear(&s->added[i]);
    ic_free(s->added);
    ic_free(s->notes);
    ic_free(s->default_url);
    pthread_mutex_destroy(&s->mu);
    ic_free(s);
}

ic_err ic_sender_start(ic_db *db, ic_writer *w, const char *default_graph_url, ic_sender **out,
                       ic_errmsg *em)
{
    return ic_sender_start_opts(db, w, default_graph_url, NULL, out, em);
}

ic_err ic_sender_start_opts(ic_db *db, ic_writer *w, const char *default_graph_url,
                            const ic_sender_options *opts, ic_sender **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_channel *chs = NULL;
    size_t n = 0;
    bool curl_ready = false;
    ic_sender *s = NULL;
    *out = NULL;
    if (!db || !w) {
        err = ic_errf(em, IC_ERR_INVALID, "the sender needs a database and a writer");
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err = ic_errf(em, IC_ERR_INTERNAL, "libcurl could not be initialised");
        goto out;
    }
    curl_ready = true;
    s = ic_calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->db = db;
    s->writer = w;
    s->default_url =
        ic_strdup(default_graph_url && *default_graph_url ? default_graph_url : DEFAULT_GRAPH_URL);
    if (opts)
        s->opt = *opts;
    else
        ic_sender_options_default(&s->opt);
    if (s->opt.max_conns < 1)
        s->opt.max_conns = 1;
    if (s->opt.max_attempts < 0)
        s->opt.max_attempts = 0;
    ic_pace_config_default(&s->pace);
    s->pace.window_margin_us = s->opt.window_margin_us;
    if (s->opt.pair_burst >= 1)
        s->pace.pair_burst = s->opt.pair_burst;
    if (s->opt.pair_interval_us > 0)
        s->pace.pair_interval_us = s->opt.pair_interval_us;
    if (s->opt.retry_base_us > 0)
        s->pace.retry_base_us = s->opt.retry_base_us;
    s->rng = (uint32_t)ic_now_us() | 1u;
    s->multi = curl_multi_init();
    if (!s->multi) {
        err = ic_errf(em, IC_ERR_INTERNAL, "libcurl could not make a multi handle");
        goto out;
    }
    if ((err = ic_snd_http_init(s, em)) != IC_OK)
        goto out;
    s->pool = ic_calloc((size_t)s->opt.max_conns, sizeof *s->pool);

    ic_conn *conn = ic_db_thread_conn(db);
    err = ic_store_channels_all(conn, &chs, &n);
    if (err != IC_OK) {
        ic_errf(em, err, "cannot read the channels: %s", ic_strerror(err));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        chan_add(s, &chs[i]);
    s->force_lease = !ic_db_is_postgres(db);
    atomic_store(&s->running, true);
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        atomic_store(&s->running, false);
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the sender thread");
        goto out;
    }
    s->started = true;
    IC_INFO("sender_started", "channels=%zu max_conns=%d", s->nchans, s->opt.max_conns);
out:
    for (size_t i = 0; i < n; i++)
        ic_channel_clear(&chs[i]);
    ic_free(chs);
    if (err != IC_OK) {
        sender_free(s);
        if (curl_ready)
            curl_global_cleanup();
        s = NULL;
    }
    *out = s;
    return err;
}

/* Queues note n for the thread and wakes it. Thread-safe. */
static void notes_append(ic_sender *s, const snd_note *n)
{
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->stopping)) {
        bool was_empty = s->nnotes == 0 && !s->notes_overflowed;
        if (s->nnotes >= NOTES_MAX) {
            s->notes_overflowed = true;
        } else {
            if (s->nnotes == s->notes_cap) {
                s->notes_cap = s->notes_cap ? s->notes_cap * 2 : 256;
                s->notes = ic_realloc(s->notes, s->notes_cap * sizeof *s->notes);
            }
            s->notes[s->nnotes++] = *n;
        }
        if (was_empty)
            curl_multi_wakeup(s->multi);
    }
    pthread_mutex_unlock(&s->mu);
}

void ic_sender_notify(ic_sender *s, const ic_message *m)
{
    if (!s || !m || m->direction != IC_DIR_OUT || m->id <= 0)
        return;
    snd_note n = {
        .id = m->id,
        .ws = m->workspace_id,
        .channel_id = m->channel_id,
        .contact_id = m->contact_id,
        .lane = (uint8_t)(m->lane == IC_LANE_BULK ? IC_LANE_BULK : IC_LANE_REPLY),
        .flags = (uint8_t)(m->type && strcmp(m->type, "read") == 0 ? IC_OUTBOX_NO_PAIR : 0),
    };
    notes_append(s, &n);
}

/* Bus thread: a message queued on some node (this one too), or NULL when
 * notes may have been missed. */
static void bus_note(void *arg, const char *topic, const char *payload)
{
    ic_sender *s = arg;
    (void)topic;
    if (!payload) {
        pthread_mutex_lock(&s->mu);
        s->resync = true;
        curl_multi_wakeup(s->multi);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    ic_outbox_note on;
    if (ic_outbox_note_parse(payload, &on) != IC_OK) {
        IC_WARN("sender_bad_note", NULL);
        return;
    }
    snd_note n = {
        .id = on.msg_id,
        .ws = on.workspace_id,
        .channel_id = on.channel_id,
        .contact_id = on.contact_id,
        .lane = (uint8_t)on.lane,
        .flags = (uint8_t)(on.flags & IC_OUTBOX_NOTE_READ ? IC_OUTBOX_NO_PAIR : 0),
    };
    notes_append(s, &n);
}

void ic_sender_use_bus(ic_sender *s, struct ic_bus *bus)
{
    if (!s || !bus)
        return;
    if (ic_bus_subscribe(bus, IC_OUTBOX_TOPIC, bus_note, s) != IC_OK)
        IC_ERROR("sender_bus_subscribe_failed", NULL);
}

void ic_sender_channel_added(ic_sender *s, const ic_channel *ch)
{
    if (!s || !ch)
        return;
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->stopping)) {
        if (s->nadded == s->added_cap) {
            s->added_cap = s->added_cap ? s->added_cap * 2 : 4;
            s->added = ic_realloc(s->added, s->added_cap * sizeof *s->added);
        }
        ic_channel_copy(&s->added[s->nadded++], ch);
        curl_multi_wakeup(s->multi);
    }
    pthread_mutex_unlock(&s->mu);
}

void ic_sender_stats(ic_sender *s, struct ic_sender_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->sent = atomic_load(&s->st_sent);
    out->retried = atomic_load(&s->st_retried);
    out->failed = atomic_load(&s->st_failed);
    out->unknown = atomic_load(&s->st_unknown);
    out->requests = atomic_load(&s->st_requests);
    out->throttled_130429 = atomic_load(&s->st_throttled);
    out->pair_limited = atomic_load(&s->st_pair);
    out->window_closed = atomic_load(&s->st_window);
    out->overflowed = atomic_load(&s->st_overflowed);
    out->in_flight = atomic_load(&s->st_in_flight);
    out->queued = atomic_load(&s->st_queued);
    out->leases_held = atomic_load(&s->st_leases_held);
    out->leases_taken = atomic_load(&s->st_leases_taken);
    out->leases_lost = atomic_load(&s->st_leases_lost);
    out->resent = atomic_load(&s->st_resent);
    clockid_t cid;
    struct timespec ts;
    if (s->started && pthread_getcpuclockid(s->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
        out->cpu_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void ic_sender_stop(ic_sender *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stopping, true);
        curl_multi_wakeup(s->multi);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    struct ic_sender_stats st;
    ic_sender_stats(s, &st);
    IC_INFO("sender_stopped",
            "sent=%llu failed=%llu unknown=%llu retried=%llu requests=%llu cpu_ms=%llu",
            (unsigned long long)st.sent, (unsigned long long)st.failed,
            (unsigned long long)st.unknown, (unsigned long long)st.retried,
            (unsigned long long)st.requests, (unsigned long long)(st.cpu_us / 1000));
    sender_free(s);
    curl_global_cleanup();
}
