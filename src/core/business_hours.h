/* business_hours.h - a workspace's settings (workspaces.settings): its time
 * zone and business hours, and whether it is open at a moment.
 *
 * Settings are a JSON object:
 *   {"time_zone": "Africa/Johannesburg",
 *    "business_hours": {"mon": [["08:00","17:00"]], "tue": [...], ...},
 *    "away_message": "...", "greeting": "..."}
 * every member optional. Days are mon..sun; each holds up to 8 intervals
 * ["HH:MM","HH:MM"] with start < end ("24:00" ends a day); a missing day is
 * closed; intervals never cross midnight (write two).
 *
 * Time zones are IANA names read from the system's compiled tz database
 * (TZif files under $TZDIR or /usr/share/zoneinfo) by a small reader of our
 * own, with the file's POSIX rule for times past its last transition: no
 * setenv("TZ")/tzset/localtime, which are not thread-safe. Loaded zones are
 * cached in memory (at most IC_TZ_CACHE_MAX). Thread-safe.
 */
#ifndef IC_CORE_BUSINESS_HOURS_H
#define IC_CORE_BUSINESS_HOURS_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define IC_TZ_NAME_MAX 64
#define IC_TZ_CACHE_MAX 64
#define IC_SETTINGS_TEXT_MAX 1024 /* away_message, greeting: characters */

/* The UTC offset in seconds of IANA zone name at unix time t (seconds) into
 * *offset. "UTC" and "Etc/UTC" need no file. Errors: IC_ERR_INVALID for a
 * name that is not a safe zone name, IC_ERR_NOT_FOUND when the tz database
 * has no such zone or its file is unreadable. */
ic_err ic_tz_offset(const char *name, int64_t t, int32_t *offset);

/* Whether the workspace whose settings are settings (NULL or {} ok) is
 * open at now_us (unix microseconds): always when there is no
 * "business_hours" member; else when the local time (in "time_zone", UTC
 * when absent or unknown) falls in one of that weekday's intervals
 * [start, end). Malformed parts count as closed (settings are validated on
 * the way in). */
bool ic_business_open(const json_t *settings, int64_t now_us);

/* Checks settings as PATCH /api/v1/settings accepts them (the shape above,
 * the zone loaded to prove it exists, the texts at most
 * IC_SETTINGS_TEXT_MAX characters, no other members). Errors:
 * IC_ERR_INVALID with em saying what is wrong. */
ic_err ic_settings_check(const json_t *settings, ic_errmsg *em);

#endif
