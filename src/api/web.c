/* web.c - serves the web app embedded in the binary (web_assets.h).
 *
 * GET / and GET /app/... answer index.html (the app routes itself in the
 * browser); GET /static/{name} answers one embedded file. Every answer is
 * revalidated (Cache-Control: no-cache, a strong ETag, 304 on a matching
 * If-None-Match) and gzip-compressed when the client accepts it. HTML answers
 * carry the Content-Security-Policy and Referrer-Policy of
 * docs/internals/web.md. Nothing here touches the database.
 */
#include "api/web.h"
#include "api/web_assets.h"
#include "base/str.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The policy of every HTML answer: scripts and styles only from our own
 * files (no inline ones), media from ourselves, blobs and data: URLs. */
#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "        \
    "form-action 'self'"

/* The deepest /app/... path answered with index.html. */
#define WEB_APP_DEPTH 4

/* The embedded file called name, or NULL. */
static const ic_web_asset *asset_find(const char *name)
{
    for (const ic_web_asset *a = ic_web_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* Whether the token list (a header value such as Accept-Encoding or
 * If-None-Match) names want, as a whole token, with no ";q=0". */
static bool list_has(const char *list, const char *want)
{
    size_t wl = strlen(want);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *semi = memchr(p, ';', n);
        size_t tok = semi ? (size_t)(semi - p) : n;
        while (tok && (p[tok - 1] == ' ' || p[tok - 1] == '\t'))
            tok--;
        if (tok == wl && strncasecmp(p, want, wl) == 0) {
            if (!semi)
                return true;
            /* q=0, q=0.0, q=0.000: refused */
            const char *q = semi + 1;
            while (q < p + n && (*q == ' ' || *q == '\t'))
                q++;
            if (!(q + 2 <= p + n && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=' &&
                  strtod(q + 2, NULL) == 0.0))
                return true;
        }
        p = end;
    }
    return false;
}

/* Whether If-None-Match names etag (exactly, or W/etag, or "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    size_t el = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag))
        if (p[el] == '\0' || p[el] == ',' || p[el] == ' ')
            return true;
    return false;
}

/* Answers a with the caching, encoding and (for HTML) policy headers. */
static void send_asset(ic_req *r, const ic_web_asset *a)
{
    bool html = ic_str_starts(a->content_type, "text/html");
    bool gz = a->gz && list_has(ic_req_header(r, "Accept-Encoding"), "gzip");
    /* The gzip copy is another representation: another strong ETag. */
    char etag[80];
    size_t el = strlen(a->etag);
    if (gz && el >= 2 && el + 4 < sizeof etag) {
        memcpy(etag, a->etag, el - 1);
        memcpy(etag + el - 1, "-gz\"", 5);
    } else {
        ic_strlcpy(etag, a->etag, sizeof etag);
    }
    ic_req_add_header(r, "Cache-Control", "no-cache");
    ic_req_add_header(r, "ETag", etag);
    if (a->gz)
        ic_req_add_header(r, "Vary", "Accept-Encoding");
    if (html) {
        ic_req_add_header(r, "Content-Security-Policy", WEB_CSP);
        ic_req_add_header(r, "Referrer-Policy", "no-referrer");
    }
    if (etag_matches(ic_req_header(r, "If-None-Match"), etag)) {
        ic_req_respond(r, 304, NULL, NULL, 0);
        return;
    }
    if (gz) {
        ic_req_add_header(r, "Content-Encoding", "gzip");
        ic_req_respond(r, 200, a->content_type, a->gz, a->gz_len);
    } else {
        ic_req_respond(r, 200, a->content_type, a->data, a->len);
    }
}

/* GET /, /app/...: the app's page, whatever the path below /app. */
static void h_index(ic_req *r, void *arg)
{
    const ic_web_asset *a = asset_find("index.html");
    if (!a) {
        ic_req_error(r, 503, "unavailable",
                     "the web app was not built into this binary (run npm ci, then build)");
        return;
    }
    send_asset(r, a);
}

/* GET /static/{name}: one embedded file. */
static void h_static(ic_req *r, void *arg)
{
    const char *name = ic_req_param(r, "name");
    const ic_web_asset *a = name ? asset_find(name) : NULL;
    if (!a) {
        ic_req_error(r, 404, "not_found", "no such file");
        return;
    }
    send_asset(r, a);
}

/* Registers the web app's routes; see web.h. */
void ic_api_web_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/", 0, h_index, app);
    char pattern[64] = "/app";
    ic_http_route(h, "GET", pattern, 0, h_index, app);
    for (int depth = 1; depth <= WEB_APP_DEPTH; depth++) {
        size_t n = strlen(pattern);
        snprintf(pattern + n, sizeof pattern - n, "/{p%d}", depth);
        ic_http_route(h, "GET", pattern, 0, h_index, app);
    }
    ic_http_route(h, "GET", "/static/{name}", 0, h_static, app);
}
