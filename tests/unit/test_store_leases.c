/* test_store_leases.c - the sender's lease per channel (take, renew,
 * takeover, force, release) and the outbox writes it fences (the sending
 * mark, the retry back to queued, queueing again messages left sending or
 * unknown), the stale scan, the outbox load's "unknown" turn, and the outbox
 * notification payload. Runs on SQLite, and on PostgreSQL with
 * IC_TEST_PG_URL (store_fixture.h). */
#include "store_fixture.h"

#include <inttypes.h>

#define TTL_US (30LL * 1000000)
#define T0 1700000000000000LL /* a fixed lease clock: take gets its time passed */
#define OLD_US 1000LL         /* an updated_us long before any cutoff below */
#define CUTOFF_US 2000LL

/* ---- helpers -------------------------------------------------------------- */

/* Writes are "writer only": the tests run them in a transaction of their own
 * on the fixture's connection. */
static void begin(fx *f)
{
    assert_int_equal(ic_conn_begin(f->c), IC_OK);
}

static void commit(fx *f)
{
    assert_int_equal(ic_conn_commit(f->c), IC_OK);
}

/* Takes or renews ch's lease for node at now; returns whether node holds it
 * (and *epoch its epoch then). */
static bool take(fx *f, int64_t ch, const char *node, int64_t now, bool force, int64_t *epoch)
{
    bool held = true;
    int64_t ws = ch == f->ch2 ? f->ws2 : f->ws;
    begin(f);
    assert_int_equal(ic_store_lease_take(f->c, ws, ch, node, now, TTL_US, force, epoch, &held),
                     IC_OK);
    commit(f);
    return held;
}

static void release(fx *f, int64_t ch, const char *node, int64_t epoch)
{
    begin(f);
    assert_int_equal(ic_store_lease_release(f->c, ch, node, epoch), IC_OK);
    commit(f);
}

/* The count sql gives with $1 = id and $2 = txt. */
static int64_t sql_count(ic_conn *c, const char *sql, int64_t id, const char *txt)
{
    int64_t n = -1;
    assert_int_equal(ic_sql_one_i64(c, sql, IC_ARGS(IC_I64(id), IC_TXT(txt)), &n), IC_OK);
    return n;
}

/* An integer the query sql gives for id ($1). sql must be static text: the
 * statement cache keys on its address (sql.h), hence the macros below. */
static int64_t one_i64(fx *f, const char *sql, int64_t id)
{
    int64_t v = -1;
    assert_int_equal(ic_sql_one_i64(f->c, sql, IC_ARGS(IC_I64(id)), &v), IC_OK);
    return v;
}

/* One integer column of ch's lease row, of message id's row. */
#define lease_i64(f, ch, col)                                                                      \
    one_i64(f, "SELECT " col " FROM sender_leases WHERE channel_id = $1", ch)
#define msg_i64(f, id, col) one_i64(f, "SELECT " col " FROM messages WHERE id = $1", id)

static bool lease_node_is(fx *f, int64_t ch, const char *node)
{
    return sql_count(f->c,
                     "SELECT COUNT(*) FROM sender_leases WHERE channel_id = $1"
                     " AND node_id = $2",
                     ch, node) == 1;
}

static bool msg_is(fx *f, int64_t id, const char *status)
{
    return sql_count(f->c, "SELECT COUNT(*) FROM messages WHERE id = $1 AND status = $2", id,
                     status) == 1;
}

/* A contact of channel ch's workspace with an open conversation. */
static int64_t contact(fx *f, int64_t ch, const char *wa, int64_t *conv)
{
    int64_t k = 0, ws = ch == f->ch2 ? f->ws2 : f->ws;
    begin(f);
    assert_int_equal(ic_store_contact_upsert(f->c, ws, wa, "Person", &k), IC_OK);
    assert_int_equal(ic_store_conversation_touch_inbound(f->c, ws, ch, k, T0, conv), IC_OK);
    commit(f);
    return k;
}

