/* roles.c - role names and number masking; see roles.h. */
#include "core/roles.h"

#include <string.h>

static const char *const NAMES[] = {"none", "viewer", "operator", "supervisor", "admin"};

ic_role ic_role_parse(const char *s)
{
    if (!s)
        return IC_ROLE_NONE;
    for (int r = IC_ROLE_VIEWER; r <= IC_ROLE_ADMIN; r++)
        if (strcmp(s, NAMES[r]) == 0)
            return (ic_role)r;
    return IC_ROLE_NONE;
}

const char *ic_role_name(ic_role r)
{
    return r >= IC_ROLE_VIEWER && r <= IC_ROLE_ADMIN ? NAMES[r] : NAMES[0];
}

bool ic_role_sees_numbers(ic_role r)
{
    return r >= IC_ROLE_SUPERVISOR;
}

void ic_role_mask_number(const char *number, char *out, unsigned size)
{
    if (!out || size == 0)
        return;
    size_t n = number ? strlen(number) : 0;
    size_t i = 0;
    for (; i < n && i + 1 < size; i++) {
        bool keep = n > 6 && (i < 3 || i >= n - 2);
        out[i] = keep ? number[i] : '*';
    }
    out[i] = '\0';
}
