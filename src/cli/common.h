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

/* Writes through fn(conn, arg), run in one transaction on database url
 * (opened and migrated for the call, then closed), after checking that
 * workspace ws exists when ws > 0. On failure prints one sentence as
 * "impactchat <cmd>: ...": "there is no workspace N", exists_msg when fn
 * says IC_ERR_EXISTS (may be NULL), or "cannot <what>: <reason>", and
 * returns false. */
bool ic_cli_write(const char *cmd, const char *url, int64_t ws, ic_err (*fn)(ic_conn *c, void *arg),
                  void *arg, const char *what, const char *exists_msg);

#endif
