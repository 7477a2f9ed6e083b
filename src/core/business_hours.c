/* business_hours.c - whether a workspace is open, and checking its
 * settings; see business_hours.h. */
#include "core/business_hours.h"

#include "base/str.h"

#include <string.h>

#define MAX_INTERVALS 8

static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* "HH:MM" (00:00..24:00) into minutes, or -1. */
static int minutes(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* Reads interval v into [*start, *end): false when malformed. */
static bool interval(const json_t *v, int *start, int *end)
{
    if (!json_is_array(v) || json_array_size(v) != 2)
        return false;
    *start = minutes(json_array_get(v, 0));
    *end = minutes(json_array_get(v, 1));
    return *start >= 0 && *end > *start;
}

bool ic_business_open(const json_t *settings, int64_t now_us)
{
    const json_t *hours = json_object_get(settings, "business_hours");
    if (!hours || json_is_null(hours))
        return true;
    int64_t t = now_us / 1000000 - (now_us % 1000000 < 0);
    int32_t off = 0;
    const char *zone = json_string_value(json_object_get(settings, "time_zone"));
    if (zone && ic_tz_offset(zone, t, &off) != IC_OK)
        off = 0;
    int64_t local = t + off;
    int64_t days = local / 86400 - (local % 86400 < 0);
    int minute = (int)((local - days * 86400) / 60);
    int wd = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday: mon = 0 */
    const json_t *day = json_object_get(hours, DAYS[wd]);
    size_t i;
    const json_t *v;
    json_array_foreach(day, i, v)
    {
        int start = 0, end = 0;
        if (interval(v, &start, &end) && minute >= start && minute < end)
            return true;
    }
    return false;
}

static bool is_day(const char *key)
{
    for (size_t i = 0; i < sizeof DAYS / sizeof DAYS[0]; i++)
        if (strcmp(key, DAYS[i]) == 0)
            return true;
    return false;
}

static ic_err check_hours(const json_t *hours, ic_errmsg *em)
{
    if (!json_is_object(hours))
        return ic_errf(em, IC_ERR_INVALID, "business_hours must be an object of days mon..sun");
    const char *key;
    json_t *day;
    json_object_foreach((json_t *)hours, key, day)
    {
        if (!is_day(key))
            return ic_errf(em, IC_ERR_INVALID,
                           "business_hours has an unknown day (use mon, tue, wed, thu, fri, sat, "
                           "sun)");
        if (!json_is_array(day) || json_array_size(day) > MAX_INTERVALS)
            return ic_errf(em, IC_ERR_INVALID,
                           "business_hours.%s must be a list of at most %d intervals", key,
                           MAX_INTERVALS);
        size_t i;
        json_t *v;
        json_array_foreach(day, i, v)
        {
            int start = 0, end = 0;
            if (!interval(v, &start, &end))
                return ic_errf(em, IC_ERR_INVALID,
                               "business_hours.%s[%zu] must be [\"HH:MM\",\"HH:MM\"] with the "
                               "start before the end (00:00 to 24:00)",
                               key, i);
        }
    }
    return IC_OK;
}

static ic_err check_text(const json_t *settings, const char *key, ic_errmsg *em)
{
    const json_t *v = json_object_get(settings, key);
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || ic_utf8_len(json_string_value(v)) > IC_SETTINGS_TEXT_MAX))
        return ic_errf(em, IC_ERR_INVALID, "%s must be a string of at most %d characters", key,
                       IC_SETTINGS_TEXT_MAX);
    return IC_OK;
}

ic_err ic_settings_check(const json_t *settings, ic_errmsg *em)
{
    if (!json_is_object(settings))
        return ic_errf(em, IC_ERR_INVALID, "settings must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)settings, key, v)
    {
        if (strcmp(key, "time_zone") != 0 && strcmp(key, "business_hours") != 0 &&
            strcmp(key, "away_message") != 0 && strcmp(key, "greeting") != 0)
            return ic_errf(em, IC_ERR_INVALID, "unknown field \"%s\"", key);
    }
    v = json_object_get(settings, "time_zone");
    int32_t off = 0;
    if (v && !json_is_null(v) && ic_tz_offset(json_string_value(v), 0, &off) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID,
                       "time_zone must be an IANA time zone name such as Africa/Johannesburg");
    v = json_object_get(settings, "business_hours");
    ic_err e = IC_OK;
    if (v && !json_is_null(v) && (e = check_hours(v, em)) != IC_OK)
        return e;
    if ((e = check_text(settings, "away_message", em)) != IC_OK)
        return e;
    return check_text(settings, "greeting", em);
}
