"""Progress lines of `fit_harmonic_hall` (report_every > 0): the compilation, the linear start, each
Levenberg-Marquardt run's iterations (loss and elapsed time), the batched L-BFGS runs' losses, the polish and the
noise refits.

The Levenberg-Marquardt loop runs on the host and calls one compiled evaluation (residuals and Jacobian) per trial
step, so the lines come from a wrapper of that evaluation: no host callback in the compiled program (JAX's
persistent cache keeps it). An iteration is an accepted step: an evaluation whose chi^2 falls below the run's best
(the optimizer keeps exactly those). A line is written at each run's start and end, every `every` iterations, and
whenever `gap` seconds passed since the last line, so a user is never left without news for long. The batched
L-BFGS runs stop every `every` iterations and return to Python (`_hall_model.run_batched`), which writes their
losses (`iterations`): again no callback in the compiled optimizer.
"""

import math
import time

import numpy as onp


def _clock(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)}:{int(seconds % 60):02d} min"


class HallProgress:
    """Progress of one fit (see the module docstring).

    Args:
        every: write a run's loss every so many iterations (0: write nothing at all).
        write: where a line goes (default: print, flushed).
        gap: the longest time [s] between two lines while iterations go on.
    """

    def __init__(self, every: int, write=None, gap: float = 1.0):
        self.every, self.gap = every, gap
        self._write = write or (lambda text: print(text, flush=True))
        self.started = self.last = time.perf_counter()
        self.label, self.best, self.iteration = None, math.inf, 0
        self.stage_name, self.stage_count = "evaluating", 0

    def say(self, text: str) -> None:
        """Write one line (with the elapsed time) unless quiet."""
        if self.every > 0:
            now = time.perf_counter()
            self._write(f"  {text} ({_clock(now - self.started)})")
            self.last = now

    def wrap(self, evaluate, what: str = "the model's residuals and Jacobian"):
        """The evaluation with progress: its first call is announced as the compilation of `what` ("": not
        announced, a program compiled before); during a run (`begin`) each accepted step counts as an iteration."""
        first = [bool(what)]

        def wrapped(x):
            if first[0]:
                self.say(f"compiling {what} (first evaluation) ...")
            out = evaluate(x)
            if first[0]:
                first[0] = False
                self.say("compiled")
            if self.label is not None:
                self._count(out[0])
            else:
                self.stage_count += 1
                if time.perf_counter() - self.last >= self.gap:
                    self.say(f"{self.stage_name}: evaluation {self.stage_count}")
            return out

        return wrapped

    def stage(self, text: str) -> None:
        """A step outside the runs starts (its evaluations are counted): one line naming it."""
        self.stage_name, self.stage_count = text, 0
        self.say(f"{text} ...")

    def begin(self, label: str) -> None:
        """A run starts (e.g. 'restart 2/4'): its iterations are counted from 0."""
        self.label, self.best, self.iteration = label, math.inf, -1

    def end(self, loss, steps, status: str) -> None:
        """A run ended with this loss, number of iterations and stop reason."""
        label, self.label = self.label, None
        self.say(f"{label}: loss {float(loss):.6g} after {int(steps)} iteration{'' if int(steps) == 1 else 's'}, {status}")

    def iterations(self, trace, first: int, stop: int) -> None:
        """Batched runs (L-BFGS) stopped after iteration stop - 1: one line per multiple of `every` in [first, stop)
        with every run's loss (trace (R, max_steps), NaN where a run had stopped: "--")."""
        if self.every <= 0:
            return
        trace = onp.asarray(trace).reshape(-1, onp.shape(trace)[-1])
        for step in range(-(-first // self.every) * self.every, stop, self.every):
            values = trace[:, step]
            if onp.any(onp.isfinite(values)):
                self.say(f"iteration {step:4d}: loss " + ", ".join("--" if not onp.isfinite(v) else f"{v:.6g}" for v in values))

    def _count(self, residual) -> None:
        residual = onp.asarray(residual)
        chi2 = float(residual @ residual) if onp.all(onp.isfinite(residual)) else math.inf
        if not chi2 < self.best:
            if time.perf_counter() - self.last >= self.gap:  # a long search for an accepted step: still working
                self.say(f"{self.label} iteration {max(self.iteration, 0):4d}: trying smaller steps")
            return
        self.best, self.iteration = chi2, self.iteration + 1
        if self.iteration % max(self.every, 1) == 0 or time.perf_counter() - self.last >= self.gap:
            self.say(f"{self.label} iteration {self.iteration:4d}: loss {0.5 * chi2 / residual.size:.6g}")
