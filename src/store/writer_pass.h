/* writer_pass.h - what the writer's current pass over a batch allows the
 * jobs' store calls (internal to src/store; writer.c sets it).
 *
 * On PostgreSQL the writer first runs a batch optimistically: every
 * statement is only sent (pipeline mode, one round trip for the whole
 * batch), and a store call may take a fast path that needs no answer but
 * fails (a constraint error that aborts the transaction) whenever its guess
 * is wrong, e.g. the contact is new or the message a duplicate. The writer
 * then rolls the batch back and runs it again the general way (writer.c), so
 * a wrong guess costs time, never correctness. */
#ifndef IC_STORE_WRITER_PASS_H
#define IC_STORE_WRITER_PASS_H

#include "store/sql.h"

#include <stdbool.h>

/* True while the calling thread is the writer running an optimistic pass on
 * c: statements run through ic_sql_run without *changes are only sent, and
 * a failure of any of them makes the writer run the batch again the general
 * way. False everywhere else (SQLite, other threads, later passes). */
bool ic_writer_optimistic(const ic_conn *c);

#endif
