/* test_store_messages.c - the store's messages: inbound inserts and
 * duplicates, the outbox, the state machine of sent messages (forward-only
 * statuses, statuses before the send answer, biz_opaque reconciliation),
 * channel errors and media. */
#include "store_fixture.h"

/* ---- messages ------------------------------------------------------------ */

static int64_t person(fx *f, int64_t ws, int64_t ch, const char *wa, int64_t *conv)
{
    int64_t k = 0;
    assert_int_equal(ic_store_contact_upsert(f->c, ws, wa, "Person", &k), IC_OK);
    assert_int_equal(ic_store_conversation_touch_inbound(f->c, ws, ch, k, 1700000000000000LL, conv),
                     IC_OK);
    return k;
}

static ic_message inbound(fx *f, int64_t k, int64_t conv, const char *wamid)
{
    ic_message m = {.workspace_id = f->ws,
                    .channel_id = f->ch,
                    .contact_id = k,
                    .conversation_id = conv,
                    .direction = IC_DIR_IN,
                    .wa_id = wamid,
                    .type = "text",
                    .text = "Sawubona",
                    .reply_to_wa_id = "wamid.CTX",
                    .content_json = "{\"kind\":\"message\",\"type\":\"text\",\"text\":{\"body\":"
                                    "\"Sawubona\"}}",
                    .wa_us = 1700000000000000LL};
    return m;
}

static void test_messages_inbound(void **state)
{
    fx *f = *state;
    int64_t conv = 0, conv2 = 0, n = 0;
    int64_t k = person(f, f->ws, f->ch, "27823333333", &conv);
    int64_t k2 = person(f, f->ws2, f->ch2, "27823333333", &conv2);
    bool dup = true;
    ic_message m = inbound(f, k, conv, "wamid.A1");
    assert_int_equal(ic_store_message_insert_inbound(f->c, &m, &dup), IC_OK);
    assert_false(dup);
    int64_t first = m.id;
    assert_true(first > 0);
    ic_message again = inbound(f, k, conv, "wamid.A1");
    again.text = "changed";
    assert_int_equal(ic_store_message_insert_inbound(f->c, &again, &dup), IC_OK);
    assert_true(dup);
    assert_int_equal(ic_store_count_messages(f->c, f->ws, IC_DIR_IN, &n), IC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM messages WHERE text = 'changed'"), 0);
    /* The same WhatsApp id on another channel is another message. */
    ic_message other = inbound(f, k2, conv2, "wamid.A1");
    other.workspace_id = f->ws2;
    other.channel_id = f->ch2;
    assert_int_equal(ic_store_message_insert_inbound(f->c, &other, &dup), IC_OK);
    assert_false(dup);
    assert_int_equal(ic_store_count_messages(f->c, 0, IC_DIR_IN, &n), IC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ic_store_count_messages(f->c, f->ws, IC_DIR_OUT, &n), IC_OK);
    assert_int_equal(n, 0);

    json_t *o = NULL;
    assert_int_equal(ic_store_message_get(f->c, f->ws, first, &o), IC_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "conversation_id")), conv);
    assert_int_equal(json_integer_value(json_object_get(o, "contact_id")), k);
    assert_int_equal(json_integer_value(json_object_get(o, "channel_id")), f->ch);
    assert_string_equal(json_string_value(json_object_get(o, "direction")), "in");
    assert_string_equal(json_string_value(json_object_get(o, "lane")), "reply");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(o, "text")), "Sawubona");
    assert_string_equal(json_string_value(json_object_get(o, "reply_to")), "wamid.CTX");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.A1");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "received");
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_true(json_is_null(json_object_get(o, "media_id")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(o, "content"), "text"), "body")),
                        "Sawubona");
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                        "2023-11-14T22:13:20.000000Z");
    json_decref(o);
    assert_int_equal(ic_store_message_get(f->c, f->ws2, first, &o), IC_ERR_NOT_FOUND);
    /* A status naming a message a person sent us never changes it. */
    bool applied = true;
    assert_int_equal(ic_store_status_apply(f->c, f->ws, f->ch, "wamid.A1", NULL, "read", 1, 0, NULL,
                                           NULL, &applied),
                     IC_OK);
    assert_false(applied);
    assert_int_equal(ic_store_message_get(f->c, f->ws, first, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "received");
    json_decref(o);

    for (int i = 0; i < 4; i++) {
        char wamid[32];
        snprintf(wamid, sizeof wamid, "wamid.P%d", i);
        ic_message p = inbound(f, k, conv, wamid);
        assert_int_equal(ic_store_message_insert_inbound(f->c, &p, &dup), IC_OK);
    }
    json_t *items = NULL;
    int64_t next = -1, ids[8], total = 0, cursor = 0;
    do {
        assert_int_equal(ic_store_messages_list(f->c, f->ws, conv, cursor, 2, &items, &next),
                         IC_OK);
        total += page_ids(items, ids, 8);
        assert_true(json_array_size(items) <= 2);
        json_decref(items);
        cursor = next;
    } while (next != 0);
    assert_int_equal(total, 5);
    assert_int_equal(ic_store_messages_list(f->c, f->ws2, conv, 0, 2, &items, &next),
                     IC_ERR_NOT_FOUND);
}

