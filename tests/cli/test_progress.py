"""The command line's progress lines (jaxsot/cli/_progress.py): what a user waiting sees.

On a terminal a status line is redrawn with the elapsed time, the XLA compilations finished so far and,
once progress is reported, a bar with an ETA; off a terminal there are no bars, one line when the work
starts and one when it ends; --quiet writes nothing; no line is wider than 100 columns.
"""

import io
import re
import time

import jax
import jax.numpy as jnp

from jaxsot.cli import _progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _compile_something(size):
    # A fresh shape compiles a fresh program (the listener counts backend compilations).
    return jax.jit(lambda x: jnp.sin(x) * 2.0 + x**3)(jnp.ones(size)).block_until_ready()


def test_off_a_terminal_one_line_at_start_and_end_with_the_compilation():
    stream = io.StringIO()
    with _progress.Status("integrating the LLG", stream=stream):
        _compile_something(17)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "integrating the LLG ..."
    assert lines[1].startswith("integrating the LLG: done in ")
    assert re.search(r"\(compiling \d+\.\d s, [1-9]\d* programs?\)", lines[1]), lines[1]
    assert "\r" not in stream.getvalue() and "[" not in stream.getvalue()  # no bar off a terminal
    assert len(lines) == 2


def test_quiet_writes_nothing():
    stream = io.StringIO()
    with _progress.Status("sweep chunk 1/1", quiet=True, stream=stream) as status:
        status.update(1, 2)
        _compile_something(18)
    assert stream.getvalue() == ""


def test_on_a_terminal_a_redrawn_line_with_a_bar_and_an_eta():
    stream = _Terminal()
    with _progress.Status("  evolving the Fermi sea", stream=stream) as status:
        for done in range(5):
            status.update(done, 4)
            time.sleep(0.3)
    frames = [f for f in stream.getvalue().split("\r") if f.strip()]
    assert len(frames) >= 3  # redrawn while it waits
    assert any("[" in f and "ETA" in f and "%" in f for f in frames), frames
    assert frames[-1].rstrip("\n").strip().startswith("evolving the Fermi sea: done in")
    assert all(len(f.rstrip("\n")) <= _progress.WIDTH for f in frames)


def test_expected_duration_gives_the_share_of_the_whole_job():
    status = _progress.Status("sweep chunk 3/4", expected_s=10.0, done=0.5, share=0.25, stream=io.StringIO())
    status._count0, status._seconds0 = _progress.compile_stats()
    line = status.line(5.0)
    assert "62%" in line or "63%" in line  # half of the third quarter done
    assert "ETA 15 s" in line  # 5 s of this chunk and 10 s for the last one


def test_line_budget_helpers(capsys):
    assert _progress.fit("x" * 150) == "x" * 99 + "…" and _progress.fit("short") == "short"
    assert _progress.clock(12.2) == "12 s" and _progress.clock(75) == "1:15" and _progress.clock(3725) == "1:02:05"
    _progress.say("note: " + "a fairly long word sequence " * 12)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) > 1 and all(len(line) <= 100 for line in printed)
    assert printed[1].startswith("    ")  # continuation lines indented
