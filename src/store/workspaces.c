/* workspaces.c - workspaces, users and API tokens. */
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/time.h"

#include <string.h>

#define NAME_MAX_LEN 200
#define EMAIL_MAX_LEN 320

static const char SQL_WS_INSERT[] =
    "INSERT INTO workspaces (name, created_us) VALUES ($1, $2) RETURNING id";
static const char SQL_WS_GET[] = "SELECT name FROM workspaces WHERE id = $1";

static const char SQL_USER_INSERT[] =
    "INSERT INTO users (workspace_id, email, name, role, password_hash, created_us)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO api_tokens (workspace_id, name, sha256, created_us)"
    " VALUES ($1, $2, $3, $4) RETURNING id";
static const char SQL_TOKEN_LIST[] = "SELECT id, name, created_us, revoked_us FROM api_tokens"
                                     " WHERE workspace_id = $1 ORDER BY id DESC";
static const char SQL_TOKEN_REVOKE[] = "UPDATE api_tokens SET revoked_us = $1"
                                       " WHERE workspace_id = $2 AND id = $3 AND revoked_us = 0";
static const char SQL_TOKEN_LOOKUP[] =
    "SELECT workspace_id, id, revoked_us FROM api_tokens WHERE sha256 = $1";

ic_err ic_store_workspace_insert(ic_conn *c, const char *name, int64_t *id)
{
    if (!name || !*name || strlen(name) > NAME_MAX_LEN)
        return IC_ERR_INVALID;
    return ic_sql_one_i64(c, SQL_WS_INSERT, IC_ARGS(IC_TXT(name), IC_I64(ic_now_us())), id);
}

ic_err ic_store_workspace_get(ic_conn *c, int64_t id, char **name_out)
{
    ic_stmt *s = NULL;
    *name_out = NULL;
    ic_err err = ic_sql_row(c, SQL_WS_GET, IC_ARGS(IC_I64(id)), &s);
    if (err != IC_OK)
        return err;
    *name_out = ic_strdup(ic_sql_col_text(s, 0));
    ic_sql_done(s);
    return IC_OK;
}

static bool role_valid(const char *role)
{
    static const char *const roles[] = {"admin", "supervisor", "operator", "viewer"};
    for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

ic_err ic_store_user_insert(ic_conn *c, int64_t ws, const char *email, const char *name,
                            const char *role, const char *password_hash, int64_t *id)
{
    if (!email || !*email || strlen(email) > EMAIL_MAX_LEN || !role_valid(role) || !password_hash ||
        !*password_hash)
        return IC_ERR_INVALID;
    if (name && strlen(name) > NAME_MAX_LEN)
        return IC_ERR_INVALID;
    return ic_sql_one_i64(c, SQL_USER_INSERT,
                          IC_ARGS(IC_I64(ws), IC_TXT(email), IC_TXT(name ? name : ""), IC_TXT(role),
                                  IC_TXT(password_hash), IC_I64(ic_now_us())),
                          id);
}

static bool sha256_hex_valid(const char *h)
{
    if (!h || strlen(h) != 64)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

ic_err ic_store_token_insert(ic_conn *c, int64_t ws, const char *name, const char *token_sha256,
                             int64_t *id)
{
    if (!sha256_hex_valid(token_sha256) || (name && strlen(name) > NAME_MAX_LEN))
        return IC_ERR_INVALID;
    return ic_sql_one_i64(
        c, SQL_TOKEN_INSERT,
        IC_ARGS(IC_I64(ws), IC_TXT(name ? name : ""), IC_TXT(token_sha256), IC_I64(ic_now_us())),
        id);
}

static json_t *token_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "name", s, 1);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 2));
    ic_sql_json_time(o, "revoked_at", ic_sql_col_i64(s, 3));
    return o;
}

ic_err ic_store_tokens_json(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_TOKEN_LIST, IC_ARGS(IC_I64(ws)), token_json, out);
}

ic_err ic_store_token_revoke(ic_conn *c, int64_t ws, int64_t id)
{
    int64_t n = 0;
    ic_err err =
        ic_sql_run(c, SQL_TOKEN_REVOKE, IC_ARGS(IC_I64(ic_now_us()), IC_I64(ws), IC_I64(id)), &n);
    if (err == IC_OK && n == 0)
        err = IC_ERR_NOT_FOUND;
    return err;
}

ic_err ic_store_token_lookup(ic_conn *c, const char *token_sha256, int64_t *ws, int64_t *token_id)
{
    ic_stmt *s = NULL;
    bool row = false;
    if (!token_sha256 || strlen(token_sha256) != 64)
        return IC_ERR_AUTH;
    ic_err err = ic_sql_query(c, SQL_TOKEN_LOOKUP, IC_ARGS(IC_TXT(token_sha256)), &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (!row || ic_sql_col_i64(s, 2) != 0) {
        err = IC_ERR_AUTH;
        goto out;
    }
    *ws = ic_sql_col_i64(s, 0);
    if (token_id)
        *token_id = ic_sql_col_i64(s, 1);
out:
    ic_sql_done(s);
    return err;
}
