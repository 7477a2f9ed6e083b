/* channels.c - WhatsApp channels (one per connected phone number). */
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

#define FIELD_MAX_LEN 1024
#define SECRET_MAX_LEN 4096
#define CHANNELS_MAX 100000

#define CHANNEL_COLS                                                                               \
    "id, workspace_id, uuid, name, phone_number_id, waba_id, display_phone, access_token,"         \
    " app_secret, verify_token, graph_url, throughput_mps, created_us"

static const char SQL_INSERT[] =
    "INSERT INTO channels (workspace_id, uuid, name, phone_number_id, waba_id, display_phone,"
    " access_token, app_secret, verify_token, graph_url, throughput_mps, created_us)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
static const char SQL_BY_UUID[] = "SELECT " CHANNEL_COLS " FROM channels WHERE uuid = $1";
static const char SQL_GET[] =
    "SELECT " CHANNEL_COLS " FROM channels WHERE workspace_id = $1 AND id = $2";
static const char SQL_ALL[] = "SELECT " CHANNEL_COLS " FROM channels ORDER BY id";
static const char SQL_LIST[] =
    "SELECT " CHANNEL_COLS " FROM channels WHERE workspace_id = $1 ORDER BY id";

void ic_channel_clear(ic_channel *c)
{
    if (!c)
        return;
    ic_free(c->name);
    ic_free(c->phone_number_id);
    ic_free(c->waba_id);
    ic_free(c->display_phone);
    ic_free(c->access_token);
    ic_free(c->app_secret);
    ic_free(c->verify_token);
    ic_free(c->graph_url);
    memset(c, 0, sizeof *c);
}

void ic_channel_copy(ic_channel *dst, const ic_channel *src)
{
    *dst = *src;
    dst->name = ic_strdup(src->name);
    dst->phone_number_id = ic_strdup(src->phone_number_id);
    dst->waba_id = ic_strdup(src->waba_id);
    dst->display_phone = ic_strdup(src->display_phone);
    dst->access_token = ic_strdup(src->access_token);
    dst->app_secret = ic_strdup(src->app_secret);
    dst->verify_token = ic_strdup(src->verify_token);
    dst->graph_url = ic_strdup(src->graph_url);
}

