/* postgres.c - the PostgreSQL backend on libpq, exposed to db.c through
 * ic_postgres_backend (backend.h).
 *
 * One libpq connection per ic_conn (so one per thread, plus the writer's).
 * Statements are prepared once per connection (PQprepare with generated
 * names "s1", "s2", ...) and cached by SQL text; parameters go as text and
 * PostgreSQL infers their types from the query. A step runs the statement on
 * its first call and keeps the whole PGresult; every step then advances the
 * row index. Errors map as sql.h says: SQLSTATE 23505 is IC_ERR_EXISTS,
 * another class 23 constraint is IC_ERR_INVALID, anything else IC_ERR_DB.
 *
 * A lost connection (server restart, pg_terminate_backend, network) fails
 * the call in flight with IC_ERR_BUSY (callers answer 503). The next call
 * re-establishes it (PQreset), unless the caller still holds a transaction
 * that died with it: then every call fails until the caller rolls back.
 * Failed attempts back off (RETRY_MIN_US doubling to RETRY_MAX_US), during
 * which calls fail at once. A new connection has no prepared statements:
 * each cached statement is prepared again on its next use (generations).
 *
 * Pipeline mode, in the writer's savepoint-free pass only (ic_conn.defer): a
 * statement run without asking for its result (ic_sql_run without
 * *changes) is only sent (send, PQsendQueryPrepared in pipeline mode). The
 * next statement that needs its result goes into the same pipeline, then a
 * sync, and all the outcomes are read in one round trip (pipeline_finish);
 * flush does the same, and so does a COMMIT with statements pending (it
 * goes last into the pipeline: BEGIN, the batch and COMMIT can take a single
 * round trip). A failure of a sent statement aborts
 * the transaction and is reported as IC_ERR_DB by the call that reads it;
 * the writer then re-runs the batch without deferring. */
#include "store/backend.h"
#include "store/pg_int.h"
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_BUCKETS 128
#define CONNECT_TIMEOUT_S "10"
#define RETRY_MIN_US 50000LL
#define RETRY_MAX_US 2000000LL
#define PENDING_MAX 256 /* statements sent and not read, before a flush */
/* A cached statement is prepared again when it has been handed out this
 * many times: see replan(). */
static const unsigned long REPLAN_AT[] = {1000, 100000};

typedef struct pg_db {
    char *url;       /* the connection string as given (it may hold a password) */
    char where[256]; /* host:port/db, for messages: never the password */
} pg_db;

typedef struct pg_stmt {
    ic_stmt base;    /* first: an ic_stmt * is a pg_stmt * */
    const char *sql; /* the cache key, borrowed (static text) */
    uint32_t hash;
    char name[24];      /* the prepared statement's name on the server */
    unsigned gen;       /* the connection generation it was prepared on */
    unsigned long uses; /* times handed out from the cache, for REPLAN_AT */
    int nparams;
    const char **values; /* nparams, borrowed text or nums[i] */
    char (*nums)[24];    /* nparams buffers for integers as text */
    bool cached;         /* lives in conn's cache; false: freed by ic_sql_done */
    bool busy;           /* handed out and not done yet */
    bool ran;            /* executed; res holds the outcome */
    ic_err bind_err;     /* first bind failure, reported by the next step */
    PGresult *res;
    int row, nrows;
    struct pg_stmt *next; /* bucket chain */
} pg_stmt;

typedef struct pg_conn {
    ic_conn base; /* first: an ic_conn * is a pg_conn * */
    PGconn *h;
    pg_stmt *buckets[CACHE_BUCKETS];
    unsigned names;                       /* statements prepared so far, for their names */
    unsigned gen;                         /* bumped by every reconnect: older statements are gone */
    bool tx;                              /* the caller's transaction is open (set from the server's
                                           * status after each command, cleared by rollback) */
    int64_t retry_at_us, backoff_us;      /* reconnect backoff (monotonic clock) */
    int pending;                          /* statements sent in pipeline mode, not read */
    const char *pending_sql[PENDING_MAX]; /* their text, for the log */
    bool quiet;    /* reading sent statements' failures: the writer runs the batch again, which
                    * reports them (debug level only here) */
    char err[512]; /* the last error's primary text */
} pg_conn;

