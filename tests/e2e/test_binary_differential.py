"""Differential test of the BINARY protocol: the same scripted sessions
against memcached 1.6.18 and the server under test; the decoded response
transcripts must match.

Each session is data: a list of Steps, each a request built with mcbin's
helpers and a note. A "sync" step sends its bytes followed by a NOOP with a
step-unique opaque and reads every response up to that NOOP's reply (or up to
EOF: the server closed). Other steps cut the connection, wait for a close,
read whatever arrives in a short window, or check on a fresh connection that
the canary key set at the start is still there (done after every bad
request). Responses are compared decoded (opcode, status, opaque, masked CAS,
extras, key, value) so a failure prints a readable diff.

Masked: CAS values (each distinct non-zero CAS becomes its first-seen ordinal
on that side, so "the same CAS twice" is still checked), the VERSION string,
and stat groups (a run of STAT packets folds into one line naming which of a
few well-known keys it had; the empty terminating packet is kept).

With E2E_SERVER=memcached both sides are memcached, which checks that the
sessions are deterministic.

SASL sessions end their sync steps with a VERSION instead (the one request
memcached answers before authentication) and send refused requests as
"close" steps with nothing after them.

Left out because memcached's answer depends on timing (how the bytes are split
into reads): pipelines where a request that closes the connection follows
successful requests in the same read (memcached drops the queued successful
replies when it closes on a bad magic byte, but sends them when it closes on
EINVAL); whether a request sent just before the client closes is applied;
anything needing real expiry (clock ticks).
"""
import difflib
import os
import shutil
import stat as stat_mod
import subprocess
import tempfile
import time

import pytest

import mcbin as B
import conftest
from conftest import SERVER_KIND

SYNC_TIMEOUT = 3.0    # the sentinel NOOP's reply must come within this
CLOSE_WAIT = 1.5      # a step expecting a close waits this long for EOF
STOP_AFTER = 5        # the server under test stops this many steps after its first difference
                      # (or at its second sentinel timeout, once it differs)
QUIET_WAIT = 0.3      # "quiet" steps: whatever arrives until this much silence
SENTINEL = 0x5E000000  # + step number: the opaque of each step's sentinel NOOP

CANARY = b"canary"
CANARY_VALUE = b"still here"
CANARY_FLAGS = 0xCAFE

# stat keys whose presence (not value) is compared, per group
STAT_KEYS = {
    b"": (b"pid", b"uptime", b"version", b"curr_items", b"total_items", b"get_hits",
          b"get_misses", b"cmd_get", b"cmd_set", b"curr_connections", b"limit_maxbytes"),
    b"settings": (b"maxbytes", b"maxconns", b"tcpport", b"item_size_max", b"binding_protocol"),
}


class Step:
    """how: sync | quiet | close | cut | new | check (see module doc).
    data: bytes, or a callable(ctx) -> bytes for requests that need a CAS the
    server returned earlier (ctx.cas(key))."""

    def __init__(self, note, data=b"", how="sync", wait=None, filler=b"", sentinel=B.OP_NOOP):
        self.note, self.data, self.how, self.wait = note, data, how, wait
        self.filler = filler  # raw bytes sent between data and the sentinel
        self.sentinel = sentinel  # opcode of the sentinel request


class Script:
    """Builds a list of steps; hands out distinct opaques."""

    def __init__(self, first_opaque=0x100, sentinel=B.OP_NOOP):
        self.steps = []
        self._op = first_opaque
        self.sentinel = sentinel

    def o(self):
        self._op += 1
        return self._op

    def sync(self, note, data, **kw):
        self.steps.append(Step(note, data, "sync", sentinel=self.sentinel, **kw))

    def quiet(self, note, data, wait=QUIET_WAIT):
        self.steps.append(Step(note, data, "quiet", wait))

    def close(self, note, data, wait=CLOSE_WAIT):
        self.steps.append(Step(note, data, "close", wait))

    def cut(self, note, data):
        self.steps.append(Step(note, data, "cut"))

    def new(self, note="new connection"):
        self.steps.append(Step(note, b"", "new"))

    def check(self, note="fresh connection: canary still there"):
        self.steps.append(Step(note, b"", "check"))

    def bad(self, note, data, how="close"):
        """A bad request, then a canary check on a new connection."""
        self.steps.append(Step(note, data, how, CLOSE_WAIT if how == "close" else None))
        self.check()


# --- the sessions ----------------------------------------------------------

def canary_set(s):
    s.sync("set the canary", B.store("SET", CANARY, CANARY_VALUE, flags=CANARY_FLAGS,
                                     opaque=s.o()))


