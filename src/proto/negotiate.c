/* negotiate: -B auto as a protocol of its own. The first byte a connection
 * sends picks the protocol it speaks from then on: 0x80 (the binary
 * protocol's request magic) binary, anything else text, as memcached does. */
#include "lib/log.h"
#include "protocol.h"

static const struct protocol *_pick(const char *buf)
{
    return (unsigned char)buf[0] == 0x80 ? &bin_protocol : &text_protocol;
}

static enum feed_status _feed(struct session *s, struct ops_ctx *ops, const char *buf, size_t len,
                              size_t cap, size_t *used, struct out *out)
{
    s->proto = _pick(buf); /* feed is never called without a byte */
    if (log_level > 1)
        log_line("%d: Client using the %s protocol", log_fd, s->proto->name);
    return s->proto->feed(s, ops, buf, len, cap, used, out);
}

/* Nothing is received before the choice. */
static enum feed_status _received(struct session *s, struct ops_ctx *ops, struct out *out)
{
    (void)s;
    (void)ops;
    (void)out;
    return FEED_DONE;
}

static void _prefetch(struct ops_ctx *ops, const char *buf, size_t len)
{
    const struct protocol *p = _pick(buf);
    if (p->prefetch)
        p->prefetch(ops, buf, len);
}

const struct protocol auto_protocol = {"auto", _feed, _received, _prefetch, NULL};