#define PG_CONN(c) ((pg_conn *)(c))
#define PG_STMT(s) ((pg_stmt *)(s))
#define PG_DB(db) ((pg_db *)(db)->priv)

/* ---- opening ------------------------------------------------------------- */

/* Copies text into dst as one line: line breaks and tabs (libpq ends
 * messages with one and indents hints) become single spaces. */
static void copy_line(char *dst, size_t size, const char *text)
{
    ic_strlcpy(dst, text ? text : "", size);
    char *w = dst;
    for (const char *p = dst; *p; p++) {
        char ch = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        if (ch == ' ' && (w == dst || w[-1] == ' '))
            continue; /* one space between words, none in front */
        *w++ = ch;
    }
    *w = '\0';
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

/* Cuts a libpq parse error before the URL it quotes (which may hold a
 * password): 'matching "]" ... in URI: "postgres://u:pw@[..."' keeps the
 * words and drops the quote. */
static void cut_quoted_url(char *why)
{
    char *at = strstr(why, "://");
    if (!at)
        return;
    while (at > why && *at != '"')
        at--;
    *at = '\0';
    size_t n = strlen(why);
    while (n > 0 && (why[n - 1] == ' ' || why[n - 1] == ':'))
        why[--n] = '\0';
}

static ic_err pg_db_init(ic_db *db, const char *url, ic_errmsg *em)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        char why[200];
        copy_line(why, sizeof why, perr ? perr : "out of memory");
        cut_quoted_url(why);
        PQfreemem(perr);
        return ic_errf(em, IC_ERR_INVALID, "invalid PostgreSQL URL: %s", why);
    }
    const char *host = NULL, *port = NULL, *dbname = NULL, *user = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
    }
    pg_db *p = ic_calloc(1, sizeof *p);
    p->url = ic_strdup(url);
    snprintf(p->where, sizeof p->where, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
             dbname ? dbname
             : user ? user
                    : "postgres");
    PQconninfoFree(opts);
    db->priv = p;
    return IC_OK;
}

static void pg_db_free(ic_db *db)
{
    pg_db *p = PG_DB(db);
    if (!p)
        return;
    ic_free(p->url);
    ic_free(p);
    db->priv = NULL;
}

/* Notices ("relation already exists, skipping") are not worth a line on
 * stderr. */
static void notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void stmt_free(pg_stmt *s)
{
    if (s->res)
        PQclear(s->res);
    ic_free(s->values);
    ic_free(s->nums);
    ic_free(s);
}

static void pg_conn_close(ic_conn *conn)
{
    pg_conn *c = PG_CONN(conn);
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        pg_stmt *s = c->buckets[i];
        while (s) {
            pg_stmt *next = s->next;
            stmt_free(s);
            s = next;
        }
        c->buckets[i] = NULL;
    }
    if (c->h)
        PQfinish(c->h);
    ic_free(c);
}

