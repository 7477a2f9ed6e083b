/* ingest.c - one parsed webhook batch into the store, on the writer. */
#include "core/ingest.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"
#include "core/autoassign.h"
#include "core/urgency.h"

#include <string.h>

static int dump_cb(const char *buffer, size_t size, void *data)
{
    ic_buf_append(data, buffer, size);
    return 0;
}

/* Meta's time in microseconds; our clock when Meta's is missing or absurd. */
static int64_t wa_time_us(const ic_wa_event *ev)
{
    if (ev->timestamp <= 0 || ev->timestamp > INT64_MAX / 1000000)
        return ic_now_us();
    return ev->timestamp * 1000000;
}

/* Copies s into out for a log line: printable ASCII only, no quotes. */
static void log_safe(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s && *s && n + 1 < size; s++)
        out[n++] = (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') ? *s : '?';
    out[n] = '\0';
}

static ic_err store_ignored(ic_conn *tx, int64_t ws, int64_t ch, const ic_wa_event *ev,
                            const char *reason, const char *raw, ic_ingest_counts *out)
{
    char safe[128];
    log_safe(reason, safe, sizeof safe);
    IC_WARN("webhook_item_ignored", "ws=%lld channel=%lld reason=\"%s\"", (long long)ws,
            (long long)ch, safe);
    ic_err e = ic_store_channel_error_insert(tx, ws, ch, 0, reason, NULL, raw);
    if (e == IC_OK)
        out->ignored++;
    return e;
}

/* Keeps the first of content's errors[] as a channel error. */
static ic_err store_first_error(ic_conn *tx, int64_t ws, int64_t ch, const json_t *content,
                                int code, const char *title, const char *raw, ic_ingest_counts *out)
{
    json_t *first = json_array_get(json_object_get(content, "errors"), 0);
    if (!code)
        code = (int)json_integer_value(json_object_get(first, "code"));
    if (!title)
        title = json_string_value(json_object_get(first, "title"));
    const char *details = json_string_value(json_object_get(first, "details"));
    ic_err e =
        ic_store_channel_error_insert(tx, ws, ch, code, title ? title : "error", details, raw);
    if (e == IC_OK)
        out->errors++;
    return e;
}

static ic_err apply_message(ic_conn *tx, int64_t ws, int64_t ch, const ic_wa_event *ev,
                            const char *raw, ic_ingest_counts *out)
{
    if (!ev->id || !ev->from)
        return store_ignored(tx, ws, ch, ev, "message without id or sender", raw, out);

    int64_t wa_us = wa_time_us(ev);
    ic_message m;
    memset(&m, 0, sizeof m);
    m.workspace_id = ws;
    m.channel_id = ch;
    m.direction = IC_DIR_IN;
    m.lane = IC_LANE_REPLY;
    m.wa_id = ev->id;
    m.type = ev->type ? ev->type : "unknown";
    m.text = ev->text;
    m.media_id = ev->media_id;
    m.mime_type = ev->mime_type;
    m.reply_to_wa_id = ev->context_id;
    m.content_json = raw;
    m.status = "received";
    m.wa_us = wa_us;
    m.created_us = ic_now_us();
    /* A redelivery touches neither the contact nor the conversation. */
    bool dup = false;
    ic_err e = ic_store_inbound_message(tx, &m, ev->from, ev->contact_name, &dup);
    if (e != IC_OK)
        return e;
    if (dup) {
        out->duplicates++;
        return IC_OK;
    }
    out->messages++;
    /* Urgency words, then automatic assignment of a conversation this
     * message opened (docs/internals/routing.md). */
    if ((e = ic_urgency_on_inbound(tx, &m, ev->from, NULL)) != IC_OK ||
        (e = ic_autoassign_on_inbound(tx, &m, NULL)) != IC_OK)
        return e;
    /* An unsupported message carries Meta's reason: the operator sees it. */
    if (json_array_size(json_object_get(ev->content, "errors")) > 0) {
        e = store_first_error(tx, ws, ch, ev->content, 0, NULL, raw, out);
        if (e != IC_OK)
            return e;
    }
    if (!ev->media_id)
        return IC_OK;

    ic_media_row mr;
    memset(&mr, 0, sizeof mr);
    mr.workspace_id = ws;
    mr.channel_id = ch;
    mr.wa_media_id = ev->media_id;
    mr.mime_type = ev->mime_type;
    mr.state = "pending";
    e = ic_store_media_upsert(tx, &mr);
    if (e != IC_OK)
        return e;
    if (out->media_count < IC_INGEST_MAX_MEDIA)
        out->media_ids[out->media_count++] = mr.id;
    else
        out->media_unreported++;
    return IC_OK;
}

static ic_err apply_status(ic_conn *tx, int64_t ws, int64_t ch, const ic_wa_event *ev,
                           const char *raw, ic_ingest_counts *out)
{
    if (!ev->id || !ev->type)
        return store_ignored(tx, ws, ch, ev, "status without id", raw, out);
    bool applied = false;
    ic_err e = ic_store_status_apply(tx, ws, ch, ev->id, ev->biz_opaque, ev->type, wa_time_us(ev),
                                     ev->error_code, ev->error_title, raw, &applied);
    if (e == IC_OK)
        out->statuses++;
    return e;
}

static ic_err apply_error(ic_conn *tx, int64_t ws, int64_t ch, const ic_wa_event *ev,
                          const char *raw, ic_ingest_counts *out)
{
    return store_first_error(tx, ws, ch, ev->content, ev->error_code, ev->error_title, raw, out);
}

/* Stores a batch; see ingest.h. Writer only. */
ic_err ic_ingest_apply(ic_conn *tx, int64_t ws, int64_t channel_id, const ic_wa_batch *b,
                       ic_ingest_counts *out)
{
    ic_err e = IC_OK;
    ic_buf raw = IC_BUF_INIT;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; b && i < b->count; i++) {
        const ic_wa_event *ev = &b->events[i];
        ic_buf_reset(&raw);
        if (!ev->content || json_dump_callback(ev->content, dump_cb, &raw, JSON_COMPACT) != 0)
            ic_buf_reset(&raw);
        const char *js = raw.len ? ic_buf_cstr(&raw) : NULL;
        switch (ev->kind) {
        case IC_WA_MESSAGE:
            e = apply_message(tx, ws, channel_id, ev, js, out);
            break;
        case IC_WA_STATUS:
            e = apply_status(tx, ws, channel_id, ev, js, out);
            break;
        case IC_WA_ERROR:
            e = apply_error(tx, ws, channel_id, ev, js, out);
            break;
        case IC_WA_IGNORED:
        default:
            e = store_ignored(tx, ws, channel_id, ev, ev->reason ? ev->reason : "ignored", js, out);
            break;
        }
        if (e != IC_OK)
            goto out;
    }
out:
    ic_buf_free(&raw);
    return e;
}