/* A new outbound message of channel ch (state "queued"); returns its id. */
static int64_t queue_msg(fx *f, int64_t ch, int64_t k, int64_t conv, ic_lane lane)
{
    begin(f);
    ic_message m = fixture_outbound(f, ch, k, conv, lane);
    commit(f);
    return m.id;
}

/* Puts message id straight into a state (raw), as left by a sender long ago. */
static void set_msg(fx *f, int64_t id, const char *status, int64_t updated_us, int64_t resends)
{
    int64_t n = 0;
    begin(f);
    assert_int_equal(
        ic_sql_run(f->c,
                   "UPDATE messages SET status = $1, updated_us = $2, resends = $3"
                   " WHERE id = $4",
                   IC_ARGS(IC_TXT(status), IC_I64(updated_us), IC_I64(resends), IC_I64(id)), &n),
        IC_OK);
    commit(f);
    assert_int_equal(n, 1);
}

static void set_updated(fx *f, int64_t id, int64_t updated_us)
{
    begin(f);
    assert_int_equal(ic_sql_run(f->c, "UPDATE messages SET updated_us = $1 WHERE id = $2",
                                IC_ARGS(IC_I64(updated_us), IC_I64(id)), NULL),
                     IC_OK);
    commit(f);
}

/* The fenced writes, each in its own transaction; they return the flag. */
enum fenced_op { MARK, BACK };

static bool fenced(fx *f, enum fenced_op op, int64_t ch, int64_t id, const char *node,
                   int64_t epoch)
{
    bool done = true;
    begin(f);
    if (op == MARK)
        assert_int_equal(ic_store_outbox_mark_sending(f->c, ch, id, node, epoch, &done), IC_OK);
    else
        assert_int_equal(ic_store_outbox_back_to_queued(f->c, ch, id, node, epoch, &done), IC_OK);
    commit(f);
    return done;
}

static bool requeue(fx *f, int64_t ch, int64_t id, const char *node, int64_t epoch, int64_t cutoff)
{
    bool done = true;
    begin(f);
    assert_int_equal(ic_store_outbox_requeue(f->c, ch, id, node, epoch, cutoff, &done), IC_OK);
    commit(f);
    return done;
}

/* A status webhook naming our message id in biz_opaque (no WhatsApp id). */
static bool webhook(fx *f, int64_t id, const char *status)
{
    char biz[24];
    bool applied = false;
    snprintf(biz, sizeof biz, "%" PRId64, id);
    begin(f);
    assert_int_equal(
        ic_store_status_apply(f->c, f->ws, f->ch, NULL, biz, status, T0, 0, NULL, "{}", &applied),
        IC_OK);
    commit(f);
    return applied;
}

/* What the outbox callbacks saw. */
typedef struct seen {
    int64_t ids[16];
    ic_message first;
    char first_type[16];
    int n, stop_after;
} seen;

static ic_err seen_cb(void *arg, const ic_message *m)
{
    seen *s = arg;
    assert_true(s->n < 16);
    if (s->n == 0) {
        s->first = *m;
        snprintf(s->first_type, sizeof s->first_type, "%s", m->type ? m->type : "");
    }
    s->ids[s->n++] = m->id;
    return s->n == s->stop_after ? IC_ERR_BUSY : IC_OK;
}

static seen stale(fx *f, int64_t ch, int64_t cutoff, int max_resends, int64_t after, int limit)
{
    seen s = {0};
    assert_int_equal(
        ic_store_outbox_stale(f->c, ch, cutoff, max_resends, after, limit, seen_cb, &s), IC_OK);
    return s;
}

/* ---- the lease ------------------------------------------------------------ */

/* Take, renew, refused before expiry, takeover after it, the old holder
 * fenced out, force, release. */