PGconn *ic_pg_connect(ic_db *db, ic_errmsg *em)
{
    pg_db *p = PG_DB(db);
    /* The URL comes last so that its own settings win over these defaults. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT_S, "impactchat", p->url, NULL};
    PGconn *h = PQconnectdbParams(keys, vals, 1);
    if (!h || PQstatus(h) != CONNECTION_OK) {
        char why[200];
        copy_line(why, sizeof why, h ? PQerrorMessage(h) : "out of memory");
        ic_errf(em, IC_ERR_DB, "cannot connect to PostgreSQL at %s: %s", p->where, why);
        if (h)
            PQfinish(h);
        return NULL;
    }
    PQsetNoticeProcessor(h, notice_ignore, NULL);
    return h;
}

const char *ic_pg_where(ic_db *db)
{
    return PG_DB(db)->where;
}

static ic_err pg_conn_open(ic_db *db, ic_conn **out, ic_errmsg *em)
{
    pg_conn *c = ic_calloc(1, sizeof *c);
    c->base.be = &ic_postgres_backend;
    c->base.db = db;
    c->h = ic_pg_connect(db, em);
    if (!c->h) {
        ic_free(c);
        *out = NULL;
        return IC_ERR_DB;
    }
    *out = &c->base;
    return IC_OK;
}

static const char *pg_errmsg(ic_conn *c)
{
    pg_conn *pc = PG_CONN(c);
    if (pc->err[0])
        return pc->err;
    copy_line(pc->err, sizeof pc->err, PQerrorMessage(pc->h));
    return pc->err;
}

static bool pg_in_transaction(ic_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(PG_CONN(c)->h);
    return t == PQTRANS_INTRANS || t == PQTRANS_ACTIVE;
}

/* Makes sure c has a live connection before a command: when libpq has
 * marked it bad, reconnects (outside a transaction, backoff permitting).
 * IC_ERR_BUSY (noted on c) when there is none. */
/* Whether an idle connection (no transaction, nothing in flight) has been
 * closed by the server since its last use: a restart or
 * pg_terminate_backend sends a last message and closes, which leaves the
 * socket readable. Finding that out before the next statement, instead of
 * by its failure, lets a connection that sat idle through a restart (an
 * HTTP thread's, whose reads are rare) reconnect without failing a
 * request. One poll() with no wait. */
static bool idle_conn_closed(pg_conn *c)
{
    if (c->tx || c->pending > 0 || PQpipelineStatus(c->h) != PQ_PIPELINE_OFF)
        return false;
    /* The server's last message and the end of the stream may take a read
     * each; anything else readable (a notice) leaves the socket quiet. */
    for (int reads = 0; reads < 4; reads++) {
        struct pollfd p = {.fd = PQsocket(c->h), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0)
            return false;
        if (!PQconsumeInput(c->h) || PQstatus(c->h) != CONNECTION_OK) {
            IC_WARN("db_connection_lost",
                    "code=- msg=\"closed by the server while idle\" in_transaction=0");
            return true;
        }
    }
    return false;
}

static ic_err conn_ready(pg_conn *c)
{
    if (PQstatus(c->h) == CONNECTION_OK && !idle_conn_closed(c))
        return IC_OK;
    if (c->tx) {
        ic_strlcpy(c->err, "the connection to PostgreSQL was lost inside a transaction",
                   sizeof c->err);
        return IC_ERR_BUSY;
    }
    int64_t now = ic_mono_us();
    if (now < c->retry_at_us) {
        ic_strlcpy(c->err, "the connection to PostgreSQL is lost; reconnecting", sizeof c->err);
        return IC_ERR_BUSY;
    }
    PQreset(c->h);
    c->gen++; /* a new server session: nothing is prepared on it */
    if (PQstatus(c->h) != CONNECTION_OK) {
        copy_line(c->err, sizeof c->err, PQerrorMessage(c->h));
        c->backoff_us = c->backoff_us ? c->backoff_us * 2 : RETRY_MIN_US;
        if (c->backoff_us > RETRY_MAX_US)
            c->backoff_us = RETRY_MAX_US;
        c->retry_at_us = ic_mono_us() + c->backoff_us;
        IC_WARN("db_reconnect_failed", "where=%s retry_ms=%lld msg=\"%s\"",
                PG_DB(c->base.db)->where, (long long)(c->backoff_us / 1000), c->err);
        return IC_ERR_BUSY;
    }
    c->backoff_us = c->retry_at_us = 0;
    c->err[0] = '\0';
    IC_INFO("db_reconnected", "where=%s", PG_DB(c->base.db)->where);
    return IC_OK;
}

/* Notes whether the caller's transaction is open after a command that
 * succeeded. */
static void track_tx(pg_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->h);
    c->tx = t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* Notes the error of res (or of the connection when res is NULL) on c and
 * maps it to an ic_err. */
static ic_err note_error(pg_conn *c, const PGresult *res, const char *what, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    copy_line(c->err, sizeof c->err, primary ? primary : PQerrorMessage(c->h));
    /* Class 08 (connection exception), 57P01-57P03 (shutdown, crash
     * recovery, not accepting connections yet), or a connection libpq has
     * given up on: the server went away. */
    if (PQstatus(c->h) == CONNECTION_BAD ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))) {
        IC_WARN("db_connection_lost", "code=%s msg=\"%s\" in_transaction=%d", state ? state : "-",
                c->err, c->tx);
        return IC_ERR_BUSY;
    }
    if (c->quiet) {
        IC_DEBUG("db_sent_statement_failed", "code=%s msg=\"%s\" sql=\"%.60s\"",
                 state ? state : "-", c->err, sql ? sql : "");
        return state && strncmp(state, "23", 2) == 0 ? IC_ERR_INVALID : IC_ERR_DB;
    }
    if (state && strcmp(state, "23505") == 0) {
        IC_DEBUG("db_unique_violation", "msg=\"%s\"", c->err);
        return IC_ERR_EXISTS;
    }
    if (state && strncmp(state, "23", 2) == 0) {
        IC_WARN("db_constraint", "code=%s msg=\"%s\"", state, c->err);
        return IC_ERR_INVALID;
    }
    IC_ERROR(what, "code=%s msg=\"%s\" sql=\"%.60s\"", state ? state : "-", c->err, sql ? sql : "");
    return IC_ERR_DB;
}

