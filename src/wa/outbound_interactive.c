/* outbound_interactive.c - interactive messages checked against Meta's limits.
 *
 * Reply buttons, lists, call-to-action URLs, WhatsApp Flows and location
 * requests. The limits are listed in docs/messages.md.
 */
#include "wa/outbound_internal.h"

#include <stdio.h>
#include <string.h>

#define BUTTON_BODY_MAX 1024
#define LIST_BODY_MAX 4096
#define FOOTER_MAX 60
#define HEADER_TEXT_MAX 60
#define BUTTONS_MAX 3
#define BUTTON_TITLE_MAX 20
#define BUTTON_ID_MAX 256
#define LIST_LABEL_MAX 20
#define SECTIONS_MAX 10
#define ROWS_MAX 10
#define ROW_TITLE_MAX 24
#define ROW_DESC_MAX 72
#define ROW_ID_MAX 200
#define SECTION_TITLE_MAX 24
#define CTA_TEXT_MAX 20

enum kind { K_BUTTON, K_LIST, K_CTA_URL, K_FLOW, K_LOCATION };

static ic_err check_header(const json_t *h, enum kind k, ic_errmsg *em)
{
    const char *type = NULL, *text = NULL;
    const json_t *media = NULL;
    char path[48];
    ic_err e;

    if (k == K_LOCATION)
        return ic_errf(em, IC_ERR_INVALID, "interactive location_request_message takes no header");
    if ((e = ic_wa_get_str(h, "type", "interactive.header.type", true, &type, em)))
        return e;
    if (strcmp(type, "text") == 0) {
        if ((e = ic_wa_get_str(h, "text", "interactive.header.text", true, &text, em)))
            return e;
        return ic_wa_check_len(text, "interactive header text", 1, HEADER_TEXT_MAX, true, em);
    }
    bool doc = strcmp(type, "document") == 0;
    if (!doc && strcmp(type, "image") != 0 && strcmp(type, "video") != 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.header.type must be text, image, video or document");
    if (k == K_LIST)
        return ic_errf(em, IC_ERR_INVALID, "an interactive list takes only a text header");
    snprintf(path, sizeof path, "interactive.header.%s", type);
    if ((e = ic_wa_get_obj(h, type, path, true, &media, em)))
        return e;
    return ic_wa_check_media(media, path, false, doc, em);
}

/* Reads obj[key] as a string and checks its length; quote as for
 * ic_wa_check_len. */
static ic_err str_len(const json_t *obj, const char *key, const char *path, const char *name,
                      bool required, size_t min, size_t max, bool quote, const char **out,
                      ic_errmsg *em)
{
    const char *s = NULL;
    ic_err e = ic_wa_get_str(obj, key, path, required, &s, em);
    if (e)
        return e;
    if (out)
        *out = s;
    return ic_wa_check_len(s, name, min, max, quote, em);
}

static ic_err check_buttons(const json_t *action, ic_errmsg *em)
{
    const json_t *buttons = NULL;
    const char *titles[BUTTONS_MAX], *ids[BUTTONS_MAX];
    ic_err e;

    if ((e = ic_wa_get_arr(action, "buttons", "interactive.action.buttons", true, &buttons, em)))
        return e;
    size_t n = json_array_size(buttons);
    if (n == 0)
        return ic_errf(em, IC_ERR_LIMIT, "interactive buttons is empty; WhatsApp needs 1 to %d",
                       BUTTONS_MAX);
    if (n > BUTTONS_MAX)
        return ic_errf(em, IC_ERR_LIMIT, "interactive message has %zu buttons; WhatsApp allows %d",
                       n, BUTTONS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(buttons, i);
        const json_t *reply = NULL;
        const char *type = NULL;
        char p[64];
        if (!json_is_object(b))
            return ic_errf(em, IC_ERR_INVALID, "interactive.action.buttons[%zu] must be an object",
                           i);
        snprintf(p, sizeof p, "interactive.action.buttons[%zu].type", i);
        if ((e = ic_wa_get_str(b, "type", p, true, &type, em)))
            return e;
        if (strcmp(type, "reply") != 0)
            return ic_errf(em, IC_ERR_INVALID, "%s must be \"reply\"", p);
        snprintf(p, sizeof p, "interactive.action.buttons[%zu].reply", i);
        if ((e = ic_wa_get_obj(b, "reply", p, true, &reply, em)))
            return e;
        snprintf(p, sizeof p, "interactive.action.buttons[%zu].reply.id", i);
        if ((e = str_len(reply, "id", p, "interactive button id", true, 1, BUTTON_ID_MAX, false,
                         &ids[i], em)))
            return e;
        snprintf(p, sizeof p, "interactive.action.buttons[%zu].reply.title", i);
        if ((e = str_len(reply, "title", p, "interactive button title", true, 1, BUTTON_TITLE_MAX,
                         true, &titles[i], em)))
            return e;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(titles[j], titles[i]) == 0)
                return ic_errf(em, IC_ERR_LIMIT,
                               "interactive button title \"%s\" is used twice; WhatsApp needs "
                               "unique titles",
                               titles[i]);
            if (strcmp(ids[j], ids[i]) == 0)
                return ic_errf(em, IC_ERR_LIMIT,
                               "interactive button id is used twice; WhatsApp needs unique ids");
        }
    }
    return IC_OK;
}

