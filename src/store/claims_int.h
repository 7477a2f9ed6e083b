/* claims_int.h - the engine claims' hook for closing connections (claims.c).
 * Internal to src/store. */
#ifndef IC_STORE_CLAIMS_INT_H
#define IC_STORE_CLAIMS_INT_H

#include "store/store.h"

/* Forgets every claim c holds; call it before c is closed (db.c). On SQLite
 * this frees them for the db's other connections; on PostgreSQL the server
 * drops the locks with the session and this drops claims.c's record of
 * them. Thread-safe; c may hold none. */
void ic_claims_conn_closed(ic_conn *c);

#endif
