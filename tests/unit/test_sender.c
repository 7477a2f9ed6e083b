/* test_sender.c - the sender end to end, in process: a real SQLite store
 * and writer, and a tiny libmicrohttpd server that plays the Graph API
 * (it records every request and answers from a script, else success). */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "store/store.h"
#include "wa/sender.h"

#include "fake_graph.h"
#include "test_db.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define HOUR_US (3600LL * 1000000)
#define NCONTACTS 60
#define WAIT_US (20LL * 1000000) /* a deadline for failing, not a timing claim */

/* ---- the fixture ------------------------------------------------------------------- */

typedef struct fx {
    char dburl[700]; /* a file in dir, or a PostgreSQL database (test_db.h) */
    char dir[512];
    ic_db *db;
    ic_writer *w;
    ic_sender *s;
    ic_conn *c;
    int64_t ws, ch;
    int64_t contacts[NCONTACTS]; /* window open */
    int64_t closed;              /* last wrote 25 hours ago */
    int64_t never;               /* never wrote */
    char wa_ids[NCONTACTS][24];
} fx;

static fx *F;

static int64_t add_contact(fx *f, const char *wa_id, int64_t last_inbound_us)
{
    int64_t id = 0, conv = 0;
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, wa_id, "Person", &id), IC_OK);
    if (last_inbound_us)
        assert_int_equal(
            ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, id, last_inbound_us, &conv),
            IC_OK);
    return id;
}

static int64_t add_channel(fx *f, const char *phone_id, int mps)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v21.0", G.port);
    ic_channel ch = {.workspace_id = f->ws,
                     .name = (char *)"Helpline",
                     .phone_number_id = (char *)phone_id,
                     .access_token = (char *)"EAAG-token",
                     .app_secret = (char *)"app-secret",
                     .verify_token = (char *)"verify-me",
                     .graph_url = url,
                     .throughput_mps = mps};
    assert_int_equal(ic_store_channel_insert(f->c, &ch), IC_OK);
    return ch.id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->db = test_db_fresh("sender", f->dir, sizeof f->dir, f->dburl, sizeof f->dburl);
    ic_errmsg em = {{0}};
    f->c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_store_workspace_insert(f->c, "Helpline", &f->ws), IC_OK);
    f->ch = add_channel(f, "1001", 40);
    int64_t now = ic_now_us();
    assert_int_equal(ic_conn_begin(f->c), IC_OK);
    for (int i = 0; i < NCONTACTS; i++) {
        snprintf(f->wa_ids[i], sizeof f->wa_ids[i], "277900%05d", i);
        f->contacts[i] = add_contact(f, f->wa_ids[i], now - HOUR_US);
    }
    f->closed = add_contact(f, "27790099998", now - 25 * HOUR_US);
    f->never = add_contact(f, "27790099999", 0);
    assert_int_equal(ic_conn_commit(f->c), IC_OK);
    assert_int_equal(ic_writer_start(f->db, 10000, &f->w, &em), IC_OK);
    fake_reset();
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_sender_stop(f->s);
    ic_writer_stop(f->w);
    ic_db_close(f->db);
    test_db_drop(f->dburl);
    free(f);
    F = NULL;
    return 0;
}

static void start_sender_cap(fx *f, int64_t retry_base_us, size_t outbox_cap)
{
    ic_sender_options o;
    ic_sender_options_default(&o);
    o.retry_base_us = retry_base_us;
    o.outbox_cap = outbox_cap;
    o.max_attempts = 3;
    o.stop_grace_ms = 2000;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_sender_start_opts(f->db, f->w, "http://127.0.0.1:1/unused", &o, &f->s, &em),
                     IC_OK);
}

static void start_sender(fx *f, int64_t retry_base_us)
{
    start_sender_cap(f, retry_base_us, 0);
}

/* ---- queueing messages through the writer, as the API does -------------------------- */

typedef struct q_item {
    int contact; /* index into contacts, or -1 closed, -2 never */
    const char *content;
    ic_lane lane;
    const char *type;
    const char *reply_to;
    int64_t id; /* out */
} q_item;

typedef struct q_job {
    ic_write_job wj;
    fx *f;
    int64_t channel_id;
    q_item *items;
    size_t n;
    ic_message *msgs;
    char (*to)[24];
    bool notify;
} q_job;

static int64_t contact_of(fx *f, int idx, const char **wa_id)
{
    if (idx == -1) {
        *wa_id = "27790099998";
        return f->closed;
    }
    if (idx == -2) {
        *wa_id = "27790099999";
        return f->never;
    }
    *wa_id = f->wa_ids[idx];
    return f->contacts[idx];
}

