/* common.h - what the CLI subcommands share: opening the database and
 * reading options that every command takes. Single-threaded use only.
 */
#ifndef IC_CLI_COMMON_H
#define IC_CLI_COMMON_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* The database URL when --db is not given: $IC_DB, else "var/impactchat.db". */
const char *ic_cli_default_db(void);

/* Opens url and applies pending migrations. On failure prints
 * "impactchat <cmd>: <reason>" on stderr and returns NULL. */
ic_db *ic_cli_open_db(const char *cmd, const char *url);

/* Parses a positive id option value; prints an error naming opt and returns
 * false when it is not a positive integer. */
bool ic_cli_parse_id(const char *cmd, const char *opt, const char *value, int64_t *out);

/* Prints "impactchat <cmd>: <formatted message>" on stderr. */
void ic_cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs fn(conn, arg) inside one transaction on the thread's connection and
 * commits, or rolls back when fn fails. */
ic_err ic_cli_in_tx(ic_db *db, ic_err (*fn)(ic_conn *c, void *arg), void *arg);

/* IC_OK when workspace ws exists, IC_ERR_NOT_FOUND when it does not. */
ic_err ic_cli_workspace_exists(ic_conn *c, int64_t ws);

#endif
