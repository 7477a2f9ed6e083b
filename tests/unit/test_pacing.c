/* test_pacing.c - throughput, pair limit and backoff with a simulated clock. */
#include "wa/pacing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SEC IC_PACE_SECOND_US

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Most sends found in any window [t, t + len] (both ends included). */
static int max_in_window(const int64_t *t, int n, int64_t len)
{
    int best = 0;
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (j < i)
            j = i;
        while (j + 1 < n && t[j + 1] <= t[i] + len)
            j++;
        if (j - i + 1 > best)
            best = j - i + 1;
    }
    return best;
}

/* A greedy sender with an always-full backlog that wakes up late by up to
 * max_late_us each time (a busy machine), for `seconds` simulated seconds. */
static int simulate(int rate, int seconds, int64_t max_late_us, int64_t **out)
{
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    ic_pacer p;
    ic_pacer_init(&p, rate, &cfg);
    int cap = rate * (seconds + 1) + 16;
    int64_t *t = malloc((size_t)cap * sizeof *t);
    int n = 0;
    int64_t now = 1000 * SEC; /* any origin */
    int64_t end = now + (int64_t)seconds * SEC;
    for (;;) {
        int64_t next = ic_pacer_next_us(&p, now);
        if (next > now)
            now = next + (max_late_us ? (int64_t)(rnd() % (uint32_t)max_late_us) : 0);
        if (now >= end)
            break;
        ic_pacer_take(&p, now);
        t[n++] = now;
        assert_true(n < cap);
    }
    ic_pacer_free(&p);
    *out = t;
    return n;
}

static void check_rate(int rate, int64_t late)
{
    int64_t *t;
    int n = simulate(rate, 10, late, &t);
    /* Never more than R in any 1-second window, even 1 s + 12 ms... */
    assert_true(max_in_window(t, n, SEC) <= rate);
    assert_true(max_in_window(t, n, SEC + 11000) <= rate);
    /* ...while achieving at least 98% of R over the 10 seconds. */
    assert_true(n >= rate * 10 * 98 / 100);
    /* Smooth: no burst of more than 2% of R (or 5) within 10 ms. */
    int burst = rate / 50 + 5;
    assert_true(max_in_window(t, n, 10000) <= burst);
    free(t);
}

static void test_rate_80(void **state)
{
    (void)state;
    check_rate(80, 0);
    check_rate(80, 2000);
}

static void test_rate_1000(void **state)
{
    (void)state;
    check_rate(1000, 0);
    check_rate(1000, 300);
    check_rate(1000, 3000);
}

static void test_rate_clamped(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    ic_pacer p;
    ic_pacer_init(&p, 5000, &cfg);
    assert_int_equal(p.rate, 1000);
    ic_pacer_free(&p);
    ic_pacer_init(&p, 0, &cfg);
    assert_int_equal(p.rate, 1);
    ic_pacer_free(&p);
}

static void test_throttle_pauses_and_recovers(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    ic_pacer p;
    ic_pacer_init(&p, 100, &cfg);
    int64_t now = 50 * SEC;
    assert_true(ic_pacer_next_us(&p, now) <= now);
    assert_true(p.window_us == SEC + 12000);
    /* A one-off 130429 pauses the channel half a second and widens the
     * window's margin; the rate stays. */
    ic_pacer_throttled(&p, now);
    assert_true(ic_pacer_next_us(&p, now) == now + SEC / 2);
    assert_int_equal(p.limit, 100);
    assert_true(p.window_us == SEC + 24000);
    /* More 130429 answers for requests already out do not pile up. */
    ic_pacer_throttled(&p, now + 1000);
    assert_int_equal(p.limit, 100);
    assert_true(p.window_us == SEC + 24000);
    assert_true(ic_pacer_next_us(&p, now + 1000) == now + SEC / 2);
    /* Throttled again soon after: twice the pause; the margin widens to its
     * cap before the rate is touched. */
    int64_t later = now + 2 * SEC;
    ic_pacer_throttled(&p, later);
    assert_true(ic_pacer_next_us(&p, later) == later + SEC);
    assert_int_equal(p.limit, 100);
    assert_true(p.window_us == SEC + 48000);
    later += 3 * SEC;
    ic_pacer_throttled(&p, later);
    assert_true(ic_pacer_next_us(&p, later) == later + 2 * SEC);
    assert_true(p.window_us == SEC + 96000);
    later += 5 * SEC;
    ic_pacer_throttled(&p, later);
    assert_true(p.window_us == SEC + 100000);
    assert_int_equal(p.limit, 100);
    /* At the widest margin, 130429s mean the real limit is lower: -10%. */
    later += 9 * SEC;
    ic_pacer_throttled(&p, later);
    assert_int_equal(p.limit, 90);
    later += 17 * SEC;
    ic_pacer_throttled(&p, later);
    assert_int_equal(p.limit, 81);
    /* Quiet seconds bring the limit back to R, 2% of R at a time, then the
     * margin back to 12 ms. */
    int64_t t = later + 17 * SEC;
    ic_pacer_ok(&p, t);
    assert_int_equal(p.limit, 83);
    for (int i = 0; i < 20; i++, t += SEC)
        ic_pacer_ok(&p, t);
    assert_int_equal(p.limit, 100);
    assert_true(p.window_us > SEC + 12000);
    for (int i = 0; i < 60; i++, t += SEC)
        ic_pacer_ok(&p, t);
    assert_true(p.window_us == SEC + 12000);
    /* A throttle a minute later is a one-off again. */
    t += 61 * SEC;
    ic_pacer_throttled(&p, t);
    assert_int_equal(p.limit, 100);
    assert_true(ic_pacer_next_us(&p, t) == t + SEC / 2);
    ic_pacer_free(&p);
}

