/* messages.c - sending messages and reading them back:
 *   POST /api/v1/conversations/{id}/messages, POST /api/v1/messages,
 *   GET /api/v1/messages/{id}.
 * A message is checked against Meta's limits (ic_wa_outbound_build) and the
 * 24-hour window before anything is stored, then queued through the writer
 * and answered 202 once durable. */
#include "api/api.h"
#include "api/auth.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "core/window.h"
#include "wa/outbound.h"
#include "wa/sender.h"

#include <string.h>

/* ---- the send job ---------------------------------------------------------- */

typedef struct send_job {
    ic_write_job job;
    ic_req *r;
    ic_app *app;
    int64_t ws, channel_id, contact_id, conv_id;
    ic_lane lane;
    char *to, *type, *text, *content;
    json_t *warnings;
    json_t *answer;
    ic_message m;
    ic_errmsg em;
} send_job;

static void send_job_free(send_job *j)
{
    if (!j)
        return;
    ic_free(j->to);
    ic_free(j->type);
    ic_free(j->text);
    ic_free(j->content);
    json_decref(j->warnings);
    json_decref(j->answer);
    ic_free(j);
}

static ic_err send_apply(ic_conn *tx, ic_write_job *job)
{
    send_job *j = job->arg;
    ic_err e = IC_OK;
    int64_t contact_id = j->contact_id, conv_id = j->conv_id;
    if (contact_id == 0) {
        e = ic_store_contact_upsert(tx, j->ws, j->to, NULL, &contact_id);
        if (e != IC_OK)
            goto out;
    }
    if (conv_id == 0) {
        e = ic_store_conversation_for_send(tx, j->ws, j->channel_id, contact_id, &conv_id);
        if (e != IC_OK)
            goto out;
    }
    j->m = (ic_message){
        .workspace_id = j->ws,
        .channel_id = j->channel_id,
        .contact_id = contact_id,
        .conversation_id = conv_id,
        .direction = IC_DIR_OUT,
        .lane = j->lane,
        .type = j->type,
        .text = j->text,
        .content_json = j->content,
        .to = j->to,
        .status = "queued",
    };
    e = ic_store_message_insert_outbound(tx, &j->m);
    if (e != IC_OK)
        goto out;
    json_decref(j->answer);
    j->answer = NULL;
    e = ic_store_message_get(tx, j->ws, j->m.id, &j->answer);
out:
    if (e == IC_ERR_NOT_FOUND)
        ic_errf(&j->em, e, "the conversation or contact no longer exists");
    return e;
}

static void send_done(ic_write_job *job, ic_err result)
{
    send_job *j = job->arg;
    if (result != IC_OK) {
        ic_api_fail(j->r, result, &j->em);
        goto out;
    }
    if (j->app->sender)
        ic_sender_notify(j->app->sender, &j->m);
    char masked[32];
    ic_mask_phone(j->to, masked, sizeof masked);
    IC_INFO("api_message_queued", "rid=%s ws=%lld msg=%lld type=%s to=%s lane=%s", ic_req_id(j->r),
            (long long)j->ws, (long long)j->m.id, j->type, masked,
            j->lane == IC_LANE_REPLY ? "reply" : "bulk");
    json_t *answer = j->answer;
    j->answer = NULL;
    if (j->warnings && json_array_size(j->warnings) > 0)
        json_object_set(answer, "warnings", j->warnings);
    ic_req_respond_json(j->r, 202, answer);
out:
    send_job_free(j);
}

void ic_api_send_submit(ic_req *r, ic_app *app, ic_api_send *s)
{
    send_job *j = ic_calloc(1, sizeof *j);
    j->r = r;
    j->app = app;
    j->ws = s->ws;
    j->channel_id = s->channel_id;
    j->contact_id = s->contact_id;
    j->conv_id = s->conv_id;
    j->lane = s->lane;
    j->to = ic_strdup(s->to);
    j->warnings = s->warnings;
    s->warnings = NULL;
    j->content = ic_api_json_dumps(s->msg);
    const char *type = json_string_value(json_object_get(s->msg, "type"));
    if (!type)
        type = ic_wa_outbound_type(s->msg);
    j->type = ic_strdup(type ? type : "unknown");
    j->text = ic_strdup(ic_wa_outbound_text(s->msg));
    j->job.apply = send_apply;
    j->job.done = send_done;
    j->job.arg = j;
    ic_req_defer(r);
    ic_err e = ic_writer_submit(app->writer, &j->job);
    if (e != IC_OK) {
        send_job_free(j);
        ic_api_fail(r, e, NULL);
    }
}