def script_core():
    s = Script(0x100)
    canary_set(s)
    s.check("canary readable from another connection")

    # get family, misses
    s.sync("get miss", B.get(b"nokey", s.o()))
    s.sync("getk miss: key echoed, no text", B.get(b"nokey", s.o(), "GETK"))
    s.sync("getq and getkq misses answer nothing",
           B.get(b"nokey", s.o(), "GETQ") + B.get(b"nokey", s.o(), "GETKQ"))
    # set / get family, hits
    s.sync("set with flags", B.store("SET", b"k1", b"hello", flags=0x12345678, opaque=s.o()))
    s.sync("get hit", B.get(b"k1", s.o()))
    s.sync("getk hit", B.get(b"k1", s.o(), "GETK"))
    s.sync("getq hit", B.get(b"k1", s.o(), "GETQ"))
    s.sync("getkq hit", B.get(b"k1", s.o(), "GETKQ"))
    s.sync("opaque 0xffffffff and 0 round-trip",
           B.get(b"k1", 0xFFFFFFFF) + B.get(b"k1", 0) + B.noop(0x80000001))
    s.sync("set again: new CAS", B.store("SET", b"k1", b"hello2", flags=1, opaque=s.o()))
    s.sync("get shows the new CAS", B.get(b"k1", s.o(), "GETK"))
    s.sync("empty value", B.store("SET", b"empty", b"", opaque=s.o()) + B.get(b"empty", s.o()))
    s.sync("binary value and binary key",
           B.store("SET", b"bin key\x00\r\n", b"\x00\r\nEND\r\n\xff", opaque=s.o())
           + B.get(b"bin key\x00\r\n", s.o(), "GETK"))
    s.sync("250-byte key", B.store("SET", b"K" * 250, b"long", opaque=s.o())
           + B.get(b"K" * 250, s.o(), "GETK"))
    s.sync("datatype and vbucket fields are ignored",
           B.pack(B.OP_GET, key=b"k1", datatype=1, vbucket=7, opaque=s.o()))
    s.sync("pipeline of getq/getkq ended by noop",
           B.store("SETQ", b"p1", b"one", opaque=s.o())
           + B.store("SETQ", b"p3", b"three", flags=3, opaque=s.o())
           + B.get(b"p1", s.o(), "GETQ") + B.get(b"p2", s.o(), "GETQ")
           + B.get(b"p3", s.o(), "GETKQ") + B.get(b"p4", s.o(), "GETKQ")
           + B.get(b"p1", s.o(), "GETKQ") + B.noop(s.o())
           + B.get(b"p2", s.o(), "GETK") + B.get(b"p3", s.o(), "GETQ"))

    # add / replace and quiet forms
    s.sync("add existing", B.store("ADD", b"k1", b"x", opaque=s.o()))
    s.sync("add new", B.store("ADD", b"a1", b"added", opaque=s.o()) + B.get(b"a1", s.o()))
    s.sync("replace missing", B.store("REPLACE", b"r-missing", b"x", opaque=s.o()))
    s.sync("replace existing", B.store("REPLACE", b"a1", b"replaced", flags=9, opaque=s.o())
           + B.get(b"a1", s.o()))
    s.sync("quiet forms: success answers nothing, failure answers",
           B.store("SETQ", b"q1", b"v", opaque=s.o())
           + B.store("ADDQ", b"q1", b"v", opaque=s.o())
           + B.store("ADDQ", b"q2", b"v", opaque=s.o())
           + B.store("REPLACEQ", b"q-missing", b"v", opaque=s.o())
           + B.store("REPLACEQ", b"q2", b"v2", opaque=s.o())
           + B.get(b"q1", s.o(), "GETK") + B.get(b"q2", s.o(), "GETK"))

    # CAS on set/add/replace
    s.sync("set c1", B.store("SET", b"c1", b"v1", opaque=s.o()))
    s.sync("set with the right CAS",
           lambda c: B.store("SET", b"c1", b"v2", cas=c.cas(b"c1"), opaque=0x201))
    s.sync("set with a stale CAS",
           lambda c: B.store("SET", b"c1", b"v3", cas=c.cas(b"c1") + 1, opaque=0x202))
    s.sync("set with a CAS on a missing key",
           B.store("SET", b"c-missing", b"v", cas=12345, opaque=s.o()))
    s.sync("add with the right CAS (a non-zero CAS turns add into cas)",
           lambda c: B.store("ADD", b"c1", b"v4", cas=c.cas(b"c1"), opaque=0x203))
    s.sync("add with a stale CAS",
           lambda c: B.store("ADD", b"c1", b"v5", cas=c.cas(b"c1") + 1, opaque=0x204))
    s.sync("add with a CAS on a missing key",
           B.store("ADD", b"c-missing", b"v", cas=12345, opaque=s.o()))
    s.sync("replace with the right CAS",
           lambda c: B.store("REPLACE", b"c1", b"v6", cas=c.cas(b"c1"), opaque=0x205))
    s.sync("replace with a stale CAS",
           lambda c: B.store("REPLACE", b"c1", b"v7", cas=c.cas(b"c1") + 1, opaque=0x206))
    s.sync("replace with a CAS on a missing key",
           B.store("REPLACE", b"c-missing", b"v", cas=12345, opaque=s.o()))
    s.sync("setq with a stale CAS answers",
           lambda c: B.store("SETQ", b"c1", b"v8", cas=c.cas(b"c1") + 1, opaque=0x207))
    s.sync("setq with the right CAS answers nothing",
           lambda c: B.store("SETQ", b"c1", b"v9", cas=c.cas(b"c1"), opaque=0x208)
           + B.get(b"c1", 0x209, "GETK"))
    s.sync("set with an expiry in the past (absolute time): gone at once",
           B.store("SET", b"old", b"x", exptime=1000000000, opaque=s.o()) + B.get(b"old", s.o()))
    s.sync("set with exptime 0xffffffff: kept",
           B.store("SET", b"far", b"x", exptime=0xFFFFFFFF, opaque=s.o()) + B.get(b"far", s.o()))

    # delete
    s.sync("delete hit", B.store("SET", b"d1", b"x", opaque=s.o()) + B.delete(b"d1", opaque=s.o())
           + B.get(b"d1", s.o()))
    s.sync("delete miss", B.delete(b"d1", opaque=s.o()))
    s.sync("deleteq hit answers nothing, deleteq miss answers",
           B.store("SETQ", b"d2", b"x", opaque=s.o()) + B.delete(b"d2", opaque=s.o(), quiet=True)
           + B.delete(b"d2", opaque=s.o(), quiet=True))
    s.sync("set d3", B.store("SET", b"d3", b"x", opaque=s.o()))
    s.sync("delete with a stale CAS",
           lambda c: B.delete(b"d3", cas=c.cas(b"d3") + 1, opaque=0x211))
    s.sync("delete with the right CAS",
           lambda c: B.delete(b"d3", cas=c.cas(b"d3"), opaque=0x212) + B.get(b"d3", 0x213))
    s.sync("delete with a CAS on a missing key", B.delete(b"d3", cas=777, opaque=s.o()))

    # incr / decr
    s.sync("incr missing with initial 10: created, 8-byte value",
           B.delta("INCREMENT", b"n1", 5, 10, 0, opaque=s.o()))
    s.sync("incr existing", B.delta("INCREMENT", b"n1", 5, 10, 0, opaque=s.o()))
    s.sync("the counter is stored as text", B.get(b"n1", s.o()))
    s.sync("decr below 0 stops at 0", B.delta("DECREMENT", b"n1", 100, 0, 0, opaque=s.o())
           + B.get(b"n1", s.o()))
    s.sync("incr missing with exptime 0xffffffff: not created",
           B.delta("INCREMENT", b"n2", 1, 0, 0xFFFFFFFF, opaque=s.o()) + B.get(b"n2", s.o()))
    s.sync("decr missing with initial 7: created with 7, not decremented",
           B.delta("DECREMENT", b"n3", 3, 7, 0, opaque=s.o()) + B.get(b"n3", s.o()))
    s.sync("decr missing with exptime 0xffffffff",
           B.delta("DECREMENT", b"n4", 3, 7, 0xFFFFFFFF, opaque=s.o()))
    s.sync("incr from 99 grows the text", B.store("SET", b"n5", b"99", flags=5, opaque=s.o())
           + B.delta("INCREMENT", b"n5", 1, opaque=s.o()) + B.get(b"n5", s.o()))
    s.sync("incr wraps at 2^64", B.store("SET", b"n6", b"18446744073709551615", opaque=s.o())
           + B.delta("INCREMENT", b"n6", 1, opaque=s.o()) + B.get(b"n6", s.o())
           + B.delta("INCREMENT", b"n6", 0xFFFFFFFFFFFFFFFF, opaque=s.o()))
    s.sync("incr initial 2^64-1", B.delta("INCREMENT", b"n7", 1, 0xFFFFFFFFFFFFFFFF, 0, opaque=s.o())
           + B.get(b"n7", s.o()))
    s.sync("incr on a non-numeric value", B.store("SET", b"txt", b"abc", opaque=s.o())
           + B.delta("INCREMENT", b"txt", 1, opaque=s.o())
           + B.delta("DECREMENT", b"txt", 1, opaque=s.o()))
    s.sync("incr on a number too long", B.store("SET", b"n8", b"123456789012345678901", opaque=s.o())
           + B.delta("INCREMENT", b"n8", 1, opaque=s.o()))
    s.sync("incrq/decrq: success answers nothing, failure answers",
           B.delta("INCREMENTQ", b"n1", 2, opaque=s.o()) + B.delta("DECREMENTQ", b"n1", 1, opaque=s.o())
           + B.delta("INCREMENTQ", b"txt", 1, opaque=s.o())
           + B.delta("INCREMENTQ", b"nq", 1, 0, 0xFFFFFFFF, opaque=s.o())
           + B.delta("DECREMENTQ", b"nq2", 1, 4, 0, opaque=s.o())
           + B.get(b"n1", s.o()) + B.get(b"nq2", s.o()))
    s.sync("incr with the right CAS", lambda c: B.delta("INCREMENT", b"n1", 1, cas=c.cas(b"n1"),
                                                        opaque=0x221))
    s.sync("incr with a stale CAS", lambda c: B.delta("INCREMENT", b"n1", 1, cas=c.cas(b"n1") + 1,
                                                      opaque=0x222))
    s.sync("incr with a CAS on a missing key", B.delta("INCREMENT", b"n-missing", 1, 3, 0, cas=99,
                                                       opaque=s.o()))

    # append / prepend
    s.sync("append missing", B.concat("APPEND", b"ap", b"x", opaque=s.o()))
    s.sync("prepend missing", B.concat("PREPEND", b"ap", b"x", opaque=s.o()))
    s.sync("appendq/prependq missing answer",
           B.concat("APPENDQ", b"ap", b"x", opaque=s.o()) + B.concat("PREPENDQ", b"ap", b"x", opaque=s.o()))
    s.sync("append/prepend keep the flags", B.store("SET", b"ap", b"mid", flags=42, opaque=s.o())
           + B.concat("APPEND", b"ap", b">>", opaque=s.o())
           + B.concat("PREPEND", b"ap", b"<<", opaque=s.o()) + B.get(b"ap", s.o(), "GETK"))
    s.sync("appendq/prependq hit answer nothing",
           B.concat("APPENDQ", b"ap", b"]", opaque=s.o()) + B.concat("PREPENDQ", b"ap", b"[", opaque=s.o())
           + B.get(b"ap", s.o()))
    s.sync("append with the right CAS",
           lambda c: B.concat("APPEND", b"ap", b"!", cas=c.cas(b"ap"), opaque=0x231))
    s.sync("append with a stale CAS",
           lambda c: B.concat("APPEND", b"ap", b"?", cas=c.cas(b"ap") + 1, opaque=0x232)
           + B.get(b"ap", 0x233))
    s.sync("append empty", B.concat("APPEND", b"ap", b"", opaque=s.o()) + B.get(b"ap", s.o()))

    # touch / gat
    s.sync("set t1", B.store("SET", b"t1", b"tv", flags=7, opaque=s.o()))
    s.sync("touch hit: flags in extras, no value", B.touch("TOUCH", b"t1", 1000, opaque=s.o()))
    s.sync("touch miss", B.touch("TOUCH", b"t-missing", 1000, opaque=s.o()))
    s.sync("gat hit", B.touch("GAT", b"t1", 1000, opaque=s.o()))
    s.sync("gat miss", B.touch("GAT", b"t-missing", 1000, opaque=s.o()))
    s.sync("gatk hit", B.touch("GATK", b"t1", 1000, opaque=s.o()))
    s.sync("gatk miss", B.touch("GATK", b"t-missing", 1000, opaque=s.o()))
    s.sync("gatq/gatkq: hits answer, misses do not",
           B.touch("GATQ", b"t1", 1000, opaque=s.o()) + B.touch("GATQ", b"t-missing", 0, opaque=s.o())
           + B.touch("GATKQ", b"t1", 0, opaque=s.o()) + B.touch("GATKQ", b"t-missing", 0, opaque=s.o()))
    s.sync("touch to a past time expires the item", B.touch("TOUCH", b"t1", 1000000000, opaque=s.o())
           + B.get(b"t1", s.o()))
    s.sync("gat to a past time returns the value once",
           B.store("SET", b"t2", b"tv2", opaque=s.o()) + B.touch("GAT", b"t2", 1000000000, opaque=s.o())
           + B.get(b"t2", s.o()))

    # noop / version / stat
    s.sync("noop", B.noop(s.o()))
    s.sync("version", B.version(s.o()))
    s.sync("stat (all)", B.stat(b"", s.o()))
    s.sync("stat settings", B.stat(b"settings", s.o()))
    s.sync("stat items", B.stat(b"items", s.o()))
    s.sync("stat slabs", B.stat(b"slabs", s.o()))
    s.sync("stat sizes", B.stat(b"sizes", s.o()))
    s.sync("stat reset: only the terminator", B.stat(b"reset", s.o()))
    s.sync("stat unknown group", B.stat(b"nosuchgroup", s.o()))
    s.sync("stat conns is not a binary group", B.stat(b"conns", s.o()))

    # flush
    s.sync("flush with a delay: items stay for now", B.flush(1000, s.o())
           + B.get(b"k1", s.o(), "GETK"))
    s.sync("flush", B.flush(None, s.o()) + B.get(b"k1", s.o(), "GETK")
           + B.get(CANARY, s.o(), "GETK"))
    canary_set(s)
    s.sync("flush with a zero delay extras", B.store("SET", b"f1", b"x", opaque=s.o())
           + B.flush(0, s.o()) + B.get(b"f1", s.o()))
    canary_set(s)
    s.sync("flushq answers nothing", B.store("SET", b"f2", b"x", opaque=s.o())
           + B.flush(None, s.o(), quiet=True) + B.get(b"f2", s.o()))
    canary_set(s)

    # quit
    s.close("quit answers then closes", B.quit(s.o()))
    s.close("quitq closes without answering", B.quit(s.o(), quiet=True))
    s.close("requests after quit are not answered", B.quit(s.o()) + B.noop(s.o()))
    s.check()

    # SASL without -S
    s.sync("sasl list mechs without -S", B.sasl_list(s.o()))
    s.sync("sasl auth without -S: body swallowed", B.sasl_auth(b"PLAIN", B.plain(b"u", b"p"), s.o()))
    s.sync("sasl step without -S", B.sasl_auth(b"PLAIN", B.plain(b"u", b"p"), s.o(), step=True))

    # bad requests; the canary must survive each
    s.sync("noop first (the connection speaks binary)", B.noop(s.o()))
    s.bad("wrong magic byte: closed, nothing sent", B.pack(B.OP_GET, key=b"k1", magic=0x81,
                                                          opaque=s.o()))
    s.sync("noop first", B.noop(s.o()))
    s.bad("magic 0x00", b"\0" * 24)
    s.bad("unknown opcode 0x55 without body: answered, connection stays",
          B.pack(0x55, opaque=s.o()), how="sync")
    s.bad("unknown opcode 0xff", B.pack(0xFF, opaque=s.o()), how="sync")
    s.bad("key of 251 bytes", B.get(b"k" * 251, s.o()))
    s.bad("set with a 251-byte key", B.store("SET", b"k" * 251, b"v", opaque=s.o()))
    s.bad("get with extras", B.pack(B.OP_GET, key=b"k1", extras=b"1234", opaque=s.o()))
    s.bad("getk with a value", B.pack(B.OP_GETK, key=b"k1", value=b"v", opaque=s.o()))
    s.bad("set with 4 extras", B.pack(B.OP_SET, key=b"k1", extras=b"1234", value=b"v", opaque=s.o()))
    s.bad("setq with no extras", B.pack(B.OP_SETQ, key=b"k1", value=b"v", opaque=s.o()))
    s.bad("add with 12 extras", B.pack(B.OP_ADD, key=b"k1", extras=b"x" * 12, value=b"v",
                                       opaque=s.o()))
    s.bad("incr with no extras", B.pack(B.OP_INCREMENT, key=b"n1", opaque=s.o()))
    s.bad("decr with 8 extras", B.pack(B.OP_DECREMENT, key=b"n1", extras=b"x" * 8, opaque=s.o()))
    s.bad("incr with a value", B.pack(B.OP_INCREMENT, key=b"n1", extras=B.ext_delta(), value=b"1",
                                      opaque=s.o()))
    s.bad("delete with extras", B.pack(B.OP_DELETE, key=b"k1", extras=b"1234", opaque=s.o()))
    s.bad("delete with a value", B.pack(B.OP_DELETE, key=b"k1", value=b"v", opaque=s.o()))
    s.bad("touch with no extras", B.pack(B.OP_TOUCH, key=b"k1", opaque=s.o()))
    s.bad("gat with 8 extras", B.pack(B.OP_GAT, key=b"k1", extras=b"x" * 8, opaque=s.o()))
    s.bad("append with extras", B.pack(B.OP_APPEND, key=b"ap", extras=b"1234", value=b"v",
                                       opaque=s.o()))
    s.bad("flush with 8 extras", B.pack(B.OP_FLUSH, extras=b"x" * 8, opaque=s.o()))
    s.bad("flush with a key", B.pack(B.OP_FLUSH, key=b"k", opaque=s.o()))
    s.bad("noop with a value", B.pack(B.OP_NOOP, value=b"xy", opaque=s.o()))
    s.bad("version with a key", B.pack(B.OP_VERSION, key=b"xy", opaque=s.o()))
    s.bad("quit with extras", B.pack(B.OP_QUIT, extras=b"1234", opaque=s.o()))
    s.bad("stat with extras", B.pack(B.OP_STAT, extras=b"1234", opaque=s.o()))
    s.bad("sasl list mechs with a key", B.pack(B.OP_SASL_LIST_MECHS, key=b"x", opaque=s.o()))
    s.bad("get without key", B.pack(B.OP_GET, opaque=s.o()))
    s.bad("getkq without key", B.pack(B.OP_GETKQ, opaque=s.o()))
    s.bad("set without key", B.pack(B.OP_SET, extras=B.ext_store(), value=b"v", opaque=s.o()))
    s.bad("delete without key", B.pack(B.OP_DELETE, opaque=s.o()))
    s.bad("incr without key", B.pack(B.OP_INCREMENT, extras=B.ext_delta(), opaque=s.o()))
    s.bad("touch without key", B.pack(B.OP_TOUCH, extras=B.ext_exptime(), opaque=s.o()))
    s.bad("append without key", B.pack(B.OP_APPEND, value=b"v", opaque=s.o()))
    s.bad("sasl auth without key", B.pack(B.OP_SASL_AUTH, value=b"v", opaque=s.o()))
    s.bad("keylen beyond bodylen", B.pack(B.OP_GET, key=b"abc", bodylen=2, opaque=s.o()))
    s.bad("extlen+keylen beyond bodylen",
          B.pack(B.OP_SET, key=b"abc", extras=B.ext_store(), bodylen=10, opaque=s.o()))
    s.bad("an EINVAL after successful requests in one write: all answered, then closed",
          B.store("SET", b"e1", b"x", opaque=s.o()) + B.get(b"e1", s.o())
          + B.get(b"e1", s.o(), extras=b"1234"))

    # too large
    s.sync("set big: a small value first", B.store("SET", b"big", b"small", opaque=s.o()))
    big = b"v" * 1500000
    s.sync("set 1.5 MB: E2BIG, body swallowed, the old value is gone",
           B.store("SET", b"big", big, opaque=s.o()) + B.get(b"big", s.o()))
    s.sync("add a small value again", B.store("SET", b"big", b"small", opaque=s.o()))
    s.sync("replace 1.5 MB: E2BIG, the old value stays",
           B.store("REPLACE", b"big", big, opaque=s.o()) + B.get(b"big", s.o()))
    s.sync("setq 1.5 MB answers E2BIG", B.store("SETQ", b"big2", big, opaque=s.o()))
    s.sync("append 1.5 MB: E2BIG", B.concat("APPEND", b"big", big, opaque=s.o()) + B.get(b"big", s.o()))
    s.sync("append pushing the item over -I",
           B.store("SET", b"big3", b"w" * 700000, opaque=s.o())
           + B.concat("APPEND", b"big3", b"w" * 700000, opaque=s.o())
           + B.get(b"big3", s.o(), "GETKQ") + B.noop(s.o()))
    s.sync("a set whose body is 2 MB (over -I): E2BIG once the body is swallowed",
           B.pack(B.OP_SET, key=b"huge", extras=B.ext_store(), value=b"h" * (2 * 1024 * 1024),
                  opaque=s.o()))
    s.check()

    # connection cut mid-request
    s.new()
    s.cut("connection cut mid-body", B.store("SET", b"cut", b"x" * 1000, opaque=s.o())[:500])
    s.check()
    s.sync("the half-sent key was not stored", B.get(b"cut", s.o()))
    s.cut("connection cut mid-header", B.noop(s.o())[:10])
    s.check()
    return s.steps


