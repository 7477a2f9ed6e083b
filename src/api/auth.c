#include "api/auth.h"

#include "api/json_in.h"
#include "api/session.h"
#include "base/crypto.h"
#include "base/log.h"
#include "store/store.h"

#include <string.h>
#include <strings.h>

static bool token68_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

ic_err ic_api_bearer_token(const char *header, const char **tok, size_t *len)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return IC_ERR_AUTH;
    const char *p = header + 7;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (p[n] && token68_char(p[n]))
        n++;
    /* Only trailing spaces may follow the token. */
    for (const char *q = p + n; *q; q++)
        if (*q != ' ' && *q != '\t')
            return IC_ERR_AUTH;
    if (n == 0 || n > IC_API_TOKEN_MAX)
        return IC_ERR_AUTH;
    *tok = p;
    *len = n;
    return IC_OK;
}

/* The API token of r's Authorization header (present): *p as its
 * workspace's admin. Errors as ic_api_authorize, with em filled. */
static ic_err token_principal(ic_req *r, ic_app *app, const char *header, ic_principal *p,
                              ic_errmsg *em)
{
    const char *tok = NULL;
    size_t len = 0;
    if (ic_api_bearer_token(header, &tok, &len) != IC_OK)
        return ic_errf(em, IC_ERR_AUTH,
                       "a valid API token is required: send Authorization: Bearer TOKEN");
    char sha[65];
    ic_sha256_hex(tok, len, sha);
    ic_err e = ic_store_token_lookup(ic_db_thread_conn(app->db), sha, &p->ws, &p->token_id);
    if (e == IC_ERR_AUTH || e == IC_ERR_NOT_FOUND)
        return ic_errf(em, IC_ERR_AUTH, "the API token is unknown or revoked");
    if (e != IC_OK)
        return e == IC_ERR_BUSY ? e : IC_ERR_DB; /* a lost connection stays a 503 */
    p->role = IC_ROLE_ADMIN;
    return IC_OK;
}

ic_err ic_api_authorize(ic_req *r, ic_app *app, ic_role min_role, ic_principal *p)
{
    ic_errmsg em = {{0}};
    memset(p, 0, sizeof *p);
    const char *header = ic_req_header(r, "Authorization");
    ic_err e =
        header ? token_principal(r, app, header, p, &em) : ic_api_session_principal(r, app, p, &em);
    if (e == IC_OK && p->role < min_role)
        e = ic_errf(&em, IC_ERR_FORBIDDEN, "this needs the %s role; yours is %s",
                    ic_role_name(min_role), ic_role_name(p->role));
    if (e != IC_OK) {
        IC_INFO("api_auth_refused", "rid=%s path=%s err=\"%s\"", ic_req_id(r), ic_req_path(r),
                ic_strerror(e));
        ic_api_fail(r, e, &em);
        memset(p, 0, sizeof *p);
    }
    return e;
}