static ic_message outbound(fx *f, int64_t k, int64_t conv, ic_lane lane)
{
    return fixture_outbound(f, f->ch, k, conv, lane);
}

typedef struct outbox_seen {
    int64_t ids[16];
    char lanes[16];
    int n, stop_after;
} outbox_seen;

static ic_err outbox_cb(void *arg, const ic_message *m)
{
    outbox_seen *s = arg;
    assert_string_equal(m->status, "queued");
    assert_string_equal(m->to, "27824444444");
    assert_non_null(strstr(m->content_json, "Hello"));
    s->lanes[s->n] = m->lane == IC_LANE_BULK ? 'b' : 'r';
    s->ids[s->n++] = m->id;
    return s->n == s->stop_after ? IC_ERR_BUSY : IC_OK;
}

static const char *msg_status(fx *f, int64_t id, json_t **keep)
{
    json_decref(*keep);
    assert_int_equal(ic_store_message_get(f->c, f->ws, id, keep), IC_OK);
    return json_string_value(json_object_get(*keep, "status"));
}

static int64_t row_i64(fx *f, const char *sql, int64_t id)
{
    int64_t v = 0;
    assert_int_equal(ic_sql_one_i64(f->c, sql, IC_ARGS(IC_I64(id)), &v), IC_OK);
    return v;
}

/* ic_store_inbound_message: a new contact, a known one (forward-only times,
 * renames), duplicates that change nothing, a closed conversation. */
