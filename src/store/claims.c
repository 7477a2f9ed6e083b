/* claims.c - engine contact claims (store.h: ic_store_contact_claim).
 *
 * Every connection's claims are recorded here, process-wide, under one
 * mutex: a small list of per-connection records keyed by the ic_conn
 * pointer, each with an array of (workspace, contact) pairs. A node's
 * engine holds a handful of claims per worker, so lookups are linear.
 *
 * SQLite (one process): the record is the claim. A contact is claimed in a
 * db when some connection of that db has it in its record.
 *
 * PostgreSQL: a claim is a session advisory lock taken with the two-int4
 * form pg_try_advisory_lock(key1, key2), key1 from the workspace and key2
 * from the contact (see claim_key). PostgreSQL keeps the two-int4 form's
 * keys apart from the bigint form's (objsubid 2 versus 1), and the store's
 * only other advisory lock, the migration lock, uses the bigint form
 * (postgres.c: pg_advisory_xact_lock(7301001)), so the two never meet. The
 * two-int4 form is reserved for contact claims. The record answers "already
 * held" (IC_ERR_EXISTS) and "not held" (IC_ERR_NOT_FOUND) without a round
 * trip, and remembers the server session (pg_backend_pid, read with each
 * claim) that holds its locks: when the executor has reconnected
 * underneath (postgres.c), the next claim on that connection sees a new
 * session and forgets the claims that died with the old one. */
#include "store/claims_int.h"
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/log.h"

#include <pthread.h>
#include <sys/types.h>
#include <stdint.h>

typedef struct claim {
    int64_t ws, contact;
} claim;

typedef struct conn_claims {
    struct conn_claims *next;
    ic_conn *conn;
    ic_db *db;
    int64_t session; /* PostgreSQL: the backend pid holding the locks; 0 unknown */
    claim *items;
    size_t n, cap;
} conn_claims;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static conn_claims *all; /* under mu */

static const char SQL_LOCK[] = "SELECT CAST(pg_try_advisory_lock(CAST($1 AS integer), "
                               "CAST($2 AS integer)) AS integer) * 2147483648 + pg_backend_pid()";
static const char SQL_UNLOCK[] =
    "SELECT CAST(pg_advisory_unlock(CAST($1 AS integer), CAST($2 AS integer)) AS integer)";

/* An id as an advisory lock half: ids 0..2^31-1 (every id in practice) map
 * to themselves, so distinct contacts never share a key; larger or
 * negative ids fold to a negative int4, where two of them may share a key
 * (a spurious "claimed elsewhere", never two holders). */
static int64_t claim_key(int64_t id)
{
    if (id >= 0 && id <= INT32_MAX)
        return id;
    uint64_t v = (uint64_t)id;
    return (int64_t)(int32_t)(uint32_t)((v ^ (v >> 32)) | 0x80000000u);
}

/* ---- the record (callers hold mu) ----------------------------------------- */

static conn_claims *find_conn(ic_conn *c)
{
    for (conn_claims *e = all; e; e = e->next)
        if (e->conn == c)
            return e;
    return NULL;
}

static conn_claims *get_conn(ic_conn *c)
{
    conn_claims *e = find_conn(c);
    if (!e) {
        e = ic_calloc(1, sizeof *e);
        e->conn = c;
        e->db = ic_sql_conn_db(c);
        e->next = all;
        all = e;
    }
    return e;
}

static ssize_t find_claim(const conn_claims *e, int64_t ws, int64_t contact)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (e->items[i].ws == ws && e->items[i].contact == contact)
            return (ssize_t)i;
    return -1;
}

static void add_claim(conn_claims *e, int64_t ws, int64_t contact)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->items = ic_realloc(e->items, e->cap * sizeof *e->items);
    }
    e->items[e->n++] = (claim){ws, contact};
}

static void drop_claim(conn_claims *e, size_t i)
{
    e->items[i] = e->items[--e->n];
}