static ic_err q_apply(ic_conn *tx, ic_write_job *wj)
{
    q_job *q = wj->arg;
    for (size_t i = 0; i < q->n; i++) {
        const char *wa_id = NULL;
        int64_t contact = contact_of(q->f, q->items[i].contact, &wa_id), conv = 0;
        ic_err e = ic_store_conversation_for_send(tx, q->f->ws, q->channel_id, contact, &conv);
        if (e != IC_OK)
            return e;
        ic_strlcpy(q->to[i], wa_id, sizeof q->to[i]);
        q->msgs[i] = (ic_message){.workspace_id = q->f->ws,
                                  .channel_id = q->channel_id,
                                  .contact_id = contact,
                                  .conversation_id = conv,
                                  .direction = IC_DIR_OUT,
                                  .lane = q->items[i].lane,
                                  .type = q->items[i].type ? q->items[i].type : "text",
                                  .content_json = q->items[i].content,
                                  .reply_to_wa_id = q->items[i].reply_to,
                                  .to = q->to[i],
                                  .status = "queued"};
        e = ic_store_message_insert_outbound(tx, &q->msgs[i]);
        if (e != IC_OK)
            return e;
        q->items[i].id = q->msgs[i].id;
    }
    return IC_OK;
}

static void q_done(ic_write_job *wj, ic_err result)
{
    q_job *q = wj->arg;
    if (result == IC_OK && q->notify)
        for (size_t i = 0; i < q->n; i++)
            ic_sender_notify(q->f->s, &q->msgs[i]);
}

/* Inserts items in one transaction, then tells the sender (when notify). */
static void queue_on(fx *f, int64_t channel_id, q_item *items, size_t n, bool notify)
{
    q_job q = {.f = f, .channel_id = channel_id, .items = items, .n = n, .notify = notify};
    q.msgs = calloc(n, sizeof *q.msgs);
    q.to = calloc(n, sizeof *q.to);
    q.wj.apply = q_apply;
    q.wj.done = q_done;
    q.wj.arg = &q;
    assert_int_equal(ic_writer_run(f->w, &q.wj), IC_OK);
    free(q.msgs);
    free(q.to);
}

static int64_t queue_one(fx *f, int contact, const char *content, ic_lane lane)
{
    q_item it = {.contact = contact, .content = content, .lane = lane};
    queue_on(f, f->ch, &it, 1, true);
    return it.id;
}

#define TEXT "{\"type\":\"text\",\"text\":{\"body\":\"Hello, how can we help?\"}}"

/* Waits until message id leaves queued/sending; returns its JSON (owned). */
static json_t *wait_final(fx *f, int64_t id)
{
    int64_t end = ic_mono_us() + WAIT_US;
    json_t *o = NULL;
    for (;;) {
        json_decref(o);
        o = NULL;
        assert_int_equal(ic_store_message_get(f->c, f->ws, id, &o), IC_OK);
        const char *st = json_string_value(json_object_get(o, "status"));
        if (st && strcmp(st, "queued") != 0 && strcmp(st, "sending") != 0)
            return o;
        if (ic_mono_us() > end)
            fail_msg("message %lld still %s", (long long)id, st ? st : "?");
        usleep(2000);
    }
}

static void assert_status(json_t *o, const char *status)
{
    assert_string_equal(json_string_value(json_object_get(o, "status")), status);
}

static int error_code(json_t *o)
{
    return (int)json_integer_value(json_object_get(json_object_get(o, "error"), "code"));
}

static const char *error_reason(json_t *o)
{
    const char *r = json_string_value(json_object_get(json_object_get(o, "error"), "reason"));
    return r ? r : "";
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_sent_with_meta_id(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    int64_t id = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "sent");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.1");
    json_decref(o);
    assert_int_equal(fake_count(), 1);
    /* What Meta saw: the phone number's endpoint, the channel's token, the
     * recipient, and our id to reconcile statuses with. */
    assert_string_equal(G.reqs[0].path, "/v21.0/1001/messages");
    assert_string_equal(G.reqs[0].auth, "Bearer EAAG-token");
    json_t *b = G.reqs[0].body;
    assert_string_equal(json_string_value(json_object_get(b, "to")), f->wa_ids[0]);
    assert_string_equal(json_string_value(json_object_get(b, "type")), "text");
    assert_true(fake_msg_id(0) == id);
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.failed, 0);
}

