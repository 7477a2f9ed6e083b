/* pg_int.h - what postgres.c lends to the other PostgreSQL-only code in
 * src/store (the bus's listener, pg_bus.c) that needs libpq itself rather
 * than the executor in sql.h. Not for code outside src/store. */
#ifndef IC_STORE_PG_INT_H
#define IC_STORE_PG_INT_H

#include "base/err.h"
#include "store/store.h"

#include <libpq-fe.h>

/* Opens a new blocking libpq connection to db, which must be a PostgreSQL
 * database (ic_db_is_postgres), with the same settings as the executor's
 * connections (connect timeout, application_name, notices dropped). The
 * caller owns it (PQfinish). NULL when it fails, with em saying "cannot
 * connect to PostgreSQL at host:port/db: ..." (never the password). */
PGconn *ic_pg_connect(ic_db *db, ic_errmsg *em);

/* "host:port/db" of db, for messages (borrowed; never holds the password). */
const char *ic_pg_where(ic_db *db);

#endif
