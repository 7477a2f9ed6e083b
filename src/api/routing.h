/* routing.h - the REST API of the inbox's routing settings: canned replies,
 * urgency words and the workspace settings (docs/drafts/routing.md).
 */
#ifndef IC_API_ROUTING_H
#define IC_API_ROUTING_H

#include "app.h"
#include "core/roles.h"
#include "http/http.h"

/* Registers the routes below on h; app is borrowed for the server's life. */
void ic_api_routing_routes(ic_http *h, ic_app *app);

/* The least role route (method, pattern) needs, from the same table the
 * routes are registered from; IC_ROLE_NONE for a route that is not one of
 * these. For tests and docs. */
ic_role ic_api_routing_role(const char *method, const char *pattern);

#endif
