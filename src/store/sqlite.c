/* sqlite.c - the SQLite backend: opening, per-thread connections, and the
 * SQL executor of sql.h with its per-connection statement cache. */
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_BUCKETS 128
#define BUSY_TIMEOUT_MS 5000
#define PATH_MAX_LEN 4096

struct ic_stmt {
    sqlite3_stmt *st;
    ic_conn *conn;
    const char *sql; /* the cache key, borrowed (static text) */
    uint32_t hash;
    bool cached;     /* lives in conn's cache; false: finalised by ic_sql_done */
    bool busy;       /* handed out and not done yet */
    ic_err bind_err; /* first bind failure, reported by the next step */
    ic_stmt *next;   /* bucket chain */
};

struct ic_conn {
    ic_db *db;
    sqlite3 *h;
    ic_stmt *buckets[CACHE_BUCKETS];
    ic_conn *prev, *next; /* the db's list of thread connections */
    bool threaded;        /* in that list */
};

struct ic_db {
    char *path;
    pthread_key_t key;
    pthread_mutex_t mu;
    ic_conn *threads; /* every thread's connection, closed by ic_db_close */
};

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

static void cache_clear(ic_conn *c)
{
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        ic_stmt *s = c->buckets[i];
        while (s) {
            ic_stmt *next = s->next;
            sqlite3_finalize(s->st);
            ic_free(s);
            s = next;
        }
        c->buckets[i] = NULL;
    }
}

static void conn_free(ic_conn *c)
{
    if (!c)
        return;
    cache_clear(c);
    if (c->h && sqlite3_close(c->h) != SQLITE_OK)
        IC_WARN("db_close_failed", "msg=\"%s\"", sqlite3_errmsg(c->h));
    ic_free(c);
}

static ic_err conn_new(ic_db *db, ic_conn **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_conn *c = ic_calloc(1, sizeof *c);
    c->db = db;
    int rc = sqlite3_open_v2(
        db->path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = ic_errf(em, IC_ERR_DB, "cannot open database %s: %s", db->path,
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
        err = ic_errf(em, IC_ERR_DB, "cannot open database %s: %s", db->path,
                      emsg ? emsg : sqlite3_errstr(rc));
        sqlite3_free(emsg);
        goto out;
    }
out:
    if (err != IC_OK) {
        conn_free(c);
        c = NULL;
    }
    *out = c;
    return err;
}

static void conn_unlink(ic_db *db, ic_conn *c)
{
    if (!c->threaded)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        db->threads = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->threaded = false;
}

/* Runs when a thread that has a connection exits. */
static void thread_conn_destroy(void *p)
{
    ic_conn *c = p;
    ic_db *db = c->db;
    pthread_mutex_lock(&db->mu);
    conn_unlink(db, c);
    pthread_mutex_unlock(&db->mu);
    conn_free(c);
}

static void thread_conn_adopt(ic_db *db, ic_conn *c)
{
    pthread_mutex_lock(&db->mu);
    c->threaded = true;
    c->prev = NULL;
    c->next = db->threads;
    if (db->threads)
        db->threads->prev = c;
    db->threads = c;
    pthread_mutex_unlock(&db->mu);
    pthread_setspecific(db->key, c);
}

ic_err ic_db_open(const char *url, ic_db **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_db *db = NULL;
    ic_conn *c = NULL;
    bool key_made = false;
    *out = NULL;
    if (!url || !*url)
        return ic_errf(em, IC_ERR_INVALID, "no database given");
    if (ic_str_starts(url, "postgres://") || ic_str_starts(url, "postgresql://"))
        return ic_errf(em, IC_ERR_INVALID,
                       "PostgreSQL databases are not supported by this build yet");
    const char *path = ic_str_starts(url, "sqlite:") ? url + strlen("sqlite:") : url;
    if (!*path)
        return ic_errf(em, IC_ERR_INVALID, "no database file given in %s", url);
    if (strlen(path) >= PATH_MAX_LEN)
        return ic_errf(em, IC_ERR_INVALID, "database path is too long");
    ic_crypto_init();

    db = ic_calloc(1, sizeof *db);
    db->path = ic_strdup(path);
    pthread_mutex_init(&db->mu, NULL);
    if (pthread_key_create(&db->key, thread_conn_destroy) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot open database %s: no thread keys left", path);
        goto out;
    }
    key_made = true;
    err = make_parent_dirs(path, em);
    if (err != IC_OK)
        goto out;
    err = conn_new(db, &c, em);
    if (err != IC_OK)
        goto out;
    thread_conn_adopt(db, c);
out:
    if (err != IC_OK) {
        if (key_made)
            pthread_key_delete(db->key);
        pthread_mutex_destroy(&db->mu);
        ic_free(db->path);
        ic_free(db);
        db = NULL;
    }
    *out = db;
    return err;
}

void ic_db_close(ic_db *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&db->mu);
    pthread_key_delete(db->key);
    ic_conn *c = db->threads;
    db->threads = NULL;
    pthread_mutex_unlock(&db->mu);
    while (c) {
        ic_conn *next = c->next;
        conn_free(c);
        c = next;
    }
    pthread_mutex_destroy(&db->mu);
    ic_free(db->path);
    ic_free(db);
}

