/* test_writer.c - the single writer: group commit, per-job savepoints (and
 * on PostgreSQL the savepoint-free, pipelined pass re-run with them when a
 * job fails), a failed commit, backpressure, draining on stop, many submitting threads. */
#include "base/time.h"
#include "store/sql.h"
#include "store/store.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_db.h"
#include "test_helpers.h"

typedef struct fx {
    char dir[512];
    char path[600];
    ic_db *db;
    ic_writer *w;
    int64_t ws, ch;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->db = test_db_fresh("writer", f->dir, sizeof f->dir, f->path, sizeof f->path);
    ic_conn *c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_store_workspace_insert(c, "Alpha", &f->ws), IC_OK);
    ic_channel ch = {
        .workspace_id = f->ws, .name = (char *)"Line", .phone_number_id = (char *)"5550001"};
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    f->ch = ch.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_writer_stop(f->w);
    ic_db_close(f->db);
    test_db_drop(f->path);
    free(f);
    return 0;
}

static int64_t count(fx *f, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(ic_sql_one_i64(ic_db_thread_conn(f->db), sql, NULL, 0, &n), IC_OK);
    return n;
}

/* ---- jobs ------------------------------------------------------------------ */

/* Inserts contact wa_id into ws; fails after the insert when fail is set. */
typedef struct contact_job {
    ic_write_job job;
    int64_t ws;
    char wa_id[32];
    bool fail;
    ic_err result;
    _Atomic int *done_count;
    bool done;
} contact_job;

static ic_err contact_apply(ic_conn *tx, ic_write_job *job)
{
    contact_job *j = (contact_job *)job;
    int64_t id = 0;
    ic_err err = ic_store_contact_upsert(tx, j->ws, j->wa_id, "Someone", &id);
    if (err == IC_OK && j->fail)
        err = IC_ERR_INVALID;
    return err;
}

static void contact_done(ic_write_job *job, ic_err result)
{
    contact_job *j = (contact_job *)job;
    j->result = result;
    j->done = true;
    if (j->done_count)
        atomic_fetch_add(j->done_count, 1);
}

static void contact_job_init(contact_job *j, int64_t ws, const char *wa_id, _Atomic int *counter)
{
    memset(j, 0, sizeof *j);
    j->job.apply = contact_apply;
    j->job.done = contact_done;
    j->ws = ws;
    snprintf(j->wa_id, sizeof j->wa_id, "%s", wa_id);
    j->result = IC_ERR_INTERNAL;
    j->done_count = counter;
}

static void wait_count(_Atomic int *n, int want)
{
    while (atomic_load(n) < want)
        ic_sleep_us(1000);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_run(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_writer_start(f->db, 16, &f->w, &em), IC_OK);
    contact_job j;
    contact_job_init(&j, f->ws, "27820000001", NULL);
    assert_int_equal(ic_writer_run(f->w, &j.job), IC_OK);
    assert_true(j.done);
    assert_int_equal(j.result, IC_OK);
    int64_t id = 0;
    assert_int_equal(ic_store_contact_by_wa_id(ic_db_thread_conn(f->db), f->ws, "27820000001", &id),
                     IC_OK);

    contact_job bad;
    contact_job_init(&bad, f->ws, "27820000002", NULL);
    bad.fail = true;
    assert_int_equal(ic_writer_run(f->w, &bad.job), IC_ERR_INVALID);
    assert_int_equal(bad.result, IC_ERR_INVALID);
    assert_int_equal(ic_store_contact_by_wa_id(ic_db_thread_conn(f->db), f->ws, "27820000002", &id),
                     IC_ERR_NOT_FOUND);
    uint64_t jobs = 0, batches = 0;
    ic_writer_stats(f->w, &jobs, &batches);
    assert_int_equal(jobs, 1);
    assert_int_equal(batches, 2);
}

