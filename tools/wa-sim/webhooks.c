/* webhooks.c - signed webhook delivery: one thread owns a curl multi handle
 * (keep-alive, several connections at once). Statuses wait in a heap until
 * due, then go out in batches of up to 1000 per number; a delivery that does
 * not get HTTP 200 is retried with exponential backoff, a bounded number of
 * times. Inbound messages (/sim/people) are delivered at once and their first
 * outcome is reported to the caller.
 */
#include "sim.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define MAX_PENDING_STATUSES 1000000
#define MAX_RETRY_JOBS 20000
#define MAX_RETRY_BYTES (256u * 1024u * 1024u) /* bodies kept for retries */
#define RESP_MAX 4096

typedef struct hnode {
    int64_t due;
    uint64_t seq;
    void *p;
} hnode;

typedef struct heap {
    hnode *a;
    size_t n, cap;
} heap;

/* A status waiting to be sent; the strings follow the struct. */
typedef struct st_item {
    const char *pnid, *wamid, *recipient, *biz;
    const char *category, *pricing_type; /* static strings */
    ic_sim_st status;
    int fail_code;
    bool billable, to_group;
    char data[];
} st_item;

typedef struct job {
    struct job *next;
    struct job *rprev, *rnext; /* the running list */
    char url[1024];
    char *body;
    size_t len;
    struct curl_slist *hdrs;
    CURL *easy;
    int attempts;
    bool retry;
    size_t n_statuses;
    ic_sim_sync_cb cb; /* called once, after the first attempt */
    void *arg;
    char resp[RESP_MAX];
    size_t resp_len;
} job;

struct ic_sim_webhooks {
    ic_sim *sim;
    pthread_t thread;
    pthread_mutex_t mu;
    CURLM *multi;
    bool stop;
    heap statuses; /* st_item*, by due time then order of creation */
    heap retries;  /* job*, by due time */
    job *incoming; /* synchronous jobs to start now (LIFO is fine: each is separate) */
    job *running;  /* transfers in the multi handle (webhook thread only) */
    size_t inflight;
    size_t retry_bytes; /* bodies waiting in retries */
    int64_t next_wake;
    uint64_t seq;
};

static bool hless(const hnode *x, const hnode *y)
{
    return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_push(heap *h, hnode node)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->a = ic_realloc(h->a, h->cap * sizeof *h->a);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&node, &h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = node;
}

static hnode heap_pop(heap *h)
{
    hnode top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && hless(&h->a[c + 1], &h->a[c]))
            c++;
        if (!hless(&h->a[c], &last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n)
        h->a[i] = last;
    return top;
}

/* ---- scheduling statuses ---------------------------------------------------- */

static char *put(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *at = *cursor;
    memcpy(at, s, n);
    *cursor += n;
    return at;
}

void ic_sim_webhooks_statuses(ic_sim *s, const ic_sim_status_spec *sp)
{
    ic_sim_webhooks *w = s->wh;
    if (!w)
        return;
    int64_t d = (int64_t)s->cfg.status_delay_ms * 1000;
    int64_t now = ic_mono_us();
    ic_sim_st steps[3];
    size_t n = 0;
    if (sp->fail_code) {
        steps[n++] = IC_SIM_ST_FAILED;
    } else {
        steps[n++] = IC_SIM_ST_SENT;
        if (!sp->only_sent)
            steps[n++] = IC_SIM_ST_DELIVERED;
        if (!sp->only_sent && s->cfg.read)
            steps[n++] = IC_SIM_ST_READ;
    }
    size_t len = strlen(sp->pnid) + strlen(sp->wamid) + strlen(sp->recipient) +
                 (sp->biz_opaque ? strlen(sp->biz_opaque) : 0) + 4;
    bool wake = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        if (w->stop || w->statuses.n >= MAX_PENDING_STATUSES) {
            s->stats.statuses_dropped++;
            continue;
        }
        st_item *it = ic_malloc(sizeof *it + len);
        char *cur = it->data;
        it->pnid = put(&cur, sp->pnid);
        it->wamid = put(&cur, sp->wamid);
        it->recipient = put(&cur, sp->recipient);
        it->biz = put(&cur, sp->biz_opaque);
        it->category = sp->category;
        it->pricing_type = sp->pricing_type;
        it->status = steps[i];
        it->fail_code = sp->fail_code;
        it->billable = sp->billable;
        it->to_group = sp->to_group;
        hnode node = {now + d * (int64_t)(i + 1), ++w->seq, it};
        heap_push(&w->statuses, node);
        if (node.due < w->next_wake)
            wake = true;
    }
    pthread_mutex_unlock(&w->mu);
    if (wake)
        curl_multi_wakeup(w->multi);
}

