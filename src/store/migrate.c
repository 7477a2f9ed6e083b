/* migrate.c - applying the embedded schema migrations. */
#include "store/backend.h"
#include "store/sql.h"
#include "store/store.h"

#include "base/log.h"
#include "base/time.h"

#include <stdio.h>

static const char SQL_APPLIED[] = "SELECT version FROM schema_migrations WHERE version = $1";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)";
static const char SQL_MAX[] = "SELECT max(version) FROM schema_migrations";

/* Applies m unless it is there already; *ran says whether it did. The check
 * runs inside the write transaction so two processes cannot both apply it. */
static ic_err apply_one(ic_conn *c, const ic_migration *m, bool *ran, ic_errmsg *em)
{
    ic_err err = IC_OK;
    bool open = false;
    int64_t v = 0;
    *ran = false;
    err = ic_conn_begin(c);
    if (err != IC_OK) {
        ic_errf(em, err, "cannot start migration %03d_%s: %s", m->version, m->name,
                ic_sql_errmsg(c));
        goto out;
    }
    open = true;
    const char *lock = ic_sql_conn_backend(c)->migrate_lock_sql;
    if (lock && (err = ic_sql_exec(c, lock)) != IC_OK) {
        ic_errf(em, err, "cannot lock schema_migrations: %s", ic_sql_errmsg(c));
        goto out;
    }
    err = ic_sql_one_i64(c, SQL_APPLIED, IC_ARGS(IC_I64(m->version)), &v);
    if (err == IC_OK)
        goto out; /* already applied */
    if (err != IC_ERR_NOT_FOUND) {
        ic_errf(em, err, "cannot read schema_migrations: %s", ic_sql_errmsg(c));
        goto out;
    }
    err = ic_sql_exec(c, m->sql);
    if (err != IC_OK) {
        ic_errf(em, err, "migration %03d_%s failed: %s", m->version, m->name, ic_sql_errmsg(c));
        goto out;
    }
    err = ic_sql_run(c, SQL_RECORD,
                     IC_ARGS(IC_I64(m->version), IC_TXT(m->name), IC_I64(ic_now_us())), NULL);
    if (err != IC_OK) {
        ic_errf(em, err, "cannot record migration %03d_%s: %s", m->version, m->name,
                ic_sql_errmsg(c));
        goto out;
    }
    err = ic_conn_commit(c);
    if (err != IC_OK) {
        ic_errf(em, err, "cannot commit migration %03d_%s: %s", m->version, m->name,
                ic_sql_errmsg(c));
        goto out;
    }
    open = false;
    *ran = true;
out:
    if (open)
        ic_conn_rollback(c);
    return err;
}

ic_err ic_db_migrate(ic_db *db, int *applied, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_conn *c = ic_db_thread_conn(db);
    const ic_backend *be = ic_sql_conn_backend(c);
    const ic_migration *list = be->migrations;
    size_t list_n = *be->migrations_count;
    int count = 0;
    if (applied)
        *applied = 0;
    err = ic_sql_exec(c, be->schema_table_sql);
    if (err != IC_OK) {
        ic_errf(em, err, "cannot create schema_migrations: %s", ic_sql_errmsg(c));
        goto out;
    }
    for (size_t i = 0; i < list_n; i++) {
        const ic_migration *m = &list[i];
        bool ran = false;
        err = apply_one(c, m, &ran, em);
        if (err != IC_OK)
            goto out;
        if (ran) {
            count++;
            IC_INFO("db_migrated", "version=%d name=%s", m->version, m->name);
        }
    }
    int64_t newest = 0;
    int known = list[list_n - 1].version;
    if (ic_sql_one_i64(c, SQL_MAX, NULL, 0, &newest) == IC_OK && newest > known)
        IC_WARN("db_schema_newer", "schema=%lld program=%d", (long long)newest, known);
out:
    if (applied)
        *applied = count;
    return err;
}
