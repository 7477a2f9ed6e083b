/* test_db.h - where a unit test's database lives. Without IC_TEST_PG_URL it
 * is a SQLite file; with it (a maintenance URL of a throwaway server, as
 * printed by scripts/pg-test-server.sh; `make test-pg` sets it) every call of
 * test_db_make creates a fresh PostgreSQL database t_<pid>_<n>_<time> and
 * gives its URL, and test_db_drop removes it again. Include in any test
 * program that opens a database; everything is static. */
#ifndef IC_TEST_DB_H
#define IC_TEST_DB_H

#include "base/time.h"
#include "store/sql.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* True when the tests run on PostgreSQL. */
static inline bool test_db_pg(void)
{
    const char *u = getenv("IC_TEST_PG_URL");
    return u && *u;
}

/* Runs sql on the maintenance database; aborts the test program on failure
 * (a fixture cannot go on without its database). */
static inline void test_db_admin(const char *sql)
{
    ic_db *db = NULL;
    ic_errmsg em = {{0}};
    if (ic_db_open(getenv("IC_TEST_PG_URL"), &db, &em) != IC_OK) {
        fprintf(stderr, "test_db: %s\n", em.msg);
        abort();
    }
    if (ic_sql_exec(ic_db_thread_conn(db), sql) != IC_OK) {
        fprintf(stderr, "test_db: %s: %s\n", sql, ic_sql_errmsg(ic_db_thread_conn(db)));
        abort();
    }
    ic_db_close(db);
}

/* Writes into out the URL of a new empty database: "dir/file" on SQLite, a
 * fresh PostgreSQL database with IC_TEST_PG_URL. */
static inline void test_db_make(const char *dir, const char *file, char *out, size_t size)
{
    static unsigned n;
    if (!test_db_pg()) {
        snprintf(out, size, "%s/%s", dir, file);
        return;
    }
    char name[64], sql[128];
    snprintf(name, sizeof name, "t_%d_%u_%llx", (int)getpid(), ++n,
             (unsigned long long)ic_now_us());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    test_db_admin(sql);
    /* Replace the maintenance URL's database (scheme://who@where/DB?opts). */
    const char *base = getenv("IC_TEST_PG_URL");
    const char *scheme = strstr(base, "://");
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *query = strchr(base, '?');
    int keep = slash ? (int)(slash - base) : (query ? (int)(query - base) : (int)strlen(base));
    snprintf(out, size, "%.*s/%s%s", keep, base, name, query ? query : "");
}

/* Makes a fresh scratch folder under $IC_TEST_TMP (or /tmp) named
 * prefix-XXXXXX into dir, a new database in it (test_db_make) into url, and
 * opens and migrates it. Aborts the test program when any step fails (a
 * fixture cannot go on without its database). */
static inline ic_db *test_db_fresh(const char *prefix, char *dir, size_t dir_size, char *url,
                                   size_t url_size)
{
    const char *base = getenv("IC_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(dir, dir_size, "%s/%s-XXXXXX", base, prefix);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "test_db: cannot make a folder under %s\n", base);
        abort();
    }
    test_db_make(dir, "ic.db", url, url_size);
    ic_db *db = NULL;
    ic_errmsg em = {{0}};
    if (ic_db_open(url, &db, &em) != IC_OK || ic_db_migrate(db, NULL, &em) != IC_OK) {
        fprintf(stderr, "test_db: %s\n", em.msg);
        abort();
    }
    return db;
}

/* Drops the database of url when it is one test_db_make created; nothing on
 * SQLite (the folder is the test's). All connections to it must be closed. */
static inline void test_db_drop(const char *url)
{
    if (!test_db_pg() || !url)
        return;
    const char *q = strchr(url, '?');
    const char *slash = url + (q ? (size_t)(q - url) : strlen(url));
    while (slash > url && *slash != '/')
        slash--;
    char name[64], sql[160];
    snprintf(name, sizeof name, "%.*s", (int)((q ? q : url + strlen(url)) - slash - 1), slash + 1);
    if (strncmp(name, "t_", 2) != 0)
        return;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    test_db_admin(sql);
}

/* For a test that runs on PostgreSQL only: test_db_fresh into dir and url
 * with IC_TEST_PG_URL, otherwise NULL with dir and url "" (nothing made; the
 * test skips). */
static inline ic_db *test_db_pg_fresh(const char *prefix, char *dir, size_t dir_size, char *url,
                                      size_t url_size)
{
    dir[0] = url[0] = '\0';
    return test_db_pg() ? test_db_fresh(prefix, dir, dir_size, url, url_size) : NULL;
}

/* Undoes test_db_fresh: closes db (may be NULL; every other handle on the
 * database must be closed already), drops the database of url (may be "")
 * and removes the scratch folder dir (may be ""). Returns 0, or -1 when the
 * folder could not be removed. */
static inline int test_db_dispose(ic_db *db, const char *url, const char *dir)
{
    ic_db_close(db);
    if (url && *url)
        test_db_drop(url);
    if (!dir || !*dir)
        return 0;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A second handle on a test's database for assertions (its own
 * connections, like a separate process would have). The statement cache
 * keeps query text by pointer, so the view keeps a copy of each text it ran
 * until test_view_close. */
typedef struct test_view {
    ic_db *db;
    char *texts[256];
    size_t n;
} test_view;

static inline void test_view_open(test_view *v, const char *url)
{
    ic_errmsg em = {{0}};
    memset(v, 0, sizeof *v);
    if (ic_db_open(url, &v->db, &em) != IC_OK) {
        fprintf(stderr, "test_view: %s\n", em.msg);
        abort();
    }
}

static inline void test_view_close(test_view *v)
{
    ic_db_close(v->db);
    for (size_t i = 0; i < v->n; i++)
        free(v->texts[i]);
    memset(v, 0, sizeof *v);
}

/* Runs sql (no parameters) and leaves its first row ready; *s is NULL when
 * the query failed (printed). */
static inline bool test_view_query(test_view *v, const char *sql, ic_stmt **s)
{
    const char *text = NULL;
    for (size_t i = 0; i < v->n && !text; i++)
        if (strcmp(v->texts[i], sql) == 0)
            text = v->texts[i];
    if (!text) {
        if (v->n == sizeof v->texts / sizeof v->texts[0])
            abort();
        text = v->texts[v->n++] = strdup(sql);
    }
    bool row = false;
    ic_conn *c = ic_db_thread_conn(v->db);
    *s = NULL;
    if (ic_sql_prepare(c, text, s) != IC_OK || ic_sql_step(*s, &row) != IC_OK) {
        fprintf(stderr, "test_view: %s: %s\n", sql, ic_sql_errmsg(c));
        ic_sql_done(*s);
        *s = NULL;
        return false;
    }
    return row;
}

/* The first column of the first row of sql as an integer; -1 when no row. */
static inline int64_t test_view_i64(test_view *v, const char *sql)
{
    ic_stmt *s = NULL;
    int64_t r = test_view_query(v, sql, &s) ? ic_sql_col_i64(s, 0) : -1;
    ic_sql_done(s);
    return r;
}

/* The first column of the first row of sql as text ("" when NULL or no row). */
static inline void test_view_text(test_view *v, const char *sql, char *out, size_t size)
{
    ic_stmt *s = NULL;
    out[0] = '\0';
    if (test_view_query(v, sql, &s) && ic_sql_col_text(s, 0))
        snprintf(out, size, "%s", ic_sql_col_text(s, 0));
    ic_sql_done(s);
}

#endif
