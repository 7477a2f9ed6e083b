/* test_outbox.c - the in-memory outbox: per-person order, lanes, pair
 * limit, retries and caps. */
#include "jobs/idmap.h"
#include "jobs/outbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SEC IC_PACE_SECOND_US
#define T0 (1000 * SEC)

static ic_pace_config cfg;

static int setup(void **state)
{
    (void)state;
    ic_pace_config_default(&cfg);
    return 0;
}

static int64_t pick_id(ic_outbox *o, int64_t now)
{
    ic_outbox_item it;
    if (!ic_outbox_pick(o, now, &it))
        return 0;
    return it.msg_id;
}

/* Picks and settles everything eligible at now; returns the ids in order. */
static int drain(ic_outbox *o, int64_t now, int64_t *ids, int max)
{
    int n = 0;
    ic_outbox_item it;
    while (n < max && ic_outbox_pick(o, now, &it)) {
        ids[n++] = it.msg_id;
        assert_int_equal(ic_outbox_done(o, it.contact_id, now), IC_OK);
    }
    return n;
}

static void test_order_per_person(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    assert_int_equal(ic_outbox_push(o, 1, 100, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 2, 100, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 3, 100, IC_LANE_BULK, 0), IC_OK);
    ic_outbox_item it;
    assert_true(ic_outbox_pick(o, T0, &it));
    assert_int_equal(it.msg_id, 1);
    assert_int_equal(it.contact_id, 100);
    /* While message 1 is out, the person's next one must wait. */
    assert_false(ic_outbox_pick(o, T0, &it));
    assert_true(ic_outbox_next_us(o, T0) == INT64_MAX);
    assert_int_equal(ic_outbox_done(o, 100, T0), IC_OK);
    assert_int_equal(pick_id(o, T0), 2);
    assert_int_equal(ic_outbox_done(o, 100, T0), IC_OK);
    assert_int_equal(pick_id(o, T0), 3);
    assert_int_equal(ic_outbox_done(o, 100, T0), IC_OK);
    assert_int_equal(ic_outbox_count(o), 0);
    /* Settling twice is refused. */
    assert_int_equal(ic_outbox_done(o, 100, T0), IC_ERR_NOT_FOUND);
    ic_outbox_free(o);
}

