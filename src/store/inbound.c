/* inbound.c - one inbound message in as few statements as the database
 * allows: the message row, its contact and its conversation. */
#include "store/sql.h"
#include "store/store.h"
#include "store/writer_pass.h"

#include "base/time.h"

#include <string.h>

#define FROM_MAX_LEN 128 /* contacts.c's limit on a WhatsApp id */
#define NAME_MAX_LEN 1024
#define WA_ID_MAX_LEN 256 /* messages.c's limit on Meta's message id */
#define TYPE_MAX_LEN 64

/* The message, with the ids of its contact and of the contact's open
 * conversation on the channel (NULL when none), when the contact exists; no
 * row when the contact does not exist or the message is a duplicate. The
 * open conversation is a subquery, not a join: with a LEFT JOIN the insert
 * took about 0.9 ms on PostgreSQL in test_writer's fresh database (plans
 * made while the tables were small), with the subquery it uses the indexes.
 * The integer parameters are cast so that PostgreSQL types them as in a VALUES
 * list. SQLite needs the WHERE before ON CONFLICT (it always has one). */
static const char SQL_INSERT_KNOWN[] =
    "INSERT INTO messages (workspace_id, channel_id, contact_id, conversation_id, direction,"
    " lane, wa_id, type, text, media_id, mime_type, reply_to_wa_id, content_json, status,"
    " wa_us, created_us, updated_us)"
    " SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), k.id,"
    " (SELECT v.id FROM conversations v WHERE v.contact_id = k.id"
    " AND v.channel_id = CAST($2 AS BIGINT) AND v.status = 'open'),"
    " 'in', 0, $3, $4, $5, $6, $7, $8, $9, $10, CAST($11 AS BIGINT), CAST($12 AS BIGINT),"
    " CAST($12 AS BIGINT)"
    " FROM contacts k WHERE k.workspace_id = CAST($1 AS BIGINT) AND k.wa_id = $13"
    " ON CONFLICT (channel_id, wa_id) DO NOTHING RETURNING id, contact_id, conversation_id";
/* The window and the last message time move forward only ($1 is Meta's
 * time); the conversation is picked by the WHERE that follows. */
#define CONV_TOUCH_SET                                                                             \
    "UPDATE conversations SET"                                                                     \
    " last_inbound_us = CASE WHEN last_inbound_us < CAST($1 AS BIGINT) THEN CAST($1 AS BIGINT)"    \
    " ELSE last_inbound_us END,"                                                                   \
    " last_message_us = CASE WHEN last_message_us < CAST($1 AS BIGINT) THEN CAST($1 AS BIGINT)"    \
    " ELSE last_message_us END"
#define CONV_TOUCH_MOVES                                                                           \
    "(last_inbound_us < CAST($1 AS BIGINT) OR last_message_us < CAST($1 AS BIGINT))"
static const char SQL_CONV_TOUCH[] =
    CONV_TOUCH_SET " WHERE id = $2 AND workspace_id = $3 AND " CONV_TOUCH_MOVES;
static const char SQL_CONV_OPEN[] =
    "INSERT INTO conversations (workspace_id, contact_id, channel_id, status, opened_us,"
    " last_message_us, last_inbound_us) VALUES ($1, $2, $3, 'open', $4, $5, $5) RETURNING id";
static const char SQL_MESSAGE_CONV[] =
    "UPDATE messages SET conversation_id = $1 WHERE id = $2 AND workspace_id = $3";
/* last_inbound_us forward only ($1), and the name when a new one is given
 * ($2, with updated_us $3 then): the contact upsert's rename and the
 * conversation touch's contact update in one statement, which writes nothing
 * when neither changes; the contact is picked by the WHERE in between. */
#define CONTACT_SEEN_SET                                                                           \
    "UPDATE contacts SET"                                                                          \
    " last_inbound_us = CASE WHEN last_inbound_us < CAST($1 AS BIGINT) THEN CAST($1 AS BIGINT)"    \
    " ELSE last_inbound_us END,"                                                                   \
    " name = COALESCE(CAST($2 AS TEXT), name),"                                                    \
    " updated_us = CASE WHEN CAST($2 AS TEXT) IS NULL OR name = CAST($2 AS TEXT)"                  \
    " THEN updated_us ELSE CAST($3 AS BIGINT) END"
