"""bench/ttl.py's rounds: the writes' server CPU per set is read from the
load generator's RESULT line, and the first table's figures are the
median and range over the rounds (one 4 s run is not a comparison on a
shared machine)."""
import os
import stat
import sys
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bench/ last, and only while ttl (and its compare) load: its http.py must
# not shadow the standard library's http for the test modules collected later
sys.path.append(os.path.join(ROOT, "bench"))
try:
    import ttl  # noqa: E402
finally:
    sys.path.remove(os.path.join(ROOT, "bench"))


def test_summary_median_and_range():
    assert ttl.median([3, 1, 2]) == 2
    assert ttl.median([4, 1, 3, 2]) == 2.5
    rounds = [(60637.0, 7400.0), (28605.0, 5900.0), (41000.0, 5800.0)]
    assert ttl.summary(rounds) == (41000.0, 28605.0, 60637.0, 5900.0)


def test_write_reads_cpu_per_set(tmp_path):
    # a stand-in load generator: records its arguments, prints a RESULT line
    args_file = tmp_path / "args"
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho \"$@\" > %s\n"
                    "echo 'RESULT conns=4 secs=4.001 sets=430087 srv_ns_per_op=5929.0 errors=0'\n"
                    % args_file)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    o = SimpleNamespace(tool=str(tool))
    assert ttl.write(o, 11211, 0, 4242) == (430087, 4.001, 5929.0)
    argv = args_file.read_text().split()
    assert argv[argv.index("--server-pid") + 1] == "4242"
    assert argv[argv.index("--ttl") + 1] == "2" and "-R" not in argv
    assert ttl.write(o, 11211, 1000) == (430087, 4.001, 5929.0)
    argv = args_file.read_text().split()
    assert "--server-pid" not in argv and argv[argv.index("-R") + 1] == "1000"
