"""The classic pylibmc check, text protocol."""
import pylibmc
import pytest

# [direct] and [relay]: also through the chopping relay (conftest.py)
pytestmark = pytest.mark.relay


@pytest.fixture
def mc(addr):
    c = pylibmc.Client(["%s:%d" % addr], binary=False,
                       behaviors={"connect_timeout": 2000, "receive_timeout": 5000000,
                                  "send_timeout": 5000000})
    yield c
    c.disconnect_all()


def test_missing_key(mc):
    with pytest.raises(KeyError):
        mc["no-such-key"]
    assert mc.get("no-such-key") is None


def test_crlf_in_value_roundtrips(mc):
    assert mc.set("crlf", "one\r\ntwo")
    assert mc.get("crlf") == "one\r\ntwo"
    assert mc["crlf"] == "one\r\ntwo"
    mc["crlf2"] = "one\r\ntwo\r\nEND\r\n"
    assert mc["crlf2"] == "one\r\ntwo\r\nEND\r\n"


def test_ten_thousand_keys(mc):
    n = 10000
    # first half one by one, second half in batches
    for i in range(n // 2):
        assert mc.set(str(i), i)
    for start in range(n // 2, n, 500):
        assert mc.set_multi({str(i): i for i in range(start, start + 500)}) == []
    # read back: the odd keys one by one, the even keys in batches
    for i in range(1, n, 2):
        assert mc.get(str(i)) == i
    for start in range(0, n, 1000):
        keys = [str(i) for i in range(start, start + 1000, 2)]
        got = mc.get_multi(keys)
        assert got == {k: int(k) for k in keys}
    assert mc.get_multi([str(i) for i in range(n, n + 100)]) == {}