/* ---- building and sending ------------------------------------------------------ */

static const char *st_name(ic_sim_st st)
{
    switch (st) {
    case IC_SIM_ST_SENT:
        return "sent";
    case IC_SIM_ST_DELIVERED:
        return "delivered";
    case IC_SIM_ST_READ:
        return "read";
    case IC_SIM_ST_FAILED:
        return "failed";
    default:
        return "accepted";
    }
}

static json_t *status_json(const st_item *it, const char *ts)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", it->wamid, "status", st_name(it->status),
                          "timestamp", ts, "recipient_id", it->recipient);
    if (it->to_group)
        json_object_set_new(o, "recipient_type", json_string("group"));
    if (it->biz)
        json_object_set_new(o, "biz_opaque_callback_data", json_string(it->biz));
    if (it->status == IC_SIM_ST_SENT || it->status == IC_SIM_ST_DELIVERED)
        json_object_set_new(o, "pricing",
                            json_pack("{s:b, s:s, s:s, s:s}", "billable", it->billable,
                                      "pricing_model", "PMP", "type", it->pricing_type, "category",
                                      it->category));
    if (it->status == IC_SIM_ST_FAILED)
        json_object_set_new(o, "errors",
                            json_pack("[o]", ic_sim_meta_error_item(it->fail_code, NULL)));
    return o;
}

static size_t on_resp(char *ptr, size_t size, size_t nmemb, void *arg)
{
    job *j = arg;
    size_t n = size * nmemb;
    size_t room = RESP_MAX - 1 - j->resp_len;
    size_t k = n < room ? n : room;
    memcpy(j->resp + j->resp_len, ptr, k);
    j->resp_len += k;
    j->resp[j->resp_len] = '\0';
    return n;
}

/* Creates a job for body (stolen) with the signature header per sig_mode. */
static job *job_new(const ic_sim_target *t, char *body, size_t len, const char *sig_mode)
{
    job *j = ic_calloc(1, sizeof *j);
    ic_strlcpy(j->url, t->webhook_url, sizeof j->url);
    j->body = body;
    j->len = len;
    j->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    j->hdrs = curl_slist_append(j->hdrs, "Expect:");
    if (!ic_str_eq(sig_mode, "none")) {
        char hex[65], hdr[128];
        if (ic_str_eq(sig_mode, "bad"))
            ic_hmac_sha256_hex("not-the-app-secret", 18, body, len, hex);
        else
            ic_hmac_sha256_hex(t->secret, strlen(t->secret), body, len, hex);
        snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: sha256=%s", hex);
        j->hdrs = curl_slist_append(j->hdrs, hdr);
    }
    return j;
}

static void job_free(job *j)
{
    if (!j)
        return;
    curl_slist_free_all(j->hdrs);
    ic_free(j->body);
    ic_free(j);
}

static void job_start(ic_sim_webhooks *w, job *j)
{
    j->easy = curl_easy_init();
    j->resp_len = 0;
    j->resp[0] = '\0';
    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_resp);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "facebookexternalua");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->sim->cfg.webhook_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    j->attempts++;
    w->inflight++;
    j->rprev = NULL;
    j->rnext = w->running;
    if (w->running)
        w->running->rprev = j;
    w->running = j;
    curl_multi_add_handle(w->multi, e);
}

