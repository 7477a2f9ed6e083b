/* notify.c - ic_store_notify (store.h): an event on the bus sent as part of
 * the writer's transaction, so that it is delivered once that transaction
 * commits and never when it rolls back (PostgreSQL queues a NOTIFY until the
 * commit and drops it with a rolled-back savepoint or transaction). */
#include "store/bus_int.h"
#include "store/sql.h"
#include "store/store.h"

static const char SQL_NOTIFY[] = "SELECT pg_notify($1, $2)";

ic_err ic_store_notify(ic_conn *tx, const char *topic, const char *payload)
{
    ic_err err = ic_bus_check(topic, payload);
    if (err != IC_OK)
        return err;
    if (!ic_db_is_postgres(ic_sql_conn_db(tx)))
        return IC_OK; /* one process: the caller informs it directly */
    return ic_sql_run(tx, SQL_NOTIFY, IC_ARGS(IC_TXT(topic), IC_TXT(payload)), NULL);
}
