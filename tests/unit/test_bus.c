/* test_bus.c - the bus between nodes (store/bus.h) and ic_store_notify:
 * delivery once and in order after a first resynchronise call, checks of
 * topics and payloads, two nodes on one PostgreSQL, notify delivered after
 * commit and never after a rollback, and a killed bus connection that comes
 * back with a new resynchronise call. */
#include "base/time.h"
#include "store/bus.h"
#include "store/bus_int.h"
#include "store/sql.h"
#include "store/store.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_db.h"

#define WAIT_MS 3000 /* the longest any event may take to arrive */

typedef struct fx {
    char dir[512];
    char url[600];
    ic_db *db;
    ic_bus *bus;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->db = test_db_fresh("bus", f->dir, sizeof f->dir, f->url, sizeof f->url);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_bus_start(f->db, &f->bus, &em), IC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_bus_stop(f->bus);
    ic_db_close(f->db);
    test_db_drop(f->url);
    free(f);
    return 0;
}

/* ---- a subscriber that records "topic:payload" ("topic:NULL") ------------- */

typedef struct rec {
    pthread_mutex_t mu;
    int n;
    char items[64][140];
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void rec_cb(void *arg, const char *topic, const char *payload)
{
    rec *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->n < 64)
        snprintf(r->items[r->n], sizeof r->items[0], "%s:%.60s", topic, payload ? payload : "NULL");
    r->n++;
    pthread_mutex_unlock(&r->mu);
}

static int rec_count(rec *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits (polling, WAIT_MS at most) until r has n records; true if so. */
static bool rec_wait(rec *r, int n)
{
    for (int i = 0; i < WAIT_MS / 2; i++) {
        if (rec_count(r) >= n)
            return true;
        ic_sleep_us(2000);
    }
    return false;
}

/* Asserts that r holds exactly the records given, in order. */
static void rec_expect(rec *r, const char *const *want, int n)
{
    pthread_mutex_lock(&r->mu);
    int got = r->n;
    pthread_mutex_unlock(&r->mu);
    assert_int_equal(got, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(r->items[i], want[i]);
}

/* ---- one bus --------------------------------------------------------------- */

static void test_delivers_once_in_order(void **state)
{
    fx *f = *state;
    rec r, r2;
    rec_init(&r);
    rec_init(&r2);
    assert_int_equal(ic_bus_subscribe(f->bus, "chan_1", rec_cb, &r), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "chan_1", "a"), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "other", "x"), IC_OK); /* nobody listens */
    assert_int_equal(ic_bus_publish(f->bus, "chan_1", "b"), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "chan_1", "b"), IC_OK); /* equal events stay two */
    assert_int_equal(ic_bus_publish(f->bus, "chan_1", ""), IC_OK);
    assert_true(rec_wait(&r, 5));
    /* A later subscriber on the same topic is told to resynchronise before
     * its first event. */
    assert_int_equal(ic_bus_subscribe(f->bus, "chan_1", rec_cb, &r2), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "chan_1", "c"), IC_OK);
    assert_true(rec_wait(&r, 6));
    assert_true(rec_wait(&r2, 2));
    ic_sleep_us(50000); /* nothing more may come */
    const char *want[] = {"chan_1:NULL", "chan_1:a", "chan_1:b", "chan_1:b", "chan_1:", "chan_1:c"};
    rec_expect(&r, want, 6);
    const char *want2[] = {"chan_1:NULL", "chan_1:c"};
    rec_expect(&r2, want2, 2);
    ic_bus_stats st;
    ic_bus_stats_get(f->bus, &st);
    assert_int_equal(st.published, 6);
    assert_true(st.listening);
    assert_int_equal(st.dropped, 0);
    ic_bus_stats_get(NULL, &st);
    assert_int_equal(st.published, 0);
}

