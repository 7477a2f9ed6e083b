/* users.c - users for sign-in and the admin's endpoints; see users.h. */
#include "store/users.h"

#include "base/str.h"
#include "core/roles.h"
#include "store/sql.h"

#include <string.h>

#define CAPACITY_MAX 100

static const char SQL_BY_EMAIL[] =
    "SELECT id, workspace_id, email, name, role, password_hash, disabled_us,"
    " sessions_valid_after_us, capacity FROM users WHERE email = $1"
    " ORDER BY workspace_id LIMIT 20";
static const char SQL_GET[] =
    "SELECT id, workspace_id, email, name, role, password_hash, disabled_us,"
    " sessions_valid_after_us, capacity FROM users WHERE workspace_id = $1 AND id = $2";
static const char SQL_LIST_JSON[] =
    "SELECT id, workspace_id, email, name, role, disabled_us, capacity, created_us, updated_us"
    " FROM users WHERE workspace_id = $1 ORDER BY id";
static const char SQL_GET_JSON[] =
    "SELECT id, workspace_id, email, name, role, disabled_us, capacity, created_us, updated_us"
    " FROM users WHERE workspace_id = $1 AND id = $2";
static const char SQL_UPDATE[] =
    "UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role),"
    " disabled_us = CASE WHEN CAST($3 AS BIGINT) = 1 AND disabled_us = 0 THEN $4"
    " WHEN CAST($3 AS BIGINT) = 0 THEN 0 ELSE disabled_us END,"
    " capacity = CASE WHEN CAST($5 AS BIGINT) >= 0 THEN CAST($5 AS BIGINT) ELSE capacity END, "
    "updated_us = $4"
    " WHERE workspace_id = $6 AND id = $7";
static const char SQL_SET_PASSWORD[] =
    "UPDATE users SET password_hash = $1, updated_us = $2 WHERE workspace_id = $3 AND id = $4";
static const char SQL_END_SESSIONS[] =
    "UPDATE users SET sessions_valid_after_us = $1 WHERE workspace_id = $2 AND id = $3";

static void read_row(ic_stmt *s, ic_user_row *u)
{
    memset(u, 0, sizeof *u);
    u->id = ic_sql_col_i64(s, 0);
    u->ws = ic_sql_col_i64(s, 1);
    const char *t;
    if ((t = ic_sql_col_text(s, 2)))
        ic_strlcpy(u->email, t, sizeof u->email);
    if ((t = ic_sql_col_text(s, 3)))
        ic_strlcpy(u->name, t, sizeof u->name);
    if ((t = ic_sql_col_text(s, 4)))
        ic_strlcpy(u->role, t, sizeof u->role);
    if ((t = ic_sql_col_text(s, 5)))
        ic_strlcpy(u->password_hash, t, sizeof u->password_hash);
    u->disabled_us = ic_sql_col_i64(s, 6);
    u->sessions_valid_after_us = ic_sql_col_i64(s, 7);
    u->capacity = ic_sql_col_i64(s, 8);
}

ic_err ic_store_users_by_email(ic_conn *c, const char *email, ic_user_row *out, size_t max,
                               size_t *n)
{
    ic_stmt *s = NULL;
    bool row = false;
    *n = 0;
    if (!email || !*email || strlen(email) > IC_USER_EMAIL_MAX)
        return IC_OK;
    ic_err e = ic_sql_query(c, SQL_BY_EMAIL, IC_ARGS(IC_TXT(email)), &s);
    while (e == IC_OK && (e = ic_sql_step(s, &row)) == IC_OK && row && *n < max)
        read_row(s, &out[(*n)++]);
    ic_sql_done(s);
    return e;
}

ic_err ic_store_user_get(ic_conn *c, int64_t ws, int64_t id, ic_user_row *out)
{
    ic_stmt *s = NULL;
    ic_err e = ic_sql_row(c, SQL_GET, IC_ARGS(IC_I64(ws), IC_I64(id)), &s);
    if (e != IC_OK)
        return e;
    read_row(s, out);
    ic_sql_done(s);
    return IC_OK;
}

static json_t *user_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    json_object_set_new(o, "workspace_id", json_integer(ic_sql_col_i64(s, 1)));
    ic_sql_json_col_str(o, "email", s, 2);
    ic_sql_json_col_str(o, "name", s, 3);
    ic_sql_json_col_str(o, "role", s, 4);
    json_object_set_new(o, "disabled", json_boolean(ic_sql_col_i64(s, 5) != 0));
    json_object_set_new(o, "capacity", json_integer(ic_sql_col_i64(s, 6)));
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 7));
    ic_sql_json_time(o, "updated_at", ic_sql_col_i64(s, 8));
    return o;
}

ic_err ic_store_users_json(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_LIST_JSON, IC_ARGS(IC_I64(ws)), user_json, out);
}

ic_err ic_store_user_get_json(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_GET_JSON, ws, id, user_json, out);
}

/* An UPDATE of one user that must find it. */
static ic_err update_one(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n)
{
    int64_t changes = 0;
    ic_err e = ic_sql_run(c, sql, args, n, &changes);
    if (e == IC_OK && changes == 0)
        e = IC_ERR_NOT_FOUND;
    return e;
}

ic_err ic_store_user_update(ic_conn *c, int64_t ws, int64_t id, const ic_user_change *ch,
                            int64_t now)
{
    if ((ch->role && ic_role_parse(ch->role) == IC_ROLE_NONE) ||
        (ch->name && (!*ch->name || strlen(ch->name) > sizeof(((ic_user_row *)0)->name) - 1)) ||
        ch->disabled < -1 || ch->disabled > 1 || ch->capacity < -1 || ch->capacity > CAPACITY_MAX)
        return IC_ERR_INVALID;
    return update_one(c, SQL_UPDATE,
                      IC_ARGS(ch->name ? IC_TXT(ch->name) : IC_NUL,
                              ch->role ? IC_TXT(ch->role) : IC_NUL, IC_I64(ch->disabled),
                              IC_I64(now), IC_I64(ch->capacity), IC_I64(ws), IC_I64(id)));
}

ic_err ic_store_user_set_password(ic_conn *c, int64_t ws, int64_t id, const char *password_hash,
                                  int64_t now)
{
    if (!password_hash || !*password_hash)
        return IC_ERR_INVALID;
    return update_one(c, SQL_SET_PASSWORD,
                      IC_ARGS(IC_TXT(password_hash), IC_I64(now), IC_I64(ws), IC_I64(id)));
}

ic_err ic_store_user_end_sessions(ic_conn *c, int64_t ws, int64_t id, int64_t now)
{
    return update_one(c, SQL_END_SESSIONS, IC_ARGS(IC_I64(now), IC_I64(ws), IC_I64(id)));
}