def script_quirks():
    """memcached 1.6.18 corners that a careful reimplementation may not guess."""
    s = Script(0x900)
    canary_set(s)
    s.sync("verbosity is an unknown command, and memcached then swallows bodylen (4) more bytes",
           B.verbosity(1, s.o()), filler=b"wxyz")
    s.sync("unknown opcode with key/extras/value: swallows bodylen past the key",
           B.pack(0x55, key=b"abc", extras=b"1234", value=b"vv", opaque=s.o()), filler=b"x" * 7)
    s.sync("stat group names match by prefix: 'resetXYZ' is reset",
           B.stat(b"resetXYZ", s.o()))
    s.sync("'settingsXYZ' is settings", B.stat(b"settingsXYZ", s.o()))
    s.sync("incr on a value with spaces/sign", B.store("SET", b"q1", b" 42", opaque=s.o())
           + B.delta("INCREMENT", b"q1", 1, opaque=s.o())
           + B.store("SET", b"q2", b"12 abc", opaque=s.o())
           + B.delta("INCREMENT", b"q2", 1, opaque=s.o()) + B.get(b"q2", s.o()))
    hdr = B.pack(B.OP_SET, key=b"huge", extras=B.ext_store(), bodylen=12 + 2 * 1024 * 1024,
                 opaque=s.o())
    s.quiet("header of a 2 MB set, body not sent yet: no answer yet (E2BIG waits for the "
            "body to be swallowed), connection stays", hdr)
    s.check("another connection is served meanwhile")
    s.sync("the rest of the 2 MB body: E2BIG, then the next request", b"h" * (2 * 1024 * 1024))
    s.sync("noop first", B.noop(s.o()))
    s.bad("a 17000-byte key: closed without an answer",
          B.get(b"k" * 17000, s.o()))
    s.sync("add with a 1.5 MB value over an existing key: E2BIG, value stays",
           B.store("ADD", CANARY, b"v" * 1500000, opaque=s.o()) + B.get(CANARY, s.o()))
    return s.steps


