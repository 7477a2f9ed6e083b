/* event.c - releasing a batch of normalised webhook events (event.h). */
#include "wa/event.h"

#include "base/alloc.h"

void ic_wa_batch_free(ic_wa_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->count; i++)
        json_decref(b->events[i].content);
    ic_free(b->events);
    b->events = NULL;
    b->count = 0;
    b->cap = 0;
}
