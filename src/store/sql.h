/* sql.h - the store's internal SQL executor (not for code outside src/store).
 *
 * The domain files (workspaces.c, channels.c, contacts.c, ...) hold their query
 * text and run it through these functions; db.c dispatches them to the
 * backend (backend.h: sqlite.c or postgres.c) so that the same query text
 * runs on both. On PostgreSQL a failed statement aborts the transaction it is
 * in: a writer job must return every error it meets (the writer then rolls
 * back that job's savepoint). Query text rules (see docs/internals/storage.md):
 *  - placeholders are $1, $2, ... and each first appears in increasing order
 *    ($1 before $2 ...); ic_sql_prepare refuses a query that breaks this;
 *  - INSERT ... ON CONFLICT ... DO NOTHING / DO UPDATE, RETURNING id;
 *  - no backend-only functions: times are integer microseconds made in C;
 *  - every integer is 64-bit.
 *
 * Statements are cached per connection, keyed by the SQL text, so callers pass
 * static strings and never finalise anything: prepare, bind, step, read
 * columns, then ic_sql_done. A connection belongs to one thread at a time.
 */
#ifndef IC_STORE_SQL_H
#define IC_STORE_SQL_H

#include "base/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_stmt ic_stmt;

/* ---- connections --------------------------------------------------------- */

/* Opens a new connection to db that no thread owns (the writer's). Errors:
 * IC_ERR_DB with em saying why. Thread-safe. */
ic_err ic_sql_conn_open(ic_db *db, ic_conn **out, ic_errmsg *em);

/* Closes a connection made by ic_sql_conn_open, with its statement cache.
 * NULL ok. */
void ic_sql_conn_close(ic_conn *c);

/* The database a connection belongs to (borrowed). */
ic_db *ic_sql_conn_db(ic_conn *c);

/* True while c is inside a transaction (some failures end one by
 * themselves; the writer checks this after each job). */
bool ic_sql_in_transaction(ic_conn *c);

/* The backend's last error text for c (borrowed, valid until the next call
 * on c); never NULL. It names tables and columns, never bound values. */
const char *ic_sql_errmsg(ic_conn *c);

/* ---- statements ---------------------------------------------------------- */

/* Gets the cached statement for sql (a string that lives as long as the
 * program, normally a literal), preparing it on first use, ready to bind.
 * When that statement is already in use on c (a query run from inside a scan
 * of the same query), a fresh one is made and finalised by ic_sql_done.
 * Errors: IC_ERR_DB when the text does not compile, IC_ERR_INTERNAL when its
 * placeholders are not $1..$n in order. Every successful prepare must be
 * followed by ic_sql_done. */
ic_err ic_sql_prepare(ic_conn *c, const char *sql, ic_stmt **out);

/* Bind parameter i (1-based). Text is borrowed: it must stay valid until
 * ic_sql_done. NULL text binds SQL NULL. A bind error is remembered and
 * returned by the next ic_sql_step. */
void ic_sql_bind_i64(ic_stmt *s, int i, int64_t v);
void ic_sql_bind_text(ic_stmt *s, int i, const char *v);
void ic_sql_bind_null(ic_stmt *s, int i);

/* Typed arguments for binding a whole parameter list in one call. */
typedef enum ic_sql_kind { IC_SQL_NULL = 0, IC_SQL_I64 = 1, IC_SQL_TEXT = 2 } ic_sql_kind;
typedef struct ic_sql_arg {
    ic_sql_kind kind;
    int64_t i;
    const char *s; /* borrowed; NULL binds NULL */
} ic_sql_arg;

#define IC_I64(v) ((ic_sql_arg){IC_SQL_I64, (int64_t)(v), NULL})
#define IC_TXT(v) ((ic_sql_arg){IC_SQL_TEXT, 0, (v)})
#define IC_NUL ((ic_sql_arg){IC_SQL_NULL, 0, NULL})
/* Expands to "array, count" for the functions taking (args, n). */
#define IC_ARGS(...)                                                                               \
    (const ic_sql_arg[]){__VA_ARGS__},                                                             \
        sizeof((const ic_sql_arg[]){__VA_ARGS__}) / sizeof(ic_sql_arg)

/* Binds args[0..n) to $1..$n. */
void ic_sql_bind_args(ic_stmt *s, const ic_sql_arg *args, size_t n);

/* Runs one step. *row is true when a result row is ready to read, false
 * when the statement has finished. Errors: IC_ERR_EXISTS for a unique or
 * primary key violation, IC_ERR_INVALID for another constraint (check, not
 * null, foreign key), IC_ERR_BUSY when the connection to the server was lost
 * (PostgreSQL; a later call reconnects once any transaction on it has been
 * rolled back; pass it on: callers answer 503), IC_ERR_DB otherwise (logged
 * with the backend's text). ic_sql_prepare and ic_sql_exec give IC_ERR_BUSY
 * too while the connection cannot be re-established. */