/* Ends pipeline mode: sends s (bound, may be NULL) after the statements
 * sent before, then a sync, and reads every outcome. *keep gets s's result
 * when it succeeded. The first failure decides the error: IC_ERR_BUSY for a
 * lost connection, else IC_ERR_DB (a sent statement's error never reads as a
 * constraint of s). */
static ic_err pipeline_finish(pg_conn *c, const char *name, int nparams, const char *const *values,
                              const char *sql, PGresult **keep)
{
    ic_err err = IC_OK;
    int want = c->pending + (name ? 1 : 0), got = 0, nulls = 0;
    bool synced = false;
    if (name && !PQsendQueryPrepared(c->h, name, nparams, values, NULL, NULL, 0))
        want--;
    if (!PQpipelineSync(c->h)) {
        err = note_error(c, NULL, "db_pipeline_failed", sql);
        goto out;
    }
    while (!synced) {
        PGresult *r = PQgetResult(c->h);
        if (!r) { /* the end of one statement's results */
            if (PQstatus(c->h) == CONNECTION_BAD || ++nulls > want + 2) {
                ic_err e = note_error(c, NULL, "db_pipeline_failed", sql);
                if (err == IC_OK)
                    err = e == IC_ERR_BUSY ? e : IC_ERR_DB;
                break;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            synced = true;
        } else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (++got == want && keep && err == IC_OK) {
                *keep = r;
                r = NULL;
            }
        } else {
            const char *what = got < c->pending ? c->pending_sql[got] : sql;
            bool sent = got < c->pending;
            got++;
            if (err == IC_OK && st != PGRES_PIPELINE_ABORTED) {
                c->quiet = sent;
                ic_err e = note_error(c, r, "db_step_failed", what);
                c->quiet = false;
                err = e == IC_ERR_BUSY ? e : IC_ERR_DB;
            } else if (err == IC_OK) {
                err = IC_ERR_DB;
            }
        }
        PQclear(r);
    }
out:
    c->pending = 0;
    if (PQpipelineStatus(c->h) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c->h) && err == IC_OK) {
        err = note_error(c, NULL, "db_pipeline_failed", sql);
        if (err != IC_ERR_BUSY)
            err = IC_ERR_DB;
    }
    if (err != IC_OK && keep && *keep) {
        PQclear(*keep);
        *keep = NULL;
    }
    if (PQstatus(c->h) == CONNECTION_OK)
        track_tx(c);
    return err;
}

/* Reads the outcome of every statement sent and not read yet. */
static ic_err drain(pg_conn *c)
{
    if (c->pending == 0 && PQpipelineStatus(c->h) == PQ_PIPELINE_OFF)
        return IC_OK;
    return pipeline_finish(c, NULL, 0, NULL, NULL, NULL);
}

static ic_err pg_flush(ic_conn *conn)
{
    return drain(PG_CONN(conn));
}

