/* writer.c - the single writer thread with group commit (DESIGN.md 8.1-8.2).
 *
 * Submitters append jobs to a bounded queue. The thread takes everything
 * waiting (up to BATCH_CAP jobs), runs them in one transaction, each inside
 * its own savepoint so that a failing job rolls back alone, commits once (one
 * fsync for the whole batch), and only then calls each job's done.
 *
 * Where savepoints are costly (PostgreSQL: a subtransaction each, two round
 * trips, and a slowdown past 64 per transaction) the batch first runs
 * without them; when a job fails, the whole transaction is rolled back and
 * the batch runs again the SQLite way, one savepoint per job. Before that,
 * where statements can be sent without waiting (PostgreSQL's pipeline), the
 * batch first runs optimistically (writer_pass.h): store calls may take fast
 * paths that need no answer and fail when their guess was wrong, so the
 * whole batch costs one round trip; any failure there runs the batch again
 * without optimism. So a job's apply may run up to three times: it must
 * depend only on its job and the database, and set (not add to) what it
 * reports back. */
#include "store/backend.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/writer_pass.h"

#include "base/alloc.h"
#include "base/log.h"

#include <pthread.h>
#include <stdatomic.h>

#define BATCH_CAP 4096

struct ic_writer {
    ic_conn *conn; /* the writer thread's own */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;  /* jobs arrived, or stop */
    pthread_cond_t space; /* the queue shrank (ic_writer_run waits on it) */
    ic_write_job *head, *tail;
    size_t count, cap;
    bool stopping;
    ic_err *results; /* BATCH_CAP, the thread's */
    _Atomic uint64_t jobs_done, batches_done;
};

/* The kind of pass over a batch, cheapest first. */
typedef enum batch_pass {
    PASS_OPTIMISTIC, /* pipelined, fast paths that fail on a wrong guess */
    PASS_DEFER,      /* pipelined where no answer is needed, no savepoints */
    PASS_SAVEPOINTS  /* one savepoint per job: a failing job fails alone */
} batch_pass;

/* The connection the writer thread is running an optimistic pass on. */
static _Thread_local const ic_conn *optimistic_conn;