static void test_reply_lane_first(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    for (int i = 1; i <= 50; i++)
        assert_int_equal(ic_outbox_push(o, i, 1000 + i, IC_LANE_BULK, 0), IC_OK);
    /* Ten bulk messages go, then a reply arrives. */
    int64_t ids[64];
    assert_int_equal(drain(o, T0, ids, 10), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ids[i], i + 1);
    assert_int_equal(ic_outbox_push(o, 51, 7, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(drain(o, T0, ids, 64), 41);
    assert_int_equal(ids[0], 51);
    for (int i = 1; i < 41; i++)
        assert_int_equal(ids[i], i + 10); /* the rest of the bulk, oldest first */
    ic_outbox_free(o);
}

static void test_lane_does_not_reorder_a_person(void **state)
{
    (void)state;
    /* A person with a bulk message waiting gets their reply after it. */
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    assert_int_equal(ic_outbox_push(o, 1, 5, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 2, 6, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 3, 5, IC_LANE_REPLY, 0), IC_OK);
    int64_t ids[8];
    assert_int_equal(drain(o, T0, ids, 8), 3);
    /* Person 5's bulk (1) goes before their reply (3). */
    int pos1 = -1, pos3 = -1;
    for (int i = 0; i < 3; i++) {
        if (ids[i] == 1)
            pos1 = i;
        if (ids[i] == 3)
            pos3 = i;
    }
    assert_true(pos1 >= 0 && pos3 > pos1);
    ic_outbox_free(o);
}

static void test_retry_stays_at_head(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    assert_int_equal(ic_outbox_push(o, 1, 100, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 2, 100, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 3, 200, IC_LANE_REPLY, 0), IC_OK);
    ic_outbox_item it;
    assert_true(ic_outbox_pick(o, T0, &it));
    assert_int_equal(it.msg_id, 1);
    assert_int_equal(it.attempts, 0);
    assert_int_equal(ic_outbox_retry(o, 100, T0 + 2 * SEC, 1, true), IC_OK);
    /* Person 100 waits for the retry; person 200 goes meanwhile. */
    assert_int_equal(pick_id(o, T0), 3);
    assert_int_equal(ic_outbox_done(o, 200, T0), IC_OK);
    assert_int_equal(pick_id(o, T0 + SEC), 0);
    assert_true(ic_outbox_next_us(o, T0 + SEC) == T0 + 2 * SEC);
    assert_true(ic_outbox_pick(o, T0 + 2 * SEC, &it));
    assert_int_equal(it.msg_id, 1); /* not 2: order kept across the retry */
    assert_int_equal(it.attempts, 1);
    assert_int_equal(it.part, 1);
    /* A hold-up that was not an attempt does not count. */
    assert_int_equal(ic_outbox_retry(o, 100, T0 + 2 * SEC, 1, false), IC_OK);
    assert_true(ic_outbox_pick(o, T0 + 2 * SEC, &it));
    assert_int_equal(it.msg_id, 1);
    assert_int_equal(it.attempts, 1);
    assert_int_equal(ic_outbox_done(o, 100, T0 + 2 * SEC), IC_OK);
    assert_int_equal(pick_id(o, T0 + 2 * SEC), 2);
    ic_outbox_free(o);
}

static void test_pair_limit(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    for (int i = 1; i <= 8; i++)
        assert_int_equal(ic_outbox_push(o, i, 42, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 9, 43, IC_LANE_BULK, 0), IC_OK);
    int64_t ids[16];
    /* A burst of 6 to person 42, and person 43's message, at once. */
    assert_int_equal(drain(o, T0, ids, 16), 7);
    for (int i = 0; i < 6; i++)
        assert_int_equal(ids[i], i + 1);
    assert_int_equal(ids[6], 9);
    /* Then one every 6 s. */
    assert_true(ic_outbox_next_us(o, T0) == T0 + 6 * SEC);
    assert_int_equal(drain(o, T0 + 6 * SEC - 1, ids, 16), 0);
    assert_int_equal(drain(o, T0 + 6 * SEC, ids, 16), 1);
    assert_int_equal(ids[0], 7);
    assert_int_equal(drain(o, T0 + 11 * SEC, ids, 16), 0);
    assert_int_equal(drain(o, T0 + 12 * SEC, ids, 16), 1);
    assert_int_equal(ids[0], 8);
    ic_outbox_free(o);
}

static void test_pair_state_outlives_the_queue(void **state)
{
    (void)state;
    /* A person whose queue ran dry is remembered until their pair state
     * recovers: a new burst right away cannot exceed the limit. */
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    int64_t ids[16];
    for (int i = 1; i <= 6; i++)
        assert_int_equal(ic_outbox_push(o, i, 42, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(drain(o, T0, ids, 16), 6);
    assert_int_equal(ic_outbox_persons(o), 1);
    assert_int_equal(ic_outbox_push(o, 7, 42, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(drain(o, T0 + SEC, ids, 16), 0);
    assert_int_equal(drain(o, T0 + 6 * SEC, ids, 16), 1);
    /* Forgotten once fully recovered. */
    assert_true(ic_outbox_next_us(o, T0 + 60 * SEC) == INT64_MAX);
    assert_int_equal(ic_outbox_persons(o), 0);
    ic_outbox_free(o);
}

static void test_mark_read_takes_no_pair_slot(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    int64_t id = 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(ic_outbox_push(o, id++, 42, IC_LANE_REPLY, IC_OUTBOX_NO_PAIR), IC_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(ic_outbox_push(o, id++, 42, IC_LANE_REPLY, 0), IC_OK);
    int64_t ids[32];
    assert_int_equal(drain(o, T0, ids, 32), 16);
    ic_outbox_item it;
    assert_int_equal(ic_outbox_push(o, id, 42, IC_LANE_REPLY, IC_OUTBOX_NO_PAIR), IC_OK);
    assert_true(ic_outbox_pick(o, T0, &it));
    assert_int_equal(it.flags, IC_OUTBOX_NO_PAIR);
    ic_outbox_free(o);
}

static void test_pause_person(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    assert_int_equal(ic_outbox_push(o, 1, 42, IC_LANE_REPLY, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 2, 42, IC_LANE_REPLY, 0), IC_OK);
    ic_outbox_item it;
    assert_true(ic_outbox_pick(o, T0, &it));
    /* Meta said 131056: retry after 4 s, and nothing to them before. */
    ic_outbox_pause_person(o, 42, T0 + 4 * SEC);
    assert_int_equal(ic_outbox_retry(o, 42, T0 + SEC, 0, true), IC_OK);
    assert_int_equal(pick_id(o, T0 + 3 * SEC), 0);
    assert_int_equal(pick_id(o, T0 + 4 * SEC), 1);
    assert_int_equal(ic_outbox_done(o, 42, T0 + 4 * SEC), IC_OK);
    /* No burst right after the pause: the next waits a pair interval. */
    assert_int_equal(pick_id(o, T0 + 5 * SEC), 0);
    assert_int_equal(pick_id(o, T0 + 10 * SEC), 2);
    /* Unknown persons are ignored. */
    ic_outbox_pause_person(o, 999, T0);
    ic_outbox_free(o);
}

static void test_caps_and_duplicates(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 100);
    for (int i = 1; i <= 100; i++)
        assert_int_equal(ic_outbox_push(o, i, i % 7, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 101, 1, IC_LANE_BULK, 0), IC_ERR_BUSY);
    assert_int_equal(ic_outbox_count(o), 100);
    int64_t ids[128];
    assert_int_equal(drain(o, T0, ids, 10), 10);
    assert_int_equal(ic_outbox_count(o), 90);
    assert_int_equal(ic_outbox_push(o, 101, 1, IC_LANE_BULK, 0), IC_OK);
    /* A message id seen before for that person is a duplicate. */
    assert_int_equal(ic_outbox_push(o, 50, 1, IC_LANE_BULK, 0), IC_ERR_EXISTS);
    assert_int_equal(ic_outbox_push(o, 0, 1, IC_LANE_BULK, 0), IC_ERR_INVALID);
    ic_outbox_free(o);
}

static void test_out_of_order_push(void **state)
{
    (void)state;
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    ic_outbox_item it;
    /* Several nodes commit out of id order: 20 arrives after 30. */
    assert_int_equal(ic_outbox_push(o, 30, 5, IC_LANE_BULK, 0), IC_OK);
    assert_true(ic_outbox_pick(o, T0, &it));
    assert_int_equal(it.msg_id, 30); /* busy: stays first */
    assert_int_equal(ic_outbox_push(o, 40, 5, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 20, 5, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 10, 5, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_push(o, 20, 5, IC_LANE_BULK, 0), IC_ERR_EXISTS);
    assert_int_equal(ic_outbox_push(o, 30, 5, IC_LANE_BULK, 0), IC_ERR_EXISTS);
    assert_true(ic_outbox_has(o, 5, 20));
    assert_true(ic_outbox_has(o, 5, 30));
    assert_false(ic_outbox_has(o, 5, 25));
    assert_false(ic_outbox_has(o, 6, 20));
    assert_int_equal(ic_outbox_count(o), 4);
    int64_t want[] = {10, 20, 40};
    int64_t now = T0;
    assert_int_equal(ic_outbox_done(o, 5, now), IC_OK);
    for (int i = 0; i < 3; i++) {
        now += 60 * (int64_t)1000000;
        assert_true(ic_outbox_pick(o, now, &it));
        assert_int_equal(it.msg_id, want[i]);
        assert_int_equal(ic_outbox_done(o, 5, now), IC_OK);
    }
    assert_false(ic_outbox_has(o, 5, 30));
    /* Settled and pushed again: accepted (the sender reads its state). */
    assert_int_equal(ic_outbox_push(o, 30, 5, IC_LANE_BULK, 0), IC_OK);
    ic_outbox_free(o);
}

static void test_100k_messages_fit(void **state)
{
    (void)state;
    enum { N = 100000, PERSONS = 20000 };
    ic_outbox *o = ic_outbox_new(&cfg, 0);
    for (int i = 1; i <= N; i++)
        assert_int_equal(ic_outbox_push(o, i, 1 + i % PERSONS, IC_LANE_BULK, 0), IC_OK);
    assert_int_equal(ic_outbox_count(o), N);
    assert_int_equal(ic_outbox_persons(o), PERSONS);
    size_t bytes = ic_outbox_bytes(o);
    assert_true(bytes < 12u * 1024 * 1024);
    /* Everything comes out, each person's messages in order; the pair burst
     * (5 per person here) lets all of it go at once. */
    int64_t *last = calloc(PERSONS + 1, sizeof *last);
    ic_outbox_item it;
    int n = 0;
    while (ic_outbox_pick(o, T0, &it)) {
        assert_true(it.msg_id > last[it.contact_id]);
        last[it.contact_id] = it.msg_id;
        assert_int_equal(ic_outbox_done(o, it.contact_id, T0), IC_OK);
        n++;
    }
    assert_int_equal(n, N);
    assert_int_equal(ic_outbox_count(o), 0);
    free(last);
    ic_outbox_next_us(o, T0 + 3600 * SEC);
    assert_int_equal(ic_outbox_persons(o), 0);
    ic_outbox_free(o);
}

static void test_idmap(void **state)
{
    (void)state;
    ic_idmap m = IC_IDMAP_INIT;
    uint64_t v = 0;
    assert_false(ic_idmap_get(&m, 5, &v));
    for (int64_t k = -500; k < 5000; k += 3)
        ic_idmap_put(&m, k, (uint64_t)(k * 2));
    for (int64_t k = -500; k < 5000; k += 3) {
        assert_true(ic_idmap_get(&m, k, &v));
        assert_true(v == (uint64_t)(k * 2));
        assert_false(ic_idmap_get(&m, k + 1, NULL));
    }
    /* Deleting every other key keeps the rest findable. */
    for (int64_t k = -500; k < 5000; k += 6)
        assert_true(ic_idmap_del(&m, k));
    assert_false(ic_idmap_del(&m, -500));
    for (int64_t k = -500; k < 5000; k += 3)
        assert_true(ic_idmap_get(&m, k, NULL) == ((k + 500) % 6 != 0));
    ic_idmap_put(&m, 7, 1);
    ic_idmap_put(&m, 7, 2);
    assert_true(ic_idmap_get(&m, 7, &v) && v == 2);
    ic_idmap_clear(&m);
    assert_int_equal(m.count, 0);
    ic_idmap_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_per_person),
        cmocka_unit_test(test_reply_lane_first),
        cmocka_unit_test(test_lane_does_not_reorder_a_person),
        cmocka_unit_test(test_retry_stays_at_head),
        cmocka_unit_test(test_pair_limit),
        cmocka_unit_test(test_pair_state_outlives_the_queue),
        cmocka_unit_test(test_mark_read_takes_no_pair_slot),
        cmocka_unit_test(test_pause_person),
        cmocka_unit_test(test_caps_and_duplicates),
        cmocka_unit_test(test_out_of_order_push),
        cmocka_unit_test(test_100k_messages_fit),
        cmocka_unit_test(test_idmap),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
