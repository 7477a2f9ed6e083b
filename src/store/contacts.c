/* contacts.c - the people who write to a workspace. */
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"

#include <stdlib.h>
#include <string.h>

#define WA_ID_MAX_LEN 128
#define NAME_MAX_LEN 1024
#define LANGUAGE_MAX_LEN 35 /* BCP 47 tags stay well under this */
#define SEARCH_MAX_LEN 200
#define FIELDS_MAX_BYTES 65536

#define CONTACT_COLS "id, wa_id, name, language, fields, created_us, updated_us, last_inbound_us"

static const char SQL_FIND[] =
    "SELECT id, name FROM contacts WHERE workspace_id = $1 AND wa_id = $2";
static const char SQL_RENAME[] =
    "UPDATE contacts SET name = $1, updated_us = $2 WHERE id = $3 AND workspace_id = $4";
static const char SQL_INSERT[] =
    "INSERT INTO contacts (workspace_id, wa_id, name, fields, created_us, updated_us)"
    " VALUES ($1, $2, $3, '{}', $4, $4) RETURNING id";
static const char SQL_GET[] =
    "SELECT " CONTACT_COLS " FROM contacts WHERE workspace_id = $1 AND id = $2";
static const char SQL_LIST[] = "SELECT " CONTACT_COLS " FROM contacts"
                               " WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
static const char SQL_SEARCH[] =
    "SELECT " CONTACT_COLS " FROM contacts"
    " WHERE workspace_id = $1 AND id < $2"
    " AND (lower(name) LIKE $3 ESCAPE '\\' OR wa_id LIKE $4 ESCAPE '\\')"
    " ORDER BY id DESC LIMIT $5";
static const char SQL_PATCH_READ[] =
    "SELECT name, language, fields FROM contacts WHERE workspace_id = $1 AND id = $2";
static const char SQL_PATCH_WRITE[] =
    "UPDATE contacts SET name = $1, language = $2, fields = $3, updated_us = $4"
    " WHERE id = $5 AND workspace_id = $6";

static bool wa_id_valid(const char *wa_id)
{
    return wa_id && *wa_id && strlen(wa_id) <= WA_ID_MAX_LEN;
}

ic_err ic_store_contact_upsert(ic_conn *c, int64_t ws, const char *wa_id, const char *name,
                               int64_t *contact_id)
{
    ic_stmt *s = NULL;
    bool row = false;
    if (!wa_id_valid(wa_id) || (name && strlen(name) > NAME_MAX_LEN))
        return IC_ERR_INVALID;
    if (name && !*name)
        name = NULL;
    ic_err err = ic_sql_query(c, SQL_FIND, IC_ARGS(IC_I64(ws), IC_TXT(wa_id)), &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (row) {
        int64_t id = ic_sql_col_i64(s, 0);
        bool rename = name && !ic_str_eq(name, ic_sql_col_text(s, 1));
        ic_sql_done(s);
        s = NULL;
        if (rename)
            err = ic_sql_run(c, SQL_RENAME,
                             IC_ARGS(IC_TXT(name), IC_I64(ic_now_us()), IC_I64(id), IC_I64(ws)),
                             NULL);
        if (err == IC_OK)
            *contact_id = id;
        goto out;
    }
    ic_sql_done(s);
    s = NULL;
    err = ic_sql_one_i64(c, SQL_INSERT,
                         IC_ARGS(IC_I64(ws), IC_TXT(wa_id), IC_TXT(name), IC_I64(ic_now_us())),
                         contact_id);
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_store_contact_by_wa_id(ic_conn *c, int64_t ws, const char *wa_id, int64_t *id)
{
    if (!wa_id_valid(wa_id))
        return IC_ERR_NOT_FOUND;
    return ic_sql_one_i64(c, SQL_FIND, IC_ARGS(IC_I64(ws), IC_TXT(wa_id)), id);
}

static json_t *contact_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "wa_id", s, 1);
    ic_sql_json_col_str(o, "name", s, 2);
    ic_sql_json_col_str(o, "language", s, 3);
    ic_sql_json_col_doc(o, "fields", s, 4);
    if (!json_is_object(json_object_get(o, "fields")))
        json_object_set_new(o, "fields", json_object());
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 5));
    ic_sql_json_time(o, "updated_at", ic_sql_col_i64(s, 6));
    ic_sql_json_time(o, "last_inbound_at", ic_sql_col_i64(s, 7));
    return o;
}

/* Appends s to b with LIKE's wildcards and the escape character escaped;
 * lowercase ASCII when lower is set. */