static void test_lease_take(void **state)
{
    fx *f = *state;
    int64_t a = 0, b = 0;

    assert_true(take(f, f->ch, "node-a", T0, false, &a));
    assert_int_equal(a, 1);
    assert_true(lease_node_is(f, f->ch, "node-a"));
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), T0 + TTL_US);
    assert_int_equal(lease_i64(f, f->ch, "acquired_us"), T0);

    /* Renewal keeps the epoch and moves the expiry. */
    assert_true(take(f, f->ch, "node-a", T0 + 10000000, false, &a));
    assert_int_equal(a, 1);
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), T0 + 10000000 + TTL_US);
    assert_int_equal(lease_i64(f, f->ch, "acquired_us"), T0);

    /* Another node cannot take it before it expires; nothing changes. */
    assert_false(take(f, f->ch, "node-b", T0 + 20000000, false, &b));
    assert_true(lease_node_is(f, f->ch, "node-a"));
    assert_int_equal(lease_i64(f, f->ch, "epoch"), 1);
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), T0 + 10000000 + TTL_US);

    /* After the expiry it can, with the next epoch. */
    int64_t t = T0 + 10000000 + TTL_US + 1;
    b = 0;
    assert_true(take(f, f->ch, "node-b", t, false, &b));
    assert_int_equal(b, 2);
    assert_true(lease_node_is(f, f->ch, "node-b"));
    assert_int_equal(lease_i64(f, f->ch, "acquired_us"), t);
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), t + TTL_US);

    /* The old holder's renewal fails and leaves the new holder's row be. */
    assert_false(take(f, f->ch, "node-a", t + 1, false, &a));
    assert_true(lease_node_is(f, f->ch, "node-b"));
    assert_int_equal(lease_i64(f, f->ch, "epoch"), 2);
    /* So does a renewal by the holder with a wrong epoch (a restart). */
    int64_t stale_b = 1;
    assert_false(take(f, f->ch, "node-b", t + 2, false, &stale_b));
    assert_int_equal(lease_i64(f, f->ch, "epoch"), 2);
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), t + TTL_US);

    /* Force takes it regardless of the expiry. */
    a = 0;
    assert_true(take(f, f->ch, "node-a", t + 3, true, &a));
    assert_int_equal(a, 3);
    assert_true(lease_node_is(f, f->ch, "node-a"));
    assert_false(take(f, f->ch, "node-b", t + 4, false, &b));

    /* Release by someone who does not hold it changes nothing. */
    release(f, f->ch, "node-b", 3);
    release(f, f->ch, "node-a", 2);
    assert_int_equal(lease_i64(f, f->ch, "expires_us"), t + 3 + TTL_US);
    assert_false(take(f, f->ch, "node-b", t + 5, false, &b));

    /* Release by the holder frees it at once for another node. */
    release(f, f->ch, "node-a", 3);
    b = 0;
    assert_true(take(f, f->ch, "node-b", t + 6, false, &b));
    assert_int_equal(b, 4);
    assert_true(lease_node_is(f, f->ch, "node-b"));

    /* Each channel has its own lease. */
    int64_t c2 = 0;
    assert_true(take(f, f->ch2, "node-a", t + 7, false, &c2));
    assert_int_equal(c2, 1);
    assert_true(lease_node_is(f, f->ch, "node-b"));
    assert_int_equal(lease_i64(f, f->ch, "epoch"), 4);
}