static void test_inbound_message(void **state)
{
    fx *f = *state;
    const int64_t t0 = 1700000000000000LL;
    bool dup = true;
    ic_message m = {.workspace_id = f->ws,
                    .channel_id = f->ch,
                    .wa_id = "wamid.B1",
                    .type = "text",
                    .text = "one",
                    .wa_us = t0};
    assert_int_equal(ic_store_inbound_message(f->c, &m, "27824444444", "Thandi", &dup), IC_OK);
    assert_false(dup);
    int64_t k = m.contact_id, conv = m.conversation_id;
    assert_true(m.id > 0 && k > 0 && conv > 0);
    assert_int_equal(m.direction, IC_DIR_IN);

    ic_message m2 = {.workspace_id = f->ws,
                     .channel_id = f->ch,
                     .wa_id = "wamid.B2",
                     .type = "text",
                     .text = "two",
                     .wa_us = t0 + 10};
    assert_int_equal(ic_store_inbound_message(f->c, &m2, "27824444444", "Thandi M", &dup), IC_OK);
    assert_false(dup);
    assert_int_equal(m2.contact_id, k);
    assert_int_equal(m2.conversation_id, conv);
    assert_int_equal(row_i64(f, "SELECT conversation_id FROM messages WHERE id = $1", m2.id), conv);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM contacts WHERE id = $1", k), t0 + 10);
    assert_int_equal(
        row_i64(f, "SELECT count(*) FROM contacts WHERE id = $1 AND name = 'Thandi M'", k), 1);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM conversations WHERE id = $1", conv),
                     t0 + 10);

    /* An older message moves nothing back; no name keeps the name. */
    ic_message m3 = {.workspace_id = f->ws,
                     .channel_id = f->ch,
                     .wa_id = "wamid.B3",
                     .type = "text",
                     .wa_us = t0 + 5};
    assert_int_equal(ic_store_inbound_message(f->c, &m3, "27824444444", NULL, &dup), IC_OK);
    assert_false(dup);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM contacts WHERE id = $1", k), t0 + 10);
    assert_int_equal(row_i64(f, "SELECT last_message_us FROM conversations WHERE id = $1", conv),
                     t0 + 10);
    assert_int_equal(
        row_i64(f, "SELECT count(*) FROM contacts WHERE id = $1 AND name = 'Thandi M'", k), 1);

    /* A redelivery, later and with another name, changes nothing. */
    ic_message again = {.workspace_id = f->ws,
                        .channel_id = f->ch,
                        .wa_id = "wamid.B2",
                        .type = "text",
                        .text = "changed",
                        .wa_us = t0 + 100};
    assert_int_equal(ic_store_inbound_message(f->c, &again, "27824444444", "Other", &dup), IC_OK);
    assert_true(dup);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM contacts WHERE id = $1", k), t0 + 10);
    assert_int_equal(
        row_i64(f, "SELECT count(*) FROM contacts WHERE id = $1 AND name = 'Thandi M'", k), 1);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM conversations WHERE id = $1", conv),
                     t0 + 10);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM messages WHERE text = 'changed'"), 0);

    /* A closed conversation: a redelivery does not reopen it, a new message
     * opens a new one. */
    assert_int_equal(ic_sql_run(f->c, "UPDATE conversations SET status = 'closed' WHERE id = $1",
                                IC_ARGS(IC_I64(conv)), NULL),
                     IC_OK);
    again.wa_id = "wamid.B3";
    assert_int_equal(ic_store_inbound_message(f->c, &again, "27824444444", NULL, &dup), IC_OK);
    assert_true(dup);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM conversations WHERE status = 'open'"), 0);
    ic_message m4 = {.workspace_id = f->ws,
                     .channel_id = f->ch,
                     .wa_id = "wamid.B4",
                     .type = "text",
                     .wa_us = t0 + 200};
    assert_int_equal(ic_store_inbound_message(f->c, &m4, "27824444444", NULL, &dup), IC_OK);
    assert_false(dup);
    assert_true(m4.conversation_id > 0 && m4.conversation_id != conv);
    assert_int_equal(row_i64(f, "SELECT conversation_id FROM messages WHERE id = $1", m4.id),
                     m4.conversation_id);
    assert_int_equal(
        row_i64(f, "SELECT last_inbound_us FROM conversations WHERE id = $1", m4.conversation_id),
        t0 + 200);
    assert_int_equal(row_i64(f, "SELECT last_inbound_us FROM contacts WHERE id = $1", k), t0 + 200);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM contacts"), 1);

    ic_message bad = {
        .workspace_id = f->ws, .channel_id = f->ch, .wa_id = "wamid.B5", .type = "text"};
    assert_int_equal(ic_store_inbound_message(f->c, &bad, NULL, NULL, &dup), IC_ERR_INVALID);
    bad.wa_id = NULL;
    assert_int_equal(ic_store_inbound_message(f->c, &bad, "27824444444", NULL, &dup),
                     IC_ERR_INVALID);
}

