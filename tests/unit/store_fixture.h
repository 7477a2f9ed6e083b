/* store_fixture.h - the fixture shared by test_store.c and
 * test_store_messages.c: a SQLite file in a fresh folder under $IC_TEST_TMP
 * (or a fresh PostgreSQL database when IC_TEST_PG_URL is set: test_db.h),
 * migrated, with two workspaces (ws, ws2) and a channel in each (ch, ch2).
 * Include once per test program; everything is static. Raw SQL in tests must
 * be string literals: the statement cache (sql.h) finds a query by its
 * address, so SQL built in a stack buffer would reuse the first one cached. */
#ifndef IC_TEST_STORE_FIXTURE_H
#define IC_TEST_STORE_FIXTURE_H

#include "base/crypto.h"
#include "base/time.h"
#include "store/sql.h"
#include "store/store.h"
#include "test_db.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define HOUR_US (3600LL * 1000000)

typedef struct fx {
    char dir[512];
    char path[600];
    ic_db *db;
    ic_conn *c;
    int64_t ws, ws2, ch, ch2;
} fx;

static void make_tmp_dir(char *out, size_t size)
{
    const char *base = getenv("IC_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(out, size, "%s/store-XXXXXX", base);
    assert_non_null(mkdtemp(out));
}

static int64_t add_channel(ic_conn *c, int64_t ws, const char *phone_id)
{
    ic_channel ch = {.workspace_id = ws,
                     .name = (char *)"Helpline",
                     .phone_number_id = (char *)phone_id,
                     .access_token = (char *)"EAAG-secret",
                     .app_secret = (char *)"app-secret",
                     .verify_token = (char *)"verify-me"};
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    return ch.id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    make_tmp_dir(f->dir, sizeof f->dir);
    test_db_make(f->dir, "var/ic.db", f->path, sizeof f->path);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_db_open(f->path, &f->db, &em), IC_OK);
    assert_int_equal(ic_db_migrate(f->db, NULL, &em), IC_OK);
    f->c = ic_db_thread_conn(f->db);
    assert_int_equal(ic_store_workspace_insert(f->c, "Alpha", &f->ws), IC_OK);
    assert_int_equal(ic_store_workspace_insert(f->c, "Beta", &f->ws2), IC_OK);
    f->ch = add_channel(f->c, f->ws, "1001");
    f->ch2 = add_channel(f->c, f->ws2, "2002");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_db_close(f->db);
    test_db_drop(f->path);
    free(f);
    return 0;
}

/* Inserts an outbound text message ("queued") of channel ch to contact k
 * in conversation conv on f->c (inside the caller's transaction, if any);
 * returns it with its id and times. */
static inline ic_message fixture_outbound(fx *f, int64_t ch, int64_t k, int64_t conv, ic_lane lane)
{
    ic_message m = {.workspace_id = ch == f->ch2 ? f->ws2 : f->ws,
                    .channel_id = ch,
                    .contact_id = k,
                    .conversation_id = conv,
                    .direction = IC_DIR_OUT,
                    .lane = lane,
                    .type = "text",
                    .text = "Hello",
                    .to = "27824444444",
                    .content_json = "{\"type\":\"text\",\"text\":{\"body\":\"Hello\"}}"};
    assert_int_equal(ic_store_message_insert_outbound(f->c, &m), IC_OK);
    assert_true(m.id > 0);
    assert_true(m.created_us > 0);
    return m;
}

/* How many migrations the backend under test has. */
static inline size_t migrations_count(void)
{
    return test_db_pg() ? ic_postgres_migrations_count : ic_sqlite_migrations_count;
}

static inline int64_t sql_i64(ic_conn *c, const char *sql)
{
    int64_t v = -1;
    assert_int_equal(ic_sql_one_i64(c, sql, NULL, 0, &v), IC_OK);
    return v;
}

static inline int64_t page_ids(json_t *items, int64_t *ids, size_t max)
{
    size_t n = json_array_size(items);
    for (size_t i = 0; i < n && i < max; i++)
        ids[i] = json_integer_value(json_object_get(json_array_get(items, i), "id"));
    return (int64_t)n;
}

#endif