static void test_failing_job_alone(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    _Atomic int done = 0;
    contact_job a, b, c;
    contact_job_init(&a, f->ws, "111", &done);
    contact_job_init(&b, f->ws, "222", &done);
    contact_job_init(&c, f->ws, "333", &done);
    b.fail = true;
    assert_int_equal(ic_writer_start(f->db, 16, &f->w, &em), IC_OK);
    test_one_batch(f->w, (ic_write_job *[]){&a.job, &b.job, &c.job}, 3);
    wait_count(&done, 3);
    assert_int_equal(a.result, IC_OK);
    assert_int_equal(b.result, IC_ERR_INVALID);
    assert_int_equal(c.result, IC_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts WHERE wa_id = '222'"), 0);
    uint64_t jobs = 0, batches = 0;
    ic_writer_stats(f->w, &jobs, &batches);
    assert_int_equal(batches, 2); /* the gate's, then a+b+c together */
    assert_int_equal(jobs, 3);    /* the gate, a and c */
}

/* Inserts contact "111" again with ic_sql_run (no changes asked: on
 * PostgreSQL the writer may only send it, pipelined) and returns what it
 * got. */
static ic_err dup_apply(ic_conn *tx, ic_write_job *job)
{
    contact_job *j = (contact_job *)job;
    return ic_sql_run(tx,
                      "INSERT INTO contacts (workspace_id, wa_id, created_us, updated_us)"
                      " VALUES ($1, '111', 1, 1)",
                      IC_ARGS(IC_I64(j->ws)), NULL);
}

/* A statement whose failure shows only later (sent in a pipeline on
 * PostgreSQL) still fails its own job alone, with its own error, and the
 * jobs before and after it are kept. */
static void test_failing_statement_alone(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    _Atomic int done = 0;
    contact_job a, b, c;
    contact_job_init(&a, f->ws, "111", &done);
    contact_job_init(&b, f->ws, "dup", &done);
    contact_job_init(&c, f->ws, "333", &done);
    b.job.apply = dup_apply;
    assert_int_equal(ic_writer_start(f->db, 16, &f->w, &em), IC_OK);
    test_one_batch(f->w, (ic_write_job *[]){&a.job, &b.job, &c.job}, 3);
    wait_count(&done, 3);
    assert_int_equal(a.result, IC_OK);
    assert_int_equal(b.result, IC_ERR_EXISTS);
    assert_int_equal(c.result, IC_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts WHERE wa_id = '333'"), 1);
    /* Again with the failing statement last in its batch: its failure shows
     * only when the writer flushes before COMMIT. */
    contact_job d, e;
    contact_job_init(&d, f->ws, "444", &done);
    contact_job_init(&e, f->ws, "dup", &done);
    e.job.apply = dup_apply;
    test_one_batch(f->w, (ic_write_job *[]){&d.job, &e.job}, 2);
    wait_count(&done, 5);
    assert_int_equal(d.result, IC_OK);
    assert_int_equal(e.result, IC_ERR_EXISTS);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 3);
    uint64_t jobs = 0, batches = 0;
    ic_writer_stats(f->w, &jobs, &batches);
    assert_int_equal(batches, 4); /* gate, a+b+c, gate, d+e */
    assert_int_equal(jobs, 5);    /* the two gates, a, c, d */
}

/* Defers a constraint check to COMMIT and breaks it, so the commit fails:
 * SQLite defers foreign keys; PostgreSQL defers only constraints declared
 * DEFERRABLE, so there the job breaks one of a temporary table. */
static ic_err bad_fk_apply(ic_conn *tx, ic_write_job *job)
{
    if (test_db_pg())
        return ic_sql_exec(tx, "CREATE TEMP TABLE defer_check"
                               " (x BIGINT UNIQUE DEFERRABLE INITIALLY DEFERRED);"
                               " INSERT INTO defer_check VALUES (1), (1)");
    ic_err err = ic_sql_exec(tx, "PRAGMA defer_foreign_keys = ON");
    if (err == IC_OK)
        err = ic_sql_run(tx,
                         "INSERT INTO contacts (workspace_id, wa_id, created_us, updated_us)"
                         " VALUES ($1, $2, 1, 1)",
                         IC_ARGS(IC_I64(987654), IC_TXT("999")), NULL);
    return err;
}

static void record_done(ic_write_job *job, ic_err result)
{
    contact_done(job, result);
}

static void test_commit_failure_fails_all(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    _Atomic int done = 0;
    contact_job a, bad;
    contact_job_init(&a, f->ws, "444", &done);
    contact_job_init(&bad, f->ws, "x", &done);
    bad.job.apply = bad_fk_apply;
    bad.job.done = record_done;
    assert_int_equal(ic_writer_start(f->db, 16, &f->w, &em), IC_OK);
    test_one_batch(f->w, (ic_write_job *[]){&a.job, &bad.job}, 2);
    wait_count(&done, 2);
    assert_int_equal(a.result, IC_ERR_DB);
    assert_int_equal(bad.result, IC_ERR_DB);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 0);
    /* The writer goes on after a failed batch. */
    contact_job after;
    contact_job_init(&after, f->ws, "555", NULL);
    assert_int_equal(ic_writer_run(f->w, &after.job), IC_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 1);
}

