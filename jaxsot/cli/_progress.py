"""What the command line shows while a user waits: one module for status lines and meters.

- `Status` wraps one blocking computation (a compiled solve, a sweep chunk). On a terminal it redraws
  one line on stderr every quarter second: elapsed time, the XLA compilations finished so far (count
  and seconds, from `jax.monitoring`), and, when the expected duration is known, a bar with the
  share done and the ETA. Off a terminal (a log file, CI) it writes no bar: one line when the work
  starts and one when it ends. `quiet=True` writes nothing.
- `compile_stats()`: XLA compilations of this process so far (count, seconds).
- `fit(text)`: shortens a line to the terminal budget of `WIDTH` (100) columns.

The first call of a compiled function spends most of its time in XLA's compiler; the status line
says so ("compiling: 3 programs, 7.2 s") instead of staying silent.
"""

import sys
import threading
import time

WIDTH = 100
_BAR = 20

_compilations = {"count": 0, "seconds": 0.0}
_listening = False
_lock = threading.Lock()


def _on_duration(event, duration, **kwargs):
    if event.endswith("backend_compile_duration"):
        with _lock:
            _compilations["count"] += 1
            _compilations["seconds"] += float(duration)


def compile_stats() -> tuple[int, float]:
    """(number of XLA backend compilations, their seconds) in this process since the first call."""
    global _listening
    if not _listening:
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        _listening = True
    with _lock:
        return _compilations["count"], _compilations["seconds"]


def fit(text: str, width: int = WIDTH) -> str:
    """`text` cut to `width` columns (an ellipsis marks the cut)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def clock(seconds: float) -> str:
    """12 -> '12 s', 75 -> '1:15', 3725 -> '1:02:05'."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, second = divmod(int(round(seconds)), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


class Status:
    """A status line while a blocking computation runs (see the module docstring).

    Args:
        label: what is running, e.g. "integrating the LLG".
        quiet: write nothing.
        expected_s: expected duration [s] (e.g. measured on an earlier chunk): adds a bar and ETA.
        done: share of the whole job finished before this step, in [0, 1], for the bar.
        share: share of the whole job this step adds, in [0, 1].
        lines: off a terminal, write the start and end lines (False: only the terminal's status line,
            for steps of a longer job whose caller reports the whole).
        stream: where to write (default stderr).

    `update(done, total)` reports progress from inside the computation (e.g. the time blocks of
    `jaxsot.simulate`): the line then shows a bar and an ETA from the rate since the first update.
    `say(text)` prints a line on stdout from inside the computation (e.g. a fit's iterations): on a
    terminal the status line is cleared first and redrawn below it at the next tick.
    """

    def __init__(self, label, *, quiet=False, expected_s=None, done=0.0, share=None, lines=True, stream=None):
        self.label, self.quiet, self.expected = label, quiet, expected_s
        self.done, self.share, self.lines = done, share, lines
        self._updates = None
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self.seconds = 0.0

    def line(self, elapsed: float) -> str:
        count, seconds = compile_stats()
        count -= self._count0
        seconds -= self._seconds0
        compiling = f", compiled {count} program{'s' if count != 1 else ''} in {seconds:.1f} s" if count else ""
        compiling = compiling if len(self.label) < 50 else compiling.replace(" program", " prog")
        if self._updates is not None:
            (t0, f0), (t1, f1) = self._updates
            filled = int(_BAR * f1)
            eta = (t1 - t0) / (f1 - f0) * (1.0 - f1) if f1 > f0 else None
            text = (f"{self.label} [{'#' * filled}{'.' * (_BAR - filled)}] {f1:4.0%} "
                    f"ETA {clock(eta) if eta is not None else '--'} ({clock(elapsed)}{compiling})")
        elif self.expected and self.share is not None:
            within = min(elapsed / self.expected, 0.99) if self.expected > 0 else 0.0
            fraction = min(self.done + self.share * within, 1.0)
            filled = int(_BAR * fraction)
            remaining = self.expected * (1.0 - within) + self.expected * (1.0 - self.done - self.share) / max(self.share, 1e-9)
            text = (f"{self.label} [{'#' * filled}{'.' * (_BAR - filled)}] {fraction:4.0%} "
                    f"ETA {clock(remaining)} ({clock(elapsed)}{compiling})")
        else:
            text = f"{self.label}: {clock(elapsed)}{compiling}"
        return fit(text)

    def update(self, done, total) -> None:
        """Progress inside the computation: `done` of `total` units finished."""
        now, fraction = time.perf_counter(), done / max(total, 1)
        self._updates = ((now, fraction), (now, fraction)) if self._updates is None else (self._updates[0], (now, fraction))

    def _run(self):
        while not self._stop.wait(0.25):
            text = self.line(time.perf_counter() - self._started).ljust(WIDTH - 1)
            with self._lock:
                self._write("\r" + text)

    def say(self, text: str) -> None:
        """One line on stdout (cut to WIDTH columns) below the terminal's status line (see the class docstring)."""
        with self._lock:
            if self._thread is not None:
                self._write("\r" + " " * (WIDTH - 1) + "\r")
            print(fit(text), flush=True)

    def _write(self, text, end=""):
        try:
            print(text, end=end, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or broken stream must not stop the computation
            pass

    def __enter__(self):
        self._count0, self._seconds0 = compile_stats()
        self._started = time.perf_counter()
        if self.quiet:
            return self
        if self.tty:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        elif self.lines:
            self._write(fit(f"{self.label} ..."), end="\n")
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._started
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self.quiet or not (self.tty or self.lines):
            return False
        count, seconds = compile_stats()
        count -= self._count0
        seconds -= self._seconds0
        compiling = f" (compiling {seconds:.1f} s, {count} program{'s' if count != 1 else ''})" if count else ""
        ending = "stopped" if exc[0] is not None else "done"
        final = fit(f"{self.label}: {ending} in {self.seconds:.1f} s{compiling}")
        if self.tty and not self.lines:
            self._write("\r" + " " * (WIDTH - 1) + "\r")  # a step of a longer job: leave the line to the next
        else:
            self._write(("\r" + final.ljust(WIDTH - 1)) if self.tty else final, end="\n")
        return False


def say(text: str, indent: str = "    ", stream=None) -> None:
    """Print `text` on stdout wrapped to `WIDTH` columns, continuation lines indented."""
    import textwrap

    lead = text[: len(text) - len(text.lstrip(" "))]
    lines = textwrap.wrap(text.strip(" "), WIDTH, initial_indent=lead, subsequent_indent=lead + indent,
                          break_on_hyphens=False) or [""]
    print("\n".join(lines), file=stream or sys.stdout, flush=True)
