/* test_ingest.c - parsed webhook batches into a real SQLite store through the
 * writer: messages, duplicates, media, statuses, errors and ignored items. */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "core/ingest.h"
#include "store/store.h"
#include "wa/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_db.h"
#include "test_helpers.h"

typedef struct fx {
    char dir[512];
    char path[600];
    ic_db *db;
    ic_writer *w;
    test_view raw; /* a separate view for assertions */
    int64_t ws;
    int64_t ch;
} fx;

static int setup(void **state)
{
    fx *f = ic_calloc(1, sizeof *f);
    f->db = test_db_fresh("ingest", f->dir, sizeof f->dir, f->path, sizeof f->path);

    ic_conn *c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_conn_begin(c), IC_OK);
    assert_int_equal(ic_store_workspace_insert(c, "Helpline", &f->ws), IC_OK);
    ic_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.workspace_id = f->ws;
    ch.name = "Main number";
    ch.phone_number_id = "1234567890";
    ch.waba_id = "8856996819413533";
    ch.display_phone = "+250 788 123 200";
    ch.access_token = "a123";
    ch.app_secret = "fb_app_secret";
    ch.verify_token = "verify-me";
    ch.throughput_mps = 80;
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    f->ch = ch.id;
    assert_int_equal(ic_conn_commit(c), IC_OK);

    ic_errmsg em = {{0}};
    assert_int_equal(ic_writer_start(f->db, 100, &f->w, &em), IC_OK);
    test_view_open(&f->raw, f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    test_view_close(&f->raw);
    ic_writer_stop(f->w);
    assert_int_equal(test_db_dispose(f->db, f->path, f->dir), 0);
    ic_free(f);
    return 0;
}

/* The first column of the first row of sql, as an integer. */
static int64_t q_int(fx *f, const char *sql)
{
    return test_view_i64(&f->raw, sql);
}

/* The first column of the first row of sql, as text ("" when NULL). */
static void q_text(fx *f, const char *sql, char *out, size_t size)
{
    test_view_text(&f->raw, sql, out, size);
}

typedef struct ingest_job {
    ic_write_job job;
    int64_t ws, ch;
    ic_wa_batch batch;
    ic_ingest_counts counts;
} ingest_job;

static ic_err ingest_apply(ic_conn *tx, ic_write_job *job)
{
    ingest_job *j = job->arg;
    return ic_ingest_apply(tx, j->ws, j->ch, &j->batch, &j->counts);
}

/* Parses the shared file rel and ingests it for channel ch through the
 * writer; returns the job's result. */
static ic_err ingest(fx *f, const char *rel, int64_t ch, ic_ingest_counts *counts)
{
    ic_buf body = IC_BUF_INIT;
    test_read_shared(rel, &body);
    ingest_job j;
    memset(&j, 0, sizeof j);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_wa_webhook_parse(body.data, body.len, &j.batch, &em), IC_OK);
    j.ws = f->ws;
    j.ch = ch;
    j.job.apply = ingest_apply;
    j.job.arg = &j;
    ic_err e = ic_writer_run(f->w, &j.job);
    *counts = j.counts;
    ic_wa_batch_free(&j.batch);
    ic_buf_free(&body);
    return e;
}

#define WAC "conformance/courier-wac/"

static void test_text_message(void **state)
{
    fx *f = *state;
    ic_ingest_counts n;
    assert_int_equal(ingest(f, WAC "hello.json", f->ch, &n), IC_OK);
    assert_int_equal(n.messages, 1);
    assert_int_equal(n.duplicates, 0);
    assert_int_equal(n.ignored, 0);
    assert_int_equal(n.media_count, 0);

    char v[1024];
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 1);
    q_text(f, "SELECT text FROM messages WHERE wa_id = 'external_id'", v, sizeof v);
    assert_string_equal(v, "Hello World");
    q_text(f, "SELECT direction || ' ' || status || ' ' || type FROM messages", v, sizeof v);
    assert_string_equal(v, "in received text");
    assert_int_equal(q_int(f, "SELECT wa_us FROM messages"), 1454119029000000LL);
    /* The normalised event, compact. */
    q_text(f, "SELECT content_json FROM messages", v, sizeof v);
    json_t *content = json_loads(v, 0, NULL);
    assert_non_null(content);
    assert_string_equal(json_string_value(json_object_get(content, "from")), "5678");
    json_decref(content);
    assert_null(strstr(v, ": "));

    /* The contact, with its name, and the conversation with the window. */
    q_text(f, "SELECT wa_id || '|' || name FROM contacts", v, sizeof v);
    assert_string_equal(v, "5678|Kerry Fisher");
    int64_t contact = 0, last = 0;
    ic_conn *c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_store_contact_by_wa_id(c, f->ws, "5678", &contact), IC_OK);
    assert_int_equal(ic_store_last_inbound_us(c, f->ws, f->ch, contact, &last), IC_OK);
    assert_int_equal(last, 1454119029000000LL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM conversations WHERE status = 'open'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE conversation_id IS NOT NULL"),
                     1);
}

