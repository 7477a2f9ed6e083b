/* inbox_admin.c - a workspace's teams and labels (inbox.h). */
#include "store/inbox.h"
#include "store/inbox_int.h"
#include "store/sql.h"

#include "base/time.h"

static const char SQL_TEAMS[] =
    "SELECT id, name, auto_assign FROM teams WHERE workspace_id = $1 ORDER BY name, id";
static const char SQL_TEAM_GET[] =
    "SELECT id, name, auto_assign FROM teams WHERE workspace_id = $1 AND id = $2";
static const char SQL_TEAM_MEMBERS[] =
    "SELECT u.id, u.name FROM team_members m JOIN users u ON u.id = m.user_id"
    " WHERE m.team_id = $1 AND m.workspace_id = $2 ORDER BY u.name, u.id";
static const char SQL_TEAM_INSERT[] =
    "INSERT INTO teams (workspace_id, name, created_us) VALUES ($1, $2, $3) RETURNING id";
static const char SQL_TEAM_UPDATE[] =
    "UPDATE teams SET name = COALESCE($1, name),"
    " auto_assign = CASE WHEN CAST($2 AS BIGINT) < 0 THEN auto_assign ELSE $2 END"
    " WHERE workspace_id = $3 AND id = $4";
static const char SQL_TEAM_UNSET[] =
    "UPDATE conversations SET team_id = NULL WHERE workspace_id = $1 AND team_id = $2";
static const char SQL_TEAM_CLEAR[] =
    "DELETE FROM team_members WHERE workspace_id = $1 AND team_id = $2";
static const char SQL_TEAM_DELETE[] = "DELETE FROM teams WHERE workspace_id = $1 AND id = $2";
static const char SQL_TEAM_MEMBER_ADD[] =
    "INSERT INTO team_members (team_id, user_id, workspace_id) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING";

static const char SQL_LABELS[] =
    "SELECT id, name, color FROM labels WHERE workspace_id = $1 ORDER BY name, id";
static const char SQL_LABEL_GET[] =
    "SELECT id, name, color FROM labels WHERE workspace_id = $1 AND id = $2";
static const char SQL_LABEL_INSERT[] =
    "INSERT INTO labels (workspace_id, name, color, created_us) VALUES ($1, $2, $3, $4)"
    " RETURNING id";
static const char SQL_LABEL_UPDATE[] =
    "UPDATE labels SET name = COALESCE($1, name), color = COALESCE($2, color)"
    " WHERE workspace_id = $3 AND id = $4";
static const char SQL_LABEL_UNSET[] =
    "DELETE FROM conversation_labels WHERE workspace_id = $1 AND label_id = $2";
static const char SQL_LABEL_DELETE[] = "DELETE FROM labels WHERE workspace_id = $1 AND id = $2";

#define DEFAULT_COLOR "#6b7280"

static json_t *team_row(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "name", s, 1);
    json_object_set_new(o, "auto_assign", json_boolean(ic_sql_col_i64(s, 2) != 0));
    return o;
}

static json_t *member_row(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "name", s, 1);
    return o;
}

static ic_err add_members(ic_conn *c, int64_t ws, json_t *team)
{
    json_t *members = NULL;
    int64_t id = (int64_t)json_integer_value(json_object_get(team, "id"));
    ic_err err =
        ic_sql_all_json(c, SQL_TEAM_MEMBERS, IC_ARGS(IC_I64(id), IC_I64(ws)), member_row, &members);
    if (err == IC_OK)
        json_object_set_new(team, "members", members);
    return err;
}