/* Runs sql with the simple protocol; IC_OK when it succeeded. */
static ic_err simple(pg_conn *c, const char *sql, const char *what, PGresult **keep)
{
    ic_err err = drain(c);
    if (err == IC_OK)
        err = conn_ready(c);
    if (err != IC_OK)
        return err;
    PGresult *res = PQexec(c->h, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        err = note_error(c, res, what, sql);
    else
        track_tx(c);
    if (keep && err == IC_OK)
        *keep = res;
    else
        PQclear(res);
    return err;
}

/* COMMIT as the last statement of the pipeline, read with the others in
 * one round trip; *res gets its result when every statement succeeded. */
static ic_err pipelined_commit(pg_conn *c, PGresult **res)
{
    if (c->pending >= PENDING_MAX) {
        ic_err err = drain(c);
        if (err != IC_OK)
            return err;
        return simple(c, "COMMIT", "db_commit_failed", res);
    }
    if (!PQsendQueryParams(c->h, "COMMIT", 0, NULL, NULL, NULL, NULL, 0)) {
        ic_err err = note_error(c, NULL, "db_commit_failed", "COMMIT");
        (void)drain(c);
        return err == IC_ERR_BUSY ? err : IC_ERR_DB;
    }
    c->pending_sql[c->pending++] = "COMMIT";
    return pipeline_finish(c, NULL, 0, NULL, "COMMIT", res);
}

static ic_err pg_commit(ic_conn *conn)
{
    pg_conn *c = PG_CONN(conn);
    PGresult *res = NULL;
    ic_err err =
        c->pending > 0 ? pipelined_commit(c, &res) : simple(c, "COMMIT", "db_commit_failed", &res);
    /* COMMIT of a failed transaction "succeeds" and says ROLLBACK. */
    if (err == IC_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        ic_strlcpy(c->err, "the transaction had failed and was rolled back", sizeof c->err);
        IC_ERROR("db_commit_failed", "msg=\"%s\"", c->err);
        err = IC_ERR_DB;
    }
    PQclear(res);
    return err;
}

static void pg_rollback(ic_conn *conn)
{
    pg_conn *c = PG_CONN(conn);
    (void)drain(c); /* its failure is what is being rolled back */
    PGTransactionStatusType t = PQtransactionStatus(c->h);
    if (PQstatus(c->h) != CONNECTION_OK || t == PQTRANS_UNKNOWN) {
        c->tx = false; /* it died with the connection: the next call reconnects */
        return;
    }
    if (t != PQTRANS_IDLE)
        (void)simple(c, "ROLLBACK", "db_rollback_failed", NULL);
    if (PQstatus(c->h) != CONNECTION_OK)
        c->tx = false;
}

/* ---- statements ---------------------------------------------------------- */

static pg_stmt *stmt_new(ic_conn *conn, const char *sql, uint32_t h, const char *name, int n)
{
    pg_stmt *s = ic_calloc(1, sizeof *s);
    s->base.conn = conn;
    s->sql = sql;
    s->hash = h;
    ic_strlcpy(s->name, name, sizeof s->name);
    s->nparams = n;
    if (n > 0) {
        s->values = ic_calloc((size_t)n, sizeof *s->values);
        s->nums = ic_calloc((size_t)n, sizeof *s->nums);
    }
    s->busy = true;
    return s;
}

/* Prepares sql on the server as name. Errors: IC_ERR_BUSY when the
 * connection is lost, else IC_ERR_DB (a prepare fails on the text, never on
 * a constraint). */
static ic_err server_prepare(pg_conn *c, const char *name, const char *sql, int nparams)
{
    PGresult *res = PQprepare(c->h, name, sql, nparams, NULL);
    ic_err err = IC_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = note_error(c, res, "db_prepare_failed", sql);
        if (err != IC_ERR_BUSY)
            err = IC_ERR_DB;
    } else {
        c->err[0] = '\0';
    }
    PQclear(res);
    return err;
}

/* Prepares statement s again under its name, so that PostgreSQL plans it
 * anew. After five runs PostgreSQL may keep one generic plan for a prepared
 * statement, made from the table sizes of that moment, until an ANALYZE of
 * the table (autovacuum's first comes up to a minute or more after the
 * first rows). A statement first prepared on an empty table (every fresh
 * database) could so keep a plan that suits no rows: looking a message up
 * by id and channel through the (channel_id, wa_id) index read every
 * message of the channel, 3 ms a lookup at 40,000 messages, and the sender
 * fell to 300 messages/s. Preparing again at REPLAN_AT uses, when the
 * tables have grown with the use, lets the planner see their real size. */
static ic_err replan(pg_conn *c, pg_stmt *s)
{
    char sql[48];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
    ic_err err = simple(c, sql, "db_replan_failed", NULL);
    if (err != IC_OK)
        return err; /* the old statement stands */
    err = server_prepare(c, s->name, s->sql, s->nparams);
    if (err != IC_OK)
        s->gen = c->gen - 1; /* gone from the server: prepared again on its next use */
    return err;
}

