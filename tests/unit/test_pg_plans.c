/* test_pg_plans.c - PostgreSQL's cached statements are prepared again as
 * they are used (postgres.c, replan()): a statement first planned on an
 * empty table is planned anew at its 1,000th use, inside a transaction as
 * well as outside, and keeps giving the right rows. Skipped on SQLite. */
#include "base/time.h"
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
    ic_conn *c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    f->db = test_db_pg_fresh("pgplans", f->dir, sizeof f->dir, f->url, sizeof f->url);
    f->c = f->db ? ic_db_thread_conn(f->db) : NULL;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int rc = test_db_dispose(f->db, f->url, f->dir);
    free(f);
    return rc;
}

/* The statement under test: a message by id and channel, as the sender
 * reads one (two indexes could serve it). */
static const char SQL_BY_ID[] =
    "SELECT id FROM messages WHERE id = $1 AND channel_id = $2 AND direction = 'out'";

/* Runs SQL_BY_ID once; returns the id found, or 0. */
static int64_t by_id(ic_conn *c, int64_t id)
{
    int64_t found = 0;
    ic_err e = ic_sql_one_i64(c, SQL_BY_ID, IC_ARGS(IC_I64(id), IC_I64(1)), &found);
    assert_true(e == IC_OK || e == IC_ERR_NOT_FOUND);
    return e == IC_OK ? found : 0;
}

/* How many times the server has planned SQL_BY_ID's prepared statement on
 * this session (custom and generic plans): it starts again at 0 when the
 * statement is prepared again. */
static int64_t plans_made(ic_conn *c)
{
    int64_t n = -1;
    assert_int_equal(
        ic_sql_one_i64(c,
                       "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
                       " WHERE statement = 'SELECT id FROM messages WHERE id = $1 AND"
                       " channel_id = $2 AND direction = ''out'''",
                       NULL, 0, &n),
        IC_OK);
    return n;
}

static void test_prepared_again_as_used(void **state)
{
    fx *f = *state;
    if (!test_db_pg()) {
        skip();
        return;
    }
    /* Planned while messages is empty. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(by_id(f->c, 1), 0);
    assert_int_equal(plans_made(f->c), 10);
    assert_int_equal(ic_sql_exec(f->c, "INSERT INTO messages (workspace_id, channel_id, contact_id,"
                                       " direction, type, status, created_us, updated_us)"
                                       " SELECT 1, 1, g, 'out', 'text', 'sent', g, g"
                                       " FROM generate_series(1, 20000) g"),
                     IC_OK);
    for (int i = 10; i < 998; i++)
        assert_int_equal(by_id(f->c, 1 + i), 1 + i);
    assert_int_equal(plans_made(f->c), 998);
    /* The 999th use is inside a transaction, the 1,000th prepares it again. */
    assert_int_equal(ic_conn_begin(f->c), IC_OK);
    assert_int_equal(by_id(f->c, 5000), 5000);
    assert_int_equal(by_id(f->c, 5001), 5001);
    assert_int_equal(ic_conn_commit(f->c), IC_OK);
    assert_int_equal(plans_made(f->c), 1);
    assert_int_equal(by_id(f->c, 19999), 19999);
    assert_int_equal(by_id(f->c, 20001), 0);
    assert_int_equal(plans_made(f->c), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepared_again_as_used, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
