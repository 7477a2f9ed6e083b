/* test_claims.c - engine contact claims (store.h: ic_store_contact_claim):
 * one holder at a time, claim twice and release unheld are errors, the
 * workspace is part of the key, large ids, a closed holder frees its claims
 * and (PostgreSQL) a lost session's claims are forgotten. */
#include "store/claims_int.h"
#include "store/sql.h"
#include "store/store.h"

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

typedef struct fx {
    char dir[512];
    char url[600];
    ic_db *db;
    ic_conn *c1; /* this thread's */
    ic_conn *c2; /* another connection, as another worker's */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->db = test_db_fresh("claims", f->dir, sizeof f->dir, f->url, sizeof f->url);
    ic_errmsg em = {{0}};
    f->c1 = ic_db_thread_conn(f->db);
    assert_int_equal(ic_sql_conn_open(f->db, &f->c2, &em), IC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_sql_conn_close(f->c2);
    ic_db_close(f->db);
    test_db_drop(f->url);
    free(f);
    return 0;
}

static bool claim(ic_conn *c, int64_t ws, int64_t contact)
{
    bool got = true;
    assert_int_equal(ic_store_contact_claim(c, ws, contact, &got), IC_OK);
    return got;
}

/* Claims, retrying for up to 2 s: a closed or killed PostgreSQL session
 * frees its locks when its backend has exited, a moment later. */
static bool claim_soon(ic_conn *c, int64_t ws, int64_t contact)
{
    for (int i = 0; i < 200; i++) {
        if (claim(c, ws, contact))
            return true;
        ic_sleep_us(10000);
    }
    return false;
}

static void test_one_holder_at_a_time(void **state)
{
    fx *f = *state;
    assert_true(claim(f->c1, 1, 5));
    bool got = true;
    assert_int_equal(ic_store_contact_claim(f->c1, 1, 5, &got), IC_ERR_EXISTS);
    assert_false(got);
    assert_false(claim(f->c2, 1, 5));
    assert_int_equal(ic_store_contact_release(f->c2, 1, 5), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_store_contact_release(f->c1, 1, 5), IC_OK);
    assert_int_equal(ic_store_contact_release(f->c1, 1, 5), IC_ERR_NOT_FOUND);
    assert_true(claim(f->c2, 1, 5));
    assert_false(claim(f->c1, 1, 5));
    assert_int_equal(ic_store_contact_release(f->c2, 1, 5), IC_OK);
}

static void test_workspace_is_in_the_key(void **state)
{
    fx *f = *state;
    assert_true(claim(f->c1, 1, 7));
    assert_true(claim(f->c2, 2, 7));  /* same contact id, other workspace */
    assert_true(claim(f->c2, 1, 8));  /* same workspace, other contact */
    assert_true(claim(f->c2, 7, 1));  /* the halves are not interchangeable */
    assert_false(claim(f->c2, 1, 7)); /* still held by c1 */
    assert_false(claim(f->c1, 2, 7));
}

static void test_large_ids(void **state)
{
    fx *f = *state;
    const int64_t big = (int64_t)1 << 40;
    assert_true(claim(f->c1, 1, big));
    assert_true(claim(f->c2, 1, big + 1));
    assert_false(claim(f->c2, 1, big));
    assert_true(claim(f->c1, big, 3));
    assert_int_equal(ic_store_contact_release(f->c1, 1, big), IC_OK);
    assert_true(claim(f->c2, 1, big));
}

static void test_closing_the_holder_frees_its_claims(void **state)
{
    fx *f = *state;
    ic_conn *c3 = NULL;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_sql_conn_open(f->db, &c3, &em), IC_OK);
    assert_true(claim(c3, 1, 9));
    assert_true(claim(c3, 1, 10));
    assert_false(claim(f->c1, 1, 9));
    /* Closing the connection frees its claims (db.c calls claims.c's hook;
     * on PostgreSQL the server also drops the locks with the session). */
    ic_sql_conn_close(c3);
    assert_true(claim_soon(f->c1, 1, 9));
    assert_true(claim_soon(f->c2, 1, 10));
}

static void test_lost_session_forgets_its_claims(void **state)
{
    fx *f = *state;
    if (!test_db_pg())
        skip();
    assert_true(claim(f->c2, 1, 11));
    int64_t pid = 0, killed = 0;
    assert_int_equal(ic_sql_one_i64(f->c2, "SELECT pg_backend_pid()", NULL, 0, &pid), IC_OK);
    assert_int_equal(ic_sql_one_i64(f->c1, "SELECT CAST(pg_terminate_backend($1) AS integer)",
                                    IC_ARGS(IC_I64(pid)), &killed),
                     IC_OK);
    assert_int_equal(killed, 1);
    assert_true(claim_soon(f->c1, 1, 11)); /* the lock went with the session */
    bool got = true;
    ic_err err = IC_ERR_DB;
    for (int i = 0; i < 100 && err != IC_OK; i++) { /* the loss shows, then a reconnect */
        err = ic_store_contact_claim(f->c2, 1, 12, &got);
        if (err != IC_OK) {
            assert_int_equal(err, IC_ERR_BUSY);
            ic_sleep_us(10000);
        }
    }
    assert_int_equal(err, IC_OK);
    assert_true(got);
    /* c2 no longer believes it holds 11: it is asked and refused. */
    assert_false(claim(f->c2, 1, 11));
    assert_int_equal(ic_store_contact_release(f->c2, 1, 11), IC_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_holder_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_is_in_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_the_holder_frees_its_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_session_forgets_its_claims, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