static void test_duplicates(void **state)
{
    fx *f = *state;
    ic_ingest_counts n;
    assert_int_equal(ingest(f, WAC "hello.json", f->ch, &n), IC_OK);
    assert_int_equal(n.messages, 1);
    /* Meta delivers again: counted, not stored twice, not an error. */
    assert_int_equal(ingest(f, WAC "hello.json", f->ch, &n), IC_OK);
    assert_int_equal(n.messages, 0);
    assert_int_equal(n.duplicates, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 1);
    /* The same message twice in one body is kept once. */
    assert_int_equal(ingest(f, WAC "duplicate.json", f->ch, &n), IC_OK);
    assert_int_equal(n.messages + n.duplicates, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM contacts"), 1);
}

static void test_media_pending(void **state)
{
    fx *f = *state;
    ic_ingest_counts n;
    assert_int_equal(ingest(f, WAC "image.json", f->ch, &n), IC_OK);
    assert_int_equal(n.messages, 1);
    assert_int_equal(n.media_count, 1);
    char v[256];
    q_text(f, "SELECT wa_media_id || '|' || state FROM media", v, sizeof v);
    assert_string_equal(v, "id_image|pending");
    assert_int_equal(q_int(f, "SELECT id FROM media"), n.media_ids[0]);
    q_text(f, "SELECT text || '|' || media_id || '|' || type FROM messages", v, sizeof v);
    assert_string_equal(v, "Check out my new phone!|id_image|image");

    /* A redelivered media message asks for no second fetch. */
    assert_int_equal(ingest(f, WAC "image.json", f->ch, &n), IC_OK);
    assert_int_equal(n.duplicates, 1);
    assert_int_equal(n.media_count, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM media"), 1);
}

typedef struct outbound_job {
    ic_write_job job;
    fx *f;
    int64_t msg_id;
} outbound_job;

/* Writes an outbound message that Meta accepted with the id of the
 * examples' delivered status. */
static ic_err outbound_apply(ic_conn *tx, ic_write_job *job)
{
    outbound_job *o = job->arg;
    int64_t contact = 0, conv = 0;
    ic_err e = ic_store_contact_upsert(tx, o->f->ws, "16505551234", NULL, &contact);
    if (!e)
        e = ic_store_conversation_for_send(tx, o->f->ws, o->f->ch, contact, &conv);
    if (e)
        return e;
    ic_message m;
    memset(&m, 0, sizeof m);
    m.workspace_id = o->f->ws;
    m.channel_id = o->f->ch;
    m.contact_id = contact;
    m.conversation_id = conv;
    m.direction = IC_DIR_OUT;
    m.lane = IC_LANE_REPLY;
    m.type = "text";
    m.text = "Your appointment is at 10:00";
    m.content_json = "{\"type\":\"text\",\"text\":{\"body\":\"Your appointment is at 10:00\"}}";
    m.to = "16505551234";
    m.status = "queued";
    e = ic_store_message_insert_outbound(tx, &m);
    if (e)
        return e;
    o->msg_id = m.id;
    return ic_store_message_mark(
        tx, m.id, "sent", "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA", 0, NULL);
}

static void test_status_moves_message(void **state)
{
    fx *f = *state;
    outbound_job o = {.f = f};
    o.job.apply = outbound_apply;
    o.job.arg = &o;
    assert_int_equal(ic_writer_run(f->w, &o.job), IC_OK);

    ic_ingest_counts n;
    assert_int_equal(ingest(f, "whatsapp/examples/status-delivered.json", f->ch, &n), IC_OK);
    assert_int_equal(n.statuses, 1);
    assert_int_equal(n.messages, 0);
    char sql[128], v[64];
    snprintf(sql, sizeof sql, "SELECT status FROM messages WHERE id = %lld", (long long)o.msg_id);
    q_text(f, sql, v, sizeof v);
    assert_string_equal(v, "delivered");
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses WHERE status = 'delivered'"),
                     1);

    /* A status for a message we do not know (yet) is kept, not an error. */
    assert_int_equal(ingest(f, WAC "valid_status.json", f->ch, &n), IC_OK);
    assert_int_equal(n.statuses, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses WHERE wa_id = 'external_id'"),
                     1);
}

static void test_ignored_and_errors(void **state)
{
    fx *f = *state;
    ic_ingest_counts n;
    char v[512];

    /* An unusable item is kept as a channel error with its reason. */
    assert_int_equal(ingest(f, WAC "invalid_from.json", f->ch, &n), IC_OK);
    assert_int_equal(n.ignored, 1);
    assert_int_equal(n.messages, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors"), 1);
    q_text(f, "SELECT code || '|' || title FROM channel_errors", v, sizeof v);
    assert_non_null(strstr(v, "0|"));
    assert_non_null(strstr(v, "invalid whatsapp id"));
    q_text(f, "SELECT raw_json FROM channel_errors", v, sizeof v);
    assert_non_null(strstr(v, "\"ignored\""));

    assert_int_equal(ingest(f, WAC "ignore_status.json", f->ch, &n), IC_OK);
    assert_int_equal(n.ignored, 1);
    assert_int_equal(n.statuses, 0);

    /* Errors keep Meta's code and title; an unsupported message is kept (the
     * inbox shows that something arrived) with its error. */
    assert_int_equal(ingest(f, WAC "error_msg.json", f->ch, &n), IC_OK);
    assert_int_equal(n.errors, 1);
    assert_int_equal(n.messages, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE type = 'unsupported'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors WHERE code = 131051 AND "
                              "title = 'Unsupported message type'"),
                     1);
    assert_int_equal(ingest(f, WAC "error_errors.json", f->ch, &n), IC_OK);
    assert_int_equal(n.errors, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors WHERE title = "
                              "'We were unable to authenticate the app user'"),
                     1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors"), 4);
}

static void test_all_or_nothing(void **state)
{
    fx *f = *state;
    ic_ingest_counts n;
    /* A channel that does not exist: the store refuses, nothing is kept. */
    ic_err e = ingest(f, WAC "hello.json", f->ch + 1000, &n);
    assert_int_not_equal(e, IC_OK);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM contacts"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM conversations"), 0);
}

int main(void)
{
    ic_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_moves_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
    };
    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
