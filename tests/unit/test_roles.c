/* test_roles.c - role names, their order and number masking (core/roles.h). */
#include "core/roles.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int r = IC_ROLE_VIEWER; r <= IC_ROLE_ADMIN; r++)
        assert_int_equal(ic_role_parse(ic_role_name((ic_role)r)), r);
    assert_int_equal(ic_role_parse("Admin"), IC_ROLE_NONE);
    assert_int_equal(ic_role_parse(""), IC_ROLE_NONE);
    assert_int_equal(ic_role_parse(NULL), IC_ROLE_NONE);
    assert_string_equal(ic_role_name(IC_ROLE_NONE), "none");
    assert_string_equal(ic_role_name((ic_role)9), "none");
    assert_true(IC_ROLE_VIEWER < IC_ROLE_OPERATOR && IC_ROLE_OPERATOR < IC_ROLE_SUPERVISOR &&
                IC_ROLE_SUPERVISOR < IC_ROLE_ADMIN);
}

static void test_who_sees_numbers(void **state)
{
    (void)state;
    assert_false(ic_role_sees_numbers(IC_ROLE_NONE));
    assert_false(ic_role_sees_numbers(IC_ROLE_VIEWER));
    assert_false(ic_role_sees_numbers(IC_ROLE_OPERATOR));
    assert_true(ic_role_sees_numbers(IC_ROLE_SUPERVISOR));
    assert_true(ic_role_sees_numbers(IC_ROLE_ADMIN));
}

static void test_mask(void **state)
{
    (void)state;
    char out[32];
    ic_role_mask_number("27821234567", out, sizeof out);
    assert_string_equal(out, "278******67");
    ic_role_mask_number("123456", out, sizeof out);
    assert_string_equal(out, "******");
    ic_role_mask_number("", out, sizeof out);
    assert_string_equal(out, "");
    ic_role_mask_number(NULL, out, sizeof out);
    assert_string_equal(out, "");
    ic_role_mask_number("27821234567", out, 5); /* truncated, still masked */
    assert_string_equal(out, "278*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_who_sees_numbers),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