static ic_err check_row(const json_t *row, size_t s, size_t r, const char **id, ic_errmsg *em)
{
    char p[80];
    const char *d = NULL;
    ic_err e;

    if (!json_is_object(row))
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.action.sections[%zu].rows[%zu] must be an object", s, r);
    snprintf(p, sizeof p, "interactive.action.sections[%zu].rows[%zu].id", s, r);
    if ((e = str_len(row, "id", p, "interactive list row id", true, 1, ROW_ID_MAX, false, id, em)))
        return e;
    snprintf(p, sizeof p, "interactive.action.sections[%zu].rows[%zu].title", s, r);
    if ((e = str_len(row, "title", p, "interactive list row title", true, 1, ROW_TITLE_MAX, true,
                     &d, em)))
        return e;
    snprintf(p, sizeof p, "interactive.action.sections[%zu].rows[%zu].description", s, r);
    return str_len(row, "description", p, "interactive list row description", false, 0,
                   ROW_DESC_MAX, true, &d, em);
}

static ic_err check_list(const json_t *action, ic_errmsg *em)
{
    const json_t *sections = NULL;
    const char *ids[ROWS_MAX];
    size_t total = 0;
    ic_err e;

    if ((e = str_len(action, "button", "interactive.action.button", "interactive list button label",
                     true, 1, LIST_LABEL_MAX, true, NULL, em)))
        return e;
    if ((e = ic_wa_get_arr(action, "sections", "interactive.action.sections", true, &sections, em)))
        return e;
    size_t ns = json_array_size(sections);
    if (ns == 0)
        return ic_errf(em, IC_ERR_LIMIT, "interactive list has no sections; WhatsApp needs 1 to %d",
                       SECTIONS_MAX);
    if (ns > SECTIONS_MAX)
        return ic_errf(em, IC_ERR_LIMIT, "interactive list has %zu sections; WhatsApp allows %d",
                       ns, SECTIONS_MAX);
    size_t all = 0;
    for (size_t s = 0; s < ns; s++)
        all += json_array_size(json_object_get(json_array_get(sections, s), "rows"));
    if (all > ROWS_MAX)
        return ic_errf(em, IC_ERR_LIMIT, "interactive list has %zu rows; WhatsApp allows %d in all",
                       all, ROWS_MAX);
    for (size_t s = 0; s < ns; s++) {
        json_t *sec = json_array_get(sections, s);
        const json_t *rows = NULL;
        const char *title = NULL;
        char p[64];
        if (!json_is_object(sec))
            return ic_errf(em, IC_ERR_INVALID, "interactive.action.sections[%zu] must be an object",
                           s);
        snprintf(p, sizeof p, "interactive.action.sections[%zu].title", s);
        if ((e = str_len(sec, "title", p, "interactive list section title", false, 0,
                         SECTION_TITLE_MAX, true, &title, em)))
            return e;
        if (ns > 1 && (!title || !*title))
            return ic_errf(em, IC_ERR_INVALID,
                           "%s is required when a list has more than one section", p);
        snprintf(p, sizeof p, "interactive.action.sections[%zu].rows", s);
        if ((e = ic_wa_get_arr(sec, "rows", p, true, &rows, em)))
            return e;
        size_t nr = json_array_size(rows);
        if (nr == 0)
            return ic_errf(em, IC_ERR_LIMIT, "%s is empty; WhatsApp needs at least 1 row", p);
        for (size_t r = 0; r < nr; r++, total++) {
            if ((e = check_row(json_array_get(rows, r), s, r, &ids[total], em)))
                return e;
            for (size_t j = 0; j < total; j++)
                if (strcmp(ids[j], ids[total]) == 0)
                    return ic_errf(em, IC_ERR_LIMIT,
                                   "interactive list row id is used twice; WhatsApp needs unique "
                                   "ids");
        }
    }
    return IC_OK;
}

static ic_err check_action_name(const json_t *action, const char *want, ic_errmsg *em)
{
    const char *name = NULL;
    ic_err e = ic_wa_get_str(action, "name", "interactive.action.name", true, &name, em);
    if (e)
        return e;
    if (strcmp(name, want) != 0)
        return ic_errf(em, IC_ERR_INVALID, "interactive.action.name must be \"%s\"", want);
    return IC_OK;
}

