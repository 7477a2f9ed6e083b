/* roles.h - what each role of a workspace may do.
 *
 * Roles are ordered: viewer < operator < supervisor < admin; each may do
 * what the roles below it may. An API token acts as an admin of its
 * workspace (docs/internals/decisions.md). The table of which role each
 * endpoint needs is in docs/api.md ("Roles").
 */
#ifndef IC_CORE_ROLES_H
#define IC_CORE_ROLES_H

#include <stdbool.h>

typedef enum ic_role {
    IC_ROLE_NONE = 0,
    IC_ROLE_VIEWER = 1,     /* reads conversations and contacts; numbers masked */
    IC_ROLE_OPERATOR = 2,   /* answers people: replies, notes, labels, takes and closes */
    IC_ROLE_SUPERVISOR = 3, /* assigns and transfers anyone's, sees numbers, urgency alerts */
    IC_ROLE_ADMIN = 4,      /* users, teams, channels, tokens, settings */
} ic_role;

/* The role named s ("viewer", "operator", "supervisor", "admin"), or
 * IC_ROLE_NONE for anything else (also NULL). */
ic_role ic_role_parse(const char *s);

/* The role's name as above; "none" for IC_ROLE_NONE or out of range. */
const char *ic_role_name(ic_role r);

/* Whether role r may see contacts' full phone numbers (supervisor and
 * admin); the others see them masked (ic_role_mask_number). */
bool ic_role_sees_numbers(ic_role r);

/* Writes number masked for roles that may not see it: all but the first 3
 * and the last 2 digits become '*' ("27821234567" -> "278******67"), into
 * out (size bytes, NUL-terminated, truncated when
 * short). Numbers of 6 digits or fewer become all '*'. */
void ic_role_mask_number(const char *number, char *out, unsigned size);

#endif
