/* test_window.c - the 24-hour customer service window rule. */
#include "core/window.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define HOUR_US ((int64_t)3600 * 1000000)
/* 2026-01-30T01:57:09Z in microseconds. */
#define T0 ((int64_t)1769738229 * 1000000)

static void test_open_inside_24_hours(void **state)
{
    (void)state;
    assert_true(ic_window_is_open(T0, T0));
    assert_true(ic_window_is_open(T0, T0 + 23 * HOUR_US));
    assert_true(ic_window_is_open(T0, T0 + 24 * HOUR_US - 1));
    /* A clock a little behind Meta's still sees the window open. */
    assert_true(ic_window_is_open(T0, T0 - HOUR_US));
}

static void test_closed_at_and_after_24_hours(void **state)
{
    (void)state;
    assert_false(ic_window_is_open(T0, T0 + 24 * HOUR_US));
    assert_false(ic_window_is_open(T0, T0 + 24 * HOUR_US + 1));
    assert_false(ic_window_is_open(T0, T0 + 30 * 24 * HOUR_US));
}

static void test_never_written_is_closed(void **state)
{
    (void)state;
    assert_false(ic_window_is_open(0, T0));
    assert_false(ic_window_is_open(-5, T0));
    assert_int_equal(ic_window_closes_us(0), 0);
    assert_true(ic_window_closes_us(T0) == T0 + 24 * HOUR_US);
}

static void test_check_allows_templates_always(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_window_check(0, T0, true, &em), IC_OK);
    assert_int_equal(ic_window_check(T0, T0 + 48 * HOUR_US, true, &em), IC_OK);
    assert_int_equal(ic_window_check(T0, T0 + HOUR_US, false, &em), IC_OK);
}

static void test_check_names_the_closing_time(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_window_check(T0, T0 + 25 * HOUR_US, false, &em), IC_ERR_WINDOW_CLOSED);
    assert_string_equal(em.msg, "The 24-hour window closed at 2026-01-31T01:57:09.000000Z; only "
                                "an approved template can be sent.");
}

static void test_check_says_never_written(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_window_check(0, T0, false, &em), IC_ERR_WINDOW_CLOSED);
    assert_non_null(strstr(em.msg, "this person has never written"));
    assert_non_null(strstr(em.msg, "only an approved template can be sent"));
    /* em may be NULL. */
    assert_int_equal(ic_window_check(0, T0, false, NULL), IC_ERR_WINDOW_CLOSED);
}

static void test_no_overflow_near_int64_max(void **state)
{
    (void)state;
    assert_true(ic_window_is_open(INT64_MAX - 1, T0));
    assert_true(ic_window_closes_us(INT64_MAX - 1) == INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_inside_24_hours),
        cmocka_unit_test(test_closed_at_and_after_24_hours),
        cmocka_unit_test(test_never_written_is_closed),
        cmocka_unit_test(test_check_allows_templates_always),
        cmocka_unit_test(test_check_names_the_closing_time),
        cmocka_unit_test(test_check_says_never_written),
        cmocka_unit_test(test_no_overflow_near_int64_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