static void test_lower_limit_holds(void **state)
{
    (void)state;
    /* After a throttle the window allows only the lowered limit. */
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    ic_pacer p;
    ic_pacer_init(&p, 100, &cfg);
    int64_t now = 10 * SEC;
    while (p.limit == 100) {
        ic_pacer_throttled(&p, now);
        now += 20 * SEC;
    }
    assert_int_equal(p.limit, 90);
    int sent = 0;
    int64_t start = ic_pacer_next_us(&p, now);
    now = start;
    while (now < start + SEC) {
        ic_pacer_take(&p, now);
        sent++;
        now = ic_pacer_next_us(&p, now);
    }
    assert_int_equal(sent, 90);
    ic_pacer_free(&p);
}

static void test_pair_burst_then_one_per_6s(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    int64_t now = 100 * SEC;
    int64_t tat = 0;
    for (int i = 0; i < 6; i++) {
        assert_true(ic_pair_next_us(tat, &cfg) <= now);
        tat = ic_pair_take(tat, now, &cfg);
    }
    /* The 7th must wait 6 s, then one every 6 s. */
    assert_true(ic_pair_next_us(tat, &cfg) == now + 6 * SEC);
    tat = ic_pair_take(tat, now + 6 * SEC, &cfg);
    assert_true(ic_pair_next_us(tat, &cfg) == now + 12 * SEC);
    assert_false(ic_pair_idle(tat, now + 12 * SEC));
    /* Fully recovered 6 x 6 s after the last slot. */
    assert_true(ic_pair_idle(tat, now + 42 * SEC));
    int64_t later = now + 42 * SEC;
    for (int i = 0; i < 6; i++) {
        assert_true(ic_pair_next_us(tat, &cfg) <= later);
        tat = ic_pair_take(tat, later, &cfg);
    }
    assert_true(ic_pair_next_us(tat, &cfg) > later);
}

static void test_pair_configurable(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    cfg.pair_burst = 1;
    cfg.pair_interval_us = 2 * SEC;
    int64_t tat = ic_pair_take(0, 5 * SEC, &cfg);
    assert_true(ic_pair_next_us(tat, &cfg) == 7 * SEC);
}

static void test_pair_pause(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    int64_t now = 100 * SEC;
    int64_t tat = ic_pair_take(0, now, &cfg);
    tat = ic_pair_pause(tat, now + 4 * SEC, &cfg);
    assert_true(ic_pair_next_us(tat, &cfg) == now + 4 * SEC);
    /* No burst right after the pause. */
    tat = ic_pair_take(tat, now + 4 * SEC, &cfg);
    assert_true(ic_pair_next_us(tat, &cfg) == now + 10 * SEC);
}

static void test_backoff(void **state)
{
    (void)state;
    ic_pace_config cfg;
    ic_pace_config_default(&cfg);
    for (int i = 0; i < 200; i++) {
        uint32_t r = rnd();
        int64_t d1 = ic_backoff_us(1, r, &cfg);
        assert_true(d1 >= SEC * 3 / 4 && d1 < SEC * 5 / 4);
        int64_t d3 = ic_backoff_us(3, r, &cfg);
        assert_true(d3 >= 3 * SEC && d3 < 5 * SEC);
        assert_true(ic_backoff_us(40, r, &cfg) <= cfg.retry_cap_us);
        assert_true(ic_backoff_us(40, r, &cfg) >= cfg.retry_cap_us * 3 / 4);
    }
    assert_true(ic_backoff_us(1, 0, &cfg) == SEC * 3 / 4);
    assert_true(ic_backoff_us(1, UINT32_MAX, &cfg) < SEC * 5 / 4);
    assert_true(ic_pair_backoff_us(0, &cfg) == SEC);
    assert_true(ic_pair_backoff_us(1, &cfg) == 4 * SEC);
    assert_true(ic_pair_backoff_us(2, &cfg) == 16 * SEC);
    assert_true(ic_pair_backoff_us(3, &cfg) == 64 * SEC);
    assert_true(ic_pair_backoff_us(9, &cfg) == cfg.pair_backoff_cap_us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_80),
        cmocka_unit_test(test_rate_1000),
        cmocka_unit_test(test_rate_clamped),
        cmocka_unit_test(test_throttle_pauses_and_recovers),
        cmocka_unit_test(test_lower_limit_holds),
        cmocka_unit_test(test_pair_burst_then_one_per_6s),
        cmocka_unit_test(test_pair_configurable),
        cmocka_unit_test(test_pair_pause),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