static void test_rejects_bad_topics_and_payloads(void **state)
{
    fx *f = *state;
    rec r;
    rec_init(&r);
    char long_topic[IC_BUS_TOPIC_MAX + 2];
    memset(long_topic, 'a', sizeof long_topic - 1);
    long_topic[sizeof long_topic - 1] = '\0'; /* 64 characters */
    const char *bad[] = {"", "Chan", "a-b", "a b", "\"x\"", "caf\xc3\xa9", long_topic};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ic_bus_subscribe(f->bus, bad[i], rec_cb, &r), IC_ERR_INVALID);
        assert_int_equal(ic_bus_publish(f->bus, bad[i], "p"), IC_ERR_INVALID);
        assert_int_equal(ic_store_notify(ic_db_thread_conn(f->db), bad[i], "p"), IC_ERR_INVALID);
    }
    long_topic[IC_BUS_TOPIC_MAX] = '\0'; /* 63 is fine */
    assert_int_equal(ic_bus_subscribe(f->bus, long_topic, rec_cb, &r), IC_OK);
    assert_int_equal(ic_bus_subscribe(f->bus, "ok", NULL, &r), IC_ERR_INVALID);

    char *big = malloc(IC_BUS_PAYLOAD_MAX + 2);
    memset(big, 'x', IC_BUS_PAYLOAD_MAX + 1);
    big[IC_BUS_PAYLOAD_MAX + 1] = '\0';
    assert_int_equal(ic_bus_publish(f->bus, long_topic, big), IC_ERR_INVALID);
    assert_int_equal(ic_store_notify(ic_db_thread_conn(f->db), "ok", big), IC_ERR_INVALID);
    assert_int_equal(ic_bus_publish(f->bus, long_topic, NULL), IC_ERR_INVALID);
    big[IC_BUS_PAYLOAD_MAX] = '\0'; /* the largest allowed */
    assert_int_equal(ic_bus_publish(f->bus, long_topic, big), IC_OK);
    free(big);
    assert_int_equal(ic_bus_publish(NULL, "ok", "p"), IC_OK);
    assert_true(rec_wait(&r, 2));
    pthread_mutex_lock(&r.mu);
    assert_string_equal(strchr(r.items[0], ':'), ":NULL");
    assert_int_equal(strlen(strchr(r.items[1], ':') + 1), 60); /* recorded cut to 60 */
    pthread_mutex_unlock(&r.mu);
}

/* A payload PostgreSQL refuses (not UTF-8) is accepted by publish, fails
 * on the bus thread (logged) and does not stop the events after it. */
static void test_publish_the_server_refuses(void **state)
{
    fx *f = *state;
    if (!test_db_pg())
        skip();
    rec r;
    rec_init(&r);
    assert_int_equal(ic_bus_subscribe(f->bus, "enc", rec_cb, &r), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "enc", "\xff\xfe"), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "enc", "fine"), IC_OK);
    assert_true(rec_wait(&r, 2));
    ic_sleep_us(50000);
    const char *want[] = {"enc:NULL", "enc:fine"};
    rec_expect(&r, want, 2);
    ic_bus_stats st;
    ic_bus_stats_get(f->bus, &st);
    assert_int_equal(st.published, 1);
    assert_int_equal(st.reconnects, 0);
}

/* ---- two nodes on one PostgreSQL ------------------------------------------ */

static void test_two_nodes(void **state)
{
    fx *f = *state;
    if (!test_db_pg())
        skip();
    ic_db *db2 = NULL;
    ic_bus *bus2 = NULL;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_db_open(f->url, &db2, &em), IC_OK);
    assert_int_equal(ic_bus_start(db2, &bus2, &em), IC_OK);
    rec r1, r2;
    rec_init(&r1);
    rec_init(&r2);
    assert_int_equal(ic_bus_subscribe(f->bus, "queued", rec_cb, &r1), IC_OK);
    assert_int_equal(ic_bus_subscribe(bus2, "queued", rec_cb, &r2), IC_OK);
    assert_true(rec_wait(&r1, 1));
    assert_true(rec_wait(&r2, 1)); /* both listen: each gets the other's */
    assert_int_equal(ic_bus_publish(f->bus, "queued", "from_1"), IC_OK);
    assert_true(rec_wait(&r2, 2));
    assert_int_equal(ic_bus_publish(bus2, "queued", "from_2"), IC_OK);
    assert_true(rec_wait(&r1, 3));
    assert_true(rec_wait(&r2, 3));
    ic_sleep_us(50000);
    const char *want[] = {"queued:NULL", "queued:from_1", "queued:from_2"};
    rec_expect(&r1, want, 3);
    rec_expect(&r2, want, 3);
    ic_bus_stop(bus2);
    ic_db_close(db2);
}