ic_err ic_api_contact_wa_id(ic_conn *c, int64_t ws, int64_t id, char **wa_id)
{
    json_t *contact = NULL;
    *wa_id = NULL;
    ic_err e = ic_store_contact_get(c, ws, id, &contact);
    if (e != IC_OK)
        goto out;
    const char *w = json_string_value(json_object_get(contact, "wa_id"));
    if (!w) {
        e = IC_ERR_INTERNAL;
        goto out;
    }
    *wa_id = ic_strdup(w);
out:
    json_decref(contact);
    return e;
}

/* ---- checks shared by both send endpoints --------------------------------- */

/* Reads "lane": "reply" or "bulk"; *lane keeps its default when absent. */
static ic_err read_lane(const json_t *body, ic_lane *lane, ic_errmsg *em)
{
    json_t *v = json_object_get(body, "lane");
    if (!v || json_is_null(v))
        return IC_OK;
    const char *s = json_string_value(v);
    if (s && strcmp(s, "reply") == 0)
        *lane = IC_LANE_REPLY;
    else if (s && strcmp(s, "bulk") == 0)
        *lane = IC_LANE_BULK;
    else
        return ic_errf(em, IC_ERR_INVALID, "lane must be \"reply\" or \"bulk\"");
    return IC_OK;
}

/* Validates msg against Meta's limits for recipient to, then the window.
 * On failure answers r (422 limit / invalid / window_closed) and returns the
 * error; on success *warnings is an owned array. */
static ic_err check_message(ic_req *r, ic_conn *c, int64_t ws, int64_t channel_id,
                            int64_t contact_id, const json_t *msg, const char *to,
                            json_t **warnings)
{
    ic_wa_outbound ob = {0};
    ic_errmsg em = {{0}};
    *warnings = NULL;
    ic_err e = ic_wa_outbound_build(msg, to, NULL, NULL, &ob, &em);
    if (e != IC_OK) {
        ic_req_error(r, 422, e == IC_ERR_LIMIT ? "limit" : "invalid", "%s",
                     em.msg[0] ? em.msg : "the message is not valid");
        goto out;
    }
    *warnings = json_incref(ob.warnings);
    int64_t last = 0;
    if (contact_id > 0) {
        e = ic_store_last_inbound_us(c, ws, channel_id, contact_id, &last);
        if (e != IC_OK) {
            ic_api_fail(r, e, NULL);
            goto out;
        }
    }
    e = ic_window_check(last, ic_now_us(), ic_wa_outbound_is_template(msg), &em);
    if (e != IC_OK)
        ic_api_fail(r, e, &em);
out:
    if (e != IC_OK) {
        json_decref(*warnings);
        *warnings = NULL;
    }
    ic_wa_outbound_clear(&ob);
    return e;
}

static ic_err read_message_member(const json_t *body, const json_t **msg, ic_errmsg *em)
{
    *msg = json_object_get(body, "message");
    if (!*msg)
        return ic_errf(em, IC_ERR_INVALID, "message is required");
    if (!json_is_object(*msg))
        return ic_errf(em, IC_ERR_INVALID, "message must be an object (docs/messages.md)");
    const char *type = json_string_value(json_object_get(*msg, "type"));
    if (type && strcmp(type, "read") == 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "read receipts are sent with POST /api/v1/conversations/{id}/read");
    return IC_OK;
}

/* ---- handlers ---------------------------------------------------------------- */

