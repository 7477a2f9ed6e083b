/* events.h - the live updates' endpoints (docs/drafts/events.md):
 * GET /api/v1/events, the workspace's event stream (viewer and up), and
 * POST /api/v1/conversations/{id}/typing (operator and up).
 */
#ifndef IC_API_EVENTS_H
#define IC_API_EVENTS_H

#include "app.h"
#include "http/http.h"

/* Registers both routes. The stream needs the ic_live started for app
 * (core/live.h, ic_live_start); without it GET /api/v1/events answers 503.
 * app is borrowed and must outlive the server. Call from one thread before
 * ic_http_start. */
void ic_api_events_routes(ic_http *h, ic_app *app);

#endif