static void test_outbox(void **state)
{
    fx *f = *state;
    int64_t conv = 0;
    int64_t k = person(f, f->ws, f->ch, "27824444444", &conv);
    ic_message a = outbound(f, k, conv, IC_LANE_REPLY);
    ic_message b = outbound(f, k, conv, IC_LANE_BULK);
    json_t *o = NULL;
    assert_string_equal(msg_status(f, a.id, &o), "queued");
    assert_string_equal(json_string_value(json_object_get(o, "direction")), "out");
    assert_true(json_is_null(json_object_get(o, "wa_id")));
    assert_int_equal(ic_store_message_mark(f->c, a.id, "sending", NULL, 0, NULL), IC_OK);
    ic_message c = outbound(f, k, conv, IC_LANE_REPLY);

    /* After a crash: "sending" may have reached Meta, so it becomes
     * "unknown" and is not handed back for sending. */
    outbox_seen seen = {.stop_after = 0};
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, outbox_cb, &seen), IC_OK);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], b.id);
    assert_int_equal(seen.lanes[0], 'b');
    assert_int_equal(seen.ids[1], c.id);
    assert_int_equal(seen.lanes[1], 'r');
    assert_string_equal(msg_status(f, a.id, &o), "unknown");
    outbox_seen first = {.stop_after = 1};
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, outbox_cb, &first), IC_ERR_BUSY);
    assert_int_equal(first.n, 1);
    outbox_seen none = {.stop_after = 0};
    assert_int_equal(ic_store_outbox_load(f->c, f->ch2, outbox_cb, &none), IC_OK);
    assert_int_equal(none.n, 0);

    assert_int_equal(ic_store_message_mark(f->c, b.id, "failed", NULL, 131026, "Undeliverable"),
                     IC_OK);
    assert_string_equal(msg_status(f, b.id, &o), "failed");
    json_t *err = json_object_get(o, "error");
    assert_int_equal(json_integer_value(json_object_get(err, "code")), 131026);
    assert_string_equal(json_string_value(json_object_get(err, "reason")), "Undeliverable");
    assert_string_equal(json_string_value(json_object_get(o, "lane")), "bulk");
    /* A failed message may be queued again for a retry. */
    assert_int_equal(ic_store_message_mark(f->c, b.id, "queued", NULL, 0, NULL), IC_OK);
    assert_string_equal(msg_status(f, b.id, &o), "queued");
    assert_int_equal(ic_store_message_mark(f->c, b.id, "delivered", NULL, 0, NULL), IC_ERR_INVALID);
    assert_int_equal(ic_store_message_mark(f->c, 99999, "sent", "wamid.X", 0, NULL),
                     IC_ERR_NOT_FOUND);
    json_decref(o);
}

static bool status(fx *f, const char *wamid, const char *biz, const char *st, int code)
{
    bool applied = false;
    assert_int_equal(ic_store_status_apply(f->c, f->ws, f->ch, wamid, biz, st, 1700000000000000LL,
                                           code, code ? "Undeliverable" : NULL, "{}", &applied),
                     IC_OK);
    return applied;
}

static int64_t history_len(fx *f, int64_t id, const char *want_first)
{
    json_t *h = NULL;
    assert_int_equal(ic_store_message_statuses(f->c, f->ws, id, &h), IC_OK);
    int64_t n = (int64_t)json_array_size(h);
    if (want_first)
        assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "status")),
                            want_first);
    json_decref(h);
    return n;
}

static void test_statuses_forward_only(void **state)
{
    fx *f = *state;
    int64_t conv = 0;
    int64_t k = person(f, f->ws, f->ch, "27824444444", &conv);
    ic_message m = outbound(f, k, conv, IC_LANE_REPLY);
    json_t *o = NULL;
    assert_int_equal(ic_store_message_mark(f->c, m.id, "sent", "wamid.S1", 0, NULL), IC_OK);
    assert_string_equal(msg_status(f, m.id, &o), "sent");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.S1");
    assert_true(status(f, "wamid.S1", NULL, "read", 0));
    assert_false(status(f, "wamid.S1", NULL, "delivered", 0));
    assert_false(status(f, "wamid.S1", NULL, "failed", 131026));
    assert_false(status(f, "wamid.S1", NULL, "sent", 0));
    assert_string_equal(msg_status(f, m.id, &o), "read");
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_true(status(f, "wamid.S1", NULL, "played", 0));
    assert_int_equal(history_len(f, m.id, "read"), 5);

    /* failed before delivered; a later delivery is proof that it arrived */
    ic_message n = outbound(f, k, conv, IC_LANE_REPLY);
    assert_int_equal(ic_store_message_mark(f->c, n.id, "sent", "wamid.S2", 0, NULL), IC_OK);
    assert_true(status(f, "wamid.S2", NULL, "failed", 131026));
    assert_string_equal(msg_status(f, n.id, &o), "failed");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "error"), "code")),
                     131026);
    assert_false(status(f, "wamid.S2", NULL, "sent", 0));
    assert_true(status(f, "wamid.S2", NULL, "delivered", 0));
    assert_string_equal(msg_status(f, n.id, &o), "delivered");
    assert_true(json_is_null(json_object_get(o, "error")));

    /* failed after delivered is ignored */
    ic_message d = outbound(f, k, conv, IC_LANE_BULK);
    assert_int_equal(ic_store_message_mark(f->c, d.id, "sent", "wamid.S3", 0, NULL), IC_OK);
    assert_true(status(f, "wamid.S3", NULL, "delivered", 0));
    assert_false(status(f, "wamid.S3", NULL, "failed", 131026));
    assert_string_equal(msg_status(f, d.id, &o), "delivered");
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_int_equal(history_len(f, d.id, "delivered"), 2);

    bool applied = true;
    assert_int_equal(ic_store_status_apply(f->c, f->ws, f->ch, "wamid.S1", NULL, "seen", 1, 0, NULL,
                                           NULL, &applied),
                     IC_ERR_INVALID);
    /* Another workspace never touches this message. */
    assert_int_equal(ic_store_status_apply(f->c, f->ws2, f->ch, "wamid.S2", NULL, "read", 1, 0,
                                           NULL, NULL, &applied),
                     IC_OK);
    assert_false(applied);
    assert_string_equal(msg_status(f, n.id, &o), "delivered");
    json_t *h = NULL;
    assert_int_equal(ic_store_message_statuses(f->c, f->ws2, n.id, &h), IC_ERR_NOT_FOUND);
    json_decref(o);
}

