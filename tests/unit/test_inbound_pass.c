/* test_inbound_pass.c - ic_store_inbound_message through the writer, every
 * kind of message in ONE batch: on PostgreSQL that batch first runs
 * optimistically (writer_pass.h: pipelined fast paths that fail when the
 * contact is new, has no open conversation, or the message is a duplicate),
 * then again the general way; on SQLite it runs once. Either way every
 * job's outcome, the duplicate flags and the stored rows must be the
 * general path's. */
#include "store_fixture.h"

#include "base/log.h"

#include <semaphore.h>
#include <stdatomic.h>

#define T0 (1700000000LL * 1000000)

typedef struct in_job {
    ic_write_job job;
    int64_t ws, ch, wa_us;
    const char *from, *wamid, *name;
    bool dup;
    ic_err result;
    _Atomic int *done;
} in_job;

static ic_err in_apply(ic_conn *tx, ic_write_job *job)
{
    in_job *j = (in_job *)job;
    ic_message m = {.workspace_id = j->ws,
                    .channel_id = j->ch,
                    .wa_id = j->wamid,
                    .type = "text",
                    .text = "hi",
                    .wa_us = j->wa_us};
    return ic_store_inbound_message(tx, &m, j->from, j->name, &j->dup);
}

static void in_done(ic_write_job *job, ic_err result)
{
    in_job *j = (in_job *)job;
    j->result = result;
    atomic_fetch_add(j->done, 1);
}

/* Holds the writer (sem wait) so that later jobs run as one batch. */
typedef struct hold {
    ic_write_job job;
    sem_t entered, release;
} hold;

static ic_err hold_apply(ic_conn *tx, ic_write_job *job)
{
    (void)tx;
    hold *h = (hold *)job;
    sem_post(&h->entered);
    sem_wait(&h->release);
    return IC_OK;
}

static void test_one_batch_of_every_kind(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    ic_writer *w = NULL;
    bool dup = false;
    /* Before the batch: Known (open conversation, one message) and Closed
     * (its only conversation closed). */
    ic_message k = {
        .workspace_id = f->ws, .channel_id = f->ch, .wa_id = "w.k0", .type = "text", .wa_us = T0};
    assert_int_equal(ic_store_inbound_message(f->c, &k, "111", "Known", &dup), IC_OK);
    ic_message c = {
        .workspace_id = f->ws, .channel_id = f->ch, .wa_id = "w.c0", .type = "text", .wa_us = T0};
    assert_int_equal(ic_store_inbound_message(f->c, &c, "222", "Closed", &dup), IC_OK);
    assert_int_equal(ic_sql_run(f->c, "UPDATE conversations SET status = 'closed' WHERE id = $1",
                                IC_ARGS(IC_I64(c.conversation_id)), NULL),
                     IC_OK);

    _Atomic int done = 0;
    in_job jobs[] = {
        {.from = "111", .wamid = "w.k1", .name = "Known", .wa_us = T0 + 10},   /* known */
        {.from = "333", .wamid = "w.n1", .name = "New", .wa_us = T0 + 20},     /* new contact */
        {.from = "111", .wamid = "w.k0", .name = "Other", .wa_us = T0 + 99},   /* stored before */
        {.from = "222", .wamid = "w.c1", .name = NULL, .wa_us = T0 + 30},      /* closed: reopen */
        {.from = "", .wamid = "w.bad", .name = NULL, .wa_us = T0},             /* invalid */
        {.from = "111", .wamid = "w.k2", .name = "Known B", .wa_us = T0 + 40}, /* known, renamed */
        {.from = "111",
         .wamid = "w.k2",
         .name = "Known C",
         .wa_us = T0 + 98}, /* same batch twice */
    };
    enum { N = sizeof jobs / sizeof jobs[0] };
    hold h = {.job.apply = hold_apply};
    sem_init(&h.entered, 0, 0);
    sem_init(&h.release, 0, 0);
    assert_int_equal(ic_writer_start(f->db, 64, &w, &em), IC_OK);
    assert_int_equal(ic_writer_submit(w, &h.job), IC_OK);
    sem_wait(&h.entered);
    for (int i = 0; i < N; i++) {
        jobs[i].job.apply = in_apply;
        jobs[i].job.done = in_done;
        jobs[i].ws = f->ws;
        jobs[i].ch = f->ch;
        jobs[i].done = &done;
        jobs[i].result = IC_ERR_INTERNAL;
        assert_int_equal(ic_writer_submit(w, &jobs[i].job), IC_OK);
    }
    sem_post(&h.release);
    while (atomic_load(&done) < N)
        ic_sleep_us(1000);
    uint64_t batches = 0;
    ic_writer_stats(w, NULL, &batches);
    ic_writer_stop(w);
    sem_destroy(&h.entered);
    sem_destroy(&h.release);
    assert_int_equal(batches, 2); /* the hold's, then all of them together */

    const bool want_dup[N] = {false, false, true, false, false, false, true};
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].result, i == 4 ? IC_ERR_INVALID : IC_OK);
        if (i != 4)
            assert_int_equal(jobs[i].dup, want_dup[i]);
    }
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM messages WHERE wa_id LIKE 'w.%'"), 6);
    /* Duplicates moved nothing: Known's window is its last new message's. */
    assert_int_equal(sql_i64(f->c, "SELECT last_inbound_us FROM contacts WHERE wa_id = '111'"),
                     T0 + 40);
    assert_int_equal(sql_i64(f->c, "SELECT v.last_inbound_us FROM conversations v JOIN contacts k"
                                   " ON k.id = v.contact_id WHERE k.wa_id = '111'"
                                   " AND v.status = 'open'"),
                     T0 + 40);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM contacts WHERE wa_id = '111'"
                                   " AND name = 'Known B'"),
                     1);
    /* Every new message is in its contact's open conversation; w.c0's was
     * closed. */
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM messages m JOIN conversations v"
                                   " ON v.id = m.conversation_id AND v.status = 'open'"
                                   " AND v.contact_id = m.contact_id WHERE m.wa_id LIKE 'w.%'"),
                     5);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM conversations v JOIN contacts k"
                                   " ON k.id = v.contact_id WHERE k.wa_id = '222'"),
                     2);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM contacts WHERE wa_id = '333'"), 1);
}

int main(void)
{
    (void)page_ids; /* store_fixture.h's, not needed here */
    ic_log_init();  /* IC_LOG_LEVEL=debug shows the writer's passes */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_batch_of_every_kind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
