/* test_pg_faults.c - PostgreSQL connection faults: the server ends every
 * connection to the database in the middle of a writer batch (as a restart
 * or pg_terminate_backend does). The jobs of that batch fail (with an error
 * the API answers 503), nothing of them is stored, later jobs succeed on a
 * new connection, and a reader whose idle connection was ended reads at
 * once on a new one. Skipped on SQLite. */
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
    char url[600];
    ic_db *db;
    ic_db *admin; /* a second handle: used from the writer thread to kill */
    ic_writer *w;
    int64_t ws;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    f->db = test_db_pg_fresh("pgfaults", f->dir, sizeof f->dir, f->url, sizeof f->url);
    if (!f->db)
        return 0;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_db_open(f->url, &f->admin, &em), IC_OK);
    assert_int_equal(ic_store_workspace_insert(ic_db_thread_conn(f->db), "Alpha", &f->ws), IC_OK);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_writer_stop(f->w);
    ic_db_close(f->admin);
    int rc = test_db_dispose(f->db, f->url, f->dir);
    free(f);
    return rc;
}

typedef struct contact_job {
    ic_write_job job;
    fx *f;
    char wa_id[32];
    bool kill; /* end every other connection to the database after the insert */
    ic_err result;
    _Atomic int *done_count;
} contact_job;

static const char SQL_KILL[] = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND pid <> pg_backend_pid()";
static const char SQL_OTHERS[] = "SELECT count(*) FROM pg_stat_activity"
                                 " WHERE datname = current_database() AND pid <> pg_backend_pid()";

/* Terminates every other backend of the test's database from the admin
 * handle (this thread's own connection on it) and waits until they are
 * gone, so that the next statement of the writer surely finds its
 * connection dead. Returns how many were terminated. */
static int64_t kill_others(fx *f)
{
    ic_conn *c = ic_db_thread_conn(f->admin);
    int64_t killed = -1, left = -1;
    assert_int_equal(ic_sql_one_i64(c, SQL_KILL, NULL, 0, &killed), IC_OK);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(ic_sql_one_i64(c, SQL_OTHERS, NULL, 0, &left), IC_OK);
        if (left == 0)
            break;
        ic_sleep_us(10000);
    }
    assert_int_equal(left, 0);
    return killed;
}

static ic_err contact_apply(ic_conn *tx, ic_write_job *job)
{
    contact_job *j = (contact_job *)job;
    int64_t id = 0;
    ic_err err = ic_store_contact_upsert(tx, j->f->ws, j->wa_id, "Someone", &id);
    if (err == IC_OK && j->kill) {
        assert_true(kill_others(j->f) >= 2); /* the writer's and the reader's */
        /* A statement whose result is not asked for: the writer only sends
         * it (pipeline mode), so the loss shows while it is pending. */
        err = ic_sql_run(tx, "UPDATE contacts SET updated_us = updated_us + 1 WHERE id = $1",
                         IC_ARGS(IC_I64(id)), NULL);
    }
    return err;
}

static void contact_done(ic_write_job *job, ic_err result)
{
    contact_job *j = (contact_job *)job;
    j->result = result;
    if (j->done_count)
        atomic_fetch_add(j->done_count, 1);
}

static void contact_job_init(contact_job *j, fx *f, const char *wa_id, _Atomic int *counter)
{
    memset(j, 0, sizeof *j);
    j->job.apply = contact_apply;
    j->job.done = contact_done;
    j->f = f;
    snprintf(j->wa_id, sizeof j->wa_id, "%s", wa_id);
    j->result = IC_ERR_INTERNAL;
    j->done_count = counter;
}

static int64_t contacts(fx *f, ic_err *err)
{
    int64_t n = -1;
    *err = ic_sql_one_i64(ic_db_thread_conn(f->db), "SELECT count(*) FROM contacts", NULL, 0, &n);
    return n;
}

static void test_connections_killed_mid_batch(void **state)
{
    fx *f = *state;
    if (!test_db_pg())
        skip();
    ic_errmsg em = {{0}};
    ic_err err = IC_OK;
    _Atomic int done = 0;
    assert_int_equal(ic_writer_start(f->db, 64, &f->w, &em), IC_OK);

    /* A first job and a read, so both connections are up and warm. */
    contact_job first;
    contact_job_init(&first, f, "27820000001", NULL);
    assert_int_equal(ic_writer_run(f->w, &first.job), IC_OK);
    assert_int_equal(contacts(f, &err), 1);
    assert_int_equal(err, IC_OK);

    /* One batch: a, k (which kills every connection after its insert), b. */
    contact_job a, k, b;
    contact_job_init(&a, f, "27820000002", &done);
    contact_job_init(&k, f, "27820000003", &done);
    contact_job_init(&b, f, "27820000004", &done);
    k.kill = true;
    test_one_batch(f->w, (ic_write_job *[]){&a.job, &k.job, &b.job}, 3);
    while (atomic_load(&done) < 3)
        ic_sleep_us(1000);
    /* The connection was lost: 503 for all three, the client retries. */
    assert_int_equal(a.result, IC_ERR_BUSY);
    assert_int_equal(k.result, IC_ERR_BUSY);
    assert_int_equal(b.result, IC_ERR_BUSY);
    uint64_t jobs = 0, batches = 0;
    ic_writer_stats(f->w, &jobs, &batches);
    assert_int_equal(batches, 3); /* first, the gate's, a+k+b */
    assert_int_equal(jobs, 2);    /* first and the gate */

    /* The reader's connection died too, while idle: it is found closed
     * before the next statement and replaced, so the read succeeds. The
     * server drops a backend from pg_stat_activity a moment before its
     * socket closes, so the socket may not show it yet: then that one read
     * fails (503) and the next reconnects. Never two failures. */
    int64_t n = contacts(f, &err);
    if (err == IC_ERR_BUSY)
        n = contacts(f, &err);
    assert_int_equal(err, IC_OK);
    assert_int_equal(n, 1); /* nothing of a, k, b was kept */

    /* Later jobs succeed on the writer's new connection (its statements are
     * prepared again), and so do reads. */
    contact_job c;
    contact_job_init(&c, f, "27820000005", NULL);
    assert_int_equal(ic_writer_run(f->w, &c.job), IC_OK);
    contact_job again;
    contact_job_init(&again, f, "27820000002", NULL); /* a, retried by its client */
    assert_int_equal(ic_writer_run(f->w, &again.job), IC_OK);
    assert_int_equal(contacts(f, &err), 3);
    int64_t id = 0;
    assert_int_equal(ic_store_contact_by_wa_id(ic_db_thread_conn(f->db), f->ws, "27820000005", &id),
                     IC_OK);
    assert_int_equal(ic_store_contact_by_wa_id(ic_db_thread_conn(f->db), f->ws, "27820000004", &id),
                     IC_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connections_killed_mid_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