/* Bad input is refused before the database is touched. */
static void test_lease_invalid(void **state)
{
    fx *f = *state;
    char longest[129], too_long[130];
    memset(longest, 'n', 128);
    longest[128] = '\0';
    memset(too_long, 'n', 129);
    too_long[129] = '\0';
    int64_t e = 0;
    bool held = true;

    begin(f);
    assert_int_equal(ic_store_lease_take(f->c, f->ws, f->ch, "", T0, TTL_US, false, &e, &held),
                     IC_ERR_INVALID);
    assert_false(held);
    held = true;
    assert_int_equal(ic_store_lease_take(f->c, f->ws, f->ch, NULL, T0, TTL_US, false, &e, &held),
                     IC_ERR_INVALID);
    assert_false(held);
    assert_int_equal(
        ic_store_lease_take(f->c, f->ws, f->ch, too_long, T0, TTL_US, false, &e, &held),
        IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_take(f->c, f->ws, f->ch, "node-a", T0, 0, false, &e, &held),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_take(f->c, f->ws, f->ch, "node-a", T0, -1, false, &e, &held),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_take(f->c, 0, f->ch, "node-a", T0, TTL_US, false, &e, &held),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_take(f->c, -3, f->ch, "node-a", T0, TTL_US, false, &e, &held),
                     IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_take(f->c, f->ws, 0, "node-a", T0, TTL_US, false, &e, &held),
                     IC_ERR_INVALID);
    e = -1;
    assert_int_equal(
        ic_store_lease_take(f->c, f->ws, f->ch, "node-a", T0, TTL_US, false, &e, &held),
        IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_release(f->c, f->ch, "", 1), IC_ERR_INVALID);
    assert_int_equal(ic_store_lease_release(f->c, f->ch, too_long, 1), IC_ERR_INVALID);
    commit(f);
    assert_int_equal(sql_i64(f->c, "SELECT COUNT(*) FROM sender_leases"), 0);

    /* 128 bytes is still a node id. */
    e = 0;
    assert_true(take(f, f->ch, longest, T0, false, &e));
    assert_int_equal(e, 1);
    assert_true(lease_node_is(f, f->ch, longest));
}

/* ---- the fenced writes ---------------------------------------------------- */

/* mark_sending only from queued, back_to_queued only from sending, both only
 * for the lease's current (node, epoch) and channel. */
static void test_fence_mark_back(void **state)
{
    fx *f = *state;
    int64_t conv = 0, conv2 = 0, a = 0, b = 0, a2 = 0;
    int64_t k = contact(f, f->ch, "27824444444", &conv);
    int64_t k2 = contact(f, f->ch2, "27825555555", &conv2);
    int64_t m1 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t other = queue_msg(f, f->ch2, k2, conv2, IC_LANE_REPLY);

    /* No lease at all: nothing. */
    assert_false(fenced(f, MARK, f->ch, m1, "node-a", 0));
    assert_true(msg_is(f, m1, "queued"));

    assert_true(take(f, f->ch, "node-a", T0, false, &a));
    assert_int_equal(a, 1);
    assert_false(fenced(f, MARK, f->ch, m1, "node-b", a));
    assert_false(fenced(f, MARK, f->ch, m1, "node-a", a + 1));
    assert_false(fenced(f, MARK, f->ch, m1, "node-a", 0));
    assert_true(msg_is(f, m1, "queued"));
    /* The lease of ch says nothing about ch2's messages, nor the other way. */
    assert_false(fenced(f, MARK, f->ch, other, "node-a", a));
    assert_false(fenced(f, MARK, f->ch2, m1, "node-a", a));
    assert_true(take(f, f->ch2, "node-a", T0, false, &a2));
    assert_false(fenced(f, MARK, f->ch2, m1, "node-a", a2));
    assert_true(msg_is(f, m1, "queued"));
    assert_true(msg_is(f, other, "queued"));

    /* back_to_queued needs a sending message. */
    assert_false(fenced(f, BACK, f->ch, m1, "node-a", a));
    assert_true(msg_is(f, m1, "queued"));

    assert_true(fenced(f, MARK, f->ch, m1, "node-a", a));
    assert_true(msg_is(f, m1, "sending"));
    assert_false(fenced(f, MARK, f->ch, m1, "node-a", a)); /* already sending */

    assert_false(fenced(f, BACK, f->ch, m1, "node-b", a));
    assert_false(fenced(f, BACK, f->ch, m1, "node-a", a + 1));
    assert_false(fenced(f, BACK, f->ch2, m1, "node-a", a2));
    assert_true(msg_is(f, m1, "sending"));
    assert_true(fenced(f, BACK, f->ch, m1, "node-a", a));
    assert_true(msg_is(f, m1, "queued"));

    /* Takeover: the old epoch is fenced out, the new one works. */
    assert_true(take(f, f->ch, "node-b", T0 + TTL_US + 1, false, &b));
    assert_int_equal(b, 2);
    assert_false(fenced(f, MARK, f->ch, m1, "node-a", a));
    assert_true(msg_is(f, m1, "queued"));
    assert_true(fenced(f, MARK, f->ch, m1, "node-b", b));
    assert_false(fenced(f, BACK, f->ch, m1, "node-a", a));
    assert_true(msg_is(f, m1, "sending"));
    assert_true(fenced(f, BACK, f->ch, m1, "node-b", b));
    assert_true(msg_is(f, m1, "queued"));

    /* A message Meta has is never marked sending again. */
    begin(f);
    assert_int_equal(ic_store_message_mark(f->c, m1, "sent", "wamid.L1", 0, NULL), IC_OK);
    commit(f);
    assert_false(fenced(f, MARK, f->ch, m1, "node-b", b));
    assert_false(fenced(f, BACK, f->ch, m1, "node-b", b));
    assert_true(msg_is(f, m1, "sent"));

    /* Bad input. */
    bool done = true;
    begin(f);
    assert_int_equal(ic_store_outbox_mark_sending(f->c, f->ch, 0, "node-b", b, &done),
                     IC_ERR_INVALID);
    assert_false(done);
    assert_int_equal(ic_store_outbox_mark_sending(f->c, f->ch, m1, "", b, &done), IC_ERR_INVALID);
    assert_int_equal(ic_store_outbox_back_to_queued(f->c, f->ch, m1, NULL, b, &done),
                     IC_ERR_INVALID);
    commit(f);
}