/* Builds one webhook per number from the popped items and starts them. */
static void send_batch(ic_sim_webhooks *w, st_item **items, size_t n)
{
    ic_sim *s = w->sim;
    bool *done = ic_calloc(n, sizeof *done);
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)ic_sim_now_s(s));
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++)
        ic_sim_people_status(s->people, items[i]->recipient, items[i]->wamid, items[i]->status,
                             items[i]->fail_code);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        ic_sim_target t;
        json_t *arr = json_array();
        size_t count = 0;
        for (size_t k = i; k < n; k++) {
            if (done[k] || strcmp(items[k]->pnid, items[i]->pnid) != 0)
                continue;
            done[k] = true;
            json_array_append_new(arr, status_json(items[k], ts));
            count++;
        }
        if (ic_sim_target_get(s, items[i]->pnid, &t) != IC_OK || !t.webhook_url[0]) {
            pthread_mutex_lock(&s->mu);
            s->stats.statuses_dropped += count;
            pthread_mutex_unlock(&s->mu);
            json_decref(arr);
            continue;
        }
        json_t *doc = json_pack("{s:s, s:[{s:s, s:[{s:{s:s, s:{s:s, s:s}, s:o}, s:s}]}]}", "object",
                                "whatsapp_business_account", "entry", "id", t.waba_id, "changes",
                                "value", "messaging_product", "whatsapp", "metadata",
                                "display_phone_number", t.display_phone, "phone_number_id", t.pnid,
                                "statuses", arr, "field", "messages");
        size_t len = 0;
        char *body = ic_sim_dumps(doc, &len);
        json_decref(doc);
        if (!body)
            continue;
        job *j = job_new(&t, body, len, "good");
        j->retry = true;
        j->n_statuses = count;
        job_start(w, j);
    }
    ic_free(done);
}

static int64_t backoff_us(int attempts)
{
    int64_t s = 1;
    for (int i = 1; i < attempts && s < 60; i++)
        s *= 2;
    return (s > 60 ? 60 : s) * 1000000;
}

