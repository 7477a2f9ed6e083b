/* inbox.h - the operator inbox's REST endpoints (inbox.c, inbox_admin.c):
 * conversation actions, notes, history, teams and labels; and the masking of
 * contacts' numbers that every contact-bearing answer shares. Not used
 * outside src/api (and the tests).
 */
#ifndef IC_API_INBOX_H
#define IC_API_INBOX_H

#include "api/auth.h"
#include "app.h"
#include "core/roles.h"
#include "http/http.h"
#include "store/inbox.h"

#include <jansson.h>

/* Registers the inbox's routes (docs/drafts/inbox.md): the actions under
 * /api/v1/conversations/{id}/..., /api/v1/teams and /api/v1/labels. app is
 * borrowed and must outlive the server. Call from one thread before
 * ic_http_start; ic_api_v1_routes calls it. */
void ic_api_inbox_routes(ic_http *h, ic_app *app);

/* Registers the teams and labels routes (inbox_admin.c); called by
 * ic_api_inbox_routes. */
void ic_api_inbox_admin_routes(ic_http *h, ic_app *app);

/* The least role an inbox endpoint needs: method and the route's pattern as
 * registered ("POST", "/api/v1/conversations/{id}/assign").
 * IC_ROLE_NONE for a route that is not the inbox's. */
ic_role ic_api_inbox_least_role(const char *method, const char *pattern);

/* The actor of the inbox's store functions for principal p. */
ic_inbox_actor ic_api_inbox_actor(const ic_principal *p);

/* Masks contact object o's "wa_id" in place (ic_role_mask_number) and sets
 * "wa_id_masked": true when role may not see numbers
 * (ic_role_sees_numbers); does nothing otherwise or when o has no string
 * wa_id. */
void ic_api_mask_contact(json_t *o, ic_role role);

/* ic_api_mask_contact on item["contact"] of every item of array items (or
 * of the one object items). */
void ic_api_mask_conversations(json_t *items, ic_role role);

#endif