/* requeue: only sending/unknown rows unchanged since before the cutoff, only
 * under the lease; resends + 1; nothing once a status webhook moved it on. */
static void test_fence_requeue(void **state)
{
    fx *f = *state;
    int64_t conv = 0, a = 0, b = 0;
    int64_t k = contact(f, f->ch, "27824444444", &conv);
    int64_t m1 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t m2 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t m3 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t m4 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t q = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    assert_true(take(f, f->ch, "node-a", T0, false, &a));
    assert_int_equal(msg_i64(f, m1, "resends"), 0);

    /* A sending message, left since OLD_US. */
    assert_true(fenced(f, MARK, f->ch, m1, "node-a", a));
    set_updated(f, m1, OLD_US);
    assert_false(requeue(f, f->ch, m1, "node-a", a, OLD_US)); /* not before the cutoff */
    assert_false(requeue(f, f->ch, m1, "node-b", a, CUTOFF_US));
    assert_false(requeue(f, f->ch, m1, "node-a", a + 1, CUTOFF_US));
    assert_false(requeue(f, f->ch2, m1, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, m1, "sending"));
    assert_int_equal(msg_i64(f, m1, "resends"), 0);
    assert_true(requeue(f, f->ch, m1, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, m1, "queued"));
    assert_int_equal(msg_i64(f, m1, "resends"), 1);
    assert_true(msg_i64(f, m1, "updated_us") > CUTOFF_US);
    /* Queued now: a second requeue does nothing. */
    assert_false(requeue(f, f->ch, m1, "node-a", a, INT64_MAX));
    assert_int_equal(msg_i64(f, m1, "resends"), 1);
    /* Sent once more and left again: the count goes on. */
    assert_true(fenced(f, MARK, f->ch, m1, "node-a", a));
    set_updated(f, m1, OLD_US);
    assert_true(requeue(f, f->ch, m1, "node-a", a, CUTOFF_US));
    assert_int_equal(msg_i64(f, m1, "resends"), 2);

    /* An unknown message (the outbox load after a crash) is queued again. */
    assert_true(fenced(f, MARK, f->ch, m2, "node-a", a));
    seen s = {0};
    begin(f);
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, seen_cb, &s), IC_OK);
    commit(f);
    assert_true(msg_is(f, m2, "unknown"));
    set_updated(f, m2, OLD_US);
    assert_true(requeue(f, f->ch, m2, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, m2, "queued"));
    assert_int_equal(msg_i64(f, m2, "resends"), 1);

    /* A status webhook arrived meanwhile (sending, then unknown): nothing. */
    assert_true(fenced(f, MARK, f->ch, m3, "node-a", a));
    set_updated(f, m3, OLD_US);
    assert_true(webhook(f, m3, "sent"));
    assert_true(msg_is(f, m3, "sent"));
    set_updated(f, m3, OLD_US);
    assert_false(requeue(f, f->ch, m3, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, m3, "sent"));
    assert_int_equal(msg_i64(f, m3, "resends"), 0);
    set_msg(f, m4, "unknown", OLD_US, 0);
    assert_true(webhook(f, m4, "sent"));
    set_updated(f, m4, OLD_US);
    assert_false(requeue(f, f->ch, m4, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, m4, "sent"));
    assert_int_equal(msg_i64(f, m4, "resends"), 0);

    /* Never a queued message, however old. */
    set_updated(f, q, OLD_US);
    assert_false(requeue(f, f->ch, q, "node-a", a, CUTOFF_US));
    assert_int_equal(msg_i64(f, q, "resends"), 0);

    /* After a takeover only the new holder may requeue. */
    set_msg(f, q, "sending", OLD_US, 0);
    assert_true(take(f, f->ch, "node-b", T0 + TTL_US + 1, false, &b));
    assert_false(requeue(f, f->ch, q, "node-a", a, CUTOFF_US));
    assert_true(msg_is(f, q, "sending"));
    assert_true(requeue(f, f->ch, q, "node-b", b, CUTOFF_US));
    assert_true(msg_is(f, q, "queued"));
    assert_int_equal(msg_i64(f, q, "resends"), 1);

    bool done = true;
    begin(f);
    assert_int_equal(ic_store_outbox_requeue(f->c, f->ch, -1, "node-b", b, CUTOFF_US, &done),
                     IC_ERR_INVALID);
    assert_false(done);
    commit(f);
}

