/* v1.c - the REST API's route table (/api/v1). */
#include "api/api.h"
#include "api/routes.h"

/* 1 MB when the configuration gives no API body bound. */
#define DEFAULT_JSON_MAX_BODY ((size_t)1024 * 1024)

size_t ic_api_json_max_body(const ic_app *app)
{
    if (app->cfg && app->cfg->max_api_body > 0)
        return app->cfg->max_api_body;
    return DEFAULT_JSON_MAX_BODY;
}

void ic_api_v1_routes(ic_http *h, ic_app *app)
{
    ic_api_contacts_routes(h, app);
    ic_api_conversations_routes(h, app);
    ic_api_messages_routes(h, app);
    ic_api_channels_routes(h, app);
    ic_api_media_routes(h, app);
}