ic_conn *ic_db_thread_conn(ic_db *db)
{
    ic_conn *c = pthread_getspecific(db->key);
    if (c)
        return c;
    ic_errmsg em = {{0}};
    if (conn_new(db, &c, &em) != IC_OK) {
        IC_ERROR("db_thread_conn_failed", "msg=\"%s\"", em.msg);
        abort();
    }
    thread_conn_adopt(db, c);
    return c;
}

ic_err ic_sql_conn_open(ic_db *db, ic_conn **out, ic_errmsg *em)
{
    return conn_new(db, out, em);
}

void ic_sql_conn_close(ic_conn *c)
{
    conn_free(c);
}

ic_db *ic_sql_conn_db(ic_conn *c)
{
    return c->db;
}

const char *ic_sql_errmsg(ic_conn *c)
{
    return sqlite3_errmsg(c->h);
}

bool ic_sql_in_transaction(ic_conn *c)
{
    return !sqlite3_get_autocommit(c->h);
}

ic_err ic_conn_begin(ic_conn *c)
{
    return ic_sql_run(c, "BEGIN IMMEDIATE", NULL, 0, NULL);
}

ic_err ic_conn_commit(ic_conn *c)
{
    return ic_sql_run(c, "COMMIT", NULL, 0, NULL);
}

void ic_conn_rollback(ic_conn *c)
{
    if (sqlite3_get_autocommit(c->h))
        return;
    (void)ic_sql_run(c, "ROLLBACK", NULL, 0, NULL);
}

/* ---- statements ---------------------------------------------------------- */

static uint32_t text_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

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

static ic_err stmt_compile(ic_conn *c, const char *sql, sqlite3_stmt **out)
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

ic_err ic_sql_prepare(ic_conn *c, const char *sql, ic_stmt **out)
{
    ic_err err = IC_OK;
    *out = NULL;
    uint32_t h = text_hash(sql);
    ic_stmt **slot = &c->buckets[h % CACHE_BUCKETS];
    ic_stmt *s = *slot;
    while (s && !(s->hash == h && (s->sql == sql || strcmp(s->sql, sql) == 0)))
        s = s->next;
    if (s && !s->busy) {
        s->busy = true;
        s->bind_err = IC_OK;
        *out = s;
        return IC_OK;
    }
    sqlite3_stmt *st = NULL;
    err = stmt_compile(c, sql, &st);
    if (err != IC_OK)
        goto out;
    ic_stmt *n = ic_calloc(1, sizeof *n);
    n->st = st;
    n->conn = c;
    n->sql = sql;
    n->hash = h;
    n->busy = true;
    if (!s) { /* first use: keep it */
        n->cached = true;
        n->next = *slot;
        *slot = n;
    }
    *out = n;
out:
    return err;
}

