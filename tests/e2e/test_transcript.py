"""The README telnet transcript, byte for byte."""


def test_greeting_transcript(raw):
    raw.send(b"set greeting 0 0 11\r\nHello World\r\n")
    assert raw.read_line() == b"STORED\r\n"
    raw.send(b"get greeting\r\n")
    assert raw.read_until(b"END\r\n") == b"VALUE greeting 0 11\r\nHello World\r\nEND\r\n"
    # and nothing else follows
    assert raw.read_quiet(0.1) == b""
