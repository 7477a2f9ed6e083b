/* templates.c - the approved message templates wa-sim knows: a small built-in
 * list or --templates FILE; checks template sends against them. */
#include "sim.h"

#include "base/alloc.h"
#include "base/str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ic_sim_templates {
    json_t *all; /* owned array of Meta template objects */
};

static const char builtin[] =
    "[{\"name\":\"hello_world\",\"language\":\"en_US\",\"status\":\"APPROVED\","
    "\"category\":\"UTILITY\",\"id\":\"1192339204654487\",\"parameter_format\":\"POSITIONAL\","
    "\"components\":[{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"Hello World\"},"
    "{\"type\":\"BODY\",\"text\":\"Welcome and congratulations!! This message demonstrates your "
    "ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank "
    "you for taking the time to test with us.\"},"
    "{\"type\":\"FOOTER\",\"text\":\"WhatsApp Business Platform sample message\"}]},"
    "{\"name\":\"appointment_reminder\",\"language\":\"en\",\"status\":\"APPROVED\","
    "\"category\":\"UTILITY\",\"id\":\"1192339204654488\",\"parameter_format\":\"POSITIONAL\","
    "\"components\":[{\"type\":\"BODY\",\"text\":\"Hello {{1}}, this is a reminder of your "
    "appointment on {{2}}. Reply to this message to change it.\",\"example\":{\"body_text\":"
    "[[\"Thandi\",\"12 March at 10:00\"]]}}]},"
    "{\"name\":\"community_update\",\"language\":\"en\",\"status\":\"APPROVED\","
    "\"category\":\"MARKETING\",\"id\":\"1192339204654489\",\"parameter_format\":\"NAMED\","
    "\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{first_name}}, here is this week's news "
    "from {{organisation}}.\",\"example\":{\"body_text_named_params\":["
    "{\"param_name\":\"first_name\",\"example\":\"Thandi\"},"
    "{\"param_name\":\"organisation\",\"example\":\"Clinic Connect\"}]}},"
    "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"Stop updates\"}]}]}]";

ic_err ic_sim_templates_load(const char *path, ic_sim_templates **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    json_error_t je;
    json_t *doc =
        path ? json_load_file(path, JSON_REJECT_DUPLICATES, &je) : json_loads(builtin, 0, &je);
    *out = NULL;
    if (!doc) {
        err = ic_errf(em, IC_ERR_PARSE, "templates %s: %s (line %d)", path ? path : "built-in",
                      je.text, je.line);
        goto out;
    }
    json_t *arr = json_is_array(doc) ? doc : json_object_get(doc, "data");
    if (!json_is_array(arr)) {
        err = ic_errf(em, IC_ERR_PARSE, "templates %s: want an array or {\"data\":[...]}", path);
        goto out;
    }
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        if (!json_is_string(json_object_get(t, "name")) ||
            !json_is_string(json_object_get(t, "language"))) {
            err = ic_errf(em, IC_ERR_PARSE, "template %zu has no name or language", i);
            goto out;
        }
        if (!json_object_get(t, "status"))
            json_object_set_new(t, "status", json_string("APPROVED"));
        if (!json_object_get(t, "category"))
            json_object_set_new(t, "category", json_string("UTILITY"));
        if (!json_object_get(t, "components"))
            json_object_set_new(t, "components", json_array());
    }
    *out = ic_calloc(1, sizeof **out);
    (*out)->all = json_incref(arr);
out:
    json_decref(doc);
    return err;
}

void ic_sim_templates_free(ic_sim_templates *t)
{
    if (!t)
        return;
    json_decref(t->all);
    ic_free(t);
}

/* Counts the distinct {{...}} placeholders of a component text. */
static size_t count_params(const char *text)
{
    char seen[32][64];
    size_t n = 0;
    for (const char *p = text ? strstr(text, "{{") : NULL; p; p = strstr(p, "{{")) {
        const char *end = strstr(p + 2, "}}");
        if (!end)
            break;
        size_t len = (size_t)(end - (p + 2));
        if (len > 0 && len < 64 && n < 32) {
            bool dup = false;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strlen(seen[i]) == len && memcmp(seen[i], p + 2, len) == 0;
            if (!dup) {
                memcpy(seen[n], p + 2, len);
                seen[n++][len] = '\0';
            }
        }
        p = end + 2;
    }
    return n;
}

/* The parameters given for component type ("body", "header") of a send. */
static size_t given_params(const json_t *tpl, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(tpl, "components"), i, c)
    {
        const char *ct = json_string_value(json_object_get(c, "type"));
        if (ct && strcasecmp(ct, type) == 0)
            return json_array_size(json_object_get(c, "parameters"));
    }
    return 0;
}

static bool text_component(const json_t *c)
{
    const char *fmt = json_string_value(json_object_get(c, "format"));
    return !fmt || strcasecmp(fmt, "TEXT") == 0;
}

int ic_sim_templates_check(const ic_sim_templates *t, const json_t *tpl, const char **category,
                           ic_errmsg *em)
{
    const char *name = json_string_value(json_object_get(tpl, "name"));
    const char *lang = json_string_value(json_object_get(json_object_get(tpl, "language"), "code"));
    *category = "utility";
    if (!name || !lang) {
        ic_errf(em, IC_OK, "template name and language.code are required");
        return 100;
    }
    size_t i;
    json_t *cand, *found = NULL;
    json_array_foreach(t->all, i, cand)
    {
        if (strcmp(json_string_value(json_object_get(cand, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(cand, "language")), lang) == 0 &&
            ic_str_eq(json_string_value(json_object_get(cand, "status")), "APPROVED")) {
            found = cand;
            break;
        }
    }
    if (!found) {
        ic_errf(em, IC_OK, "template name (%.100s) does not exist in %.20s", name, lang);
        return 132001;
    }
    const char *cat = json_string_value(json_object_get(found, "category"));
    if (cat && strcasecmp(cat, "MARKETING") == 0)
        *category = "marketing";
    else if (cat && strcasecmp(cat, "AUTHENTICATION") == 0)
        *category = "authentication";
    json_t *c;
    json_array_foreach(json_object_get(found, "components"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!type || (strcasecmp(type, "BODY") != 0 && strcasecmp(type, "HEADER") != 0) ||
            !text_component(c))
            continue;
        size_t want = count_params(json_string_value(json_object_get(c, "text")));
        size_t got = given_params(tpl, type);
        if (want != got) {
            char lower[16];
            size_t k = 0;
            for (; type[k] && k < sizeof lower - 1; k++)
                lower[k] = (char)tolower((unsigned char)type[k]);
            lower[k] = '\0';
            ic_errf(em, IC_OK,
                    "%s: number of localizable_params (%zu) does not match the "
                    "expected number of params (%zu)",
                    lower, got, want);
            return 132000;
        }
    }
    return 0;
}

json_t *ic_sim_templates_list(const ic_sim_templates *t)
{
    json_t *data = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(t->all, i, c)
    {
        if (ic_str_eq(json_string_value(json_object_get(c, "status")), "APPROVED"))
            json_array_append(data, c);
    }
    return json_pack("{s:o, s:{}}", "data", data, "paging");
}
