/* sqlite.c - the SQLite backend: opening a file, connections, and the SQL
 * executor of sql.h with its per-connection statement cache, exposed to
 * db.c through ic_sqlite_backend (backend.h). */
#include "store/backend.h"
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_BUCKETS 128
#define BUSY_TIMEOUT_MS 5000
#define PATH_MAX_LEN 4096

typedef struct sq_conn sq_conn;

typedef struct sq_stmt {
    ic_stmt base; /* first: an ic_stmt * is a sq_stmt * */
    sqlite3_stmt *st;
    const char *sql; /* the cache key, borrowed (static text) */
    uint32_t hash;
    bool cached;          /* lives in conn's cache; false: finalised by ic_sql_done */
    bool busy;            /* handed out and not done yet */
    ic_err bind_err;      /* first bind failure, reported by the next step */
    struct sq_stmt *next; /* bucket chain */
} sq_stmt;

struct sq_conn {
    ic_conn base; /* first: an ic_conn * is a sq_conn * */
    sqlite3 *h;
    sq_stmt *buckets[CACHE_BUCKETS];
};

#define SQ_CONN(c) ((sq_conn *)(c))
#define SQ_STMT(s) ((sq_stmt *)(s))
#define SQ_H(s) (SQ_CONN((s)->base.conn)->h)
#define DB_PATH(db) ((const char *)(db)->priv)

/* ---- opening ------------------------------------------------------------- */

/* Creates every missing folder above the file at path. */
static ic_err make_parent_dirs(const char *path, ic_errmsg *em)
{
    char dir[PATH_MAX_LEN];
    if (ic_strlcpy(dir, path, sizeof dir) >= sizeof dir)
        return ic_errf(em, IC_ERR_INVALID, "database path is too long");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return IC_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return ic_errf(em, IC_ERR_IO, "cannot create folder %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ic_errf(em, IC_ERR_IO, "cannot create folder %s: %s", dir, strerror(errno));
    return IC_OK;
}

static ic_err sq_db_init(ic_db *db, const char *url, ic_errmsg *em)
{
    const char *path = ic_str_starts(url, "sqlite:") ? url + strlen("sqlite:") : url;
    if (!*path)
        return ic_errf(em, IC_ERR_INVALID, "no database file given in %s", url);
    if (strlen(path) >= PATH_MAX_LEN)
        return ic_errf(em, IC_ERR_INVALID, "database path is too long");
    ic_err err = make_parent_dirs(path, em);
    if (err != IC_OK)
        return err;
    db->priv = ic_strdup(path);
    return IC_OK;
}

static void sq_db_free(ic_db *db)
{
    ic_free(db->priv);
    db->priv = NULL;
}

static void cache_clear(sq_conn *c)
{
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        sq_stmt *s = c->buckets[i];
        while (s) {
            sq_stmt *next = s->next;
            sqlite3_finalize(s->st);
            ic_free(s);
            s = next;
        }
        c->buckets[i] = NULL;
    }
}

static void sq_conn_close(ic_conn *conn)
{
    sq_conn *c = SQ_CONN(conn);
    if (!c)
        return;
    cache_clear(c);
    if (c->h && sqlite3_close(c->h) != SQLITE_OK)
        IC_WARN("db_close_failed", "msg=\"%s\"", sqlite3_errmsg(c->h));
    ic_free(c);
}

