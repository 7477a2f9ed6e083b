/* test_helpers.h - small pieces several unit test programs share: reading a
 * file of the shared conformance material, and a writer "gate" that holds
 * the writer so that jobs submitted meanwhile run together in one batch.
 * Include after <cmocka.h>; everything is static inline. */
#ifndef IC_TEST_HELPERS_H
#define IC_TEST_HELPERS_H

#include "base/buf.h"
#include "store/store.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the bytes of $IC_SHARED_DIR/rel (../shared beside the repo) to
 * out; fails the test when the file cannot be read. */
static inline void test_read_shared(const char *rel, ic_buf *out)
{
    const char *shared = getenv("IC_SHARED_DIR");
    assert_non_null(shared);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", shared, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        ic_buf_append(out, chunk, n);
    fclose(fp);
}

/* A writer job that holds the writer until opened. */
typedef struct test_gate {
    ic_write_job job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
    atomic_bool left; /* its done ran: the writer no longer touches it */
} test_gate;

static inline ic_err test_gate_apply(ic_conn *tx, ic_write_job *job)
{
    (void)tx;
    test_gate *g = job->arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return IC_OK;
}

static inline void test_gate_done(ic_write_job *job, ic_err result)
{
    (void)result;
    test_gate *g = job->arg;
    atomic_store(&g->left, true); /* the writer's last access: g may end after it */
}

/* Submits gate g to w and waits until the writer is inside it: whatever is
 * submitted until test_gate_open runs in the writer's next batch. */
static inline void test_gate_close(ic_writer *w, test_gate *g)
{
    memset(g, 0, sizeof *g);
    g->job.apply = test_gate_apply;
    g->job.done = test_gate_done;
    g->job.arg = g;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    assert_int_equal(ic_writer_submit(w, &g->job), IC_OK);
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Lets the writer go on past gate g, and waits until it has left the gate,
 * so that g may go out of scope. */
static inline void test_gate_open(test_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    while (!atomic_load(&g->left))
        sched_yield();
}

/* Submits jobs[0..n) to w so that they run together in one batch (behind
 * a gate), and lets the writer go; the caller then waits for their done. */
static inline void test_one_batch(ic_writer *w, ic_write_job *const *jobs, size_t n)
{
    test_gate g;
    test_gate_close(w, &g);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ic_writer_submit(w, jobs[i]), IC_OK);
    test_gate_open(&g);
}

#endif