#define CONTACT_SEEN_CHANGES                                                                       \
    " AND (last_inbound_us < CAST($1 AS BIGINT)"                                                   \
    " OR (CAST($2 AS TEXT) IS NOT NULL AND (name IS NULL OR name <> CAST($2 AS TEXT))))"
static const char SQL_CONTACT_SEEN[] =
    CONTACT_SEEN_SET " WHERE id = $4 AND workspace_id = $5" CONTACT_SEEN_CHANGES;

/* The writer's optimistic pass (writer_pass.h) on PostgreSQL: the message
 * of a known contact with an open conversation on the channel, needing no
 * answer, and failing when that guess is wrong: a new contact leaves
 * contact_id NULL (NOT NULL), no open conversation makes conversation_id 0
 * (foreign key), a duplicate violates the unique (channel_id, wa_id). The
 * writer then runs the batch again and the general path below decides. */
static const char SQL_FAST_INSERT[] =
    "INSERT INTO messages (workspace_id, channel_id, contact_id, conversation_id, direction,"
    " lane, wa_id, type, text, media_id, mime_type, reply_to_wa_id, content_json, status,"
    " wa_us, created_us, updated_us) VALUES ($1, $2,"
    " (SELECT k.id FROM contacts k WHERE k.workspace_id = $1 AND k.wa_id = $3),"
    " COALESCE((SELECT v.id FROM conversations v WHERE v.contact_id = (SELECT k.id FROM contacts k"
    " WHERE k.workspace_id = $1 AND k.wa_id = $3) AND v.channel_id = $2 AND v.status = 'open'), 0),"
    " 'in', 0, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)";
/* Then the touch of the conversation the message went into... */
static const char SQL_FAST_CONV_TOUCH[] =
    CONV_TOUCH_SET " WHERE id = (SELECT m.conversation_id FROM messages m WHERE m.channel_id = $2"
                   " AND m.wa_id = $3) AND workspace_id = $4 AND " CONV_TOUCH_MOVES;
/* ... and of its contact, by WhatsApp id. */
static const char SQL_FAST_CONTACT_SEEN[] =
    CONTACT_SEEN_SET " WHERE workspace_id = $4 AND wa_id = $5" CONTACT_SEEN_CHANGES;

static bool inbound_valid(const ic_message *m, const char *from, const char *name)
{
    return m->workspace_id > 0 && m->channel_id > 0 && from && *from &&
           strlen(from) <= FROM_MAX_LEN && (!name || strlen(name) <= NAME_MAX_LEN) && m->type &&
           *m->type && strlen(m->type) <= TYPE_MAX_LEN && m->wa_id && *m->wa_id &&
           strlen(m->wa_id) <= WA_ID_MAX_LEN;
}

/* The first message of a contact, or the first on this channel: the
 * general path, one step at a time. */
static ic_err inbound_new_contact(ic_conn *c, ic_message *m, const char *from, const char *name,
                                  bool *duplicate)
{
    bool seen = false;
    ic_err err = ic_store_message_exists(c, m->channel_id, m->wa_id, &seen);
    if (err != IC_OK)
        return err;
    if (seen) {
        *duplicate = true;
        return IC_OK;
    }
    err = ic_store_contact_upsert(c, m->workspace_id, from, name, &m->contact_id);
    if (err == IC_OK)
        err = ic_store_conversation_touch_inbound(c, m->workspace_id, m->channel_id, m->contact_id,
                                                  m->wa_us, &m->conversation_id);
    if (err == IC_OK)
        err = ic_store_message_insert_inbound(c, m, duplicate);
    return err;
}

/* The optimistic pass: three statements sent without waiting (see
 * SQL_FAST_INSERT). The ids are not known here: m->id, m->contact_id and
 * m->conversation_id are left 0. */
