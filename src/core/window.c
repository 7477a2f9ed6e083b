#include "core/window.h"

#include "base/time.h"

bool ic_window_is_open(int64_t last_inbound_us, int64_t now_us)
{
    if (last_inbound_us <= 0)
        return false;
    /* Timestamps come from Meta and a client; guard the sum. */
    if (last_inbound_us > INT64_MAX - IC_WINDOW_US)
        return true;
    return last_inbound_us + IC_WINDOW_US > now_us;
}

int64_t ic_window_closes_us(int64_t last_inbound_us)
{
    if (last_inbound_us <= 0)
        return 0;
    if (last_inbound_us > INT64_MAX - IC_WINDOW_US)
        return INT64_MAX;
    return last_inbound_us + IC_WINDOW_US;
}

ic_err ic_window_check(int64_t last_inbound_us, int64_t now_us, bool is_template, ic_errmsg *em)
{
    if (is_template || ic_window_is_open(last_inbound_us, now_us))
        return IC_OK;
    if (last_inbound_us <= 0)
        return ic_errf(em, IC_ERR_WINDOW_CLOSED,
                       "The 24-hour window is closed: this person has never written; only an "
                       "approved template can be sent.");
    char iso[40];
    ic_time_iso(ic_window_closes_us(last_inbound_us), iso, sizeof iso);
    return ic_errf(em, IC_ERR_WINDOW_CLOSED,
                   "The 24-hour window closed at %s; only an approved template can be sent.", iso);
}
