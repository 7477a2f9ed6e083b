#include "cli/common.h"

#include "base/alloc.h"
#include "base/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *ic_cli_default_db(void)
{
    const char *e = getenv("IC_DB");
    return e && *e ? e : "var/impactchat.db";
}

void ic_cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "impactchat %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

ic_db *ic_cli_open_db(const char *cmd, const char *url)
{
    ic_db *db = NULL;
    ic_errmsg em = {{0}};
    if (ic_db_open(url, &db, &em) != IC_OK) {
        ic_cli_err(cmd, "%s", em.msg[0] ? em.msg : "cannot open the database");
        return NULL;
    }
    if (ic_db_migrate(db, NULL, &em) != IC_OK) {
        ic_cli_err(cmd, "migration failed: %s", em.msg);
        ic_db_close(db);
        return NULL;
    }
    return db;
}

bool ic_cli_parse_id(const char *cmd, const char *opt, const char *value, int64_t *out)
{
    int64_t v = 0;
    if (!value || ic_parse_i64(value, &v) != IC_OK || v <= 0) {
        ic_cli_err(cmd, "%s needs a positive number, not '%s'", opt, value ? value : "");
        return false;
    }
    *out = v;
    return true;
}

static ic_err in_tx(ic_db *db, int64_t ws, ic_err (*fn)(ic_conn *c, void *arg), void *arg)
{
    ic_conn *c = ic_db_thread_conn(db);
    ic_err e = ic_conn_begin(c);
    if (e != IC_OK)
        return e;
    if (ws > 0) {
        char *name = NULL;
        e = ic_store_workspace_get(c, ws, &name);
        ic_free(name);
    }
    if (e == IC_OK)
        e = fn(c, arg);
    if (e != IC_OK) {
        ic_conn_rollback(c);
        return e;
    }
    return ic_conn_commit(c);
}

bool ic_cli_write(const char *cmd, const char *url, int64_t ws, ic_err (*fn)(ic_conn *c, void *arg),
                  void *arg, const char *what, const char *exists_msg)
{
    ic_db *db = ic_cli_open_db(cmd, url);
    if (!db)
        return false;
    ic_err e = in_tx(db, ws, fn, arg);
    ic_db_close(db);
    if (e == IC_OK)
        return true;
    if (e == IC_ERR_NOT_FOUND && ws > 0)
        ic_cli_err(cmd, "there is no workspace %lld", (long long)ws);
    else if (e == IC_ERR_EXISTS && exists_msg)
        ic_cli_err(cmd, "%s", exists_msg);
    else
        ic_cli_err(cmd, "cannot %s: %s", what, ic_strerror(e));
    return false;
}