static ic_err check_cta_url(const json_t *action, ic_errmsg *em)
{
    const json_t *params = NULL;
    const char *url = NULL;
    ic_err e;
    if ((e = check_action_name(action, "cta_url", em)))
        return e;
    if ((e = ic_wa_get_obj(action, "parameters", "interactive.action.parameters", true, &params,
                           em)))
        return e;
    if ((e = str_len(params, "display_text", "interactive.action.parameters.display_text",
                     "interactive cta_url display_text", true, 1, CTA_TEXT_MAX, true, NULL, em)))
        return e;
    if ((e = ic_wa_get_str(params, "url", "interactive.action.parameters.url", true, &url, em)))
        return e;
    if (!ic_wa_is_http_url(url))
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.action.parameters.url must be an http:// or https:// URL");
    return IC_OK;
}

static ic_err check_flow(const json_t *action, ic_errmsg *em)
{
    const json_t *params = NULL, *payload = NULL;
    const char *version = NULL, *id = NULL, *name = NULL, *act = NULL, *token = NULL;
    ic_err e;
    if ((e = check_action_name(action, "flow", em)))
        return e;
    if ((e = ic_wa_get_obj(action, "parameters", "interactive.action.parameters", true, &params,
                           em)))
        return e;
    if ((e = ic_wa_get_str(params, "flow_message_version",
                           "interactive.action.parameters.flow_message_version", true, &version,
                           em)))
        return e;
    if ((e = ic_wa_get_str(params, "flow_id", "interactive.action.parameters.flow_id", false, &id,
                           em)))
        return e;
    if ((e = ic_wa_get_str(params, "flow_name", "interactive.action.parameters.flow_name", false,
                           &name, em)))
        return e;
    if ((!id || !*id) == (!name || !*name))
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.action.parameters needs exactly one of flow_id and flow_name");
    if ((e = str_len(params, "flow_cta", "interactive.action.parameters.flow_cta",
                     "interactive flow_cta", true, 1, CTA_TEXT_MAX, true, NULL, em)))
        return e;
    if ((e = ic_wa_get_str(params, "flow_token", "interactive.action.parameters.flow_token", false,
                           &token, em)))
        return e;
    if ((e = ic_wa_get_str(params, "flow_action", "interactive.action.parameters.flow_action",
                           false, &act, em)))
        return e;
    if (act && strcmp(act, "navigate") != 0 && strcmp(act, "data_exchange") != 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.action.parameters.flow_action must be navigate or "
                       "data_exchange");
    return ic_wa_get_obj(params, "flow_action_payload",
                         "interactive.action.parameters.flow_action_payload", false, &payload, em);
}

ic_err ic_wa_check_interactive(const json_t *inter, ic_errmsg *em)
{
    static const char *const names[] = {"button", "list", "cta_url", "flow",
                                        "location_request_message"};
    const char *type = NULL;
    const json_t *body = NULL, *footer = NULL, *header = NULL, *action = NULL;
    enum kind k = K_BUTTON;
    size_t i;
    ic_err e;

    if ((e = ic_wa_get_str(inter, "type", "interactive.type", true, &type, em)))
        return e;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(type, names[i]) == 0)
            break;
    if (i == sizeof names / sizeof names[0])
        return ic_errf(em, IC_ERR_INVALID,
                       "interactive.type must be button, list, cta_url, flow or "
                       "location_request_message");
    k = (enum kind)i;

    if ((e = ic_wa_get_obj(inter, "body", "interactive.body", true, &body, em)))
        return e;
    if ((e = str_len(body, "text", "interactive.body.text", "interactive body text", true, 1,
                     k == K_LIST ? LIST_BODY_MAX : BUTTON_BODY_MAX, false, NULL, em)))
        return e;
    if ((e = ic_wa_get_obj(inter, "footer", "interactive.footer", false, &footer, em)))
        return e;
    if (footer) {
        if (k == K_LOCATION)
            return ic_errf(em, IC_ERR_INVALID,
                           "interactive location_request_message takes no footer");
        if ((e = str_len(footer, "text", "interactive.footer.text", "interactive footer text", true,
                         1, FOOTER_MAX, true, NULL, em)))
            return e;
    }
    if ((e = ic_wa_get_obj(inter, "header", "interactive.header", false, &header, em)))
        return e;
    if (header && (e = check_header(header, k, em)))
        return e;
    if ((e = ic_wa_get_obj(inter, "action", "interactive.action", true, &action, em)))
        return e;

    switch (k) {
    case K_BUTTON:
        return check_buttons(action, em);
    case K_LIST:
        return check_list(action, em);
    case K_CTA_URL:
        return check_cta_url(action, em);
    case K_FLOW:
        return check_flow(action, em);
    case K_LOCATION:
        return check_action_name(action, "send_location", em);
    }
    return ic_errf(em, IC_ERR_INTERNAL, "unhandled interactive type");
}