static ic_err inbound_optimistic(ic_conn *c, const ic_message *m, const char *from,
                                 const char *name)
{
    int64_t ws = m->workspace_id;
    ic_err err =
        ic_sql_run(c, SQL_FAST_INSERT,
                   IC_ARGS(IC_I64(ws), IC_I64(m->channel_id), IC_TXT(from), IC_TXT(m->wa_id),
                           IC_TXT(m->type), IC_TXT(m->text), IC_TXT(m->media_id),
                           IC_TXT(m->mime_type), IC_TXT(m->reply_to_wa_id), IC_TXT(m->content_json),
                           IC_TXT(m->status), IC_I64(m->wa_us), IC_I64(m->created_us)),
                   NULL);
    if (err == IC_OK)
        err = ic_sql_run(
            c, SQL_FAST_CONV_TOUCH,
            IC_ARGS(IC_I64(m->wa_us), IC_I64(m->channel_id), IC_TXT(m->wa_id), IC_I64(ws)), NULL);
    if (err == IC_OK)
        err = ic_sql_run(
            c, SQL_FAST_CONTACT_SEEN,
            IC_ARGS(IC_I64(m->wa_us), IC_TXT(name), IC_I64(ic_now_us()), IC_I64(ws), IC_TXT(from)),
            NULL);
    return err;
}

ic_err ic_store_inbound_message(ic_conn *c, ic_message *m, const char *from, const char *name,
                                bool *duplicate)
{
    ic_stmt *s = NULL;
    bool row = false, no_conv = false;
    *duplicate = false;
    if (!inbound_valid(m, from, name))
        return IC_ERR_INVALID;
    if (name && !*name)
        name = NULL;
    if (!m->status)
        m->status = "received";
    if (m->wa_us <= 0)
        m->wa_us = ic_now_us();
    if (m->created_us == 0)
        m->created_us = ic_now_us();
    m->direction = IC_DIR_IN;
    m->lane = IC_LANE_REPLY;
    if (ic_writer_optimistic(c)) {
        m->id = m->contact_id = m->conversation_id = 0;
        return inbound_optimistic(c, m, from, name);
    }
    int64_t ws = m->workspace_id;
    ic_err err =
        ic_sql_query(c, SQL_INSERT_KNOWN,
                     IC_ARGS(IC_I64(ws), IC_I64(m->channel_id), IC_TXT(m->wa_id), IC_TXT(m->type),
                             IC_TXT(m->text), IC_TXT(m->media_id), IC_TXT(m->mime_type),
                             IC_TXT(m->reply_to_wa_id), IC_TXT(m->content_json), IC_TXT(m->status),
                             IC_I64(m->wa_us), IC_I64(m->created_us), IC_TXT(from)),
                     &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (!row) {
        ic_sql_done(s);
        s = NULL;
        err = inbound_new_contact(c, m, from, name, duplicate);
        goto out;
    }
    m->id = ic_sql_col_i64(s, 0);
    m->contact_id = ic_sql_col_i64(s, 1);
    no_conv = ic_sql_col_null(s, 2);
    m->conversation_id = no_conv ? 0 : ic_sql_col_i64(s, 2);
    ic_sql_done(s);
    s = NULL;
    if (no_conv) {
        err = ic_sql_one_i64(c, SQL_CONV_OPEN,
                             IC_ARGS(IC_I64(ws), IC_I64(m->contact_id), IC_I64(m->channel_id),
                                     IC_I64(ic_now_us()), IC_I64(m->wa_us)),
                             &m->conversation_id);
        if (err == IC_OK)
            err = ic_sql_run(c, SQL_MESSAGE_CONV,
                             IC_ARGS(IC_I64(m->conversation_id), IC_I64(m->id), IC_I64(ws)), NULL);
    } else {
        err = ic_sql_run(c, SQL_CONV_TOUCH,
                         IC_ARGS(IC_I64(m->wa_us), IC_I64(m->conversation_id), IC_I64(ws)), NULL);
    }
    if (err != IC_OK)
        goto out;
    err = ic_sql_run(c, SQL_CONTACT_SEEN,
                     IC_ARGS(IC_I64(m->wa_us), IC_TXT(name), IC_I64(ic_now_us()),
                             IC_I64(m->contact_id), IC_I64(ws)),
                     NULL);
out:
    ic_sql_done(s);
    return err;
}
