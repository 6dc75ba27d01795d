/* sim_queue: the simulator's shared structures over key indexes (bench/
 * sim*.c): a FIFO, and a max-heap with lazy deletion. */
#ifndef MEMG_BENCH_SIM_QUEUE_H
#define MEMG_BENCH_SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* A FIFO over key indexes: next links each item to the one after it. */
struct fifo {
    uint32_t head, tail, n; /* newest, oldest; NIL when empty */
    uint64_t bytes;
};

#define NIL UINT32_MAX

static inline void simq_push(struct fifo *q, uint32_t *next, uint32_t k, uint32_t sz)
{
    next[k] = NIL;
    if (q->head != NIL)
        next[q->head] = k;
    else
        q->tail = k;
    q->head = k;
    q->n++;
    q->bytes += sz;
}

static inline uint32_t simq_pop(struct fifo *q, const uint32_t *next, const uint32_t *size)
{
    uint32_t k = q->tail;
    q->tail = next[k];
    if (q->tail == NIL)
        q->head = NIL;
    q->n--;
    q->bytes -= size[k];
    return k;
}

/* A max-heap of (next use, key) with lazy deletion: an entry counts only
 * while its key is cached with that next use. */
struct ent {
    uint64_t next;
    uint32_t key;
};

static inline void simh_push(struct ent *h, size_t *len, struct ent e)
{
    size_t i = (*len)++;
    while (i && h[(i - 1) / 2].next < e.next) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

static inline struct ent simh_pop(struct ent *h, size_t *len)
{
    struct ent top = h[0], last = h[--*len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *len)
            break;
        if (c + 1 < *len && h[c + 1].next > h[c].next)
            c++;
        if (h[c].next <= last.next)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*len)
        h[i] = last;
    return top;
}

/* Keep only the entries that still count: their key cached, with that value. */
static inline void simh_drop_stale(struct ent *h, size_t *len, const uint8_t *in, const uint64_t *cur)
{
    size_t w = 0;
    for (size_t j = 0; j < *len; j++)
        if (in[h[j].key] && cur[h[j].key] == h[j].next)
            h[w++] = h[j];
    *len = 0;
    for (size_t j = 0; j < w; j++)
        simh_push(h, len, h[j]);
}

#endif
