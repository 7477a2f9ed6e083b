/* webhook.c - the WhatsApp webhook endpoint: /webhooks/whatsapp/{uuid}.
 *
 * GET answers Meta's verification handshake. POST checks the signature,
 * parses the body, and hands the events to the writer as one job; the
 * connection is suspended (ic_req_defer) and answered from the job's done
 * callback, after the commit is durable (DESIGN.md 2 and 8.1).
 */
#include "api/routes.h"

#include "base/alloc.h"
#include "base/log.h"
#include "core/ingest.h"
#include "core/live.h"
#include "store/channel_cache.h"
#include "store/store.h"
#include "wa/media.h"
#include "wa/webhook.h"

#include <stdio.h>
#include <string.h>

#define WEBHOOK_MAX_BODY (3u * 1024u * 1024u)
#define FOREIGN_REASON "event for another phone number id than this channel's"

/* A channel uuid as we make them: 1 to 39 of [0-9A-Za-z-]. */
static bool uuid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 39)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-'))
            return false;
    }
    return true;
}

/* Finds the channel of the request's {uuid} (remembered for a few seconds:
 * store/channel_cache.h); answers 404 or 503 and returns
 * false when there is none. */
static bool channel_for(ic_req *r, ic_app *app, ic_channel *ch)
{
    const char *uuid = ic_req_param(r, "uuid");
    ic_err e = uuid_ok(uuid)
                   ? ic_channel_cache_get(app->channels, ic_db_thread_conn(app->db), uuid, ch)
                   : IC_ERR_NOT_FOUND;
    if (e == IC_OK)
        return true;
    if (e == IC_ERR_NOT_FOUND) {
        ic_req_error(r, 404, "not_found", "there is no channel with this webhook address");
    } else {
        IC_WARN("webhook_channel_lookup_failed", "rid=%s err=\"%s\"", ic_req_id(r), ic_strerror(e));
        ic_req_add_header(r, "Retry-After", "5");
        ic_req_error(r, 503, "unavailable", "the channel could not be looked up; try again");
    }
    return false;
}

/* GET: Meta's verification handshake. */
static void webhook_get(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_channel ch;
    memset(&ch, 0, sizeof ch);
    if (!channel_for(r, app, &ch))
        goto out;
    const char *challenge = ic_req_query(r, "hub.challenge");
    ic_err e = ic_wa_verify_get(ic_req_query(r, "hub.mode"), ic_req_query(r, "hub.verify_token"),
                                challenge, ch.verify_token);
    if (e == IC_OK) {
        IC_INFO("webhook_verified", "rid=%s channel=%lld", ic_req_id(r), (long long)ch.id);
        ic_req_respond(r, 200, "text/plain", challenge, strlen(challenge));
    } else {
        IC_WARN("webhook_verify_refused", "rid=%s channel=%lld err=\"%s\"", ic_req_id(r),
                (long long)ch.id, ic_strerror(e));
        ic_req_error(r, 403, "forbidden", "the verification request was refused");
    }
out:
    ic_channel_clear(&ch);
}

/* One POST on its way through the writer. */
typedef struct webhook_job {
    ic_write_job job;
    ic_req *req;
    ic_app *app;
    ic_wa_batch batch;
    int64_t ws;
    int64_t channel_id;
    ic_ingest_counts counts;
} webhook_job;

static void webhook_job_free(webhook_job *j)
{
    ic_wa_batch_free(&j->batch);
    ic_free(j);
}

static ic_err webhook_apply(ic_conn *tx, ic_write_job *job)
{
    webhook_job *j = job->arg;
    return ic_ingest_apply(tx, j->ws, j->channel_id, &j->batch, &j->counts);
}

