/* users.h - the people who sign in to the inbox: reading them for sign-in
 * and the admin's list, and changing their name, role, state, capacity and
 * password. Adding one is ic_store_user_insert (store.h).
 *
 * Reads run on a thread's own connection (ic_db_thread_conn); writes are
 * writer only (inside a write job). Every function confines itself to the
 * workspace it is given, except ic_store_users_by_email, which sign-in uses
 * before a workspace is known. Password hashes never leave this struct: the
 * JSON readers do not include them.
 */
#ifndef IC_STORE_USERS_H
#define IC_STORE_USERS_H

#include "base/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The longest email address and name a user may have (bytes). */
#define IC_USER_EMAIL_MAX 254
#define IC_USER_NAME_MAX 200

/* One user. Text is inline, so that a row can be copied and kept. */
typedef struct ic_user_row {
    int64_t id;
    int64_t ws;
    char email[IC_USER_EMAIL_MAX + 1];
    char name[IC_USER_NAME_MAX * 4 + 1]; /* up to 200 characters of UTF-8 */
    char role[16];                       /* "admin", "supervisor", "operator", "viewer" */
    char password_hash[256];             /* argon2id (ic_password_hash); secret */
    int64_t disabled_us;                 /* 0: enabled */
    int64_t sessions_valid_after_us;     /* sessions created before this have ended */
    int64_t capacity;
} ic_user_row;

/* Reads up to max users whose email is exactly email (the caller lowercases
 * it), in every workspace, ordered by workspace, into out[0..*n).
 * IC_OK with *n == 0 when there is none. Any thread's own connection. */
ic_err ic_store_users_by_email(ic_conn *c, const char *email, ic_user_row *out, size_t max,
                               size_t *n);

/* Reads user id of workspace ws into *out. IC_ERR_NOT_FOUND when there is no
 * such user in ws. */
ic_err ic_store_user_get(ic_conn *c, int64_t ws, int64_t id, ic_user_row *out);

/* The users of ws, oldest first, as a new array of the objects
 * ic_store_user_get_json gives. */
ic_err ic_store_users_json(ic_conn *c, int64_t ws, json_t **out);

/* User id of ws as {id, workspace_id, email, name, role, disabled,
 * capacity, created_at, updated_at} (no hash). IC_ERR_NOT_FOUND when there
 * is no such user in ws. */
ic_err ic_store_user_get_json(ic_conn *c, int64_t ws, int64_t id, json_t **out);

/* What ic_store_user_update changes: NULL / -1 leave a field as it is. */
typedef struct ic_user_change {
    const char *name; /* 1..IC_USER_NAME_MAX bytes */
    const char *role; /* a role name */
    int disabled;     /* 1 disable, 0 enable, -1 keep */
    int64_t capacity; /* 0..100, -1 keep */
} ic_user_change;

/* Applies ch to user id of ws at time now (disabling keeps the time it
 * happened; enabling again clears it). IC_ERR_NOT_FOUND when there is no
 * such user in ws, IC_ERR_INVALID for a bad role or value. Writer only. */
ic_err ic_store_user_update(ic_conn *c, int64_t ws, int64_t id, const ic_user_change *ch,
                            int64_t now);

/* Sets the password hash of user id of ws. IC_ERR_NOT_FOUND when there is no
 * such user in ws. Writer only. */
ic_err ic_store_user_set_password(ic_conn *c, int64_t ws, int64_t id, const char *password_hash,
                                  int64_t now);

/* Ends every session of user id of ws created before now: sets
 * sessions_valid_after_us = now. IC_ERR_NOT_FOUND when there is no such
 * user in ws. Writer only. */
ic_err ic_store_user_end_sessions(ic_conn *c, int64_t ws, int64_t id, int64_t now);

#endif