bool ic_writer_optimistic(const ic_conn *c)
{
    return c && optimistic_conn == c;
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT ic_job";
static const char SQL_RELEASE[] = "RELEASE SAVEPOINT ic_job";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO SAVEPOINT ic_job";

/* Runs one job inside its savepoint. */
static ic_err run_job(ic_conn *c, ic_write_job *job)
{
    ic_err err = ic_sql_run(c, SQL_SAVEPOINT, NULL, 0, NULL);
    if (err != IC_OK)
        return IC_ERR_DB;
    err = job->apply ? job->apply(c, job) : IC_OK;
    if (err == IC_OK && !ic_sql_in_transaction(c)) {
        /* A statement failed and the job went on as if not. SQLite carries
         * on after a failed statement; PostgreSQL refuses everything until
         * the savepoint is rolled back, so the job's work is lost: fail the
         * job alone, not the batch. */
        IC_ERROR("writer_job_ignored_error", "msg=\"%s\"", ic_sql_errmsg(c));
        err = IC_ERR_DB;
    }
    if (err != IC_OK) {
        if (ic_sql_run(c, SQL_ROLLBACK_TO, NULL, 0, NULL) != IC_OK)
            IC_ERROR("writer_rollback_to_failed", "msg=\"%s\"", ic_sql_errmsg(c));
    }
    if (ic_sql_run(c, SQL_RELEASE, NULL, 0, NULL) != IC_OK && err == IC_OK)
        err = IC_ERR_DB;
    return err;
}

typedef enum batch_outcome { BATCH_COMMITTED, BATCH_FAILED, BATCH_RETRY } batch_outcome;

/* The error every job of a batch gets when the batch as a whole failed:
 * IC_ERR_BUSY when the connection to the database was lost (the backend
 * says so; callers answer 503 and the client retries), else IC_ERR_DB. */
static ic_err batch_error(ic_err why)
{
    return why == IC_ERR_BUSY ? IC_ERR_BUSY : IC_ERR_DB;
}

/* Runs the n jobs from first in one transaction, their outcomes into
 * w->results. With savepoints each job runs inside its own, so a failing job
 * rolls back alone. Without (PostgreSQL's fast passes) the first failing job
 * rolls the whole transaction back and the answer is BATCH_RETRY: the caller
 * runs the batch again in the next pass; a lost connection fails the batch
 * instead (its jobs get IC_ERR_BUSY). */
static batch_outcome try_batch(ic_writer *w, ic_write_job *first, size_t n, batch_pass pass)
{
    ic_conn *c = w->conn;
    size_t i = 0;
    bool savepoints = pass == PASS_SAVEPOINTS;
    /* Without savepoints, statements whose result no one reads are only sent
     * (pipeline mode, backend.h), BEGIN first: their failure shows on a later
     * call or at the commit below, and the batch then runs again in the next
     * pass. */
    c->defer = !savepoints && c->be->send && c->be->flush;
    ic_err err = ic_conn_begin(c);
    if (err != IC_OK) {
        IC_ERROR("writer_begin_failed", "jobs=%zu msg=\"%s\"", n, ic_sql_errmsg(c));
        goto failed;
    }
    optimistic_conn = c->defer && pass == PASS_OPTIMISTIC ? c : NULL;
    for (ic_write_job *j = first; j; j = j->next, i++) {
        if (savepoints) {
            err = w->results[i] = run_job(c, j);
        } else {
            err = j->apply ? j->apply(c, j) : IC_OK;
            w->results[i] = err;
            if (err == IC_OK && !ic_sql_in_transaction(c))
                err = IC_ERR_DB; /* a statement failed and the job went on */
            if (err != IC_OK && err != IC_ERR_BUSY) {
                c->defer = false;
                optimistic_conn = NULL;
                IC_DEBUG("writer_batch_retry", "jobs=%zu failed_job=%zu err=\"%s\"", n, i,
                         ic_strerror(err));
                ic_conn_rollback(c);
                return BATCH_RETRY;
            }
        }
        if (!ic_sql_in_transaction(c)) {
            /* A failure (disk full, I/O, a lost connection) ended the whole
             * transaction. */
            IC_ERROR("writer_transaction_lost", "jobs=%zu msg=\"%s\"", n, ic_sql_errmsg(c));
            err = batch_error(err);
            goto failed;
        }
    }
    optimistic_conn = NULL;
    /* On PostgreSQL the commit reads what is still pending in the same
     * round trip. Any failure the server answered means nothing of the batch
     * was committed: without savepoints, run it again in the next pass; a
     * lost connection (the outcome unknown) fails it. */
    bool retry = c->defer;
    c->defer = false;
    err = ic_conn_commit(c);
    if (err == IC_OK)
        return BATCH_COMMITTED;
    if (retry && err != IC_ERR_BUSY) {
        IC_DEBUG("writer_batch_retry", "jobs=%zu err=\"%s\" (at commit)", n, ic_strerror(err));
        ic_conn_rollback(c);
        return BATCH_RETRY;
    }
    IC_ERROR("writer_commit_failed", "jobs=%zu msg=\"%s\"", n, ic_sql_errmsg(c));
failed:
    c->defer = false;
    optimistic_conn = NULL;
    ic_conn_rollback(c);
    for (i = 0; i < n; i++)
        w->results[i] = batch_error(err);
    return BATCH_FAILED;
}

/* Runs a batch of n jobs (a chain from first) and reports every outcome. */
static void run_batch(ic_writer *w, ic_write_job *first, size_t n)
{
    const ic_backend *be = ic_sql_conn_backend(w->conn);
    batch_pass pass = !be->costly_savepoints  ? PASS_SAVEPOINTS
                      : be->send && be->flush ? PASS_OPTIMISTIC
                                              : PASS_DEFER;
    size_t i = 0, ok = 0;
    while (try_batch(w, first, n, pass) == BATCH_RETRY && pass != PASS_SAVEPOINTS)
        pass = (batch_pass)(pass + 1);
    for (i = 0; i < n; i++)
        if (w->results[i] == IC_OK)
            ok++;
    atomic_fetch_add(&w->jobs_done, ok);
    atomic_fetch_add(&w->batches_done, 1);
    i = 0;
    ic_write_job *j = first;
    while (j) {
        ic_write_job *next = j->next; /* done may free j */
        j->next = NULL;
        if (j->done)
            j->done(j, w->results[i]);
        j = next;
        i++;
    }
}

static void *writer_main(void *arg)
{
    ic_writer *w = arg;
    pthread_setname_np(pthread_self(), "ic-writer"); /* shows in top -H and /proc */
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->wake, &w->mu);
        if (w->count == 0 && w->stopping) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        ic_write_job *first = w->head, *last = first;
        size_t n = 1;
        while (n < BATCH_CAP && last->next) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->count -= n;
        pthread_cond_broadcast(&w->space);
        pthread_mutex_unlock(&w->mu);
        run_batch(w, first, n);
    }
    return NULL;
}

