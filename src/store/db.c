/* db.c - what every backend shares: choosing the backend from the URL, the
 * database handle, per-thread connections, transactions, the sql.h calls
 * (dispatched through the backend's table) and the one-call helpers. */
#include "store/backend.h"
#include "store/claims_int.h"
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- opening ------------------------------------------------------------- */

/* Closes c after forgetting its engine claims (claims.c). */
static void conn_close(ic_conn *c)
{
    ic_claims_conn_closed(c);
    c->be->conn_close(c);
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
    conn_close(c);
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
    bool key_made = false, inited = false;
    *out = NULL;
    if (!url || !*url)
        return ic_errf(em, IC_ERR_INVALID, "no database given");
    ic_crypto_init();

    db = ic_calloc(1, sizeof *db);
    db->be = (ic_str_starts(url, "postgres://") || ic_str_starts(url, "postgresql://"))
                 ? &ic_postgres_backend
                 : &ic_sqlite_backend;
    pthread_mutex_init(&db->mu, NULL);
    err = db->be->db_init(db, url, em);
    if (err != IC_OK)
        goto out;
    inited = true;
    if (pthread_key_create(&db->key, thread_conn_destroy) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot open the database: no thread keys left");
        goto out;
    }
    key_made = true;
    err = db->be->conn_open(db, &c, em);
    if (err != IC_OK)
        goto out;
    thread_conn_adopt(db, c);
out:
    if (err != IC_OK) {
        if (key_made)
            pthread_key_delete(db->key);
        if (inited)
            db->be->db_free(db);
        pthread_mutex_destroy(&db->mu);
        ic_free(db);
        db = NULL;
    }
    *out = db;
    return err;
}

bool ic_db_is_postgres(const ic_db *db)
{
    return db && strcmp(db->be->name, "postgres") == 0;
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
        conn_close(c);
        c = next;
    }
    pthread_mutex_destroy(&db->mu);
    db->be->db_free(db);
    ic_free(db);
}

ic_conn *ic_db_thread_conn(ic_db *db)
{
    ic_conn *c = pthread_getspecific(db->key);
    if (c)
        return c;
    ic_errmsg em = {{0}};
    if (db->be->conn_open(db, &c, &em) != IC_OK) {
        IC_ERROR("db_thread_conn_failed", "msg=\"%s\"", em.msg);
        abort();
    }
    thread_conn_adopt(db, c);
    return c;
}

ic_err ic_sql_conn_open(ic_db *db, ic_conn **out, ic_errmsg *em)
{
    return db->be->conn_open(db, out, em);
}

void ic_sql_conn_close(ic_conn *c)
{
    if (c)
        conn_close(c);
}

ic_db *ic_sql_conn_db(ic_conn *c)
{
    return c->db;
}

const ic_backend *ic_sql_conn_backend(ic_conn *c)
{
    return c->be;
}

const char *ic_sql_errmsg(ic_conn *c)
{
    return c->be->errmsg(c);
}

bool ic_sql_in_transaction(ic_conn *c)
{
    return c->be->in_transaction(c);
}

/* ---- transactions -------------------------------------------------------- */

ic_err ic_conn_begin(ic_conn *c)
{
    return ic_sql_run(c, c->be->begin_sql, NULL, 0, NULL);
}

ic_err ic_conn_commit(ic_conn *c)
{
    return c->be->commit(c);
}

void ic_conn_rollback(ic_conn *c)
{
    c->be->rollback(c);
}

/* ---- statements: dispatch ------------------------------------------------ */

ic_err ic_sql_prepare(ic_conn *c, const char *sql, ic_stmt **out)
{
    return c->be->prepare(c, sql, out);
}

void ic_sql_bind_i64(ic_stmt *s, int i, int64_t v)
{
    s->conn->be->bind_i64(s, i, v);
}

void ic_sql_bind_text(ic_stmt *s, int i, const char *v)
{
    s->conn->be->bind_text(s, i, v);
}

void ic_sql_bind_null(ic_stmt *s, int i)
{
    s->conn->be->bind_null(s, i);
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
    return s->conn->be->step(s, row);
}

int64_t ic_sql_col_i64(ic_stmt *s, int col)
{
    return s->conn->be->col_i64(s, col);
}

const char *ic_sql_col_text(ic_stmt *s, int col)
{
    return s->conn->be->col_text(s, col);
}

bool ic_sql_col_null(ic_stmt *s, int col)
{
    return s->conn->be->col_null(s, col);
}

int64_t ic_sql_changes(ic_stmt *s)
{
    return s->conn->be->changes(s);
}

void ic_sql_done(ic_stmt *s)
{
    if (s)
        s->conn->be->done(s);
}

ic_err ic_sql_exec(ic_conn *c, const char *sql)
{
    return c->be->exec(c, sql);
}

/* ---- placeholders -------------------------------------------------------- */

ic_err ic_sql_scan_placeholders(const char *sql, int *n)
{
    int highest = 0;
    *n = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'' || *p == '"') { /* quoted text or name: '' doubles a quote */
            char q = *p;
            for (p++; *p && *p != q; p++)
                ;
            if (!*p)
                break;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            if (!*p)
                break;
            continue;
        }
        if (*p != '$' || !isdigit((unsigned char)p[1]))
            continue;
        long v = strtol(p + 1, NULL, 10);
        if (v > highest + 1 || v < 1 || v > 65535) {
            IC_ERROR("db_bad_placeholders", "index=%d name=$%ld sql=\"%.60s\"", highest + 1, v,
                     sql);
            return IC_ERR_INTERNAL;
        }
        if (v == highest + 1)
            highest = (int)v;
        while (isdigit((unsigned char)p[1]))
            p++;
    }
    *n = highest;
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
    if (c->defer && !changes && c->be->send) { /* the writer's fast pass */
        err = c->be->send(s);
        goto out;
    }
    do {
        err = ic_sql_step(s, &row);
    } while (err == IC_OK && row);
    if (err == IC_OK && changes)
        *changes = ic_sql_changes(s);
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_sql_row(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, ic_stmt **out)
{
    ic_stmt *s = NULL;
    bool row = false;
    *out = NULL;
    ic_err err = ic_sql_query(c, sql, args, n, &s);
    if (err == IC_OK)
        err = ic_sql_step(s, &row);
    if (err == IC_OK && !row)
        err = IC_ERR_NOT_FOUND;
    if (err != IC_OK) {
        ic_sql_done(s);
        return err;
    }
    *out = s;
    return IC_OK;
}

ic_err ic_sql_one_i64(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, int64_t *out)
{
    ic_stmt *s = NULL;
    ic_err err = ic_sql_row(c, sql, args, n, &s);
    if (err != IC_OK)
        return err;
    *out = ic_sql_col_i64(s, 0);
    ic_sql_done(s);
    return IC_OK;
}