/* On the writer thread, once the batch is durable or has failed. */
static void webhook_done(ic_write_job *job, ic_err result)
{
    webhook_job *j = job->arg;
    if (result == IC_OK) {
        if (j->app->media)
            for (size_t i = 0; i < j->counts.media_count; i++)
                ic_media_notify(j->app->media, j->counts.media_ids[i]);
        /* The inbox hears of the messages and statuses, after the commit
         * and outside this thread (core/live.h). */
        ic_live_ingested(ic_live_for(j->app), j->ws, j->channel_id, &j->batch);
        char body[192];
        int n = snprintf(body, sizeof body,
                         "{\"status\":\"ok\",\"messages\":%zu,\"statuses\":%zu,"
                         "\"duplicates\":%zu,\"ignored\":%zu,\"errors\":%zu}",
                         j->counts.messages, j->counts.statuses, j->counts.duplicates,
                         j->counts.ignored, j->counts.errors);
        ic_req_respond(j->req, 200, "application/json", body, (size_t)n);
    } else {
        IC_WARN("webhook_store_failed", "rid=%s channel=%lld err=\"%s\"", ic_req_id(j->req),
                (long long)j->channel_id, ic_strerror(result));
        ic_req_add_header(j->req, "Retry-After", "5");
        ic_req_error(j->req, 503, "unavailable", "the events could not be stored; try again");
    }
    webhook_job_free(j);
}

/* Events for another number than the channel's (several numbers sharing one
 * Meta app and so one callback URL) must not be stored as this channel's:
 * they become ignored items, kept as channel errors. */
static void mark_foreign(ic_wa_batch *b, const char *phone_number_id)
{
    if (!phone_number_id || !*phone_number_id)
        return;
    for (size_t i = 0; i < b->count; i++) {
        ic_wa_event *ev = &b->events[i];
        if (ev->kind == IC_WA_IGNORED || !ev->phone_number_id ||
            strcmp(ev->phone_number_id, phone_number_id) == 0)
            continue;
        ev->kind = IC_WA_IGNORED;
        ev->reason = FOREIGN_REASON;
    }
}

/* POST: a signed batch of events. */
static void webhook_post(ic_req *r, void *arg)
{
    ic_app *app = arg;
    webhook_job *j = NULL;
    ic_channel ch;
    memset(&ch, 0, sizeof ch);
    if (!channel_for(r, app, &ch))
        goto out;

    size_t len = 0;
    const char *body = ic_req_body(r, &len);
    if (!ic_wa_signature_ok(ch.app_secret, ic_req_header(r, "X-Hub-Signature-256"), body, len)) {
        IC_WARN("webhook_bad_signature", "rid=%s channel=%lld", ic_req_id(r), (long long)ch.id);
        ic_req_error(r, 401, "bad_signature",
                     "the X-Hub-Signature-256 header is missing or does not match the body");
        goto out;
    }

    j = ic_calloc(1, sizeof *j);
    ic_errmsg em = {{0}};
    ic_err e = ic_wa_webhook_parse(body, len, &j->batch, &em);
    if (e != IC_OK) {
        IC_WARN("webhook_unparseable", "rid=%s channel=%lld err=\"%s\"", ic_req_id(r),
                (long long)ch.id, ic_strerror(e));
        if (e == IC_ERR_TOO_BIG)
            ic_req_error(r, 413, "too_large", "%s", em.msg);
        else
            ic_req_error(r, 400, "invalid", "%s", em.msg[0] ? em.msg : "unreadable body");
        goto out;
    }
    mark_foreign(&j->batch, ch.phone_number_id);

    j->req = r;
    j->app = app;
    j->ws = ch.workspace_id;
    j->channel_id = ch.id;
    j->job.apply = webhook_apply;
    j->job.done = webhook_done;
    j->job.arg = j;
    /* Defer first: done may run on the writer before submit returns. */
    ic_req_defer(r);
    e = ic_writer_submit(app->writer, &j->job);
    if (e == IC_OK) {
        j = NULL; /* the writer's until done */
        goto out;
    }
    IC_WARN("webhook_writer_busy", "rid=%s channel=%lld", ic_req_id(r), (long long)ch.id);
    ic_req_add_header(r, "Retry-After", "5");
    ic_req_error(r, 503, "busy", "too many events are waiting to be stored; try again");
out:
    if (j)
        webhook_job_free(j);
    ic_channel_clear(&ch);
}

/* Registers the webhook routes; see routes.h. */
void ic_api_webhook_routes(ic_http *h, ic_app *app)
{
    size_t max = app->cfg && app->cfg->max_body ? app->cfg->max_body : WEBHOOK_MAX_BODY;
    ic_http_route(h, "GET", "/webhooks/whatsapp/{uuid}", 4096, webhook_get, app);
    ic_http_route(h, "POST", "/webhooks/whatsapp/{uuid}", max, webhook_post, app);
}
