/* router.c - the route table: patterns with {captures}, matched in order. */
#include "http/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits a pattern into r's segments. False when it is malformed. */
static bool parse_pattern(ic_route *rt, const char *pattern)
{
    if (pattern[0] != '/')
        return false;
    const char *p = pattern + 1;
    rt->nseg = 0;
    if (*p == '\0')
        return true; /* "/" has no segments */
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || rt->nseg >= IC_ROUTE_MAX_SEGS)
            return false;
        bool cap = n >= 3 && p[0] == '{' && p[n - 1] == '}';
        rt->is_cap[rt->nseg] = cap;
        rt->segs[rt->nseg] = cap ? ic_strndup(p + 1, n - 2) : ic_strndup(p, n);
        rt->nseg++;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

static void route_clear(ic_route *rt)
{
    for (size_t i = 0; i < rt->nseg; i++)
        ic_free(rt->segs[i]);
    rt->nseg = 0;
    ic_free(rt->pattern);
    rt->pattern = NULL;
}

/* Adds a route; see http.h. A malformed pattern or method is a programming
 * error: it is logged and the route is left out. Not thread-safe: call
 * before ic_http_start. */
void ic_http_route(ic_http *h, const char *method, const char *pattern, size_t max_body,
                   ic_handler handler, void *arg)
{
    if (!h || !method || !pattern || !handler)
        return;
    if (h->nroutes == h->routes_cap) {
        h->routes_cap = h->routes_cap ? h->routes_cap * 2 : 16;
        h->routes = ic_realloc(h->routes, h->routes_cap * sizeof *h->routes);
    }
    ic_route *rt = &h->routes[h->nroutes];
    memset(rt, 0, sizeof *rt);
    if (ic_strlcpy(rt->method, method, sizeof rt->method) >= sizeof rt->method ||
        !parse_pattern(rt, pattern)) {
        IC_ERROR("http_route_invalid", "method=%s pattern=%s", method, pattern);
        route_clear(rt);
        return;
    }
    rt->pattern = ic_strdup(pattern);
    rt->max_body = max_body ? max_body : h->cfg.default_max_body;
    rt->handler = handler;
    rt->arg = arg;
    h->nroutes++;
}

/* Frees the route table. */
void ic_http_routes_free(ic_http *h)
{
    for (size_t i = 0; i < h->nroutes; i++)
        route_clear(&h->routes[i]);
    ic_free(h->routes);
    h->routes = NULL;
    h->nroutes = h->routes_cap = 0;
}

/* True when the path's segments fit rt; fills the captures of r. */
static bool match_segs(const ic_route *rt, char **segs, size_t nseg, ic_req *r)
{
    if (rt->nseg != nseg)
        return false;
    size_t np = 0;
    for (size_t i = 0; i < nseg; i++) {
        if (rt->is_cap[i]) {
            if (segs[i][0] == '\0' || np >= IC_REQ_MAX_PARAMS)
                return false;
            if (r) {
                r->pnames[np] = rt->segs[i];
                r->pvals[np] = segs[i];
            }
            np++;
        } else if (strcmp(rt->segs[i], segs[i]) != 0) {
            return false;
        }
    }
    if (r)
        r->nparams = np;
    return true;
}

static void allow_add(char *allow, size_t size, const char *method)
{
    /* Skip methods already listed. */
    size_t mlen = strlen(method);
    for (const char *p = allow; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == mlen && memcmp(p, method, n) == 0)
            return;
        p = comma ? comma + 2 : p + n;
    }
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

/* Matches r->path against the table; see http_internal.h. Thread-safe after
 * ic_http_start (the table is read-only then). */
void ic_http_route_match(ic_http *h, ic_req *r)
{
    char *segs[IC_ROUTE_MAX_SEGS];
    size_t nseg = 0;
    bool too_deep = false;

    r->segbuf = ic_strdup(r->path);
    char *p = r->segbuf;
    if (p[0] != '/') {
        r->early_status = 404;
        return;
    }
    p++;
    if (*p != '\0') {
        for (;;) {
            if (nseg == IC_ROUTE_MAX_SEGS) {
                too_deep = true;
                break;
            }
            segs[nseg++] = p;
            char *slash = strchr(p, '/');
            if (!slash)
                break;
            *slash = '\0';
            p = slash + 1;
        }
    }
    if (too_deep) {
        r->early_status = 404;
        return;
    }

    /* HEAD is answered like GET (libmicrohttpd drops the body). */
    const char *want = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    bool path_known = false;
    for (size_t i = 0; i < h->nroutes; i++) {
        const ic_route *rt = &h->routes[i];
        if (strcmp(rt->method, want) != 0)
            continue;
        if (match_segs(rt, segs, nseg, r)) {
            r->route = rt;
            return;
        }
    }
    r->allow[0] = '\0';
    for (size_t i = 0; i < h->nroutes; i++) {
        const ic_route *rt = &h->routes[i];
        if (match_segs(rt, segs, nseg, NULL)) {
            path_known = true;
            allow_add(r->allow, sizeof r->allow, rt->method);
            if (strcmp(rt->method, "GET") == 0)
                allow_add(r->allow, sizeof r->allow, "HEAD");
        }
    }
    r->early_status = path_known ? 405 : 404;
}