ic_err ic_inbox_teams_list(ic_conn *c, int64_t ws, json_t **out)
{
    ic_err err = ic_sql_all_json(c, SQL_TEAMS, IC_ARGS(IC_I64(ws)), team_row, out);
    size_t i;
    json_t *t;
    json_array_foreach(err == IC_OK ? *out : NULL, i, t)
    {
        if (err == IC_OK)
            err = add_members(c, ws, t);
    }
    if (err != IC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return err;
}

ic_err ic_inbox_team_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    ic_err err = ic_sql_get_json(c, SQL_TEAM_GET, ws, id, team_row, out);
    if (err == IC_OK && (err = add_members(c, ws, *out)) != IC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return err;
}

ic_err ic_inbox_team_insert(ic_conn *tx, int64_t ws, const char *name, int64_t *id)
{
    return ic_sql_one_i64(tx, SQL_TEAM_INSERT,
                          IC_ARGS(IC_I64(ws), IC_TXT(name), IC_I64(ic_now_us())), id);
}

/* IC_ERR_NOT_FOUND when the statement changed no row. */
static ic_err run_one(ic_conn *tx, const char *sql, const ic_sql_arg *args, size_t n)
{
    int64_t changed = 0;
    ic_err err = ic_sql_run(tx, sql, args, n, &changed);
    if (err == IC_OK && changed == 0)
        err = IC_ERR_NOT_FOUND;
    return err;
}

ic_err ic_inbox_team_update(ic_conn *tx, int64_t ws, int64_t id, const char *name, int auto_assign)
{
    return run_one(tx, SQL_TEAM_UPDATE,
                   IC_ARGS(IC_TXT(name), IC_I64(auto_assign < 0 ? -1 : auto_assign != 0),
                           IC_I64(ws), IC_I64(id)));
}

ic_err ic_inbox_team_delete(ic_conn *tx, int64_t ws, int64_t id)
{
    ic_err err = ic_sql_run(tx, SQL_TEAM_UNSET, IC_ARGS(IC_I64(ws), IC_I64(id)), NULL);
    if (err == IC_OK)
        err = ic_sql_run(tx, SQL_TEAM_CLEAR, IC_ARGS(IC_I64(ws), IC_I64(id)), NULL);
    if (err == IC_OK)
        err = run_one(tx, SQL_TEAM_DELETE, IC_ARGS(IC_I64(ws), IC_I64(id)));
    return err;
}

ic_err ic_inbox_team_set_members(ic_conn *tx, int64_t ws, int64_t id, const json_t *user_ids)
{
    int64_t unused = 0;
    if (!json_is_array(user_ids))
        return IC_ERR_INVALID;
    ic_err err = ic_sql_one_i64(tx, SQL_TEAM_GET, IC_ARGS(IC_I64(ws), IC_I64(id)), &unused);
    size_t i;
    json_t *v;
    /* Every user is checked before anything changes. */
    json_array_foreach(user_ids, i, v)
    {
        if (err != IC_OK)
            return err;
        int64_t user = json_is_integer(v) ? json_integer_value(v) : 0;
        err = user > 0 ? ic_inbox_user_check(tx, ws, user, NULL) : IC_ERR_INVALID;
    }
    if (err == IC_OK)
        err = ic_sql_run(tx, SQL_TEAM_CLEAR, IC_ARGS(IC_I64(ws), IC_I64(id)), NULL);
    json_array_foreach(user_ids, i, v)
    {
        if (err != IC_OK)
            break;
        err = ic_sql_run(tx, SQL_TEAM_MEMBER_ADD,
                         IC_ARGS(IC_I64(id), IC_I64(json_integer_value(v)), IC_I64(ws)), NULL);
    }
    return err;
}

static json_t *label_row(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "name", s, 1);
    ic_sql_json_col_str(o, "color", s, 2);
    return o;
}

ic_err ic_inbox_labels_list(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_LABELS, IC_ARGS(IC_I64(ws)), label_row, out);
}

ic_err ic_inbox_label_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_LABEL_GET, ws, id, label_row, out);
}

ic_err ic_inbox_label_insert(ic_conn *tx, int64_t ws, const char *name, const char *color,
                             int64_t *id)
{
    return ic_sql_one_i64(tx, SQL_LABEL_INSERT,
                          IC_ARGS(IC_I64(ws), IC_TXT(name), IC_TXT(color ? color : DEFAULT_COLOR),
                                  IC_I64(ic_now_us())),
                          id);
}

ic_err ic_inbox_label_update(ic_conn *tx, int64_t ws, int64_t id, const char *name,
                             const char *color)
{
    return run_one(tx, SQL_LABEL_UPDATE,
                   IC_ARGS(IC_TXT(name), IC_TXT(color), IC_I64(ws), IC_I64(id)));
}

ic_err ic_inbox_label_delete(ic_conn *tx, int64_t ws, int64_t id)
{
    ic_err err = ic_sql_run(tx, SQL_LABEL_UNSET, IC_ARGS(IC_I64(ws), IC_I64(id)), NULL);
    if (err == IC_OK)
        err = run_one(tx, SQL_LABEL_DELETE, IC_ARGS(IC_I64(ws), IC_I64(id)));
    return err;
}
