/* backend.h - the table of operations a storage backend provides (internal to
 * src/store). db.c owns what is common to every backend (the database
 * handle, the per-thread connections, the one-call helpers, transactions)
 * and calls the backend through this table; sqlite.c and postgres.c each
 * fill one in. The domain files never see it: they call sql.h.
 *
 * A backend's connection and statement types start with the common parts
 * below (struct ic_conn, struct ic_stmt) as their first member, so db.c can
 * reach the table from any connection or statement.
 */
#ifndef IC_STORE_BACKEND_H
#define IC_STORE_BACKEND_H

#include "store/sql.h"

#include <pthread.h>
#include <stdint.h>

typedef struct ic_backend ic_backend;

/* The part of every connection that db.c manages. */
struct ic_conn {
    const ic_backend *be;
    ic_db *db;
    ic_conn *prev, *next; /* the db's list of thread connections */
    bool threaded;        /* in that list */
    /* Set by the writer around a batch's savepoint-free pass: ic_sql_run
     * without *changes may send a statement and leave its outcome for later
     * (backend send/flush below); a failure then shows on a later call. */
    bool defer;
};

/* The part of every statement that db.c reads. */
struct ic_stmt {
    ic_conn *conn;
};

struct ic_db {
    const ic_backend *be;
    void *priv; /* the backend's (a file path, connection parameters) */
    pthread_key_t key;
    pthread_mutex_t mu;
    ic_conn *threads; /* every thread's connection, closed by ic_db_close */
};

struct ic_backend {
    const char *name;      /* "sqlite", "postgres" */
    const char *begin_sql; /* starts a write transaction */
    /* True when a savepoint per writer job is costly (PostgreSQL: each is a
     * subtransaction and two round trips); false when it costs next to
     * nothing (SQLite). When true the writer runs a batch without savepoints
     * and re-runs it with them only when a job failed (writer.c). */
    bool costly_savepoints;
    /* Run inside a migration's transaction before the "applied?" check so
     * that two processes never apply one migration twice; NULL when begin
     * already takes the write lock. */
    const char *migrate_lock_sql;
    const char *schema_table_sql; /* creates schema_migrations if missing */
    const ic_migration *migrations;
    const size_t *migrations_count;

    /* Checks url and sets db->priv; em says why it is refused. */
    ic_err (*db_init)(ic_db *db, const char *url, ic_errmsg *em);
    /* Frees db->priv. */
    void (*db_free)(ic_db *db);
    /* A new connection with c->be and c->db set; em says why not. */
    ic_err (*conn_open)(ic_db *db, ic_conn **out, ic_errmsg *em);
    void (*conn_close)(ic_conn *c);
    bool (*in_transaction)(ic_conn *c);
    const char *(*errmsg)(ic_conn *c);
    /* Ends the transaction with COMMIT; an error when nothing was kept. */
    ic_err (*commit)(ic_conn *c);
    /* Ends any transaction, failed or not; nothing when there is none. */
    void (*rollback)(ic_conn *c);
    ic_err (*prepare)(ic_conn *c, const char *sql, ic_stmt **out);
    void (*bind_i64)(ic_stmt *s, int i, int64_t v);
    void (*bind_text)(ic_stmt *s, int i, const char *v);
    void (*bind_null)(ic_stmt *s, int i);
    ic_err (*step)(ic_stmt *s, bool *row);
    int64_t (*col_i64)(ic_stmt *s, int col);
    const char *(*col_text)(ic_stmt *s, int col);
    bool (*col_null)(ic_stmt *s, int col);
    int64_t (*changes)(ic_stmt *s);
    void (*done)(ic_stmt *s);
    ic_err (*exec)(ic_conn *c, const char *sql);
    /* Optional (NULL on SQLite). Sends the bound statement s without waiting
     * for its outcome (PostgreSQL pipeline mode); the next call that needs a
     * result, or flush, reads it. */
    ic_err (*send)(ic_stmt *s);
    /* Optional. Reads the outcome of every statement sent and not read yet:
     * IC_ERR_DB when one failed (the transaction is then aborted),
     * IC_ERR_BUSY when the connection was lost. */
    ic_err (*flush)(ic_conn *c);
};

/* The two backends (sqlite.c, postgres.c). */
extern const ic_backend ic_sqlite_backend;
extern const ic_backend ic_postgres_backend;

/* The backend a connection runs on (borrowed, static). */
const ic_backend *ic_sql_conn_backend(ic_conn *c);

/* Checks that the placeholders of sql are $1..$n, each first appearing in
 * increasing order, skipping quoted text and comments; *n gets the highest.
 * IC_ERR_INTERNAL (logged) when they are not. Used by backends that cannot
 * ask the database for parameter names. Thread-safe. */
ic_err ic_sql_scan_placeholders(const char *sql, int *n);

/* The statement caches' bucket hash. Queries are static strings (sql.h), so
 * a statement is found by the address of its text: no per-call hashing or
 * comparing of the text, which is long. The same text at two addresses just
 * gets two cache entries. */
static inline uint32_t ic_sql_text_key(const char *sql)
{
    uint64_t v = (uint64_t)(uintptr_t)sql;
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (uint32_t)v;
}

#endif
