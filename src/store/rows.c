/* rows.c - turning result rows into the API's JSON, and paging. */
#include "store/sql.h"

#include "base/log.h"
#include "base/time.h"

#include <stdint.h>

void ic_sql_json_time(json_t *obj, const char *key, int64_t us)
{
    if (us == 0) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    char iso[40];
    ic_time_iso(us, iso, sizeof iso);
    json_object_set_new(obj, key, json_string(iso));
}

void ic_sql_json_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    /* json_string refuses invalid UTF-8; such text never reaches the store
     * from our parsers, but a null is better than a crash if it does. */
    json_object_set_new(obj, key, v ? v : json_null());
}

void ic_sql_json_col_str(json_t *obj, const char *key, ic_stmt *s, int col)
{
    ic_sql_json_str(obj, key, ic_sql_col_text(s, col));
}

void ic_sql_json_col_doc(json_t *obj, const char *key, ic_stmt *s, int col)
{
    const char *text = ic_sql_col_text(s, col);
    json_t *v = NULL;
    if (text) {
        json_error_t jerr;
        v = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (!v)
            IC_WARN("db_bad_json", "key=%s line=%d", key, jerr.line);
    }
    json_object_set_new(obj, key, v ? v : json_null());
}

int ic_sql_page_limit(int limit)
{
    if (limit <= 0)
        return IC_SQL_PAGE_DEFAULT;
    if (limit > IC_SQL_PAGE_MAX)
        return IC_SQL_PAGE_MAX;
    return limit;
}

int64_t ic_sql_page_cursor(int64_t cursor)
{
    return cursor <= 0 ? INT64_MAX : cursor;
}

ic_err ic_sql_page(ic_stmt *s, int limit, json_t *(*row)(ic_stmt *s), json_t **items, int64_t *next)
{
    ic_err err = IC_OK;
    json_t *arr = json_array();
    int64_t last = 0;
    bool more = false, has = false;
    *items = NULL;
    *next = 0;
    for (;;) {
        err = ic_sql_step(s, &has);
        if (err != IC_OK || !has)
            break;
        if ((int)json_array_size(arr) >= limit) {
            more = true;
            break;
        }
        last = ic_sql_col_i64(s, 0);
        json_array_append_new(arr, row(s));
    }
    ic_sql_done(s);
    if (err != IC_OK) {
        json_decref(arr);
        return err;
    }
    *items = arr;
    *next = more ? last : 0;
    return IC_OK;
}

ic_err ic_sql_all_json(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n,
                       json_t *(*row)(ic_stmt *s), json_t **out)
{
    ic_stmt *s = NULL;
    bool has = false;
    *out = NULL;
    ic_err err = ic_sql_query(c, sql, args, n, &s);
    if (err != IC_OK)
        return err;
    json_t *arr = json_array();
    for (;;) {
        err = ic_sql_step(s, &has);
        if (err != IC_OK || !has)
            break;
        json_array_append_new(arr, row(s));
    }
    ic_sql_done(s);
    if (err != IC_OK) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return IC_OK;
}

ic_err ic_sql_get_json(ic_conn *c, const char *sql, int64_t ws, int64_t id,
                       json_t *(*row)(ic_stmt *s), json_t **out)
{
    ic_stmt *s = NULL;
    *out = NULL;
    ic_err err = ic_sql_row(c, sql, IC_ARGS(IC_I64(ws), IC_I64(id)), &s);
    if (err != IC_OK)
        return err;
    *out = row(s);
    ic_sql_done(s);
    return IC_OK;
}