static void test_reply_context(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    q_item it = {.contact = 1,
                 .content = TEXT,
                 .lane = IC_LANE_REPLY,
                 .reply_to = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="};
    queue_on(f, f->ch, &it, 1, true);
    json_t *o = wait_final(f, it.id);
    assert_status(o, "sent");
    json_decref(o);
    json_t *ctx = json_object_get(G.reqs[0].body, "context");
    assert_string_equal(json_string_value(json_object_get(ctx, "message_id")), it.reply_to);
}

static void test_throttled_then_sent_once(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script_error(400, 130429,
                      "Message failed to send because there were too many messages sent from "
                      "this phone number in a short period of time");
    int64_t id = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "sent");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.2");
    json_decref(o);
    assert_int_equal(fake_count(), 2);
    assert_true(fake_msg_id(0) == id && fake_msg_id(1) == id);
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.throttled_130429, 1);
    assert_int_equal(st.retried, 1);
    assert_int_equal(st.sent, 1);
}

static void test_server_error_then_sent(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script(500, "oops");
    int64_t id = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "sent");
    json_decref(o);
    assert_int_equal(fake_count(), 2);
}

static void test_pair_limited_then_sent(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script_error(400, 131056,
                      "Too many messages sent from this phone number to the same "
                      "phone number in a short period of time");
    int64_t id = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "sent");
    json_decref(o);
    assert_int_equal(fake_count(), 2);
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.pair_limited, 1);
    assert_int_equal(st.throttled_130429, 0);
}

static void test_failed_for_good(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script_error(400, 131026, "Message Undeliverable.");
    fake_script_error(400, 131047,
                      "Message failed to send because more than 24 hours have passed since the "
                      "customer last replied to this number.");
    int64_t a = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, a);
    assert_status(o, "failed");
    assert_int_equal(error_code(o), 131026);
    assert_string_equal(error_reason(o), "Message Undeliverable.");
    json_decref(o);
    int64_t b = queue_one(f, 1, TEXT, IC_LANE_REPLY);
    o = wait_final(f, b);
    assert_status(o, "failed");
    assert_int_equal(error_code(o), 131047);
    assert_non_null(strstr(error_reason(o), "more than 24 hours"));
    json_decref(o);
    assert_int_equal(fake_count(), 2); /* never retried */
}