def script_item_size():
    """Run with -I 2m on both servers."""
    s = Script(0x700)
    canary_set(s)
    s.sync("1.5 MB fits under -I 2m", B.store("SET", b"v15", b"a" * 1500000, flags=3, opaque=s.o())
           + B.get(b"v15", s.o(), "GETK"))
    s.sync("2.5 MB does not: E2BIG, the old value is gone",
           B.store("SET", b"v15", b"b" * 2500000, opaque=s.o()) + B.get(b"v15", s.o()))
    s.sync("append growing an item past -I",
           B.store("SET", b"v16", b"c" * 1500000, opaque=s.o())
           + B.concat("APPEND", b"v16", b"d" * 1000000, opaque=s.o())
           + B.get(b"v16", s.o(), "GETKQ") + B.noop(s.o()))
    s.check()
    return s.steps


def script_sasl(user, password):
    """Sync steps end with a VERSION, not a NOOP: VERSION is the one request
    (besides the SASL ones) memcached answers before authentication. Steps
    whose request is refused use "close": memcached answers AUTH_ERROR and
    closes, and nothing more may be sent (a close with unread input resets
    the connection, which can destroy the reply in flight)."""
    s = Script(0x500, sentinel=B.OP_VERSION)
    s.sync("version is allowed before auth", B.version(s.o()))
    s.sync("list mechanisms", B.sasl_list(s.o()))
    s.close("a get before auth: AUTH_ERROR, then closed", B.get(b"k", s.o()))
    s.close("a noop before auth: refused too", B.noop(s.o()))
    s.close("a set before auth", B.store("SET", b"k", b"v", opaque=s.o()))
    s.close("an unknown opcode before auth", B.pack(0x55, opaque=s.o()))
    s.close("a malformed get before auth (auth is checked first)",
            B.pack(B.OP_GET, key=b"k", extras=b"1234", opaque=s.o()))
    s.sync("auth with a wrong password: AUTH_ERROR, connection stays",
           B.sasl_auth(b"PLAIN", B.plain(user, b"wrong"), s.o()))
    s.sync("unknown user", B.sasl_auth(b"PLAIN", B.plain(b"nobody-here", password), s.o()))
    s.sync("unknown mechanism", B.sasl_auth(b"NOPE", B.plain(user, password), s.o()))
    s.sync("malformed PLAIN data", B.sasl_auth(b"PLAIN", user + password, s.o()))
    s.sync("step before any auth", B.sasl_auth(b"PLAIN", B.plain(user, password), s.o(), step=True))
    s.close("still refused after the failures", B.get(b"k", s.o()))
    s.sync("auth with the right password: 'Authenticated'",
           B.sasl_auth(b"PLAIN", B.plain(user, password), s.o()))
    s.sync("commands after auth", B.store("SET", b"k", b"v", opaque=s.o()) + B.get(b"k", s.o())
           + B.noop(s.o()) + B.stat(b"nosuch", s.o()))
    s.close("a step after success fails and drops the authentication",
            B.sasl_auth(b"PLAIN", B.plain(user, password), s.o(), step=True) + B.get(b"k", s.o()))
    s.sync("empty auth data: AUTH_CONTINUE", B.sasl_auth(b"PLAIN", b"", s.o()))
    s.sync("step with the credentials completes it",
           B.sasl_auth(b"PLAIN", B.plain(user, password), s.o(), step=True) + B.get(b"k", s.o()))
    s.close("list mechanisms drops the authentication", B.sasl_list(s.o()) + B.get(b"k", s.o()))
    s.sync("authzid equal to the user", B.sasl_auth(b"PLAIN", B.plain(user, password, user), s.o())
           + B.get(b"k", s.o()))
    s.close("a second auth with a bad password drops the first one",
            B.sasl_auth(b"PLAIN", B.plain(user, b"bad"), s.o()) + B.get(b"k", s.o()))
    s.sync("mechanism name is case-insensitive", B.sasl_auth(b"plain", B.plain(user, password), s.o())
           + B.get(b"k", s.o()))
    s.new()
    s.close("a text command on a -S server is read as binary: closed",
            b"get k\r\n" + b"x" * 30)
    return s.steps


