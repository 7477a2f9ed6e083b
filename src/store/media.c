/* media.c - media files received from or sent to WhatsApp. */
#include "store/sql.h"
#include "store/store.h"

#include "base/time.h"

#include <string.h>

#define ID_MAX_LEN 256
#define PATH_MAX_LEN 1024
#define MIME_MAX_LEN 255

static const char SQL_INSERT_KEYED[] =
    "INSERT INTO media (workspace_id, channel_id, wa_media_id, mime_type, sha256, path, state,"
    " size, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
    " ON CONFLICT (channel_id, wa_media_id) DO NOTHING RETURNING id";
static const char SQL_FIND[] =
    "SELECT id FROM media WHERE channel_id = $1 AND wa_media_id = $2 AND workspace_id = $3";
static const char SQL_UPDATE[] =
    "UPDATE media SET state = $1, path = $2, size = $3, sha256 = $4,"
    " mime_type = COALESCE($5, mime_type), updated_us = $6 WHERE id = $7 AND workspace_id = $8";
static const char SQL_SET_WA_ID[] = "UPDATE media SET wa_media_id = $1, updated_us = $2"
                                    " WHERE id = $3 AND workspace_id = $4";

#define MEDIA_COLS                                                                                 \
    "id, channel_id, wa_media_id, mime_type, size, sha256, state, path, created_us, workspace_id"

static const char SQL_GET[] =
    "SELECT " MEDIA_COLS " FROM media WHERE workspace_id = $1 AND id = $2";
static const char SQL_PENDING[] = "SELECT " MEDIA_COLS " FROM media WHERE state = 'pending'"
                                  " ORDER BY id LIMIT $1";

static bool state_valid(const char *st)
{
    static const char *const ok[] = {"pending", "stored", "failed", "too_big"};
    for (size_t i = 0; st && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(st, ok[i]) == 0)
            return true;
    return false;
}

/* A stored path is relative to the media folder and never leaves it. */
static bool path_valid(const char *p)
{
    if (!p)
        return true;
    if (!*p || *p == '/' || strlen(p) > PATH_MAX_LEN)
        return false;
    for (const char *seg = p; seg; seg = strchr(seg, '/')) {
        if (*seg == '/')
            seg++;
        if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0'))
            return false;
    }
    return true;
}

static bool len_ok(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

ic_err ic_store_media_upsert(ic_conn *c, ic_media_row *m)
{
    const char *state = m->state ? m->state : "pending";
    if (m->workspace_id <= 0 || m->channel_id <= 0 || !state_valid(state) || !path_valid(m->path) ||
        !len_ok(m->wa_media_id, ID_MAX_LEN) || !len_ok(m->mime_type, MIME_MAX_LEN) ||
        !len_ok(m->sha256, 128) || m->size < 0)
        return IC_ERR_INVALID;
    m->state = state;
    ic_stmt *s = NULL;
    bool row = false;
    ic_err err =
        ic_sql_query(c, SQL_INSERT_KEYED,
                     IC_ARGS(IC_I64(m->workspace_id), IC_I64(m->channel_id), IC_TXT(m->wa_media_id),
                             IC_TXT(m->mime_type), IC_TXT(m->sha256), IC_TXT(m->path),
                             IC_TXT(state), IC_I64(m->size), IC_I64(ic_now_us())),
                     &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (row) {
        m->id = ic_sql_col_i64(s, 0);
        goto out;
    }
    ic_sql_done(s);
    s = NULL;
    /* Only a keyed row can conflict: it is already there. */
    err = ic_sql_one_i64(
        c, SQL_FIND,
        IC_ARGS(IC_I64(m->channel_id), IC_TXT(m->wa_media_id), IC_I64(m->workspace_id)), &m->id);
    if (err == IC_ERR_NOT_FOUND)
        err = IC_ERR_EXISTS; /* the channel's row belongs to another workspace */
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_store_media_update(ic_conn *c, int64_t ws, int64_t id, const char *state,
                             const char *path, int64_t size, const char *sha256,
                             const char *mime_type)
{
    int64_t changed = 0;
    if (!state_valid(state) || !path_valid(path) || size < 0 || !len_ok(sha256, 128) ||
        !len_ok(mime_type, MIME_MAX_LEN))
        return IC_ERR_INVALID;
    ic_err err = ic_sql_run(c, SQL_UPDATE,
                            IC_ARGS(IC_TXT(state), IC_TXT(path), IC_I64(size), IC_TXT(sha256),
                                    IC_TXT(mime_type), IC_I64(ic_now_us()), IC_I64(id), IC_I64(ws)),
                            &changed);
    if (err == IC_OK && changed == 0)
        err = IC_ERR_NOT_FOUND;
    return err;
}

/* Records Meta's id of an uploaded file; see store.h. */
ic_err ic_store_media_set_wa_id(ic_conn *c, int64_t ws, int64_t id, const char *wa_media_id)
{
    int64_t changed = 0;
    if (!wa_media_id || !*wa_media_id || !len_ok(wa_media_id, ID_MAX_LEN))
        return IC_ERR_INVALID;
    ic_err err = ic_sql_run(
        c, SQL_SET_WA_ID, IC_ARGS(IC_TXT(wa_media_id), IC_I64(ic_now_us()), IC_I64(id), IC_I64(ws)),
        &changed);
    if (err == IC_OK && changed == 0)
        err = IC_ERR_NOT_FOUND;
    return err;
}

static json_t *media_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    json_object_set_new(o, "channel_id", json_integer(ic_sql_col_i64(s, 1)));
    ic_sql_json_col_str(o, "wa_media_id", s, 2);
    ic_sql_json_col_str(o, "mime_type", s, 3);
    json_object_set_new(o, "size", json_integer(ic_sql_col_i64(s, 4)));
    ic_sql_json_col_str(o, "sha256", s, 5);
    ic_sql_json_col_str(o, "state", s, 6);
    ic_sql_json_col_str(o, "path", s, 7);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 8));
    return o;
}

ic_err ic_store_media_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_GET, ws, id, media_json, out);
}

/* A pending row for the fetcher, which also needs the workspace to record
 * the result. */
static json_t *pending_json(ic_stmt *s)
{
    json_t *o = media_json(s);
    json_object_set_new(o, "workspace_id", json_integer(ic_sql_col_i64(s, 9)));
    return o;
}

ic_err ic_store_media_pending(ic_conn *c, int limit, json_t **out)
{
    return ic_sql_all_json(c, SQL_PENDING, IC_ARGS(IC_I64(ic_sql_page_limit(limit))), pending_json,
                           out);
}
