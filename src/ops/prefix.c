/* prefix: a chained hash of prefixes (256 buckets, as memcached's). */
#include "prefix.h"

#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"
#include "store/hash.h"

#define BUCKETS 256

struct entry {
    struct entry *next;
    uint64_t gets, hits, sets, dels;
    uint8_t len;
    char name[]; /* len bytes */
};

struct prefix_stats {
    char delimiter;
    struct entry *bucket[BUCKETS];
};

struct prefix_stats *prefix_create(char delimiter)
{
    struct prefix_stats *p = calloc(1, sizeof(*p));
    if (p)
        p->delimiter = delimiter;
    return p;
}

void prefix_clear(struct prefix_stats *p)
{
    for (unsigned i = 0; i < BUCKETS; i++) {
        while (p->bucket[i]) {
            struct entry *e = p->bucket[i];
            p->bucket[i] = e->next;
            free(e);
        }
    }
}

void prefix_destroy(struct prefix_stats *p)
{
    if (!p)
        return;
    prefix_clear(p);
    free(p);
}

bool prefix_record(struct prefix_stats *p, const char *key, size_t nkey, enum prefix_op op,
                   bool hit)
{
    const char *d = memchr(key, p->delimiter, nkey);
    if (!d)
        return true;
    size_t len = (size_t)(d - key);
    struct entry **head = &p->bucket[hash64(key, len, 0) % BUCKETS], *e;
    for (e = *head; e; e = e->next)
        if (e->len == len && memcmp(e->name, key, len) == 0)
            break;
    if (!e) {
        if (!(e = calloc(1, sizeof(*e) + len)))
            return false;
        e->len = (uint8_t)len;
        memcpy(e->name, key, len);
        e->next = *head;
        *head = e;
    }
    e->gets += op == PREFIX_GET;
    e->hits += op == PREFIX_GET && hit;
    e->sets += op == PREFIX_SET;
    e->dels += op == PREFIX_DEL;
    return true;
}

void prefix_dump(const struct prefix_stats *p, prefix_line_fn *fn, void *arg)
{
    char line[400];
    for (unsigned i = 0; i < BUCKETS; i++) {
        for (const struct entry *e = p->bucket[i]; e; e = e->next) {
            size_t n = fmt_buf(line, sizeof(line), "PREFIX %.*s get %llu hit %llu set %llu del %llu\r\n",
                               (int)e->len, e->name, (unsigned long long)e->gets,
                               (unsigned long long)e->hits, (unsigned long long)e->sets,
                               (unsigned long long)e->dels);
            fn(arg, line, n);
        }
    }
}