# --- running and normalising ---------------------------------------------

class Ctx:
    """Per-side state: raw CAS by key (from the replies to our requests) and
    the CAS ordinals used for masking."""

    def __init__(self):
        self.cas_by_key = {}
        self.ordinal = {}

    def cas(self, key):
        return self.cas_by_key.get(key, 0)

    def mask(self, cas):
        if cas == 0:
            return "0"
        if cas not in self.ordinal:
            self.ordinal[cas] = len(self.ordinal) + 1
        return "#%d" % self.ordinal[cas]


def request_keys(data):
    """{opaque: key} for the well-formed requests in data."""
    out, i = {}, 0
    while len(data) - i >= B.HEADER_LEN:
        magic, op, kl, el, _, _, bl, opq, _ = B.HEADER.unpack_from(data, i)
        if magic != B.REQ_MAGIC or kl + el > bl or len(data) - i < B.HEADER_LEN + bl:
            break
        if kl:
            out[opq] = data[i + B.HEADER_LEN + el:i + B.HEADER_LEN + el + kl]
        i += B.HEADER_LEN + bl
    return out


def describe_requests(data):
    """A short readable summary of the bytes a step sends."""
    parts, i = [], 0
    while len(data) - i >= B.HEADER_LEN:
        magic, op, kl, el, dt, vb, bl, opq, cas = B.HEADER.unpack_from(data, i)
        if magic != B.REQ_MAGIC and len(data) - i > 32:
            break  # raw bytes (a body's continuation, filler)
        body = data[i + B.HEADER_LEN:i + B.HEADER_LEN + bl]
        d = "%s opaque=0x%x" % (B.OPNAMES.get(op, "0x%02x" % op), opq)
        if magic != B.REQ_MAGIC:
            d += " magic=0x%02x" % magic
        if el:
            d += " ext=%s" % body[:el][:24].hex()
        if kl:
            k = body[el:el + kl]
            d += " key=%r" % (k if len(k) <= 40 else k[:40] + b"...(%d)" % len(k))
        if bl - el - kl > 0:
            d += " value=%d bytes" % (bl - el - kl)
        if cas:
            d += " cas=set"
        if kl + el > bl or len(body) < bl:
            d += " (malformed/partial: keylen %d extlen %d bodylen %d, %d body bytes sent)" % (
                kl, el, bl, len(body))
        parts.append(d)
        if magic != B.REQ_MAGIC or kl + el > bl:
            i = len(data)
            break
        i += B.HEADER_LEN + bl
    if i < len(data):
        parts.append("+%d raw bytes" % (len(data) - i))
    return "; ".join(parts) if parts else "(nothing)"