static void test_busy_when_full(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    _Atomic int done = 0;
    test_gate g;
    contact_job a, b, c;
    contact_job_init(&a, f->ws, "1", &done);
    contact_job_init(&b, f->ws, "2", &done);
    contact_job_init(&c, f->ws, "3", &done);
    assert_int_equal(ic_writer_start(f->db, 2, &f->w, &em), IC_OK);
    test_gate_close(f->w, &g);
    assert_int_equal(ic_writer_submit(f->w, &a.job), IC_OK);
    assert_int_equal(ic_writer_submit(f->w, &b.job), IC_OK);
    assert_int_equal(ic_writer_submit(f->w, &c.job), IC_ERR_BUSY);
    test_gate_open(&g);
    wait_count(&done, 2);
    assert_int_equal(a.result, IC_OK);
    assert_int_equal(b.result, IC_OK);
    assert_false(c.done);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), 2);
}

static void *stop_thread(void *arg)
{
    ic_writer_stop(arg);
    return NULL;
}

static void test_stop_drains(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    enum { N = 300, EXTRA = 64 };
    static contact_job jobs[N], extra[EXTRA];
    _Atomic int done = 0;
    test_gate g;
    assert_int_equal(ic_writer_start(f->db, N + 2 * EXTRA, &f->w, &em), IC_OK);
    test_gate_close(f->w, &g);
    for (int i = 0; i < N; i++) {
        char wa[32];
        snprintf(wa, sizeof wa, "2783%07d", i);
        contact_job_init(&jobs[i], f->ws, wa, &done);
        assert_int_equal(ic_writer_submit(f->w, &jobs[i].job), IC_OK);
    }
    /* Once stop has begun, the writer takes nothing new (the queue has room,
     * so BUSY can only mean stopping). Jobs accepted before are drained. */
    pthread_t t;
    ic_writer *w = f->w;
    f->w = NULL;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, w), 0);
    int accepted = 0;
    ic_err err = IC_OK;
    while (accepted < EXTRA) {
        char wa[32];
        snprintf(wa, sizeof wa, "2785%07d", accepted);
        contact_job_init(&extra[accepted], f->ws, wa, &done);
        err = ic_writer_submit(w, &extra[accepted].job);
        if (err != IC_OK)
            break;
        accepted++;
        ic_sleep_us(1000);
    }
    assert_int_equal(err, IC_ERR_BUSY);
    test_gate_open(&g);
    pthread_join(t, NULL);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts WHERE wa_id LIKE '2783%'"), N);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts WHERE wa_id LIKE '2785%'"), accepted);
    for (int i = 0; i < N; i++) {
        assert_true(jobs[i].done);
        assert_int_equal(jobs[i].result, IC_OK);
    }
    for (int i = 0; i < accepted; i++)
        assert_int_equal(extra[i].result, IC_OK);
    assert_false(extra[accepted].done);
}

/* ---- many threads ------------------------------------------------------------ */

typedef struct submitter {
    fx *f;
    int index, n;
    contact_job *jobs;
    _Atomic int *done;
    int busy;
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < s->n; i++) {
        char wa[32];
        snprintf(wa, sizeof wa, "27%02d%07d", s->index, i);
        contact_job_init(&s->jobs[i], s->f->ws, wa, s->done);
        s->jobs[i].fail = (i % 97) == 13;
        while (ic_writer_submit(s->f->w, &s->jobs[i].job) == IC_ERR_BUSY) {
            s->busy++;
            ic_sleep_us(200);
        }
    }
    return NULL;
}