/* Whether a statement handed out for the uses-th time is due for replan(). */
static bool replan_due(unsigned long uses)
{
    for (size_t i = 0; i < sizeof REPLAN_AT / sizeof REPLAN_AT[0]; i++)
        if (uses == REPLAN_AT[i])
            return true;
    return false;
}

static ic_err pg_prepare(ic_conn *conn, const char *sql, ic_stmt **out)
{
    ic_err err = IC_OK;
    pg_conn *c = PG_CONN(conn);
    *out = NULL;
    uint32_t h = ic_sql_text_key(sql);
    pg_stmt **slot = &c->buckets[h % CACHE_BUCKETS];
    pg_stmt *s = *slot;
    while (s && !(s->hash == h && s->sql == sql))
        s = s->next;
    err = conn_ready(c);
    if (err != IC_OK)
        return err;
    if (s && s->gen != c->gen) { /* prepared on a connection since lost */
        err = drain(c);
        if (err == IC_OK)
            err = server_prepare(c, s->name, sql, s->nparams);
        if (err != IC_OK)
            return err;
        s->gen = c->gen;
    }
    if (s && !s->busy) {
        if (replan_due(++s->uses) && (err = replan(c, s)) != IC_OK)
            return err;
        s->busy = true;
        s->bind_err = IC_OK;
        *out = &s->base;
        return IC_OK;
    }
    if (s) { /* in use (a query inside a scan of itself): same server statement */
        pg_stmt *n = stmt_new(conn, sql, h, s->name, s->nparams);
        *out = &n->base;
        return IC_OK;
    }
    int nparams = 0;
    err = ic_sql_scan_placeholders(sql, &nparams);
    if (err != IC_OK)
        return err;
    char name[24];
    snprintf(name, sizeof name, "s%u", ++c->names);
    err = drain(c); /* PQprepare waits: not inside a pipeline */
    if (err == IC_OK)
        err = server_prepare(c, name, sql, nparams);
    if (err != IC_OK)
        return err;
    pg_stmt *n = stmt_new(conn, sql, h, name, nparams);
    n->gen = c->gen;
    n->uses = 1;
    n->cached = true;
    n->next = *slot;
    *slot = n;
    *out = &n->base;
    return IC_OK;
}

/* The value slot for parameter i, or NULL (noted) when i is out of range. */
static bool bind_ok(pg_stmt *s, int i)
{
    if (i >= 1 && i <= s->nparams)
        return true;
    if (s->bind_err == IC_OK) {
        IC_ERROR("db_bind_failed", "index=%d msg=\"column index out of range\" sql=\"%.60s\"", i,
                 s->sql);
        s->bind_err = IC_ERR_INTERNAL;
    }
    return false;
}

static void pg_bind_i64(ic_stmt *stmt, int i, int64_t v)
{
    pg_stmt *s = PG_STMT(stmt);
    if (!bind_ok(s, i))
        return;
    snprintf(s->nums[i - 1], sizeof s->nums[i - 1], "%lld", (long long)v);
    s->values[i - 1] = s->nums[i - 1];
}

static void pg_bind_text(ic_stmt *stmt, int i, const char *v)
{
    pg_stmt *s = PG_STMT(stmt);
    if (bind_ok(s, i))
        s->values[i - 1] = v;
}

static void pg_bind_null(ic_stmt *stmt, int i)
{
    pg_stmt *s = PG_STMT(stmt);
    if (bind_ok(s, i))
        s->values[i - 1] = NULL;
}

static ic_err pg_step(ic_stmt *stmt, bool *row)
{
    pg_stmt *s = PG_STMT(stmt);
    pg_conn *c = PG_CONN(s->base.conn);
    *row = false;
    if (s->bind_err != IC_OK)
        return s->bind_err;
    if (!s->ran) {
        s->ran = true;
        if (c->pending > 0) {
            ic_err err = pipeline_finish(c, s->name, s->nparams, s->values, s->sql, &s->res);
            if (err != IC_OK) {
                s->nrows = 0;
                return err;
            }
        } else {
            s->res = PQexecPrepared(c->h, s->name, s->nparams, s->values, NULL, NULL, 0);
        }
        ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK) {
            s->nrows = PQntuples(s->res);
            track_tx(c);
        } else if (st == PGRES_COMMAND_OK) {
            s->nrows = 0;
            track_tx(c);
        } else {
            ic_err err = note_error(c, s->res, "db_step_failed", s->sql);
            PQclear(s->res);
            s->res = NULL;
            s->nrows = 0;
            return err;
        }
        s->row = -1;
    }
    if (s->row < s->nrows)
        s->row++;
    *row = s->row < s->nrows;
    return IC_OK;
}

