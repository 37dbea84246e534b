/*
 * snmp_slot.c - what a device needs only while it is being polled
 * (snmp_int.h, ev_snmp_slot): its rowset and walk buffers.
 *
 * A rowset holds every value of a device and a walk a cursor per column:
 * kept per device they were most of the agent's memory at fleet scale
 * (docs/PERFORMANCE.md). But a device needs them only from its first
 * request to its points, a few milliseconds when it answers, and with the
 * cycle's starts spread (pace.c) only a few hundred devices are in
 * flight at once out of 10,000. So the collector takes a slot for the
 * device's profile when a poll starts and puts it back when the points are
 * made; slots are kept on a free list per profile, so steady polling reuses
 * them (their row arrays already grown) and allocates nothing. Memory
 * follows the devices in flight, not the fleet.
 *
 * A slot is keyed by the profile it was built for. A reload (SIGHUP) frees
 * the profiles after the collector has moved to the new ones: the
 * collector drains the idle slots then, and a slot in flight whose device
 * was re-bound to a new profile is freed rather than put back.
 */
#include "collectors/snmp_int.h"

#include <stdlib.h>

typedef struct {
    const ev_profile *p;
    ev_snmp_slot *free; /* idle slots for p */
} slot_list;

struct ev_snmp_slots {
    slot_list *lists;
    size_t n, cap;
    size_t total; /* slots alive, idle or taken */
};

ev_snmp_slots *ev_snmp_slots_new(void)
{
    return calloc(1, sizeof(ev_snmp_slots));
}

static slot_list *list_for(ev_snmp_slots *s, const ev_profile *p, bool add)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->lists[i].p == p)
            return &s->lists[i];
    if (!add)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        slot_list *l = realloc(s->lists, cap * sizeof *l);
        if (!l)
            return NULL;
        s->lists = l;
        s->cap = cap;
    }
    s->lists[s->n] = (slot_list){.p = p};
    return &s->lists[s->n++];
}

static ev_snmp_slot *slot_new(const ev_profile *p)
{
    ev_snmp_slot *slot = calloc(1, sizeof *slot);
    if (!slot)
        return NULL;
    slot->p = p;
    slot->rs = ev_rowset_new(p);
    if (!slot->rs || ev_snmp_walk_init(&slot->walk, p, 1, false) < 0) {
        ev_rowset_free(slot->rs);
        free(slot);
        return NULL;
    }
    return slot;
}

ev_snmp_slot *ev_snmp_slot_take(ev_snmp_slots *s, const ev_profile *p)
{
    slot_list *l = list_for(s, p, false);
    if (l && l->free) {
        ev_snmp_slot *slot = l->free;
        l->free = slot->next;
        slot->next = NULL;
        return slot;
    }
    ev_snmp_slot *slot = slot_new(p);
    if (slot)
        s->total++;
    return slot;
}

static void slot_free(ev_snmp_slots *s, ev_snmp_slot *slot)
{
    ev_snmp_walk_free(&slot->walk);
    ev_rowset_free(slot->rs);
    free(slot);
    s->total--;
}

void ev_snmp_slot_put(ev_snmp_slots *s, ev_snmp_slot *slot, const ev_profile *p)
{
    slot_list *l = slot->p == p ? list_for(s, p, true) : NULL;
    if (!l) { /* re-bound by a reload (or out of memory for a list): not reusable */
        slot_free(s, slot);
        return;
    }
    slot->next = l->free;
    l->free = slot;
}

void ev_snmp_slots_drain(ev_snmp_slots *s)
{
    for (size_t i = 0; i < s->n; i++)
        for (ev_snmp_slot *slot = s->lists[i].free, *next; slot; slot = next) {
            next = slot->next;
            slot_free(s, slot);
        }
    s->n = 0;
}

size_t ev_snmp_slots_total(const ev_snmp_slots *s)
{
    return s->total;
}

void ev_snmp_slots_free(ev_snmp_slots *s)
{
    if (!s)
        return;
    ev_snmp_slots_drain(s);
    free(s->lists);
    free(s);
}