ic_err ic_sql_step(ic_stmt *s, bool *row);

/* Column getters for the current row (0-based). Text is borrowed until the
 * next step or ic_sql_done; NULL for SQL NULL. */
int64_t ic_sql_col_i64(ic_stmt *s, int col);
const char *ic_sql_col_text(ic_stmt *s, int col);
bool ic_sql_col_null(ic_stmt *s, int col);

/* Rows changed by the last finished INSERT/UPDATE/DELETE on s's connection. */
int64_t ic_sql_changes(ic_stmt *s);

/* Resets s and gives it back to its connection's cache (or finalises it when
 * it was a fresh one). NULL ok. */
void ic_sql_done(ic_stmt *s);

/* ---- one-call helpers ---------------------------------------------------- */

/* Prepares sql and binds args: ic_sql_prepare + ic_sql_bind_args. */
ic_err ic_sql_query(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, ic_stmt **out);

/* Runs a statement that returns no rows (or whose rows are ignored) to the
 * end. *changes (may be NULL) gets the rows it changed. Inside a writer job
 * on PostgreSQL, a call without changes may only send the statement
 * (pipeline mode): its failure then comes back from a later call of the job
 * or makes the writer run the batch again with savepoints, where it is
 * reported in order. */
ic_err ic_sql_run(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, int64_t *changes);

/* Runs a query expected to give at most one row and steps to it: on IC_OK
 * *out is on that row (read its columns, then ic_sql_done(*out)); on any
 * error, IC_ERR_NOT_FOUND when there is no row, *out is NULL and the
 * statement has been given back. */
ic_err ic_sql_row(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, ic_stmt **out);

/* Runs a query expected to give at most one row and reads its first column
 * as an integer: IC_ERR_NOT_FOUND when there is no row. */
ic_err ic_sql_one_i64(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n, int64_t *out);

/* Runs parameterless SQL text (one or more statements; migrations). Not
 * cached. */
ic_err ic_sql_exec(ic_conn *c, const char *sql);

/* ---- migrations ---------------------------------------------------------- */

typedef struct ic_migration {
    int version;      /* 1, 2, 3 ... strictly increasing */
    const char *name; /* short_snake_name */
    const char *sql;  /* one or more statements */
} ic_migration;

/* The SQLite schema, in order (migrations_sqlite.c). */
extern const ic_migration ic_sqlite_migrations[];
extern const size_t ic_sqlite_migrations_count;

/* The PostgreSQL schema, in order (migrations_postgres.c). Kept in step with
 * the SQLite one: the same tables, columns, constraints and indexes. */
extern const ic_migration ic_postgres_migrations[];
extern const size_t ic_postgres_migrations_count;

/* ---- shared helpers for the domain files (rows.c) ------------------------ */

/* Sets obj[key] to the ISO time of us, or null when us is 0. */
void ic_sql_json_time(json_t *obj, const char *key, int64_t us);
/* Sets obj[key] to a copy of s, or null when s is NULL. */
void ic_sql_json_str(json_t *obj, const char *key, const char *s);
/* Sets obj[key] to column col of s: its text, or null. */
void ic_sql_json_col_str(json_t *obj, const char *key, ic_stmt *s, int col);
/* Sets obj[key] to the JSON document in column col (null when NULL or
 * unreadable, which is logged). */
void ic_sql_json_col_doc(json_t *obj, const char *key, ic_stmt *s, int col);

/* Page sizes: limit <= 0 gives IC_SQL_PAGE_DEFAULT, above IC_SQL_PAGE_MAX is
 * capped. Cursor <= 0 (first page) gives INT64_MAX. */
#define IC_SQL_PAGE_DEFAULT 50
#define IC_SQL_PAGE_MAX 500
int ic_sql_page_limit(int limit);
int64_t ic_sql_page_cursor(int64_t cursor);

/* Reads rows of s (already bound; its column 0 is the id) into a new array
 * *items with row(s) building each object, at most limit of them; *next is
 * the last id returned when another row exists, else 0. Calls ic_sql_done.
 * The query must select up to limit + 1 rows. */
ic_err ic_sql_page(ic_stmt *s, int limit, json_t *(*row)(ic_stmt *s), json_t **items,
                   int64_t *next);

/* Reads every row of query sql (bound to args) into a new array of row(s)
 * objects in *out (owned; NULL on error). */
ic_err ic_sql_all_json(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n,
                       json_t *(*row)(ic_stmt *s), json_t **out);

/* Reads one row of a workspace's table by id into *out with row(s): sql
 * takes $1 = ws and $2 = id. No row is IC_ERR_NOT_FOUND (and *out NULL). */
ic_err ic_sql_get_json(ic_conn *c, const char *sql, int64_t ws, int64_t id,
                       json_t *(*row)(ic_stmt *s), json_t **out);

#endif