static ic_err pg_send(ic_stmt *stmt)
{
    pg_stmt *s = PG_STMT(stmt);
    pg_conn *c = PG_CONN(s->base.conn);
    if (s->bind_err != IC_OK)
        return s->bind_err;
    if (c->pending >= PENDING_MAX) {
        ic_err err = drain(c);
        if (err != IC_OK)
            return err;
    }
    if (PQpipelineStatus(c->h) == PQ_PIPELINE_OFF && !PQenterPipelineMode(c->h))
        return note_error(c, NULL, "db_pipeline_failed", s->sql);
    if (!PQsendQueryPrepared(c->h, s->name, s->nparams, s->values, NULL, NULL, 0)) {
        ic_err err = note_error(c, NULL, "db_step_failed", s->sql);
        (void)drain(c);
        return err == IC_ERR_BUSY ? err : IC_ERR_DB;
    }
    c->pending_sql[c->pending++] = s->sql;
    c->tx = true; /* sent inside the writer's transaction (BEGIN too): a
                   * connection lost now must fail the batch, not reconnect */
    /* Hand it to the server now (libpq would hold it until 64 KB or the
     * sync): the server works on the batch while the writer builds the
     * rest of it. */
    if (PQflush(c->h) < 0)
        return note_error(c, NULL, "db_step_failed", s->sql) == IC_ERR_BUSY ? IC_ERR_BUSY
                                                                            : IC_ERR_DB;
    return IC_OK;
}

static const char *cell(pg_stmt *s, int col)
{
    if (!s->res || s->row < 0 || s->row >= s->nrows || col < 0 || col >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_col_i64(ic_stmt *s, int col)
{
    const char *v = cell(PG_STMT(s), col);
    if (!v)
        return 0;
    if (v[0] == 't' && v[1] == '\0') /* boolean */
        return 1;
    return (int64_t)strtoll(v, NULL, 10);
}

static const char *pg_col_text(ic_stmt *s, int col)
{
    return cell(PG_STMT(s), col);
}

static bool pg_col_null(ic_stmt *s, int col)
{
    return cell(PG_STMT(s), col) == NULL;
}

static int64_t pg_changes(ic_stmt *stmt)
{
    pg_stmt *s = PG_STMT(stmt);
    if (!s->res)
        return 0;
    return (int64_t)strtoll(PQcmdTuples(s->res), NULL, 10);
}

static void pg_done(ic_stmt *stmt)
{
    pg_stmt *s = PG_STMT(stmt);
    if (!s->cached) {
        stmt_free(s);
        return;
    }
    if (s->res)
        PQclear(s->res);
    s->res = NULL;
    s->ran = false;
    s->row = s->nrows = 0;
    for (int i = 0; i < s->nparams; i++)
        s->values[i] = NULL;
    s->busy = false;
}

static ic_err pg_exec(ic_conn *c, const char *sql)
{
    return simple(PG_CONN(c), sql, "db_exec_failed", NULL);
}

static const char PG_SCHEMA_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
                                      "  version BIGINT PRIMARY KEY,\n"
                                      "  name TEXT NOT NULL,\n"
                                      "  applied_us BIGINT NOT NULL\n"
                                      ")";

const ic_backend ic_postgres_backend = {
    .name = "postgres",
    .begin_sql = "BEGIN",
    .costly_savepoints = true,
    /* One migration at a time across every process sharing the database. */
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(7301001)",
    .schema_table_sql = PG_SCHEMA_TABLE,
    .migrations = ic_postgres_migrations,
    .migrations_count = &ic_postgres_migrations_count,
    .db_init = pg_db_init,
    .db_free = pg_db_free,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .in_transaction = pg_in_transaction,
    .errmsg = pg_errmsg,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .bind_i64 = pg_bind_i64,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_i64 = pg_col_i64,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .changes = pg_changes,
    .done = pg_done,
    .exec = pg_exec,
    .send = pg_send,
    .flush = pg_flush,
};