static void test_status_before_send_answer(void **state)
{
    fx *f = *state;
    int64_t conv = 0;
    int64_t k = person(f, f->ws, f->ch, "27824444444", &conv);
    ic_message m = outbound(f, k, conv, IC_LANE_REPLY);
    json_t *o = NULL;
    assert_int_equal(ic_store_message_mark(f->c, m.id, "sending", NULL, 0, NULL), IC_OK);
    /* Meta's statuses arrive before the send call returns the id. */
    assert_false(status(f, "wamid.EARLY", NULL, "sent", 0));
    assert_false(status(f, "wamid.EARLY", NULL, "delivered", 0));
    assert_int_equal(history_len(f, m.id, NULL), 0);
    assert_int_equal(
        sql_i64(f->c, "SELECT count(*) FROM message_statuses WHERE message_id IS NULL"), 2);
    assert_int_equal(ic_store_message_mark(f->c, m.id, "sent", "wamid.EARLY", 0, NULL), IC_OK);
    assert_string_equal(msg_status(f, m.id, &o), "delivered");
    assert_int_equal(history_len(f, m.id, "sent"), 2);
    assert_int_equal(
        sql_i64(f->c, "SELECT count(*) FROM message_statuses WHERE message_id IS NULL"), 0);
    assert_true(status(f, "wamid.EARLY", NULL, "read", 0));
    assert_string_equal(msg_status(f, m.id, &o), "read");
    json_decref(o);
}

static void test_biz_opaque_reconciles(void **state)
{
    fx *f = *state;
    int64_t conv = 0;
    int64_t k = person(f, f->ws, f->ch, "27824444444", &conv);
    ic_message m = outbound(f, k, conv, IC_LANE_REPLY);
    json_t *o = NULL;
    char biz[32];
    snprintf(biz, sizeof biz, "%lld", (long long)m.id);
    assert_int_equal(ic_store_message_mark(f->c, m.id, "sending", NULL, 0, NULL), IC_OK);
    outbox_seen seen = {.stop_after = 0};
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, outbox_cb, &seen), IC_OK);
    assert_string_equal(msg_status(f, m.id, &o), "unknown");
    /* The wrong workspace or channel cannot claim it through biz_opaque. */
    bool applied = true;
    assert_int_equal(ic_store_status_apply(f->c, f->ws2, f->ch2, "wamid.R1", biz, "sent", 1, 0,
                                           NULL, NULL, &applied),
                     IC_OK);
    assert_false(applied);
    assert_true(status(f, "wamid.R1", biz, "sent", 0));
    assert_string_equal(msg_status(f, m.id, &o), "sent");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.R1");
    assert_true(status(f, "wamid.R1", NULL, "delivered", 0));

    /* A status found by biz_opaque while sending; the late send answer does
     * not take it back. */
    ic_message n = outbound(f, k, conv, IC_LANE_REPLY);
    snprintf(biz, sizeof biz, "%lld", (long long)n.id);
    assert_int_equal(ic_store_message_mark(f->c, n.id, "sending", NULL, 0, NULL), IC_OK);
    assert_true(status(f, "wamid.R2", biz, "delivered", 0));
    assert_int_equal(ic_store_message_mark(f->c, n.id, "sent", "wamid.R2", 0, NULL), IC_OK);
    assert_string_equal(msg_status(f, n.id, &o), "delivered");
    assert_int_equal(history_len(f, n.id, "delivered"), 1);
    assert_false(status(f, "wamid.NONE", "not-a-number", "read", 0));
    json_decref(o);
}

