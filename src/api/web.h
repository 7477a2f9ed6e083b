/* web.h - the web app's routes (the files under web/, embedded at build
 * time; see docs/internals/web.md). */
#ifndef IC_API_WEB_H
#define IC_API_WEB_H

#include "app.h"
#include "http/http.h"

/* Registers GET / and GET /app/... (the app's page, index.html, to a depth
 * of four segments) and GET /static/{name} (one embedded file; 404 JSON
 * error for an unknown name). Answers are revalidated by ETag (304), gzip
 * when accepted; HTML answers carry the Content-Security-Policy. Reads no
 * database; app is borrowed and must outlive the server. Call from one
 * thread before ic_http_start. */
void ic_api_web_routes(ic_http *h, ic_app *app);

#endif