static void note_bind(ic_stmt *s, int rc, int i)
{
    if (rc != SQLITE_OK && s->bind_err == IC_OK) {
        IC_ERROR("db_bind_failed", "index=%d msg=\"%s\" sql=\"%.60s\"", i, sqlite3_errstr(rc),
                 s->sql);
        s->bind_err = IC_ERR_INTERNAL;
    }
}

void ic_sql_bind_i64(ic_stmt *s, int i, int64_t v)
{
    note_bind(s, sqlite3_bind_int64(s->st, i, v), i);
}

void ic_sql_bind_text(ic_stmt *s, int i, const char *v)
{
    if (!v)
        note_bind(s, sqlite3_bind_null(s->st, i), i);
    else
        note_bind(s, sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC), i);
}

void ic_sql_bind_null(ic_stmt *s, int i)
{
    note_bind(s, sqlite3_bind_null(s->st, i), i);
}

void ic_sql_bind_args(ic_stmt *s, const ic_sql_arg *args, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int i = (int)k + 1;
        switch (args[k].kind) {
        case IC_SQL_I64:
            ic_sql_bind_i64(s, i, args[k].i);
            break;
        case IC_SQL_TEXT:
            ic_sql_bind_text(s, i, args[k].s);
            break;
        case IC_SQL_NULL:
            ic_sql_bind_null(s, i);
            break;
        }
    }
}

ic_err ic_sql_step(ic_stmt *s, bool *row)
{
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
    int ext = sqlite3_extended_errcode(s->conn->h);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
        IC_DEBUG("db_unique_violation", "msg=\"%s\"", sqlite3_errmsg(s->conn->h));
        return IC_ERR_EXISTS;
    }
    if ((ext & 0xff) == SQLITE_CONSTRAINT) {
        IC_WARN("db_constraint", "msg=\"%s\"", sqlite3_errmsg(s->conn->h));
        return IC_ERR_INVALID;
    }
    IC_ERROR("db_step_failed", "code=%d msg=\"%s\" sql=\"%.60s\"", ext, sqlite3_errmsg(s->conn->h),
             s->sql);
    return IC_ERR_DB;
}

int64_t ic_sql_col_i64(ic_stmt *s, int col)
{
    return sqlite3_column_int64(s->st, col);
}

const char *ic_sql_col_text(ic_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s->st, col);
}

bool ic_sql_col_null(ic_stmt *s, int col)
{
    return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

int64_t ic_sql_changes(ic_stmt *s)
{
    return sqlite3_changes64(s->conn->h);
}

void ic_sql_done(ic_stmt *s)
{
    if (!s)
        return;
    if (!s->cached) {
        sqlite3_finalize(s->st);
        ic_free(s);
        return;
    }
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    s->busy = false;
}

ic_err ic_sql_exec(ic_conn *c, const char *sql)
{
    char *emsg = NULL;
    int rc = sqlite3_exec(c->h, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        IC_ERROR("db_exec_failed", "msg=\"%s\"", emsg ? emsg : sqlite3_errstr(rc));
        sqlite3_free(emsg);
        return IC_ERR_DB;
    }
    return IC_OK;
}

/* ---- one-call helpers ---------------------------------------------------- */

ic_err ic_sql_query(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, ic_stmt **out)
{
    ic_err err = ic_sql_prepare(c, sql, out);
    if (err == IC_OK)
        ic_sql_bind_args(*out, args, n);
    return err;
}

ic_err ic_sql_run(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, int64_t *changes)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_err err = ic_sql_query(c, sql, args, n, &s);
    if (err != IC_OK)
        goto out;
    do {
        err = ic_sql_step(s, &row);
    } while (err == IC_OK && row);
    if (err == IC_OK && changes)
        *changes = ic_sql_changes(s);
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_sql_one_i64(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, int64_t *out)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_err err = ic_sql_query(c, sql, args, n, &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (!row) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    *out = ic_sql_col_i64(s, 0);
out:
    ic_sql_done(s);
    return err;
}