def normalise(responses, ctx, keys):
    """Decoded, masked lines for a list of responses."""
    out = []
    group = None  # (opaque, set of keys seen) of a stat run being folded
    for r in responses:
        if r.cas and r.opaque in keys:
            ctx.cas_by_key[keys[r.opaque]] = r.cas
        cas = ctx.mask(r.cas)
        if r.opcode == B.OP_STAT and r.status == 0 and r.key:
            if group is None or group[0] != r.opaque:
                group = (r.opaque, set())
                out.append(group)
            group[1].add(r.key)
            continue
        group = None
        if r.opcode == B.OP_VERSION and r.status == 0 and r.value:
            r.value = b"<version>"
        out.append(r.describe(cas))
    lines = []
    for item in out:
        if isinstance(item, tuple):
            opaque, names = item
            wanted = sorted(set(n for ks in STAT_KEYS.values() for n in ks) & names)
            lines.append("STAT OK opaque=0x%x <stats masked; has: %s>"
                         % (opaque, b",".join(wanted).decode() or "-"))
        else:
            lines.append(item)
    return lines


def connect(addr):
    return B.Conn(addr, timeout=SYNC_TIMEOUT)


def run_session(addr, steps, expect=None):
    """[(step number, step, request summary, lines)] for one server. With
    expect (the reference's transcript), stop STOP_AFTER steps after the
    first difference: the rest would only cost time."""
    ctx = Ctx()
    transcript = []
    conn = None
    first_diff = None
    timeouts = 0
    deadline = time.monotonic() + 60
    try:
        for n, step in enumerate(steps):
            assert time.monotonic() < deadline, "session took over 60 s"
            if expect is not None and transcript and first_diff is None \
                    and transcript[-1][3] != expect[len(transcript) - 1][3]:
                first_diff = n - 1
            if first_diff is not None and (n > first_diff + STOP_AFTER or timeouts >= 2):
                break
            data = step.data(ctx) if callable(step.data) else step.data
            keys = request_keys(data)
            lines = []
            if step.how == "new" and conn is not None:
                conn.close()
                conn = None
            if step.how == "new":
                transcript.append((n, step, "", lines))
                continue
            if step.how == "check":
                with connect(addr) as c:
                    opq = SENTINEL + n
                    try:
                        rs, closed = c.pipeline(B.get(CANARY, 0xC0DE0000 + n, "GETK"), opq,
                                                opcode=step.sentinel)
                        lines = normalise(rs, ctx, {}) + (["<closed by server>"] if closed else [])
                    except (B.Timeout, OSError) as e:
                        lines = ["<%s>" % type(e).__name__]
                transcript.append((n, step, "getk canary", lines))
                continue
            if conn is None:
                conn = connect(addr)
            summary = describe_requests(data)
            try:
                if step.how == "sync":
                    opq = SENTINEL + n
                    conn.send(data + step.filler + B.pack(step.sentinel, opaque=opq))
                    try:
                        rs, closed = conn.read_until_noop(opq, SYNC_TIMEOUT, step.sentinel)
                        lines = normalise(rs, ctx, keys)
                        if closed:
                            lines.append("<closed by server>")
                    except B.Timeout:
                        timeouts += 1
                        rs = B.parse(conn.buf)[0]
                        lines = normalise(rs, ctx, keys) + [
                            "<no reply to the sentinel noop within %.0f s>" % SYNC_TIMEOUT]
                        closed = True
                    if closed:
                        conn.close()
                        conn = None
                elif step.how == "cut":
                    conn.send(data)
                    conn.close()
                    conn = None
                else:  # quiet, close
                    conn.send(data)
                    if step.how == "close":
                        conn.wait_closed(step.wait)
                        rs, rest, closed = conn.drain(0.001)
                    else:
                        rs, rest, closed = conn.drain(step.wait)
                    lines = normalise(rs, ctx, keys)
                    if rest:
                        lines.append("<partial: %d bytes %r>" % (len(rest), rest[:60]))
                    lines.append("<closed by server>" if closed else "<open>")
                    if closed or step.how == "close":
                        conn.close()
                        conn = None
            except OSError as e:
                lines.append("<%s: %s>" % (type(e).__name__, e))
                conn.close()
                conn = None
            transcript.append((n, step, summary, lines))
    finally:
        if conn is not None:
            conn.close()
    return transcript