static void test_window_closed_no_request(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    int64_t a = queue_one(f, -1, TEXT, IC_LANE_REPLY);
    int64_t b = queue_one(f, -2, TEXT, IC_LANE_REPLY);
    for (int i = 0; i < 2; i++) {
        json_t *o = wait_final(f, i == 0 ? a : b);
        assert_status(o, "failed");
        assert_int_equal(error_code(o), 131047);
        assert_string_equal(error_reason(o),
                            "24-hour window closed: only an approved template can be sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 0);
    /* A template may go outside the window; so may marking as read. */
    q_item its[2] = {
        {.contact = -1,
         .type = "template",
         .lane = IC_LANE_BULK,
         .content = "{\"type\":\"template\",\"template\":{\"name\":\"appointment_reminder\","
                    "\"language\":{\"code\":\"en\"}}}"},
        {.contact = -2,
         .type = "read",
         .lane = IC_LANE_REPLY,
         .content = "{\"type\":\"read\",\"message_id\":\"wamid.HBgLMTY1MDM4Nzk0\"}"},
    };
    queue_on(f, f->ch, its, 2, true);
    for (int i = 0; i < 2; i++) {
        json_t *o = wait_final(f, its[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 2);
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.window_closed, 2);
}

static void test_reply_overtakes_bulk(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    q_item bulk[50];
    for (int i = 0; i < 50; i++)
        bulk[i] = (q_item){.contact = i, .content = TEXT, .lane = IC_LANE_BULK};
    queue_on(f, f->ch, bulk, 50, true);
    int64_t reply = queue_one(f, 50, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, reply);
    assert_status(o, "sent");
    json_decref(o);
    for (int i = 0; i < 50; i++) {
        o = wait_final(f, bulk[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 51);
    int pos = -1;
    for (int i = 0; i < 51; i++)
        if (fake_msg_id(i) == reply)
            pos = i;
    /* At 40 messages/s the bulk takes over a second; the reply goes within
     * the few bulk messages already picked when it arrived. */
    assert_true(pos >= 0 && pos <= 10);
    /* Bulk keeps its own order (oldest first). */
    int64_t prev = 0;
    for (int i = 0; i < 51; i++) {
        int64_t id = fake_msg_id(i);
        if (id == reply)
            continue;
        assert_true(id > prev);
        prev = id;
    }
}

static void test_order_per_person_with_retry(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script(503, "{\"error\":{\"message\":\"Service temporarily unavailable\",\"code\":2}}");
    q_item its[5];
    for (int i = 0; i < 5; i++)
        its[i] = (q_item){.contact = 3, .content = TEXT, .lane = IC_LANE_REPLY};
    queue_on(f, f->ch, its, 5, true);
    for (int i = 0; i < 5; i++) {
        json_t *o = wait_final(f, its[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 6);
    /* The first one failed and was retried before the others went. */
    assert_true(fake_msg_id(0) == its[0].id);
    assert_true(fake_msg_id(1) == its[0].id);
    for (int i = 1; i < 5; i++)
        assert_true(fake_msg_id(i + 1) == its[i].id);
}

static void test_two_bodies_in_order(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    /* Audio cannot carry a caption: the attachment goes first, then the text. */
    int64_t id = queue_one(f, 0,
                           "{\"text\":\"Listen to this\",\"attachments\":"
                           "[\"audio/mpeg:https://example.org/a.mp3\"]}",
                           IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "sent");
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "wamid.2");
    json_decref(o);
    assert_int_equal(fake_count(), 2);
    assert_string_equal(json_string_value(json_object_get(G.reqs[0].body, "type")), "audio");
    assert_string_equal(json_string_value(json_object_get(G.reqs[1].body, "type")), "text");
    assert_true(fake_msg_id(1) == id);
}

static void test_connection_refused_retries_then_fails(void **state)
{
    fx *f = *state;
    /* A channel whose Graph API refuses connections: the request never left,
     * so it is retried, and fails for good after the attempts run out. */
    int64_t ch = 0;
    {
        ic_channel c = {.workspace_id = f->ws,
                        .name = (char *)"Dead",
                        .phone_number_id = (char *)"3003",
                        .access_token = (char *)"t",
                        .app_secret = (char *)"a",
                        .verify_token = (char *)"v",
                        .graph_url = (char *)"http://127.0.0.1:1/v21.0",
                        .throughput_mps = 80};
        assert_int_equal(ic_store_channel_insert(f->c, &c), IC_OK);
        ch = c.id;
        int64_t conv = 0;
        assert_int_equal(ic_store_conversation_touch_inbound(f->c, f->ws, ch, f->contacts[0],
                                                             ic_now_us() - HOUR_US, &conv),
                         IC_OK);
    }
    start_sender(f, 20000);
    q_item it = {.contact = 0, .content = TEXT, .lane = IC_LANE_REPLY};
    queue_on(f, ch, &it, 1, true);
    json_t *o = wait_final(f, it.id);
    assert_status(o, "failed");
    assert_true(ic_str_starts(error_reason(o), "gave up after 4 attempts: could not reach"));
    json_decref(o);
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.retried, 3);
    assert_int_equal(st.requests, 4);
}

static void test_dropped_answer_is_unknown(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    fake_script(0, "");
    int64_t id = queue_one(f, 0, TEXT, IC_LANE_REPLY);
    json_t *o = wait_final(f, id);
    assert_status(o, "unknown");
    assert_non_null(strstr(error_reason(o), "may have been sent"));
    json_decref(o);
    /* Never resent blindly. */
    usleep(300000);
    assert_int_equal(fake_count(), 1);
}

static void test_loaded_at_start_and_channel_added(void **state)
{
    fx *f = *state;
    /* Queued before the sender runs: found by the outbox load. */
    q_item early[3];
    for (int i = 0; i < 3; i++)
        early[i] = (q_item){.contact = 4, .content = TEXT, .lane = IC_LANE_BULK};
    queue_on(f, f->ch, early, 3, false);
    start_sender(f, 50000);
    for (int i = 0; i < 3; i++) {
        json_t *o = wait_final(f, early[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    for (int i = 0; i < 3; i++)
        assert_true(fake_msg_id(i) == early[i].id);
    /* A channel created while running. */
    ic_channel c = {0};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v21.0", G.port);
    c = (ic_channel){.workspace_id = f->ws,
                     .name = (char *)"Second",
                     .phone_number_id = (char *)"4004",
                     .access_token = (char *)"EAAG-second",
                     .app_secret = (char *)"a",
                     .verify_token = (char *)"v",
                     .graph_url = url,
                     .throughput_mps = 80};
    assert_int_equal(ic_store_channel_insert(f->c, &c), IC_OK);
    int64_t conv = 0;
    assert_int_equal(ic_store_conversation_touch_inbound(f->c, f->ws, c.id, f->contacts[5],
                                                         ic_now_us() - HOUR_US, &conv),
                     IC_OK);
    ic_sender_channel_added(f->s, &c);
    q_item it = {.contact = 5, .content = TEXT, .lane = IC_LANE_REPLY};
    queue_on(f, c.id, &it, 1, true);
    json_t *o = wait_final(f, it.id);
    assert_status(o, "sent");
    json_decref(o);
    assert_int_equal(fake_count(), 4);
    assert_string_equal(G.reqs[3].path, "/v21.0/4004/messages");
    assert_string_equal(G.reqs[3].auth, "Bearer EAAG-second");
}

static void test_stop_leaves_nothing_sending(void **state)
{
    fx *f = *state;
    start_sender(f, 50000);
    q_item bulk[40];
    for (int i = 0; i < 40; i++)
        bulk[i] = (q_item){.contact = i, .content = TEXT, .lane = IC_LANE_BULK};
    queue_on(f, f->ch, bulk, 40, true);
    while (fake_count() < 3)
        usleep(2000);
    ic_sender_stop(f->s);
    f->s = NULL;
    int sent = 0, queued = 0;
    for (int i = 0; i < 40; i++) {
        json_t *o = NULL;
        assert_int_equal(ic_store_message_get(f->c, f->ws, bulk[i].id, &o), IC_OK);
        const char *st = json_string_value(json_object_get(o, "status"));
        if (strcmp(st, "sent") == 0)
            sent++;
        else if (strcmp(st, "queued") == 0)
            queued++;
        else
            fail_msg("message %d is %s after stop", i, st);
        json_decref(o);
    }
    assert_int_equal(sent, fake_count());
    assert_int_equal(sent + queued, 40);
    assert_true(queued > 0);
    /* The next start sends the rest, and nothing twice. */
    start_sender(f, 50000);
    for (int i = 0; i < 40; i++) {
        json_t *o = wait_final(f, bulk[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 40);
}

static void test_beyond_the_cap_reloads(void **state)
{
    fx *f = *state;
    /* Memory holds 5 messages; the other 13 wait in the database and are
     * loaded once memory has drained: all go, once each, in order. */
    start_sender_cap(f, 50000, 5);
    q_item its[18];
    for (int i = 0; i < 18; i++)
        its[i] = (q_item){.contact = i % 9, .content = TEXT, .lane = IC_LANE_BULK};
    queue_on(f, f->ch, its, 18, true);
    for (int i = 0; i < 18; i++) {
        json_t *o = wait_final(f, its[i].id);
        assert_status(o, "sent");
        json_decref(o);
    }
    assert_int_equal(fake_count(), 18);
    int64_t last[9] = {0};
    for (int i = 0; i < 18; i++) {
        int64_t id = fake_msg_id(i);
        int k = -1;
        for (int j = 0; j < 18; j++)
            if (its[j].id == id)
                k = j;
        assert_true(k >= 0);
        assert_true(id > last[k % 9]); /* each person's messages in order */
        last[k % 9] = id;
    }
    struct ic_sender_stats st;
    ic_sender_stats(f->s, &st);
    /* Notes beyond the cap are counted; notes that came before the channel's
     * lease was taken are not (the load after taking it holds them). Either
     * way at most 5 were ever in memory, so the reloads did the rest. */
    assert_true(st.overflowed <= 18);
    assert_int_equal(st.sent, 18);
    assert_int_equal(st.leases_held, 1);
    assert_int_equal(st.leases_taken, 1);
}

static void test_stats_null_and_idle(void **state)
{
    fx *f = *state;
    struct ic_sender_stats st;
    ic_sender_stats(NULL, &st);
    assert_int_equal(st.sent, 0);
    ic_sender_notify(NULL, NULL);
    ic_sender_stop(NULL);
    start_sender(f, 50000);
    usleep(200000);
    ic_sender_stats(f->s, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.queued, 0);
    /* Idle means asleep: a fraction of the 200 ms at most. */
    assert_true(st.cpu_us < 100000);
}

int main(void)
{
    json_object_seed(1);
    fake_start();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sent_with_meta_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttled_then_sent_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_then_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pair_limited_then_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_closed_no_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_overtakes_bulk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_per_person_with_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_bodies_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused_retries_then_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dropped_answer_is_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loaded_at_start_and_channel_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_leaves_nothing_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beyond_the_cap_reloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_null_and_idle, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_reset();
    MHD_stop_daemon(G.d);
    return rc;
}