ic_err ic_writer_start(ic_db *db, size_t queue_cap, ic_writer **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_writer *w = ic_calloc(1, sizeof *w);
    *out = NULL;
    w->cap = queue_cap ? queue_cap : 1;
    w->results = ic_calloc(BATCH_CAP, sizeof *w->results);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->space, NULL);
    err = ic_sql_conn_open(db, &w->conn, em);
    if (err != IC_OK)
        goto out;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the writer thread");
        goto out;
    }
out:
    if (err != IC_OK) {
        ic_sql_conn_close(w->conn);
        pthread_cond_destroy(&w->space);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
        ic_free(w->results);
        ic_free(w);
        w = NULL;
    }
    *out = w;
    return err;
}

/* Appends job; the lock is held. */
static void enqueue_locked(ic_writer *w, ic_write_job *job)
{
    job->next = NULL;
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->count++;
    pthread_cond_signal(&w->wake);
}

ic_err ic_writer_submit(ic_writer *w, ic_write_job *job)
{
    ic_err err = IC_OK;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->count >= w->cap)
        err = IC_ERR_BUSY;
    else
        enqueue_locked(w, job);
    pthread_mutex_unlock(&w->mu);
    return err;
}

typedef struct run_call {
    ic_write_job wrap;
    ic_write_job *inner;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool finished;
    ic_err result;
} run_call;

static ic_err run_apply(ic_conn *tx, ic_write_job *job)
{
    run_call *rc = job->arg;
    return rc->inner->apply ? rc->inner->apply(tx, rc->inner) : IC_OK;
}

static void run_done(ic_write_job *job, ic_err result)
{
    run_call *rc = job->arg;
    if (rc->inner->done)
        rc->inner->done(rc->inner, result);
    pthread_mutex_lock(&rc->mu);
    rc->result = result;
    rc->finished = true;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
}

ic_err ic_writer_run(ic_writer *w, ic_write_job *job)
{
    ic_err err = IC_OK;
    run_call rc = {.inner = job, .finished = false, .result = IC_OK};
    rc.wrap.apply = run_apply;
    rc.wrap.done = run_done;
    rc.wrap.arg = &rc;
    pthread_mutex_init(&rc.mu, NULL);
    pthread_cond_init(&rc.cv, NULL);

    /* Unlike submit, wait for room: the callers of run can afford to. */
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && w->count >= w->cap)
        pthread_cond_wait(&w->space, &w->mu);
    if (w->stopping)
        err = IC_ERR_BUSY;
    else
        enqueue_locked(w, &rc.wrap);
    pthread_mutex_unlock(&w->mu);
    if (err != IC_OK)
        goto out;

    pthread_mutex_lock(&rc.mu);
    while (!rc.finished)
        pthread_cond_wait(&rc.cv, &rc.mu);
    pthread_mutex_unlock(&rc.mu);
    err = rc.result;
out:
    pthread_cond_destroy(&rc.cv);
    pthread_mutex_destroy(&rc.mu);
    return err;
}

void ic_writer_stop(ic_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_cond_broadcast(&w->space);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    uint64_t jobs = atomic_load(&w->jobs_done), batches = atomic_load(&w->batches_done);
    IC_INFO("writer_stopped", "jobs=%llu batches=%llu", (unsigned long long)jobs,
            (unsigned long long)batches);
    ic_sql_conn_close(w->conn);
    pthread_cond_destroy(&w->space);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    ic_free(w->results);
    ic_free(w);
}

void ic_writer_stats(ic_writer *w, uint64_t *jobs, uint64_t *batches)
{
    if (jobs)
        *jobs = atomic_load(&w->jobs_done);
    if (batches)
        *batches = atomic_load(&w->batches_done);
}