def compare(name, ref, sut, ref_name, sut_name):
    if [t[3] for t in ref] == [t[3] for t in sut]:
        return
    idx = next((i for i, (a, b) in enumerate(zip(ref, sut)) if a[3] != b[3]),
               min(len(ref), len(sut)) - 1)
    n, step, summary, a = ref[idx]
    b = sut[idx][3]

    def block(tr):
        out = []
        for n2, st2, sm2, lines in tr:
            out.append("#%d %s [%s] > %s" % (n2, st2.note, st2.how, sm2))
            out += ["     < " + line for line in lines] or ["     < (nothing)"]
        return out

    msg = ["session %r: %s and %s differ first at step #%d: %s" % (name, ref_name, sut_name, n,
                                                                    step.note),
           "  request: " + summary,
           "  context (same on both):"]
    msg += ["    " + x for x in block(ref[max(0, idx - 3):idx])]
    msg.append("  %s:" % ref_name)
    msg += ["    " + x for x in (a or ["(nothing)"])]
    msg.append("  %s:" % sut_name)
    msg += ["    " + x for x in (b or ["(nothing)"])]
    nd = sum(1 for x, y in zip(ref, sut) if x[3] != y[3])
    msg.append("  %d of the %d steps run on both differ (%s stops %d steps after its first "
               "difference); diff from there (first 80 lines):"
               % (nd, min(len(ref), len(sut)), sut_name, STOP_AFTER))
    d = difflib.unified_diff(block(ref[idx:len(sut)]), block(sut[idx:]), ref_name, sut_name,
                             lineterm="", n=1)
    msg += ["    " + line for line in list(d)[:80]]
    pytest.fail("\n".join(msg), pytrace=False)


