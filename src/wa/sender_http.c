/* sender_http.c - the sender's requests to the Graph API on one libcurl
 * multi handle, and what each answer means for its message.
 *
 * Keep-alive connections are reused across messages (the multi handle keeps
 * the connection cache), at most max_conns per host; since no more requests
 * than that are ever in flight, curl never holds a request back in its own
 * queue, so a request leaves when the pacer counted it. */
#include "wa/sender_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "wa/outbound.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RESP_MAX (64 * 1024) /* Graph API answers are a few hundred bytes */

ic_err ic_snd_http_init(ic_sender *s, ic_errmsg *em)
{
    long conns = s->opt.max_conns;
    if (curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns) != CURLM_OK ||
        curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, conns * 2) != CURLM_OK ||
        curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK)
        return ic_errf(em, IC_ERR_INTERNAL, "libcurl refused the connection limits");
    return IC_OK;
}

static uint32_t next_rand(ic_sender *s)
{
    uint32_t x = s->rng ? s->rng : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->rng = x;
    return x;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    snd_job *j = ud;
    size_t len = size * n;
    if (j->resp.len + len > RESP_MAX)
        return 0; /* CURLE_WRITE_ERROR: the answer is not one of Meta's */
    ic_buf_append(&j->resp, p, len);
    return len;
}

static void fly_add(ic_sender *s, snd_job *j)
{
    if (s->in_flight == s->flying_cap) {
        s->flying_cap = s->flying_cap ? s->flying_cap * 2 : 64;
        s->flying = ic_realloc(s->flying, s->flying_cap * sizeof *s->flying);
    }
    j->fly_idx = s->in_flight;
    s->flying[s->in_flight++] = j;
    atomic_store(&s->st_in_flight, s->in_flight);
}

static void fly_remove(ic_sender *s, snd_job *j)
{
    snd_job *last = s->flying[--s->in_flight];
    s->flying[j->fly_idx] = last;
    last->fly_idx = j->fly_idx;
    atomic_store(&s->st_in_flight, s->in_flight);
}

static void easy_put(ic_sender *s, CURL *e)
{
    curl_multi_remove_handle(s->multi, e);
    if (s->npool < (size_t)s->opt.max_conns) {
        s->pool[s->npool++] = e;
        return;
    }
    curl_easy_cleanup(e);
}

void ic_snd_http_issue(ic_sender *s, snd_job *j, int64_t now)
{
    snd_chan *ch = j->ch;
    CURL *e = s->npool > 0 ? s->pool[--s->npool] : curl_easy_init();
    if (!e) {
        IC_ERROR("sender_curl_failed", "msg=%" PRId64 " what=easy_init", j->msg_id);
        ic_snd_retry(s, j, now + s->pace.retry_base_us, false);
        return;
    }
    const char *body = j->bodies[j->part];
    ic_buf_reset(&j->resp);
    j->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, ch->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, ch->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->opt.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->opt.request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        IC_ERROR("sender_curl_failed", "msg=%" PRId64 " what=add_handle", j->msg_id);
        ic_snd_retry(s, j, now + s->pace.retry_base_us, false);
        return;
    }
    j->easy = e;
    fly_add(s, j);
    ic_pacer_take(&ch->pacer, now);
    atomic_fetch_add(&s->st_requests, 1);
}

/* True for transport errors that happen before a request is written: the
 * message provably did not leave and may be sent again. */
static bool never_left(CURLcode rc, CURL *e)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    case CURLE_OPERATION_TIMEDOUT: {
        /* A timeout while connecting: no request bytes were issued. */
        long req = -1;
        if (curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req) == CURLE_OK && req == 0)
            return true;
        return false;
    }
    default:
        return false;
    }
}

static bool success_answer(const ic_buf *b)
{
    json_t *root = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    bool ok = json_is_true(json_object_get(root, "success"));
    json_decref(root);
    return ok;
}

static void retry_or_give_up(ic_sender *s, snd_job *j, int64_t retry_at, int code,
                             const char *reason)
{
    if (j->attempts >= s->opt.max_attempts) {
        char why[512];
        snprintf(why, sizeof why, "gave up after %d attempts: %s", j->attempts + 1, reason);
        ic_snd_settle(s, j, "failed", NULL, code, why);
        return;
    }
    ic_snd_retry(s, j, retry_at, true);
}