/* ---- the stale scan ------------------------------------------------------- */

static void test_stale(void **state)
{
    fx *f = *state;
    int64_t conv = 0, conv2 = 0;
    int64_t k = contact(f, f->ch, "27824444444", &conv);
    int64_t k2 = contact(f, f->ch2, "27825555555", &conv2);
    int64_t queued = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t s1 = queue_msg(f, f->ch, k, conv, IC_LANE_BULK);
    int64_t u1 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t fresh = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t sent = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t tired = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t s2 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t u2 = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t other = queue_msg(f, f->ch2, k2, conv2, IC_LANE_REPLY);
    set_msg(f, queued, "queued", OLD_US, 0);
    set_msg(f, s1, "sending", OLD_US, 0);
    set_msg(f, u1, "unknown", OLD_US, 1);
    set_msg(f, fresh, "sending", CUTOFF_US, 0); /* not before the cutoff */
    set_msg(f, sent, "sent", OLD_US, 0);
    set_msg(f, tired, "unknown", OLD_US, 2);
    set_msg(f, s2, "sending", OLD_US, 0);
    set_msg(f, u2, "unknown", OLD_US, 0);
    set_msg(f, other, "sending", OLD_US, 0);

    seen s = stale(f, f->ch, CUTOFF_US, 2, 0, 50);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.ids[0], s1);
    assert_int_equal(s.ids[1], u1);
    assert_int_equal(s.ids[2], s2);
    assert_int_equal(s.ids[3], u2);
    assert_int_equal(s.first.workspace_id, f->ws);
    assert_int_equal(s.first.channel_id, f->ch);
    assert_int_equal(s.first.contact_id, k);
    assert_int_equal(s.first.lane, IC_LANE_BULK);
    assert_int_equal(s.first.direction, IC_DIR_OUT);
    assert_string_equal(s.first_type, "text");

    /* More resends allowed: the tired one too, in its place. */
    s = stale(f, f->ch, CUTOFF_US, 3, 0, 50);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.ids[2], tired);
    /* max_resends 0 lets none through, 1 only those never resent. */
    assert_int_equal(stale(f, f->ch, CUTOFF_US, 0, 0, 50).n, 0);
    s = stale(f, f->ch, CUTOFF_US, 1, 0, 50);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ids[1], s2);

    /* Pages by after_id and limit. */
    s = stale(f, f->ch, CUTOFF_US, 2, 0, 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[1], u1);
    s = stale(f, f->ch, CUTOFF_US, 2, s.ids[1], 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[0], s2);
    assert_int_equal(s.ids[1], u2);
    assert_int_equal(stale(f, f->ch, CUTOFF_US, 2, u2, 2).n, 0);
    s = stale(f, f->ch, CUTOFF_US, 2, s1, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], u1);

    /* The cutoff is strict, and a later one takes the fresh message in. */
    assert_int_equal(stale(f, f->ch, OLD_US, 2, 0, 50).n, 0);
    s = stale(f, f->ch, CUTOFF_US + 1, 2, 0, 50);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.ids[2], fresh);

    /* Only that channel. */
    s = stale(f, f->ch2, CUTOFF_US, 2, 0, 50);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], other);
    assert_int_equal(s.first.workspace_id, f->ws2);

    /* A callback's error stops the scan and comes back. */
    seen stop = {.stop_after = 1};
    assert_int_equal(ic_store_outbox_stale(f->c, f->ch, CUTOFF_US, 2, 0, 50, seen_cb, &stop),
                     IC_ERR_BUSY);
    assert_int_equal(stop.n, 1);
}