static void like_escape(ic_buf *b, const char *s, bool lower)
{
    for (; *s; s++) {
        char ch = *s;
        if (ch == '%' || ch == '_' || ch == '\\')
            ic_buf_putc(b, '\\');
        if (lower && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        ic_buf_putc(b, ch);
    }
}

ic_err ic_store_contacts_list(ic_conn *c, int64_t ws, const char *search, int64_t cursor, int limit,
                              json_t **items, int64_t *next)
{
    ic_stmt *s = NULL;
    ic_buf name_pat = IC_BUF_INIT, id_pat = IC_BUF_INIT;
    ic_err err = IC_OK;
    *items = NULL;
    *next = 0;
    limit = ic_sql_page_limit(limit);
    int64_t before = ic_sql_page_cursor(cursor);
    if (search && strlen(search) > SEARCH_MAX_LEN) {
        err = IC_ERR_INVALID;
        goto out;
    }
    if (search && *search) {
        ic_buf_putc(&name_pat, '%');
        like_escape(&name_pat, search, true);
        ic_buf_putc(&name_pat, '%');
        like_escape(&id_pat, search, false);
        ic_buf_putc(&id_pat, '%');
        err = ic_sql_query(c, SQL_SEARCH,
                           IC_ARGS(IC_I64(ws), IC_I64(before), IC_TXT(ic_buf_cstr(&name_pat)),
                                   IC_TXT(ic_buf_cstr(&id_pat)), IC_I64(limit + 1)),
                           &s);
    } else {
        err = ic_sql_query(c, SQL_LIST, IC_ARGS(IC_I64(ws), IC_I64(before), IC_I64(limit + 1)), &s);
    }
    if (err != IC_OK)
        goto out;
    err = ic_sql_page(s, limit, contact_json, items, next);
    s = NULL;
out:
    ic_sql_done(s);
    ic_buf_free(&name_pat);
    ic_buf_free(&id_pat);
    return err;
}

ic_err ic_store_contact_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_GET, ws, id, contact_json, out);
}

/* Reads an optional string-or-null member of patch into *val (borrowed);
 * *present says whether the member was there. */
static ic_err patch_str(const json_t *patch, const char *key, size_t max, bool *present,
                        const char **val)
{
    json_t *v = json_object_get(patch, key);
    *present = v != NULL;
    *val = NULL;
    if (!v || json_is_null(v))
        return IC_OK;
    if (!json_is_string(v) || json_string_length(v) > max)
        return IC_ERR_INVALID;
    *val = json_string_value(v);
    if (strlen(*val) != json_string_length(v)) /* an embedded NUL */
        return IC_ERR_INVALID;
    return IC_OK;
}

ic_err ic_store_contact_update(ic_conn *c, int64_t ws, int64_t id, const json_t *patch)
{
    ic_stmt *s = NULL;
    bool has_name = false, has_lang = false;
    const char *new_name = NULL, *new_lang = NULL;
    char *name = NULL, *lang = NULL, *fields_text = NULL;
    json_t *fields = NULL;
    ic_err err = IC_OK;
    if (!json_is_object(patch))
        return IC_ERR_INVALID;
    err = patch_str(patch, "name", NAME_MAX_LEN, &has_name, &new_name);
    if (err == IC_OK)
        err = patch_str(patch, "language", LANGUAGE_MAX_LEN, &has_lang, &new_lang);
    json_t *fpatch = json_object_get(patch, "fields");
    if (err == IC_OK && fpatch && !json_is_object(fpatch))
        err = IC_ERR_INVALID;
    if (err != IC_OK)
        goto out;

    err = ic_sql_row(c, SQL_PATCH_READ, IC_ARGS(IC_I64(ws), IC_I64(id)), &s);
    if (err != IC_OK)
        goto out;
    name = ic_strdup(has_name ? new_name : ic_sql_col_text(s, 0));
    lang = ic_strdup(has_lang ? new_lang : ic_sql_col_text(s, 1));
    const char *old_fields = ic_sql_col_text(s, 2);
    fields = old_fields ? json_loads(old_fields, 0, NULL) : NULL;
    if (!json_is_object(fields)) {
        json_decref(fields);
        fields = json_object();
    }
    ic_sql_done(s);
    s = NULL;

    const char *key;
    json_t *val;
    json_object_foreach((json_t *)fpatch, key, val)
    {
        if (json_is_null(val))
            json_object_del(fields, key);
        else
            json_object_set(fields, key, val);
    }
    fields_text = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
    if (!fields_text) {
        err = IC_ERR_INVALID;
        goto out;
    }
    if (strlen(fields_text) > FIELDS_MAX_BYTES) {
        err = IC_ERR_TOO_BIG;
        goto out;
    }
    err = ic_sql_run(c, SQL_PATCH_WRITE,
                     IC_ARGS(IC_TXT(name), IC_TXT(lang), IC_TXT(fields_text), IC_I64(ic_now_us()),
                             IC_I64(id), IC_I64(ws)),
                     NULL);
out:
    ic_sql_done(s);
    ic_free(name);
    ic_free(lang);
    free(fields_text);
    json_decref(fields);
    return err;
}