static void answer(ic_sender *s, snd_job *j, CURLcode rc, long http, bool unsent, int64_t now)
{
    snd_chan *ch = j->ch;
    char why[512];
    if (rc != CURLE_OK) {
        if (unsent) {
            snprintf(why, sizeof why, "could not reach the Graph API: %s",
                     j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
            retry_or_give_up(s, j, now + ic_backoff_us(j->attempts + 1, next_rand(s), &s->pace), 0,
                             why);
        } else {
            snprintf(why, sizeof why,
                     "no answer from the Graph API (%s); the message may have been sent",
                     j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
            ic_snd_settle(s, j, "unknown", NULL, 0, why);
        }
        return;
    }
    ic_wa_result r;
    ic_wa_classify(http, j->resp.data, j->resp.len, &r);
    if (r.verdict != IC_WA_SENT && http >= 200 && http < 300) {
        if (j->is_read && success_answer(&j->resp)) {
            r.verdict = IC_WA_SENT;
            r.wa_id[0] = '\0';
        } else {
            snprintf(why, sizeof why,
                     "the Graph API accepted the request (HTTP %ld) but its answer has no "
                     "message id",
                     http);
            ic_snd_settle(s, j, "unknown", NULL, 0, why);
            return;
        }
    }
    switch (r.verdict) {
    case IC_WA_SENT:
        ic_pacer_ok(&ch->pacer, now);
        if (j->part + 1 < j->nbodies) {
            /* The second body follows at once, ahead of everything waiting. */
            j->part++;
            ch->pipeline++;
            ic_snd_fifo_push(&ch->ready[0], j, true);
            return;
        }
        ic_snd_settle(s, j, "sent", r.wa_id[0] ? r.wa_id : NULL, 0, NULL);
        return;
    case IC_WA_RETRY: {
        int64_t retry_at;
        if (r.pair_limited) {
            atomic_fetch_add(&s->st_pair, 1);
            retry_at = now + ic_pair_backoff_us(j->attempts, &s->pace);
            ic_outbox_pause_person(ch->outbox, j->contact_id, retry_at);
        } else {
            retry_at = now + ic_backoff_us(j->attempts + 1, next_rand(s), &s->pace);
            if (r.throttled) {
                atomic_fetch_add(&s->st_throttled, 1);
                ic_pacer_throttled(&ch->pacer, now);
                if (retry_at < ch->pacer.paused_until)
                    retry_at = ch->pacer.paused_until;
            }
        }
        IC_INFO("message_retry", "msg=%" PRId64 " channel=%" PRId64 " to=%s code=%d attempt=%d",
                j->msg_id, ch->ch.id, j->to_masked, r.code, j->attempts + 1);
        retry_or_give_up(s, j, retry_at, r.code, r.reason);
        return;
    }
    case IC_WA_FAILED:
        ic_snd_settle(s, j, "failed", NULL, r.code, r.reason);
        return;
    }
}

void ic_snd_http_reap(ic_sender *s, int64_t now)
{
    int running = 0;
    CURLMsg *m;
    int left = 0;
    curl_multi_perform(s->multi, &running);
    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;
        char *priv = NULL;
        long http = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
        snd_job *j = (snd_job *)(void *)priv;
        bool unsent = rc != CURLE_OK && never_left(rc, e);
        fly_remove(s, j);
        easy_put(s, e);
        j->easy = NULL;
        answer(s, j, rc, http, unsent, now);
    }
}

void ic_snd_http_abort_all(ic_sender *s)
{
    while (s->in_flight > 0) {
        snd_job *j = s->flying[s->in_flight - 1];
        fly_remove(s, j);
        easy_put(s, j->easy);
        j->easy = NULL;
        ic_snd_settle(s, j, "unknown", NULL, 0,
                      "no answer before the sender stopped; the message may have been sent");
    }
}

void ic_snd_http_free(ic_sender *s)
{
    for (size_t i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    s->npool = 0;
    ic_free(s->pool);
    s->pool = NULL;
    ic_free(s->flying);
    s->flying = NULL;
}