/* ---- the outbox load ------------------------------------------------------ */

/* Sending turns unknown (and its updated_us moves, so that the stale scan
 * waits reconcile_after from there); only queued ones come back. */
static void test_outbox_load_unknown(void **state)
{
    fx *f = *state;
    int64_t conv = 0, a = 0;
    int64_t k = contact(f, f->ch, "27824444444", &conv);
    int64_t sending = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    int64_t queued = queue_msg(f, f->ch, k, conv, IC_LANE_BULK);
    int64_t unknown = queue_msg(f, f->ch, k, conv, IC_LANE_REPLY);
    assert_true(take(f, f->ch, "node-a", T0, false, &a));
    assert_true(fenced(f, MARK, f->ch, sending, "node-a", a));
    set_updated(f, sending, OLD_US);
    set_msg(f, unknown, "unknown", OLD_US, 0);

    int64_t before = ic_now_us();
    seen s = {0};
    begin(f);
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, seen_cb, &s), IC_OK);
    commit(f);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], queued);
    assert_true(msg_is(f, sending, "unknown"));
    assert_true(msg_i64(f, sending, "updated_us") >= before);
    assert_true(msg_is(f, unknown, "unknown"));
    assert_int_equal(msg_i64(f, unknown, "updated_us"), OLD_US);

    /* Again: the same, and the unknown ones stay out. */
    s = (seen){0};
    begin(f);
    assert_int_equal(ic_store_outbox_load(f->c, f->ch, seen_cb, &s), IC_OK);
    commit(f);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], queued);

    /* The outbox index of migration 2 covers "unknown". */
    const char *idx = test_db_pg() ? "SELECT COUNT(*) FROM pg_indexes WHERE indexname ="
                                     " 'messages_outbox' AND indexdef LIKE '%unknown%'"
                                   : "SELECT COUNT(*) FROM sqlite_master WHERE name ="
                                     " 'messages_outbox' AND sql LIKE '%unknown%'";
    assert_int_equal(sql_i64(f->c, idx), 1);
}

