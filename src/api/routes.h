/* routes.h - the HTTP route tables of impactchat, one function per area.
 *
 * `impactchat serve` creates the ic_http server, calls each of these once
 * before ic_http_start, then starts it. Each function only registers routes
 * (ic_http_route); handlers borrow app for the life of the server, so app and
 * everything it points to must outlive ic_http_stop.
 */
#ifndef IC_API_ROUTES_H
#define IC_API_ROUTES_H

#include "app.h"
#include "http/http.h"

/* Registers the WhatsApp webhook endpoint: GET and POST
 * /webhooks/whatsapp/{uuid} (verification handshake and signed event
 * batches; bodies bounded by app->cfg->max_body, 3 MB by default). app is
 * borrowed and must outlive the server. Call from one thread before
 * ic_http_start. */
void ic_api_webhook_routes(ic_http *h, ic_app *app);

/* Registers GET /healthz (the process answers) and GET /readyz (the store
 * reads and the writer accepts work). app is borrowed and must outlive the
 * server. Call from one thread before ic_http_start. */
void ic_api_health_routes(ic_http *h, ic_app *app);

/* Registers the REST API under /api/v1 (resources, authentication by API
 * token or session). app is borrowed and must outlive the server. Call from
 * one thread before ic_http_start. */
void ic_api_v1_routes(ic_http *h, ic_app *app);

#endif