def run_both(ref_srv, sut_srv, steps, name):
    """The reference first, then the server under test (which stops soon
    after a difference); compare."""
    results = {"ref": run_session(ref_srv.addr, steps)}
    assert ref_srv.alive(), "memcached died:\n" + ref_srv.log_text()
    results["sut"] = run_session(sut_srv.addr, steps, expect=results["ref"])
    assert sut_srv.alive(), "server under test died:\n" + sut_srv.log_text()
    compare(name, results["ref"], results["sut"], "memcached",
            "memcached#2" if SERVER_KIND == "memcached" else "memg")
    return results


# --- tests -----------------------------------------------------------------

@pytest.mark.parametrize("proto", ["auto", "binary"])
def test_binary_core(server_factory, proto):
    flags = () if proto == "auto" else ("-B", "binary")
    ref = server_factory(*flags, kind="memcached")
    sut = server_factory(*flags)
    steps = script_core()
    res = run_both(ref, sut, steps, "core/" + proto)
    # sanity: the script exercises what it says (on the reference)
    text = "\n".join(l for t in res["ref"] for l in t[3])
    for must in ("E2BIG", "KEY_EEXISTS", "NOT_STORED", "DELTA_BADVAL", "EINVAL",
                 "UNKNOWN_COMMAND", "<closed by server>", "key=b'canary' value=b'still here'"):
        assert must in text, must


def test_binary_quirks(server_factory):
    ref = server_factory("-B", "binary", kind="memcached")
    sut = server_factory("-B", "binary")
    run_both(ref, sut, script_quirks(), "quirks")


def test_binary_item_size_max(server_factory):
    ref = server_factory("-I", "2m", kind="memcached")
    sut = server_factory("-I", "2m")
    run_both(ref, sut, script_item_size(), "item_size")


def test_binary_wrong_magic_first_byte(server_factory):
    """-B binary: a first packet with a wrong magic byte closes the connection
    without an answer; under -B auto a first byte other than 0x80 selects the
    text protocol instead (a 24-byte line without newline: no answer yet)."""
    for flags, expect_closed in ((("-B", "binary"), True), ((), False)):
        for srv in (server_factory(*flags, kind="memcached"), server_factory(*flags)):
            with B.Conn(srv.addr, timeout=3) as c:
                c.send(B.pack(B.OP_GET, key=b"k", magic=0x81, opaque=1))
                rs, rest, closed = c.drain(0.3)
                assert (rs, rest, closed) == ([], b"", expect_closed), (srv.kind, flags, rs, rest)


# --- SASL ------------------------------------------------------------------

SASL_USER, SASL_PASS = b"alice", b"s3cret-pw"


@pytest.fixture
def sasl_env(monkeypatch):
    """A world-readable directory (the servers may run as nobody) with:
    - pwdb: `user:password` lines, named by MEMCACHED_SASL_PWDB (memg);
    - memcached.conf (mech_list: plain) and a Cyrus sasldb holding the same
      user, named by SASL_CONF_PATH: Debian's memcached 1.6.18 is built
      without MEMCACHED_SASL_PWDB support, so it authenticates through
      Cyrus SASL (saslpasswd2 from sasl2-bin writes the sasldb)."""
    saslpasswd2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
    d = tempfile.mkdtemp(prefix="memg-sasl-")
    os.chmod(d, 0o755)
    try:
        pwdb = os.path.join(d, "pwdb")
        with open(pwdb, "wb") as f:
            f.write(b"%s:%s\n" % (SASL_USER, SASL_PASS))
        sasldb = os.path.join(d, "sasldb2")
        with open(os.path.join(d, "memcached.conf"), "w") as f:
            f.write("mech_list: plain\nsasldb_path: %s\n" % sasldb)
        if not os.access(saslpasswd2, os.X_OK):
            pytest.skip("saslpasswd2 (Debian sasl2-bin) is needed to give memcached a user")
        r = subprocess.run([saslpasswd2, "-p", "-c", "-f", sasldb, "-a", "memcached",
                            SASL_USER.decode()], input=SASL_PASS, capture_output=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        for name in os.listdir(d):
            os.chmod(os.path.join(d, name), stat_mod.S_IRUSR | stat_mod.S_IWUSR
                     | stat_mod.S_IRGRP | stat_mod.S_IROTH)
        monkeypatch.setenv("MEMCACHED_SASL_PWDB", pwdb)
        monkeypatch.setenv("SASL_CONF_PATH", d)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("proto", ["auto", "binary"])
def test_binary_sasl(server_factory, sasl_env, proto):
    flags = ("-S",) if proto == "auto" else ("-S", "-B", "binary")
    ref = server_factory(*flags, kind="memcached")
    sut = server_factory(*flags)
    res = run_both(ref, sut, script_sasl(SASL_USER, SASL_PASS), "sasl/" + proto)
    text = "\n".join(l for t in res["ref"] for l in t[3])
    assert "value=b'Authenticated'" in text and "AUTH_ERROR" in text


def test_sasl_refuses_ascii(sasl_env):
    """`-S -B ascii` is refused at start: memcached prints "ERROR: You cannot
    allow the ASCII protocol while using SASL." and exits non-zero."""
    conftest.assert_refused_at_start(["-S", "-B", "ascii"], b"You cannot allow the ASCII protocol while using SASL")