/* True when a connection of db other than c holds the claim (SQLite). */
static bool held_elsewhere(ic_conn *c, ic_db *db, int64_t ws, int64_t contact)
{
    for (conn_claims *e = all; e; e = e->next)
        if (e->conn != c && e->db == db && find_claim(e, ws, contact) >= 0)
            return true;
    return false;
}

/* Forgets c's claims (a lost PostgreSQL session took its locks along). */
static void forget_locked(ic_conn *c, const char *why)
{
    conn_claims *e = find_conn(c);
    if (e && e->n) {
        IC_WARN("claims_lost", "why=%s n=%zu", why, e->n);
        e->n = 0;
    }
}

void ic_claims_conn_closed(ic_conn *c)
{
    pthread_mutex_lock(&mu);
    for (conn_claims **p = &all; *p; p = &(*p)->next) {
        if ((*p)->conn == c) {
            conn_claims *e = *p;
            *p = e->next;
            ic_free(e->items);
            ic_free(e);
            break;
        }
    }
    pthread_mutex_unlock(&mu);
}

/* ---- claim and release ---------------------------------------------------- */

static ic_err claim_pg(ic_conn *c, int64_t ws, int64_t contact, bool *claimed)
{
    int64_t v = 0;
    ic_err err =
        ic_sql_one_i64(c, SQL_LOCK, IC_ARGS(IC_I64(claim_key(ws)), IC_I64(claim_key(contact))), &v);
    pthread_mutex_lock(&mu);
    if (err == IC_ERR_BUSY) /* the session is gone, and its locks with it */
        forget_locked(c, "connection_lost");
    if (err == IC_OK) {
        int64_t session = v % 2147483648LL;
        conn_claims *e = get_conn(c);
        if (e->session && e->session != session)
            forget_locked(c, "reconnected");
        e->session = session;
        *claimed = v >= 2147483648LL;
        if (*claimed)
            add_claim(e, ws, contact);
    }
    pthread_mutex_unlock(&mu);
    return err;
}

ic_err ic_store_contact_claim(ic_conn *c, int64_t ws, int64_t contact_id, bool *claimed)
{
    *claimed = false;
    ic_db *db = ic_sql_conn_db(c);
    pthread_mutex_lock(&mu);
    if (find_claim(find_conn(c), ws, contact_id) >= 0) {
        pthread_mutex_unlock(&mu);
        return IC_ERR_EXISTS;
    }
    if (!ic_db_is_postgres(db)) {
        if (!held_elsewhere(c, db, ws, contact_id)) {
            add_claim(get_conn(c), ws, contact_id);
            *claimed = true;
        }
        pthread_mutex_unlock(&mu);
        return IC_OK;
    }
    pthread_mutex_unlock(&mu);
    return claim_pg(c, ws, contact_id, claimed);
}

ic_err ic_store_contact_release(ic_conn *c, int64_t ws, int64_t contact_id)
{
    pthread_mutex_lock(&mu);
    conn_claims *e = find_conn(c);
    ssize_t i = find_claim(e, ws, contact_id);
    if (i < 0) {
        pthread_mutex_unlock(&mu);
        return IC_ERR_NOT_FOUND;
    }
    drop_claim(e, (size_t)i);
    pthread_mutex_unlock(&mu);
    if (!ic_db_is_postgres(ic_sql_conn_db(c)))
        return IC_OK;
    int64_t held = 0;
    ic_err err = ic_sql_one_i64(
        c, SQL_UNLOCK, IC_ARGS(IC_I64(claim_key(ws)), IC_I64(claim_key(contact_id))), &held);
    if (err == IC_ERR_BUSY) { /* the lock died with the session */
        pthread_mutex_lock(&mu);
        forget_locked(c, "connection_lost");
        pthread_mutex_unlock(&mu);
        return IC_OK;
    }
    if (err == IC_OK && !held) /* a new session underneath: the lock was gone */
        IC_WARN("claims_stale_release", "ws=%lld", (long long)ws);
    return err;
}
