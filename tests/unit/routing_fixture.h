/* routing_fixture.h - the fixture test_urgency.c and test_autoassign.c
 * share: a fresh database (SQLite, or PostgreSQL with IC_TEST_PG_URL) with
 * one workspace and channel, the writer, a separate view for assertions,
 * and inbound text messages ingested through ic_ingest_apply exactly as
 * webhooks are. Include once per test program. */
#ifndef IC_TEST_ROUTING_FIXTURE_H
#define IC_TEST_ROUTING_FIXTURE_H

#include "base/alloc.h"
#include "base/buf.h"
#include "core/autoassign.h"
#include "core/ingest.h"
#include "core/urgency.h"
#include "store/sql.h"
#include "store/store.h"
#include "wa/webhook.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_db.h"

typedef struct fx {
    char dir[512];
    char url[700];
    ic_db *db;
    ic_writer *w;
    test_view view;
    int64_t ws, ch;
} fx;

static int fx_setup(void **state)
{
    fx *f = ic_calloc(1, sizeof *f);
    f->db = test_db_fresh("routing", f->dir, sizeof f->dir, f->url, sizeof f->url);
    ic_conn *c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_conn_begin(c), IC_OK);
    assert_int_equal(ic_store_workspace_insert(c, "Helpline", &f->ws), IC_OK);
    ic_channel ch = {.workspace_id = f->ws,
                     .name = "Main",
                     .phone_number_id = "1234567890",
                     .access_token = "a",
                     .app_secret = "s",
                     .verify_token = "v",
                     .throughput_mps = 80};
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    f->ch = ch.id;
    assert_int_equal(ic_conn_commit(c), IC_OK);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_writer_start(f->db, 100, &f->w, &em), IC_OK);
    test_view_open(&f->view, f->url);
    /* Workspace ids repeat from one fresh database to the next. */
    ic_urgency_cache_clear();
    ic_autoassign_cache_clear();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    test_view_close(&f->view);
    ic_writer_stop(f->w);
    assert_int_equal(test_db_dispose(f->db, f->url, f->dir), 0);
    ic_free(f);
    return 0;
}

/* Runs sql (no parameters, one or more statements) on the test's own
 * connection, outside the writer (seeding users, teams, words). */
static void fx_exec(fx *f, const char *sql)
{
    assert_int_equal(ic_sql_exec(ic_db_thread_conn(f->db), sql), IC_OK);
}

static int64_t fx_i64(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t fx_i64(fx *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return test_view_i64(&f->view, sql);
}

typedef struct fx_ingest_job {
    ic_write_job job;
    int64_t ws, ch;
    ic_wa_batch batch;
    ic_ingest_counts counts;
    ic_err (*after)(ic_conn *tx, struct fx_ingest_job *j); /* may be NULL */
    int64_t seen;                                          /* for after */
} fx_ingest_job;

static ic_err fx_ingest_apply(ic_conn *tx, ic_write_job *job)
{
    fx_ingest_job *j = job->arg;
    ic_err e = ic_ingest_apply(tx, j->ws, j->ch, &j->batch, &j->counts);
    if (e == IC_OK && j->after)
        e = j->after(tx, j);
    return e;
}

/* Ingests, through the writer, one webhook with a text message per texts[i]
 * from froms[i] with ids wamid.<tag>.<i>, then runs after (may be NULL) in
 * the same job; *seen (may be NULL) gets what after saw. Returns the job's
 * result. */
static ic_err fx_ingest_then(fx *f, const char *tag, const char *const *froms,
                             const char *const *texts, size_t n,
                             ic_err (*after)(ic_conn *tx, fx_ingest_job *j), int64_t *seen)
{
    json_t *msgs = json_array(), *contacts = json_array();
    for (size_t i = 0; i < n; i++) {
        char id[96];
        snprintf(id, sizeof id, "wamid.%s.%zu", tag, i);
        json_array_append_new(msgs, json_pack("{s:s, s:s, s:s, s:{s:s}, s:s}", "from", froms[i],
                                              "id", id, "timestamp", "1700000000", "text", "body",
                                              texts[i], "type", "text"));
        json_array_append_new(contacts, json_pack("{s:{s:s}, s:s}", "profile", "name",
                                                  "Thandi Nkosi", "wa_id", froms[i]));
    }
    json_t *body = json_pack("{s:s, s:[{s:s, s:[{s:{s:s, s:{s:s, s:s}, s:o, s:o}, s:s}]}]}",
                             "object", "whatsapp_business_account", "entry", "id", "1", "changes",
                             "value", "messaging_product", "whatsapp", "metadata",
                             "display_phone_number", "+1", "phone_number_id", "1234567890",
                             "contacts", contacts, "messages", msgs, "field", "messages");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    fx_ingest_job j;
    memset(&j, 0, sizeof j);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_wa_webhook_parse(text, strlen(text), &j.batch, &em), IC_OK);
    free(text);
    j.ws = f->ws;
    j.ch = f->ch;
    j.after = after;
    j.job.apply = fx_ingest_apply;
    j.job.arg = &j;
    ic_err e = ic_writer_run(f->w, &j.job);
    ic_wa_batch_free(&j.batch);
    if (seen)
        *seen = j.seen;
    return e;
}

static ic_err fx_ingest(fx *f, const char *tag, const char *const *froms, const char *const *texts,
                        size_t n)
{
    return fx_ingest_then(f, tag, froms, texts, n, NULL, NULL);
}

/* One message. */
static ic_err fx_ingest1(fx *f, const char *tag, const char *from, const char *text)
{
    return fx_ingest(f, tag, &from, &text, 1);
}

#endif