static void test_start_needs_a_db(void **state)
{
    (void)state;
    ic_bus *bus = (ic_bus *)&bus;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_bus_start(NULL, &bus, &em), IC_ERR_INVALID);
    assert_null(bus);
    ic_bus_stop(NULL);
}

/* ---- a full queue ---------------------------------------------------------- */

typedef struct stall {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool inside, release;
} stall;

/* Blocks the bus thread in an event's callback until released. */
static void stall_cb(void *arg, const char *topic, const char *payload)
{
    (void)topic;
    stall *s = arg;
    if (!payload)
        return;
    pthread_mutex_lock(&s->mu);
    s->inside = true;
    pthread_cond_broadcast(&s->cv);
    while (!s->release)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void test_full_queue_drops_and_counts(void **state)
{
    fx *f = *state;
    /* Static: the bus thread still touches it after this test returns. */
    static stall s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    s.inside = s.release = false;
    assert_int_equal(ic_bus_subscribe(f->bus, "stall", stall_cb, &s), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "stall", "p"), IC_OK);
    pthread_mutex_lock(&s.mu);
    while (!s.inside)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    int accepted = 0;
    ic_err err = IC_OK;
    while ((err = ic_bus_publish(f->bus, "nobody", "q")) == IC_OK && accepted <= IC_BUS_QUEUE_CAP)
        accepted++;
    ic_err again = ic_bus_publish(f->bus, "nobody", "q");
    ic_bus_stats st;
    ic_bus_stats_get(f->bus, &st);
    /* Release the bus thread before asserting, so that a failed assertion
     * does not leave it blocked. */
    pthread_mutex_lock(&s.mu);
    s.release = true;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    assert_int_equal(err, IC_ERR_BUSY);
    assert_int_equal(accepted, IC_BUS_QUEUE_CAP);
    assert_int_equal(again, IC_ERR_BUSY);
    assert_int_equal(st.dropped, 2);
}

/* ---- ic_store_notify inside writer jobs ------------------------------------ */

typedef struct notify_job {
    ic_write_job job;
    const char *payload;
    ic_err fail; /* returned after the notify when not IC_OK */
} notify_job;

static ic_err notify_apply(ic_conn *tx, ic_write_job *job)
{
    notify_job *j = (notify_job *)job;
    ic_err err = ic_store_notify(tx, "jobs", j->payload);
    return err != IC_OK ? err : j->fail;
}

