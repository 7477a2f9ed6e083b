#include "api/auth.h"

#include "api/json_in.h"
#include "base/crypto.h"
#include "base/log.h"
#include "store/store.h"

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

ic_err ic_api_auth(ic_req *r, ic_app *app, int64_t *ws)
{
    const char *tok = NULL;
    size_t len = 0;
    ic_errmsg em = {{0}};
    ic_err e = ic_api_bearer_token(ic_req_header(r, "Authorization"), &tok, &len);
    if (e != IC_OK) {
        ic_errf(&em, IC_ERR_AUTH,
                "a valid API token is required: send Authorization: Bearer TOKEN");
        goto out;
    }
    char sha[65];
    ic_sha256_hex(tok, len, sha);
    int64_t token_id = 0;
    e = ic_store_token_lookup(ic_db_thread_conn(app->db), sha, ws, &token_id);
    if (e == IC_ERR_AUTH || e == IC_ERR_NOT_FOUND) {
        e = IC_ERR_AUTH;
        ic_errf(&em, IC_ERR_AUTH, "the API token is unknown or revoked");
    } else if (e != IC_OK && e != IC_ERR_BUSY) {
        e = IC_ERR_DB; /* IC_ERR_BUSY (a lost database connection) stays: 503 */
    }
out:
    if (e != IC_OK) {
        IC_INFO("api_auth_refused", "rid=%s path=%s", ic_req_id(r), ic_req_path(r));
        ic_api_fail(r, e, &em);
    }
    return e;
}
