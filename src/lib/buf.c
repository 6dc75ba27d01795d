/* buf: contiguous byte buffers and the pool of default-sized blocks. */
#include "buf.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

static size_t pool_block;   /* size of a pool block */
static size_t pool_max;     /* blocks kept when returned */
static size_t pool_count;
static void **pool_free;    /* stack of free blocks */

void buf_pool_setup(size_t block_size, size_t max_free)
{
    pool_block = block_size;
    pool_max = max_free;
    pool_count = 0;
    pool_free = max_free ? calloc(max_free, sizeof(void *)) : NULL;
    if (!pool_free)
        pool_max = 0;
}

void buf_pool_teardown(void)
{
    while (pool_count)
        free(pool_free[--pool_count]);
    free(pool_free);
    pool_free = NULL;
    pool_max = 0;
}

static size_t pool_out;      /* blocks handed out, for `stats` read_buf_* */

static char *_block(void)
{
    char *p = pool_count ? pool_free[--pool_count] : malloc(pool_block ? pool_block : 16384);
    pool_out += p != NULL;
    return p;
}

void buf_pool_usage(size_t *in_use, size_t *idle, size_t *block)
{
    *in_use = pool_out;
    *idle = pool_count;
    *block = pool_block;
}

bool buf_acquire(struct buf *b)
{
    if (b->data && (!pool_block || b->cap >= pool_block))
        return true;
    char *p = _block();
    if (!p)
        return false;
    size_t n = buf_len(b);
    if (b->data) { /* parked: its bytes go back into a block */
        mem_copy(p, buf_rptr(b), n);
        free(b->data);
    }
    b->data = p;
    b->rpos = 0;
    b->wpos = n;
    b->cap = pool_block ? pool_block : 16384;
    return true;
}

void buf_park(struct buf *b, size_t max)
{
    size_t n = buf_len(b);
    if (!b->data || n == 0 || n > max || !pool_block || b->cap != pool_block)
        return;
    char *p = malloc(n);
    if (!p)
        return; /* keeping the block is correct, only larger */
    mem_copy(p, buf_rptr(b), n);
    struct buf block = *b;
    buf_release(&block);
    b->data = p;
    b->rpos = 0;
    b->wpos = b->cap = n;
}

size_t buf_capacity(const struct buf *b)
{
    size_t block = pool_block ? pool_block : 16384;
    return b->cap > block ? b->cap : block;
}

void buf_release(struct buf *b)
{
    if (!b->data)
        return;
    if (b->cap == pool_block)
        pool_out -= pool_out > 0;
    if (b->cap == pool_block && pool_count < pool_max)
        pool_free[pool_count++] = b->data;
    else
        free(b->data);
    b->data = NULL;
    b->rpos = b->wpos = b->cap = 0;
}

void buf_compact(struct buf *b)
{
    if (b->rpos == 0)
        return;
    size_t n = buf_len(b);
    if (n)
        mem_move_down(b->data, b->data + b->rpos, n);
    b->rpos = 0;
    b->wpos = n;
}

bool buf_reserve(struct buf *b, size_t n, size_t max_cap)
{
    if (!b->data && !buf_acquire(b))
        return false;
    if (buf_room(b) >= n)
        return true;
    buf_compact(b);
    if (buf_room(b) >= n)
        return true;
    size_t need = b->wpos + n;
    if (need > max_cap)
        return false;
    size_t cap = b->cap;
    while (cap < need)
        cap *= 2;
    if (cap > max_cap)
        cap = max_cap;
    char *p;
    if (b->cap == pool_block) { /* pool blocks are not realloc'ed in place: copy out */
        p = malloc(cap);
        if (p) {
            memcpy(p, b->data, b->wpos);
            char *old = b->data;
            b->data = p; /* hand the old block back to the pool */
            struct buf tmp = {old, 0, 0, pool_block};
            buf_release(&tmp);
        }
    } else {
        p = realloc(b->data, cap);
        if (p)
            b->data = p;
    }
    if (!p)
        return false;
    b->cap = cap;
    return true;
}

bool buf_append(struct buf *b, const void *p, size_t n, size_t max_cap)
{
    if (!buf_reserve(b, n, max_cap))
        return false;
    memcpy(b->data + b->wpos, p, n);
    b->wpos += n;
    return true;
}

void buf_consume(struct buf *b, size_t n)
{
    b->rpos += n;
    if (b->rpos >= b->wpos)
        b->rpos = b->wpos = 0;
}

void buf_shrink(struct buf *b)
{
    if (b->data && buf_len(b) == 0 && b->cap != pool_block)
        buf_release(b);
}