static ic_err sq_conn_open(ic_db *db, ic_conn **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    sq_conn *c = ic_calloc(1, sizeof *c);
    c->base.be = &ic_sqlite_backend;
    c->base.db = db;
    int rc = sqlite3_open_v2(
        DB_PATH(db), &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = ic_errf(em, IC_ERR_DB, "cannot open database %s: %s", DB_PATH(db),
                      c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(c->h, 1);
    sqlite3_busy_timeout(c->h, BUSY_TIMEOUT_MS);
    /* WAL is persistent in the file; asking again is cheap and makes a fresh
     * file WAL. The first read here is what fails on a file that is not a
     * database. */
    char *emsg = NULL;
    rc = sqlite3_exec(c->h,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                      NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        err = ic_errf(em, IC_ERR_DB, "cannot open database %s: %s", DB_PATH(db),
                      emsg ? emsg : sqlite3_errstr(rc));
        sqlite3_free(emsg);
        goto out;
    }
out:
    if (err != IC_OK) {
        sq_conn_close(&c->base);
        c = NULL;
    }
    *out = c ? &c->base : NULL;
    return err;
}

static const char *sq_errmsg(ic_conn *c)
{
    return sqlite3_errmsg(SQ_CONN(c)->h);
}

static bool sq_in_transaction(ic_conn *c)
{
    return !sqlite3_get_autocommit(SQ_CONN(c)->h);
}

static ic_err sq_commit(ic_conn *c)
{
    return ic_sql_run(c, "COMMIT", NULL, 0, NULL);
}

static void sq_rollback(ic_conn *c)
{
    if (sqlite3_get_autocommit(SQ_CONN(c)->h))
        return;
    (void)ic_sql_run(c, "ROLLBACK", NULL, 0, NULL);
}

/* ---- statements ---------------------------------------------------------- */

/* Checks that the placeholders are exactly $1..$n in order of appearance, so
 * that bind index i is $i. */
static ic_err check_placeholders(sqlite3_stmt *st, const char *sql)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        char want[16];
        snprintf(want, sizeof want, "$%d", i);
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (!name || strcmp(name, want) != 0) {
            IC_ERROR("db_bad_placeholders", "index=%d name=%s sql=\"%.60s\"", i, name ? name : "?",
                     sql);
            return IC_ERR_INTERNAL;
        }
    }
    return IC_OK;
}

static ic_err stmt_compile(sq_conn *c, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    int rc = sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        IC_ERROR("db_prepare_failed", "msg=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(c->h), sql);
        return IC_ERR_DB;
    }
    if (!*out) {
        IC_ERROR("db_prepare_failed", "msg=\"empty statement\"");
        return IC_ERR_INTERNAL;
    }
    ic_err err = check_placeholders(*out, sql);
    if (err != IC_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
    }
    return err;
}

static ic_err sq_prepare(ic_conn *conn, const char *sql, ic_stmt **out)
{
    ic_err err = IC_OK;
    sq_conn *c = SQ_CONN(conn);
    *out = NULL;
    uint32_t h = ic_sql_text_key(sql);
    sq_stmt **slot = &c->buckets[h % CACHE_BUCKETS];
    sq_stmt *s = *slot;
    while (s && !(s->hash == h && s->sql == sql))
        s = s->next;
    if (s && !s->busy) {
        s->busy = true;
        s->bind_err = IC_OK;
        *out = &s->base;
        return IC_OK;
    }
    sqlite3_stmt *st = NULL;
    err = stmt_compile(c, sql, &st);
    if (err != IC_OK)
        goto out;
    sq_stmt *n = ic_calloc(1, sizeof *n);
    n->st = st;
    n->base.conn = conn;
    n->sql = sql;
    n->hash = h;
    n->busy = true;
    if (!s) { /* first use: keep it */
        n->cached = true;
        n->next = *slot;
        *slot = n;
    }
    *out = &n->base;
out:
    return err;
}

static void note_bind(sq_stmt *s, int rc, int i)
{
    if (rc != SQLITE_OK && s->bind_err == IC_OK) {
        IC_ERROR("db_bind_failed", "index=%d msg=\"%s\" sql=\"%.60s\"", i, sqlite3_errstr(rc),
                 s->sql);
        s->bind_err = IC_ERR_INTERNAL;
    }
}

static void sq_bind_i64(ic_stmt *s, int i, int64_t v)
{
    note_bind(SQ_STMT(s), sqlite3_bind_int64(SQ_STMT(s)->st, i, v), i);
}