static void test_many_threads(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    enum { THREADS = 4, PER = 2500 };
    _Atomic int done = 0;
    submitter subs[THREADS];
    pthread_t t[THREADS];
    assert_int_equal(ic_writer_start(f->db, 512, &f->w, &em), IC_OK);
    for (int i = 0; i < THREADS; i++) {
        subs[i] = (submitter){.f = f, .index = i, .n = PER, .done = &done};
        subs[i].jobs = calloc(PER, sizeof(contact_job));
        assert_int_equal(pthread_create(&t[i], NULL, submit_main, &subs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    wait_count(&done, THREADS * PER);
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < PER; k++) {
            contact_job *j = &subs[i].jobs[k];
            assert_true(j->done);
            assert_int_equal(j->result, j->fail ? IC_ERR_INVALID : IC_OK);
            failed += j->fail;
        }
        free(subs[i].jobs);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), THREADS * PER - failed);
    uint64_t jobs = 0, batches = 0;
    ic_writer_stats(f->w, &jobs, &batches);
    assert_int_equal(jobs, (uint64_t)(THREADS * PER - failed));
    assert_true(batches >= 1 && batches <= jobs + (uint64_t)failed);
    printf("    %d jobs from %d threads in %llu batches\n", THREADS * PER, THREADS,
           (unsigned long long)batches);
}

/* ---- the inbound path, with a rate print (not a benchmark) -------------------- */

typedef struct inbound_job {
    ic_write_job job;
    int64_t ws, ch;
    char from[32], wamid[64];
    int64_t wa_us;
    ic_err result;
    _Atomic int *done;
} inbound_job;

static ic_err inbound_apply(ic_conn *tx, ic_write_job *job)
{
    inbound_job *j = (inbound_job *)job;
    bool dup = false;
    ic_message m = {.workspace_id = j->ws,
                    .channel_id = j->ch,
                    .direction = IC_DIR_IN,
                    .wa_id = j->wamid,
                    .type = "text",
                    .text = "hello there",
                    .content_json = "{\"kind\":\"message\",\"type\":\"text\"}",
                    .wa_us = j->wa_us};
    return ic_store_inbound_message(tx, &m, j->from, "Person", &dup);
}

static void inbound_done(ic_write_job *job, ic_err result)
{
    inbound_job *j = (inbound_job *)job;
    j->result = result;
    atomic_fetch_add(j->done, 1);
}

static void test_inbound_rate(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    enum { N = 20000, PEOPLE = 2000 };
    inbound_job *jobs = calloc(N, sizeof *jobs);
    _Atomic int done = 0;
    int64_t t0_wa = 1700000000LL * 1000000;
    assert_int_equal(ic_writer_start(f->db, 8192, &f->w, &em), IC_OK);
    int64_t start = ic_mono_us();
    for (int i = 0; i < N; i++) {
        inbound_job *j = &jobs[i];
        j->job.apply = inbound_apply;
        j->job.done = inbound_done;
        j->ws = f->ws;
        j->ch = f->ch;
        j->done = &done;
        j->wa_us = t0_wa + i;
        snprintf(j->from, sizeof j->from, "2784%07d", i % PEOPLE);
        snprintf(j->wamid, sizeof j->wamid, "wamid.HBgLMjc4NDAwMDAwMDAVAgASGBQz%08d", i);
        while (ic_writer_submit(f->w, &j->job) == IC_ERR_BUSY)
            ic_sleep_us(100);
    }
    wait_count(&done, N);
    int64_t elapsed = ic_mono_us() - start;
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].result, IC_OK);
    int64_t n = 0;
    assert_int_equal(ic_store_count_messages(ic_db_thread_conn(f->db), f->ws, IC_DIR_IN, &n),
                     IC_OK);
    assert_int_equal(n, N);
    assert_int_equal(count(f, "SELECT count(*) FROM contacts"), PEOPLE);
    assert_int_equal(count(f, "SELECT count(*) FROM conversations"), PEOPLE);
    uint64_t batches = 0;
    ic_writer_stats(f->w, NULL, &batches);
    printf("    %d inbound messages (ic_store_inbound_message) in %.3f s:"
           " %.0f messages/s durable, %llu batches\n",
           N, (double)elapsed / 1e6, N / ((double)elapsed / 1e6), (unsigned long long)batches);
    free(jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_statement_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_fails_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbound_rate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
