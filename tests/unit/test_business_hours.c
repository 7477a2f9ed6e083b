/* test_business_hours.c - time zone offsets from the tz database (checked
 * against the C library's localtime_r in this single-threaded program),
 * ic_business_open across zones, DST and day ends, and settings checks. */
#include "core/business_hours.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define US 1000000LL

static int32_t libc_offset(const char *zone, int64_t t)
{
    setenv("TZ", zone, 1);
    tzset();
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return (int32_t)tm.tm_gmtoff;
}

static void test_offsets_match_libc(void **state)
{
    (void)state;
    static const char *const zones[] = {
        "Europe/Berlin",       "America/New_York",   "Australia/Sydney", "Asia/Kolkata",
        "Europe/Dublin",       "Africa/Casablanca",  "Pacific/Chatham",  "America/Sao_Paulo",
        "Africa/Johannesburg", "Pacific/Kiritimati", "America/St_Johns", "Asia/Tehran"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        /* Every ~5 days plus an odd hour, 1960..2070 (past the files'
         * transitions, where the POSIX rule takes over). */
        for (int64_t t = -315619200; t < 3155760000LL; t += 5 * 86400 + 3671) {
            int32_t ours = 0;
            assert_int_equal(ic_tz_offset(zones[z], t, &ours), IC_OK);
            int32_t theirs = libc_offset(zones[z], t);
            if (ours != theirs)
                fail_msg("%s at %lld: %d != %d", zones[z], (long long)t, ours, theirs);
        }
    }
    unsetenv("TZ");
}

static void test_bad_zones(void **state)
{
    (void)state;
    int32_t off = 7;
    assert_int_equal(ic_tz_offset("UTC", 0, &off), IC_OK);
    assert_int_equal(off, 0);
    assert_int_equal(ic_tz_offset("../../etc/passwd", 0, &off), IC_ERR_INVALID);
    assert_int_equal(ic_tz_offset("/etc/localtime", 0, &off), IC_ERR_INVALID);
    assert_int_equal(ic_tz_offset("", 0, &off), IC_ERR_INVALID);
    assert_int_equal(ic_tz_offset(NULL, 0, &off), IC_ERR_INVALID);
    assert_int_equal(ic_tz_offset("Nowhere/Atlantis", 0, &off), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_tz_offset("Europe", 0, &off), IC_ERR_NOT_FOUND); /* a folder */
}

static bool open_at(const char *settings, int64_t t)
{
    json_t *s = json_loads(settings, 0, NULL);
    assert_non_null(s);
    bool r = ic_business_open(s, t * US);
    json_decref(s);
    return r;
}

static void test_open(void **state)
{
    (void)state;
    const char *jhb = "{\"time_zone\":\"Africa/Johannesburg\",\"business_hours\":"
                      "{\"mon\":[[\"08:00\",\"12:00\"],[\"13:00\",\"17:00\"]]}}";
    int64_t mon0630 = 1795415400; /* Mon 2026-11-23 06:30 UTC = 08:30 SAST */
    assert_true(open_at(jhb, mon0630));
    assert_false(open_at(jhb, mon0630 - 31 * 60));            /* 07:59 */
    assert_false(open_at(jhb, mon0630 + 4 * 3600));           /* 12:30: lunch */
    assert_true(open_at(jhb, mon0630 + 5 * 3600));            /* 13:30 */
    assert_false(open_at(jhb, mon0630 + 8 * 3600 + 30 * 60)); /* 17:00: the end is out */
    assert_false(open_at(jhb, mon0630 + 86400));              /* Tuesday: no hours */
    /* No business hours: always open; no zone: UTC. */
    assert_true(open_at("{}", mon0630));
    assert_true(open_at("{\"business_hours\":null}", mon0630));
    assert_true(open_at("{\"business_hours\":{\"mon\":[[\"06:00\",\"07:00\"]]}}", mon0630));
    assert_true(ic_business_open(NULL, 0));
    /* Berlin, summer and winter, and in 2040 (the POSIX rule). */
    const char *ber = "{\"time_zone\":\"Europe/Berlin\",\"business_hours\":"
                      "{\"wed\":[[\"08:00\",\"17:00\"]]}}";
    assert_true(open_at(ber, 1782887400));  /* Wed 2026-07-01 06:30 UTC = 08:30 CEST */
    assert_false(open_at(ber, 1767767400)); /* Wed 2026-01-07 06:30 UTC = 07:30 CET */
    assert_true(open_at(ber, 2224996200));  /* Wed 2040-07-04 06:30 UTC */
    assert_false(open_at(ber, 2209271400)); /* Wed 2040-01-04 06:30 UTC */
    /* +14: Monday 23:30 UTC is already Tuesday 13:30 there. */
    const char *kir = "{\"time_zone\":\"Pacific/Kiritimati\",\"business_hours\":"
                      "{\"tue\":[[\"00:00\",\"24:00\"]]}}";
    assert_true(open_at(kir, mon0630 + 17 * 3600));
    assert_false(open_at(kir, mon0630));
}

static ic_err check(const char *text)
{
    json_t *s = json_loads(text, 0, NULL);
    assert_non_null(s);
    ic_errmsg em = {{0}};
    ic_err e = ic_settings_check(s, &em);
    json_decref(s);
    return e;
}

static void test_settings_check(void **state)
{
    (void)state;
    assert_int_equal(check("{}"), IC_OK);
    assert_int_equal(check("{\"time_zone\":\"America/New_York\",\"business_hours\":{\"mon\":"
                           "[[\"08:00\",\"17:00\"]],\"sun\":[]},\"away_message\":\"Back soon\","
                           "\"greeting\":null}"),
                     IC_OK);
    assert_int_equal(check("{\"time_zone\":\"Mars/Olympus\"}"), IC_ERR_INVALID);
    assert_int_equal(check("{\"time_zone\":7}"), IC_ERR_INVALID);
    assert_int_equal(check("{\"colour\":\"red\"}"), IC_ERR_INVALID);
    assert_int_equal(check("{\"business_hours\":{\"monday\":[]}}"), IC_ERR_INVALID);
    assert_int_equal(check("{\"business_hours\":{\"mon\":[[\"17:00\",\"08:00\"]]}}"),
                     IC_ERR_INVALID);
    assert_int_equal(check("{\"business_hours\":{\"mon\":[[\"8:00\",\"17:00\"]]}}"),
                     IC_ERR_INVALID);
    assert_int_equal(check("{\"business_hours\":{\"mon\":[[\"08:00\",\"24:01\"]]}}"),
                     IC_ERR_INVALID);
    assert_int_equal(check("{\"business_hours\":[]}"), IC_ERR_INVALID);
    assert_int_equal(check("{\"away_message\":[]}"), IC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_match_libc),
        cmocka_unit_test(test_bad_zones),
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_settings_check),
    };
    return cmocka_run_group_tests_name("business_hours", tests, NULL, NULL);
}