static void job_done(ic_sim_webhooks *w, job *j, CURLcode rc)
{
    long code = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(w->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    w->inflight--;
    if (j->rprev)
        j->rprev->rnext = j->rnext;
    else
        w->running = j->rnext;
    if (j->rnext)
        j->rnext->rprev = j->rprev;
    bool ok = code == 200;
    if (j->cb) {
        j->cb(j->arg, code, j->resp, j->resp_len);
        j->cb = NULL;
    }
    bool again = !ok && j->retry && j->attempts <= w->sim->cfg.webhook_retries;
    if (!ok)
        IC_DEBUG("wasim_webhook_failed", "http=%ld curl=%d attempt=%d retry=%d", code, (int)rc,
                 j->attempts, again);
    pthread_mutex_lock(&w->mu);
    if (again && (w->retries.n >= MAX_RETRY_JOBS || w->retry_bytes + j->len > MAX_RETRY_BYTES))
        again = false;
    if (again) {
        w->retry_bytes += j->len;
        hnode node = {ic_mono_us() + backoff_us(j->attempts), ++w->seq, j};
        heap_push(&w->retries, node);
    }
    pthread_mutex_unlock(&w->mu);
    ic_sim_stats_webhook(w->sim, ok, !ok && !again, j->n_statuses);
    if (!again)
        job_free(j);
}

static void *webhook_main(void *arg)
{
    ic_sim_webhooks *w = arg;
    size_t cap =
        (size_t)(w->sim->cfg.webhook_concurrency > 0 ? w->sim->cfg.webhook_concurrency : 8);
    st_item **items = ic_malloc(IC_SIM_BATCH_MAX * sizeof *items);
    for (;;) {
        job *start = NULL;
        int64_t now = ic_mono_us();
        pthread_mutex_lock(&w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        start = w->incoming;
        w->incoming = NULL;
        pthread_mutex_unlock(&w->mu);
        for (job *j = start; j;) {
            job *next = j->next;
            job_start(w, j);
            j = next;
        }
        for (;;) {
            size_t n = 0;
            job *rj = NULL;
            pthread_mutex_lock(&w->mu);
            if (w->inflight < cap && w->retries.n && w->retries.a[0].due <= now) {
                rj = heap_pop(&w->retries).p;
                w->retry_bytes -= rj->len;
            } else {
                while (w->inflight < cap && n < IC_SIM_BATCH_MAX && w->statuses.n &&
                       w->statuses.a[0].due <= now)
                    items[n++] = heap_pop(&w->statuses).p;
            }
            pthread_mutex_unlock(&w->mu);
            if (rj) {
                job_start(w, rj);
                continue;
            }
            if (!n)
                break;
            send_batch(w, items, n);
            for (size_t i = 0; i < n; i++)
                ic_free(items[i]);
        }
        int running = 0;
        curl_multi_perform(w->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            job_done(w, j, msg->data.result);
        }
        pthread_mutex_lock(&w->mu);
        int64_t wake = ic_mono_us() + 1000000;
        if (w->inflight < cap) {
            if (w->statuses.n && w->statuses.a[0].due < wake)
                wake = w->statuses.a[0].due;
            if (w->retries.n && w->retries.a[0].due < wake)
                wake = w->retries.a[0].due;
        }
        bool busy = w->incoming != NULL;
        w->next_wake = busy ? 0 : wake;
        pthread_mutex_unlock(&w->mu);
        int64_t wait_ms = busy ? 0 : (wake - ic_mono_us() + 999) / 1000;
        if (wait_ms > 0 || running)
            curl_multi_poll(w->multi, NULL, 0, wait_ms > 0 ? (int)wait_ms : 0, NULL);
    }
    ic_free(items);
    return NULL;
}

/* ---- the public functions ----------------------------------------------------- */

ic_err ic_sim_webhooks_start(ic_sim *s, ic_sim_webhooks **out, ic_errmsg *em)
{
    ic_sim_webhooks *w = ic_calloc(1, sizeof *w);
    w->sim = s;
    pthread_mutex_init(&w->mu, NULL);
    w->multi = curl_multi_init();
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 64L);
    w->next_wake = 0;
    if (pthread_create(&w->thread, NULL, webhook_main, w) != 0) {
        curl_multi_cleanup(w->multi);
        pthread_mutex_destroy(&w->mu);
        ic_free(w);
        *out = NULL;
        return ic_errf(em, IC_ERR_INTERNAL, "cannot start the webhook thread");
    }
    *out = w;
    return IC_OK;
}

void ic_sim_webhooks_stop(ic_sim_webhooks *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    bool was = w->stop;
    w->stop = true;
    pthread_mutex_unlock(&w->mu);
    if (was)
        return;
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    /* In-flight transfers: report the synchronous ones as unanswered. */
    for (job *j = w->running; j;) {
        job *next = j->rnext;
        curl_multi_remove_handle(w->multi, j->easy);
        curl_easy_cleanup(j->easy);
        if (j->cb)
            j->cb(j->arg, 0, "", 0);
        job_free(j);
        j = next;
    }
    for (job *j = w->incoming; j;) {
        job *next = j->next;
        if (j->cb)
            j->cb(j->arg, 0, "", 0);
        job_free(j);
        j = next;
    }
    w->running = NULL;
    w->incoming = NULL;
}

void ic_sim_webhooks_free(ic_sim_webhooks *w)
{
    if (!w)
        return;
    while (w->retries.n)
        job_free(heap_pop(&w->retries).p);
    while (w->statuses.n)
        ic_free(heap_pop(&w->statuses).p);
    ic_free(w->retries.a);
    ic_free(w->statuses.a);
    curl_multi_cleanup(w->multi);
    pthread_mutex_destroy(&w->mu);
    ic_free(w);
}

ic_err ic_sim_webhooks_sync(ic_sim_webhooks *w, const ic_sim_target *t, char *body, size_t len,
                            const char *sig_mode, bool retry, ic_sim_sync_cb cb, void *arg)
{
    job *j = job_new(t, body, len, sig_mode);
    j->retry = retry;
    j->cb = cb;
    j->arg = arg;
    pthread_mutex_lock(&w->mu);
    bool stopping = w->stop;
    if (!stopping) {
        j->next = w->incoming;
        w->incoming = j;
    }
    pthread_mutex_unlock(&w->mu);
    if (stopping) {
        j->cb = NULL;
        job_free(j);
        return IC_ERR_BUSY;
    }
    curl_multi_wakeup(w->multi);
    return IC_OK;
}

void ic_sim_webhooks_pending(ic_sim_webhooks *w, size_t *statuses, size_t *jobs)
{
    *statuses = *jobs = 0;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *statuses = w->statuses.n;
    *jobs = w->retries.n;
    pthread_mutex_unlock(&w->mu);
}
