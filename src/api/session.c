/* session.c - sessions of signed-in users; see session.h. Sessions are not
 * built yet: every request without an API token is asked to sign in. */
#include "api/session.h"

ic_err ic_api_session_principal(ic_req *r, ic_app *app, ic_principal *p, ic_errmsg *em)
{
    (void)r;
    (void)app;
    (void)p;
    return ic_errf(em, IC_ERR_AUTH,
                   "a valid API token is required: send Authorization: Bearer TOKEN");
}

void ic_api_session_routes(ic_http *h, ic_app *app)
{
    (void)h;
    (void)app;
}
