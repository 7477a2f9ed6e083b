/* window.h - the 24-hour customer service window.
 *
 * WhatsApp lets a business send any message to a person only within 24 hours
 * of that person's last message; outside it only an approved template may
 * go (Meta answers 131047 otherwise). The window runs from Meta's timestamp
 * of the person's last inbound message (DESIGN.md 8.7), not from when we
 * received it. Pure functions: no I/O, thread-safe.
 */
#ifndef IC_CORE_WINDOW_H
#define IC_CORE_WINDOW_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

/* The window's length in microseconds: 24 hours. */
#define IC_WINDOW_US ((int64_t)24 * 3600 * 1000000)

/* Returns true when a window opened by an inbound message at Meta's time
 * last_inbound_us (UTC microseconds; 0 or less means the person has never
 * written) is still open at now_us: last_inbound_us + 24 h > now_us. */
bool ic_window_is_open(int64_t last_inbound_us, int64_t now_us);

/* Returns the time the window closes (or closed): last_inbound_us + 24 h, or
 * 0 when the person has never written. */
int64_t ic_window_closes_us(int64_t last_inbound_us);

/* Decides whether a message may be sent now. Templates may always go; any
 * other message only while the window is open. Returns IC_OK, or
 * IC_ERR_WINDOW_CLOSED with em (may be NULL) holding the sentence shown to
 * the user: "The 24-hour window closed at 2026-01-30T01:57:09.000000Z; only
 * an approved template can be sent." (or "this person has never written"
 * in place of the time). */
ic_err ic_window_check(int64_t last_inbound_us, int64_t now_us, bool is_template, ic_errmsg *em);

#endif