static bool digits_only(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool len_ok(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

/* A random version 4 UUID, 36 characters. */
static void make_uuid(char out[40])
{
    char hex[33];
    ic_random_hex(hex, 16);
    hex[12] = '4';
    hex[16] = "89ab"[(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0') & 3];
    snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

ic_err ic_store_channel_insert(ic_conn *c, ic_channel *ch)
{
    if (!ch->name || !*ch->name || !len_ok(ch->name, FIELD_MAX_LEN) ||
        !digits_only(ch->phone_number_id) || !len_ok(ch->phone_number_id, 64) ||
        !len_ok(ch->waba_id, 64) || !len_ok(ch->display_phone, 64) ||
        !len_ok(ch->access_token, SECRET_MAX_LEN) || !len_ok(ch->app_secret, SECRET_MAX_LEN) ||
        !len_ok(ch->verify_token, SECRET_MAX_LEN) || !len_ok(ch->graph_url, FIELD_MAX_LEN))
        return IC_ERR_INVALID;
    if (ch->throughput_mps == 0)
        ch->throughput_mps = 80;
    if (ch->throughput_mps < 1 || ch->throughput_mps > 1000)
        return IC_ERR_INVALID;
    if (!ch->uuid[0])
        make_uuid(ch->uuid);
    if (ch->created_us == 0)
        ch->created_us = ic_now_us();
    return ic_sql_one_i64(
        c, SQL_INSERT,
        IC_ARGS(IC_I64(ch->workspace_id), IC_TXT(ch->uuid), IC_TXT(ch->name),
                IC_TXT(ch->phone_number_id), IC_TXT(ch->waba_id), IC_TXT(ch->display_phone),
                IC_TXT(ch->access_token), IC_TXT(ch->app_secret), IC_TXT(ch->verify_token),
                IC_TXT(ch->graph_url), IC_I64(ch->throughput_mps), IC_I64(ch->created_us)),
        &ch->id);
}

/* Fills out (owned strings) from a row selected with CHANNEL_COLS. */
static void channel_from_row(ic_stmt *s, ic_channel *out)
{
    memset(out, 0, sizeof *out);
    out->id = ic_sql_col_i64(s, 0);
    out->workspace_id = ic_sql_col_i64(s, 1);
    ic_strlcpy(out->uuid, ic_sql_col_text(s, 2), sizeof out->uuid);
    out->name = ic_strdup(ic_sql_col_text(s, 3));
    out->phone_number_id = ic_strdup(ic_sql_col_text(s, 4));
    out->waba_id = ic_strdup(ic_sql_col_text(s, 5));
    out->display_phone = ic_strdup(ic_sql_col_text(s, 6));
    out->access_token = ic_strdup(ic_sql_col_text(s, 7));
    out->app_secret = ic_strdup(ic_sql_col_text(s, 8));
    out->verify_token = ic_strdup(ic_sql_col_text(s, 9));
    out->graph_url = ic_strdup(ic_sql_col_text(s, 10));
    out->throughput_mps = (int)ic_sql_col_i64(s, 11);
    out->created_us = ic_sql_col_i64(s, 12);
}

static ic_err channel_one(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n,
                          ic_channel *out)
{
    ic_stmt *s = NULL;
    memset(out, 0, sizeof *out);
    ic_err err = ic_sql_row(c, sql, args, n, &s);
    if (err != IC_OK)
        return err;
    channel_from_row(s, out);
    ic_sql_done(s);
    return IC_OK;
}

ic_err ic_store_channel_by_uuid(ic_conn *c, const char *uuid, ic_channel *out)
{
    if (!uuid || strlen(uuid) >= sizeof out->uuid) {
        memset(out, 0, sizeof *out);
        return IC_ERR_NOT_FOUND;
    }
    return channel_one(c, SQL_BY_UUID, IC_ARGS(IC_TXT(uuid)), out);
}

ic_err ic_store_channel_get(ic_conn *c, int64_t ws, int64_t id, ic_channel *out)
{
    return channel_one(c, SQL_GET, IC_ARGS(IC_I64(ws), IC_I64(id)), out);
}

ic_err ic_store_channels_all(ic_conn *c, ic_channel **out, size_t *n)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_channel *arr = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    ic_err err = ic_sql_prepare(c, SQL_ALL, &s);
    if (err != IC_OK)
        goto out;
    for (;;) {
        err = ic_sql_step(s, &row);
        if (err != IC_OK || !row)
            break;
        if (len == CHANNELS_MAX) {
            err = IC_ERR_TOO_BIG;
            break;
        }
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            arr = ic_realloc(arr, cap * sizeof *arr);
        }
        channel_from_row(s, &arr[len++]);
    }
out:
    ic_sql_done(s);
    if (err != IC_OK) {
        for (size_t i = 0; i < len; i++)
            ic_channel_clear(&arr[i]);
        ic_free(arr);
        return err;
    }
    *out = arr;
    *n = len;
    return IC_OK;
}

static json_t *channel_json(ic_stmt *s)
{
    json_t *o = json_object();
    const char *uuid = ic_sql_col_text(s, 2);
    char path[96];
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_str(o, "uuid", uuid);
    ic_sql_json_col_str(o, "name", s, 3);
    ic_sql_json_col_str(o, "phone_number_id", s, 4);
    ic_sql_json_col_str(o, "waba_id", s, 5);
    ic_sql_json_col_str(o, "display_phone", s, 6);
    json_object_set_new(o, "throughput_mps", json_integer(ic_sql_col_i64(s, 11)));
    ic_sql_json_col_str(o, "graph_url", s, 10);
    snprintf(path, sizeof path, "/webhooks/whatsapp/%s", uuid ? uuid : "");
    json_object_set_new(o, "webhook_path", json_string(path));
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 12));
    return o;
}

ic_err ic_store_channels_json(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_LIST, IC_ARGS(IC_I64(ws)), channel_json, out);
}