static void post_conversation_message(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"message", "lane", NULL};
    int64_t ws = 0, conv = 0, contact = 0, channel = 0;
    json_t *body = NULL, *warnings = NULL;
    char *to = NULL;
    const json_t *msg = NULL;
    ic_lane lane = IC_LANE_REPLY;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        goto out;
    ws = who.ws;
    ic_err e = ic_api_parse_id(ic_req_param(r, "id"), &conv);
    if (e != IC_OK) {
        e = IC_ERR_NOT_FOUND;
        goto fail;
    }
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = read_message_member(body, &msg, &em)) != IC_OK ||
        (e = read_lane(body, &lane, &em)) != IC_OK)
        goto fail;
    ic_conn *c = ic_db_thread_conn(app->db);
    if ((e = ic_store_conversation_parties(c, ws, conv, &contact, &channel)) != IC_OK ||
        (e = ic_api_contact_wa_id(c, ws, contact, &to)) != IC_OK)
        goto fail;
    if (check_message(r, c, ws, channel, contact, msg, to, &warnings) != IC_OK)
        goto out;
    ic_api_send s = {.ws = ws,
                     .channel_id = channel,
                     .contact_id = contact,
                     .conv_id = conv,
                     .to = to,
                     .msg = msg,
                     .lane = lane,
                     .warnings = warnings};
    ic_api_send_submit(r, app, &s);
    goto out;
fail:
    ic_api_fail(r, e, &em);
out:
    ic_free(to);
    json_decref(body);
}

/* Accepts "+27821234567" as well as "27821234567"; a WhatsApp id is digits. */
static ic_err read_recipient(const json_t *body, const char **to, ic_errmsg *em)
{
    const char *s = json_string_value(json_object_get(body, "to"));
    if (s && *s == '+')
        s++;
    if (!ic_api_is_digits(s, 20))
        return ic_errf(em, IC_ERR_INVALID,
                       "to must be the person's WhatsApp id: 1 to 20 digits with the country "
                       "code");
    *to = s;
    return IC_OK;
}

static void post_message(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"channel_id", "to", "message", "lane", NULL};
    int64_t ws = 0, channel = 0, contact = 0;
    json_t *body = NULL, *warnings = NULL;
    const json_t *msg = NULL;
    const char *to = NULL;
    ic_lane lane = IC_LANE_BULK;
    ic_channel ch = {0};
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        goto out;
    ws = who.ws;
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_int(body, "channel_id", true, 1, INT64_MAX, &channel, &em)) != IC_OK ||
        (e = read_recipient(body, &to, &em)) != IC_OK ||
        (e = read_message_member(body, &msg, &em)) != IC_OK ||
        (e = read_lane(body, &lane, &em)) != IC_OK)
        goto fail;
    ic_conn *c = ic_db_thread_conn(app->db);
    e = ic_store_channel_get(c, ws, channel, &ch);
    if (e == IC_ERR_NOT_FOUND)
        ic_errf(&em, e, "there is no channel %lld in this workspace", (long long)channel);
    if (e != IC_OK)
        goto fail;
    e = ic_store_contact_by_wa_id(c, ws, to, &contact);
    if (e == IC_ERR_NOT_FOUND)
        contact = 0; /* a new person: created with the message */
    else if (e != IC_OK)
        goto fail;
    if (check_message(r, c, ws, channel, contact, msg, to, &warnings) != IC_OK)
        goto out;
    ic_api_send s = {.ws = ws,
                     .channel_id = channel,
                     .contact_id = contact,
                     .to = to,
                     .msg = msg,
                     .lane = lane,
                     .warnings = warnings};
    ic_api_send_submit(r, app, &s);
    goto out;
fail:
    ic_api_fail(r, e, &em);
out:
    ic_channel_clear(&ch);
    json_decref(body);
}

static void get_message(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, id = 0;
    json_t *msg = NULL, *statuses = NULL;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        goto out;
    ws = who.ws;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK)
        goto fail;
    ic_conn *c = ic_db_thread_conn(app->db);
    if ((e = ic_store_message_get(c, ws, id, &msg)) != IC_OK ||
        (e = ic_store_message_statuses(c, ws, id, &statuses)) != IC_OK)
        goto fail;
    json_object_set_new(msg, "statuses", statuses);
    statuses = NULL;
    ic_req_respond_json(r, 200, msg);
    msg = NULL;
    goto out;
fail:
    ic_api_fail(r, e, NULL);
out:
    json_decref(msg);
    json_decref(statuses);
}

void ic_api_messages_routes(ic_http *h, ic_app *app)
{
    size_t max = ic_api_json_max_body(app);
    ic_http_route(h, "POST", "/api/v1/conversations/{id}/messages", max, post_conversation_message,
                  app);
    ic_http_route(h, "POST", "/api/v1/messages", max, post_message, app);
    ic_http_route(h, "GET", "/api/v1/messages/{id}", 0, get_message, app);
}
