/* autoassign.c - round-robin assignment of new conversations; see
 * autoassign.h. */
#include "core/autoassign.h"

#include "base/log.h"
#include "base/time.h"
#include "core/live.h"
#include "core/urgency.h"
#include "core/ws_cache.h"
#include "store/routing.h"

static ic_ws_cache cache = IC_WS_CACHE_INIT(IC_URGENCY_TTL_US, NULL, NULL);

static ic_err auto_team(ic_conn *tx, int64_t ws, int64_t *team)
{
    if (ic_ws_cache_get(&cache, ws, NULL, team))
        return IC_OK;
    ic_err e = ic_store_auto_team(tx, ws, team);
    if (e == IC_OK)
        ic_ws_cache_put(&cache, ws, NULL, *team);
    return e;
}

ic_err ic_autoassign_on_inbound(ic_conn *tx, const ic_message *m, int64_t *assignee)
{
    int64_t team = 0, user = 0, ws = m->workspace_id;
    bool fresh = false;
    if (assignee)
        *assignee = 0;
    if (m->conversation_id <= 0 || m->id <= 0)
        return IC_OK;
    ic_err e = auto_team(tx, ws, &team);
    if (e != IC_OK || !team)
        return e;
    if ((e = ic_store_conversation_fresh(tx, ws, m->conversation_id, m->id, &fresh)) != IC_OK ||
        !fresh)
        return e;
    if ((e = ic_store_auto_pick(tx, ws, team, &user)) != IC_OK)
        return e;
    e = ic_store_conversation_auto_assign(tx, ws, m->conversation_id, team, user, ic_now_us());
    if (e == IC_OK) {
        IC_INFO("conversation_auto_assigned", "ws=%lld conversation=%lld team=%lld user=%lld",
                (long long)ws, (long long)m->conversation_id, (long long)team, (long long)user);
        if (assignee)
            *assignee = user;
        json_t *ev = json_pack(
            "{s:I, s:o, s:I, s:b}", "conversation_id", (json_int_t)m->conversation_id, "user_id",
            user ? json_integer(user) : json_null(), "team_id", (json_int_t)team, "auto", 1);
        e = ic_live_publish(tx, ws, IC_LIVE_CONVERSATION_ASSIGNED, ev);
        json_decref(ev);
    }
    return e;
}

void ic_autoassign_invalidate(int64_t ws)
{
    ic_ws_cache_invalidate(&cache, ws);
}

void ic_autoassign_cache_clear(void)
{
    ic_ws_cache_clear(&cache);
}
