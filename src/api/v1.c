/* v1.c - the REST API's route table (/api/v1) and its shared read-one handler. */
#include "api/api.h"
#include "api/auth.h"
#include "api/events.h"
#include "api/inbox.h"
#include "api/routing.h"
#include "api/json_in.h"
#include "api/routes.h"
#include "api/session.h"

/* 1 MB when the configuration gives no API body bound. */
#define DEFAULT_JSON_MAX_BODY ((size_t)1024 * 1024)

size_t ic_api_json_max_body(const ic_app *app)
{
    if (app->cfg && app->cfg->max_api_body > 0)
        return app->cfg->max_api_body;
    return DEFAULT_JSON_MAX_BODY;
}

void ic_api_get_by_id_shaped(ic_req *r, ic_app *app, ic_api_getter get,
                             void (*shape)(json_t *row, ic_role role))
{
    int64_t id = 0;
    json_t *row = NULL;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK ||
        (e = get(ic_db_thread_conn(app->db), who.ws, id, &row)) != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    if (shape)
        shape(row, who.role);
    ic_req_respond_json(r, 200, row);
}

void ic_api_get_by_id(ic_req *r, ic_app *app, ic_api_getter get)
{
    ic_api_get_by_id_shaped(r, app, get, NULL);
}

void ic_api_v1_routes(ic_http *h, ic_app *app)
{
    ic_api_contacts_routes(h, app);
    ic_api_conversations_routes(h, app);
    ic_api_messages_routes(h, app);
    ic_api_channels_routes(h, app);
    ic_api_media_routes(h, app);
    ic_api_session_routes(h, app);
    ic_api_users_routes(h, app);
    ic_api_sandbox_routes(h, app);
    ic_api_tokens_routes(h, app);
    ic_api_inbox_routes(h, app);
    ic_api_routing_routes(h, app);
    ic_api_events_routes(h, app);
}