static void sq_bind_text(ic_stmt *s, int i, const char *v)
{
    if (!v)
        note_bind(SQ_STMT(s), sqlite3_bind_null(SQ_STMT(s)->st, i), i);
    else
        note_bind(SQ_STMT(s), sqlite3_bind_text(SQ_STMT(s)->st, i, v, -1, SQLITE_STATIC), i);
}

static void sq_bind_null(ic_stmt *s, int i)
{
    note_bind(SQ_STMT(s), sqlite3_bind_null(SQ_STMT(s)->st, i), i);
}

static ic_err sq_step(ic_stmt *stmt, bool *row)
{
    sq_stmt *s = SQ_STMT(stmt);
    sqlite3 *h = SQ_H(s);
    *row = false;
    if (s->bind_err != IC_OK)
        return s->bind_err;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) {
        *row = true;
        return IC_OK;
    }
    if (rc == SQLITE_DONE)
        return IC_OK;
    int ext = sqlite3_extended_errcode(h);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
        IC_DEBUG("db_unique_violation", "msg=\"%s\"", sqlite3_errmsg(h));
        return IC_ERR_EXISTS;
    }
    if ((ext & 0xff) == SQLITE_CONSTRAINT) {
        IC_WARN("db_constraint", "msg=\"%s\"", sqlite3_errmsg(h));
        return IC_ERR_INVALID;
    }
    IC_ERROR("db_step_failed", "code=%d msg=\"%s\" sql=\"%.60s\"", ext, sqlite3_errmsg(h), s->sql);
    return IC_ERR_DB;
}

static int64_t sq_col_i64(ic_stmt *s, int col)
{
    return sqlite3_column_int64(SQ_STMT(s)->st, col);
}

static const char *sq_col_text(ic_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(SQ_STMT(s)->st, col);
}

static bool sq_col_null(ic_stmt *s, int col)
{
    return sqlite3_column_type(SQ_STMT(s)->st, col) == SQLITE_NULL;
}

static int64_t sq_changes(ic_stmt *s)
{
    return sqlite3_changes64(SQ_H(SQ_STMT(s)));
}

static void sq_done(ic_stmt *stmt)
{
    sq_stmt *s = SQ_STMT(stmt);
    if (!s->cached) {
        sqlite3_finalize(s->st);
        ic_free(s);
        return;
    }
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    s->busy = false;
}

static ic_err sq_exec(ic_conn *c, const char *sql)
{
    char *emsg = NULL;
    int rc = sqlite3_exec(SQ_CONN(c)->h, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        IC_ERROR("db_exec_failed", "msg=\"%s\"", emsg ? emsg : sqlite3_errstr(rc));
        sqlite3_free(emsg);
        return IC_ERR_DB;
    }
    return IC_OK;
}

static const char SQ_SCHEMA_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
                                      "  version INTEGER PRIMARY KEY,\n"
                                      "  name TEXT NOT NULL,\n"
                                      "  applied_us INTEGER NOT NULL\n"
                                      ") STRICT";

const ic_backend ic_sqlite_backend = {
    .name = "sqlite",
    .begin_sql = "BEGIN IMMEDIATE", /* takes the write lock at once */
    .migrate_lock_sql = NULL,
    .schema_table_sql = SQ_SCHEMA_TABLE,
    .migrations = ic_sqlite_migrations,
    .migrations_count = &ic_sqlite_migrations_count,
    .db_init = sq_db_init,
    .db_free = sq_db_free,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .in_transaction = sq_in_transaction,
    .errmsg = sq_errmsg,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .prepare = sq_prepare,
    .bind_i64 = sq_bind_i64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_i64 = sq_col_i64,
    .col_text = sq_col_text,
    .col_null = sq_col_null,
    .changes = sq_changes,
    .done = sq_done,
    .exec = sq_exec,
};