static void test_channel_errors(void **state)
{
    fx *f = *state;
    assert_int_equal(ic_store_channel_error_insert(f->c, f->ws, f->ch, 131051, "Unsupported",
                                                   "Message type unknown", "{\"x\":1}"),
                     IC_OK);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM channel_errors WHERE code = 131051"), 1);
}

static void test_media(void **state)
{
    fx *f = *state;
    ic_media_row m = {
        .workspace_id = f->ws, .channel_id = f->ch, .wa_media_id = "M1", .mime_type = "image/jpeg"};
    assert_int_equal(ic_store_media_upsert(f->c, &m), IC_OK);
    int64_t id = m.id;
    assert_string_equal(m.state, "pending");
    ic_media_row again = {.workspace_id = f->ws, .channel_id = f->ch, .wa_media_id = "M1"};
    assert_int_equal(ic_store_media_upsert(f->c, &again), IC_OK);
    assert_int_equal(again.id, id);
    ic_media_row up1 = {.workspace_id = f->ws,
                        .channel_id = f->ch,
                        .state = "stored",
                        .path = "ab/up1.pdf",
                        .size = 10};
    ic_media_row up2 = up1;
    assert_int_equal(ic_store_media_upsert(f->c, &up1), IC_OK);
    assert_int_equal(ic_store_media_upsert(f->c, &up2), IC_OK);
    assert_int_not_equal(up1.id, up2.id);
    ic_media_row evil = {.workspace_id = f->ws, .channel_id = f->ch, .path = "a/../../etc"};
    assert_int_equal(ic_store_media_upsert(f->c, &evil), IC_ERR_INVALID);

    json_t *p = NULL;
    assert_int_equal(ic_store_media_pending(f->c, 10, &p), IC_OK);
    assert_int_equal(json_array_size(p), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0), "id")), id);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0), "workspace_id")),
                     f->ws);
    json_decref(p);

    const char *sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_int_equal(ic_store_media_update(f->c, f->ws2, id, "stored", "x/m1", 5, sha, NULL),
                     IC_ERR_NOT_FOUND);
    assert_int_equal(ic_store_media_update(f->c, f->ws, id, "stored", "/etc/passwd", 5, sha, NULL),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_media_update(f->c, f->ws, id, "done", "x/m1", 5, sha, NULL),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_media_update(f->c, f->ws, id, "stored", "x/m1", 1234, sha, NULL),
                     IC_OK);
    json_t *o = NULL;
    assert_int_equal(ic_store_media_get(f->c, f->ws, id, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "stored");
    assert_string_equal(json_string_value(json_object_get(o, "path")), "x/m1");
    assert_string_equal(json_string_value(json_object_get(o, "mime_type")), "image/jpeg");
    assert_string_equal(json_string_value(json_object_get(o, "sha256")), sha);
    assert_string_equal(json_string_value(json_object_get(o, "wa_media_id")), "M1");
    assert_int_equal(json_integer_value(json_object_get(o, "size")), 1234);
    assert_int_equal(json_integer_value(json_object_get(o, "channel_id")), f->ch);
    json_decref(o);
    assert_int_equal(ic_store_media_get(f->c, f->ws2, id, &o), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_store_media_pending(f->c, 10, &p), IC_OK);
    assert_int_equal(json_array_size(p), 0);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_messages_inbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbound_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statuses_forward_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_before_send_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_biz_opaque_reconciles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