/* ---- the outbox notification payload -------------------------------------- */

static void note_round_trip(const ic_outbox_note *n)
{
    char buf[128];
    ic_outbox_note back;
    ic_outbox_note_format(n, buf, sizeof buf);
    assert_int_equal(ic_outbox_note_parse(buf, &back), IC_OK);
    assert_int_equal(back.channel_id, n->channel_id);
    assert_int_equal(back.msg_id, n->msg_id);
    assert_int_equal(back.contact_id, n->contact_id);
    assert_int_equal(back.workspace_id, n->workspace_id);
    assert_int_equal(back.lane, n->lane);
    assert_int_equal(back.flags, n->flags);
}

static void note_rejects(const char *payload)
{
    ic_outbox_note out = {.channel_id = 9, .msg_id = 9};
    if (ic_outbox_note_parse(payload, &out) != IC_ERR_PARSE)
        fail_msg("payload accepted: \"%s\"", payload);
    assert_int_equal(out.channel_id, 0);
    assert_int_equal(out.msg_id, 0);
}

static void test_outbox_note(void **state)
{
    (void)state;
    note_round_trip(&(ic_outbox_note){1, 2, 3, 4, IC_LANE_REPLY, 0});
    note_round_trip(&(ic_outbox_note){77, 123456789, 42, 9, IC_LANE_BULK, IC_OUTBOX_NOTE_READ});
    note_round_trip(&(ic_outbox_note){INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, IC_LANE_BULK, 1});
    char buf[128];
    ic_outbox_note_format(&(ic_outbox_note){5, 6, 7, 8, IC_LANE_BULK, IC_OUTBOX_NOTE_READ}, buf,
                          sizeof buf);
    assert_string_equal(buf, "5,6,7,1,1,8");

    note_rejects("");
    note_rejects("1,2,3");
    note_rejects("1,2,3,0,0");
    note_rejects("a,b,c,d,e,f");
    note_rejects("1,2,3,0,0,x");
    note_rejects("-1,2,3,0,0,4");
    note_rejects("1,-2,3,0,0,4");
    note_rejects("1,2,3,0,0,-4");
    note_rejects("1,2,3,-1,0,4");
    note_rejects("1,2,3,7,0,4"); /* no lane 7 */
    note_rejects("1,2,3,0,2,4"); /* unknown flag */
    note_rejects("0,2,3,0,0,4"); /* ids start at 1 */
    note_rejects("1,2,3,0,0,0");
    note_rejects("1,2,3,0,0,4,5");
    note_rejects("1,2,3,0,0,4x");
    note_rejects("1,2,3,0,0,4,");
    note_rejects("1,,3,0,0,4");
    note_rejects(",1,2,3,0,0,4");
    note_rejects("1,2,3,0,0,123456789012345678901234567890");
    note_rejects("1,2,3,0,0,99999999999999999999"); /* above INT64_MAX */
    note_rejects("1,2,3,0,0,00000000000000000000000000004");
}

/* Only what ic_outbox_note_format writes is a payload: no signs or blanks
 * that strtoll lets through. Each one accepted is named before the test
 * fails. */
static void test_outbox_note_strict(void **state)
{
    (void)state;
    static const char *const bad[] = {"+1,2,3,0,0,4", " 1,2,3,0,0,4", "1,2,3,0,0, 4",
                                      "1,2,3,-0,0,4", "1,2,3,0,-0,4"};
    int accepted = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ic_outbox_note out;
        if (ic_outbox_note_parse(bad[i], &out) != IC_ERR_PARSE) {
            print_error("payload accepted: \"%s\"\n", bad[i]);
            accepted++;
        }
    }
    assert_int_equal(accepted, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lease_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fence_mark_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fence_requeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_load_unknown, setup, teardown),
        cmocka_unit_test(test_outbox_note),
        cmocka_unit_test(test_outbox_note_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