static void test_notify_after_commit_only(void **state)
{
    fx *f = *state;
    ic_writer *w = NULL;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_writer_start(f->db, 64, &w, &em), IC_OK);
    rec r;
    rec_init(&r);
    assert_int_equal(ic_bus_subscribe(f->bus, "jobs", rec_cb, &r), IC_OK);
    assert_true(rec_wait(&r, 1));

    notify_job ok = {.job = {.apply = notify_apply}, .payload = "committed"};
    notify_job bad = {
        .job = {.apply = notify_apply}, .payload = "rolled_back", .fail = IC_ERR_INVALID};
    notify_job bad2 = {
        .job = {.apply = notify_apply}, .payload = "rolled_back_2", .fail = IC_ERR_DB};
    notify_job ok2 = {.job = {.apply = notify_apply}, .payload = "committed_2"};
    notify_job mark = {.job = {.apply = notify_apply}, .payload = "marker"};
    assert_int_equal(ic_writer_run(w, &ok.job), IC_OK);
    assert_int_equal(ic_writer_run(w, &bad.job), IC_ERR_INVALID);
    /* One batch where one job fails: on PostgreSQL the savepoint-free pass
     * is rolled back and the batch runs again with savepoints. */
    assert_int_equal(ic_writer_submit(w, &bad2.job), IC_OK);
    assert_int_equal(ic_writer_run(w, &ok2.job), IC_OK);
    assert_int_equal(ic_writer_run(w, &mark.job), IC_OK);
    if (!test_db_pg()) { /* one process: ic_store_notify sends nothing */
        ic_sleep_us(50000);
        const char *want[] = {"jobs:NULL"};
        rec_expect(&r, want, 1);
    } else {
        assert_true(rec_wait(&r, 4));
        ic_sleep_us(50000); /* events arrive in commit order: nothing after the marker */
        const char *want[] = {"jobs:NULL", "jobs:committed", "jobs:committed_2", "jobs:marker"};
        rec_expect(&r, want, 4);
    }
    ic_writer_stop(w);
}

/* ---- a killed bus connection ----------------------------------------------- */

static const char SQL_KILL_BUS[] = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                   " WHERE datname = current_database()"
                                   " AND application_name = 'impactchat-bus'";

static void test_reconnects_and_resyncs(void **state)
{
    fx *f = *state;
    if (!test_db_pg())
        skip();
    rec r;
    rec_init(&r);
    assert_int_equal(ic_bus_subscribe(f->bus, "inbox", rec_cb, &r), IC_OK);
    assert_int_equal(ic_bus_publish(f->bus, "inbox", "before"), IC_OK);
    assert_true(rec_wait(&r, 2));

    int64_t killed = 0;
    assert_int_equal(ic_sql_one_i64(ic_db_thread_conn(f->db), SQL_KILL_BUS, NULL, 0, &killed),
                     IC_OK);
    assert_int_equal(killed, 1);
    assert_true(rec_wait(&r, 3)); /* listening again: told to resynchronise */
    assert_int_equal(ic_bus_publish(f->bus, "inbox", "after"), IC_OK);
    assert_true(rec_wait(&r, 4));
    const char *want[] = {"inbox:NULL", "inbox:before", "inbox:NULL", "inbox:after"};
    rec_expect(&r, want, 4);
    ic_bus_stats st;
    ic_bus_stats_get(f->bus, &st);
    assert_int_equal(st.reconnects, 1);
    assert_true(st.listening);
}

/* ---- stopping -------------------------------------------------------------- */

static void test_stop_sends_what_is_queued(void **state)
{
    fx *f = *state;
    ic_db *db2 = NULL;
    ic_bus *bus2 = NULL;
    ic_errmsg em = {{0}};
    rec r;
    rec_init(&r);
    assert_int_equal(ic_bus_subscribe(f->bus, "last", rec_cb, &r), IC_OK);
    assert_true(rec_wait(&r, 1));
    if (!test_db_pg()) { /* one process: the queue is dispatched before stop returns */
        for (int i = 0; i < 10; i++)
            assert_int_equal(ic_bus_publish(f->bus, "last", "x"), IC_OK);
        ic_bus_stop(f->bus);
        f->bus = NULL;
        assert_int_equal(rec_count(&r), 11);
        return;
    }
    assert_int_equal(ic_db_open(f->url, &db2, &em), IC_OK);
    assert_int_equal(ic_bus_start(db2, &bus2, &em), IC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ic_bus_publish(bus2, "last", "x"), IC_OK);
    ic_bus_stop(bus2); /* the other node stops at once */
    ic_db_close(db2);
    assert_true(rec_wait(&r, 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivers_once_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_topics_and_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_the_server_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_needs_a_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_drops_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_after_commit_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnects_and_resyncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_sends_what_is_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
