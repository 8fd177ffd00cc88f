"""The `jaxsot` command line: one entry point, one module per command.

Each command module (`run`, `sweep`, `llg`, `validate`, `fit`) has `register(subparsers)` and
`main(args) -> exit status`. This module builds the parser and turns every failure into one line:
exit 2 for what the user can fix (arguments, config, data file, paths, too large a run), exit 1
for checks that failed or results that are not finite, 130 for Ctrl-C, and for anything else
(exit 3) a line saying it is a bug (the traceback only with --debug).

Every command checks its whole input before any work (types, ranges, cross-field rules, Fermi
seas, work and memory against [limits] and this machine, the output path), so that a ValueError
from the library during the computation is rare; it is still reported as the user's (exit 2).
"""

import argparse
import sys
import traceback
from typing import NoReturn

from . import fit, llg, run, sweep, validate
from ._common import REPORT_BUGS, Terminated, enable_compilation_cache, fail, os_error_text, output_session
from ._config import DEFAULT_LLG_TOML, DEFAULT_RUN_TOML, DEFAULT_SWEEP_TOML, DEFAULT_VALIDATE_TOML

from ._model_config import KINDS, with_model_kind  # noqa: E402

_DEFAULTS = {"run": DEFAULT_RUN_TOML, "sweep": DEFAULT_SWEEP_TOML, "llg": DEFAULT_LLG_TOML, "validate": DEFAULT_VALIDATE_TOML}
_COMMANDS = {"run": run.main, "sweep": sweep.main, "llg": llg.main, "validate": validate.main, "fit": fit.main, "synth": fit.main}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jaxsot")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from jaxsot import __version__

        return __version__


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of the usage text plus the error."""

    def error(self, message):
        fail(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parser() -> argparse.ArgumentParser:
    """The `jaxsot` argument parser with every subcommand."""
    top = _Parser(prog="jaxsot", description="Semiclassical spin-orbit torque in Rashba ferromagnets (JAX).")
    top.add_argument("--version", action="version", version=f"jaxsot {_version()}")
    top.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = top.add_subparsers(dest="command", required=True)
    run.register(commands)
    default = commands.add_parser("default-config", help="print an embedded default configuration (of run, sweep, llg or validate)")
    default.add_argument("which", nargs="?", choices=tuple(_DEFAULTS), default="run", help="which command's default (default: run)")
    default.add_argument("--model", choices=KINDS, default="rashba", help="the [model] kind of the run, sweep or llg default (default: rashba)")
    sweep.register(commands)
    llg.register(commands)
    validate.register(commands)
    fit.register(commands)  # `jaxsot fit` and `jaxsot synth`
    return top


def _bug(error: BaseException) -> NoReturn:
    fail(f"internal error ({type(error).__name__}: {error}); {REPORT_BUGS}", status=3)


def main(argv: list[str] | None = None) -> int:
    """Run `jaxsot` with the given arguments (default: sys.argv); returns the exit status."""
    args = parser().parse_args(argv)
    if args.command == "default-config":
        if args.model != "rashba" and args.which == "sweep":  # another kind's own small sweep (cli._sweep_kinds)
            from ._sweep_kinds import default_kind_sweep_toml

            print(default_kind_sweep_toml(args.model), end="")
            return 0
        if args.which == "llg":  # [electrons] of another kind (jaxsot llg parses kind = ... there)
            from ._config_llg import default_llg_toml

            print(default_llg_toml(args.model), end="")
            return 0
        if args.model != "rashba" and args.which != "run":
            fail(f"default-config {args.which} --model {args.model}: the physics checks are those of the Rashba ferromagnet's closed forms; allowed: default-config run, sweep or llg --model {args.model}")
        print(with_model_kind(_DEFAULTS[args.which], args.model), end="")
        return 0
    enable_compilation_cache()
    try:
        # Output folders are staged and published only when the command returns (output_session).
        with output_session(args.command):
            return _COMMANDS[args.command](args)
    except KeyboardInterrupt as interrupt:
        why = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
        print(f"\njaxsot: {why}; output folders keep their previous complete contents (finished sweep chunks are "
              "kept for --resume)", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    except MemoryError:
        if args.debug:
            traceback.print_exc()
        fail("out of memory; allowed: smaller sizes, or a lower [limits] max_memory_GB so that such runs are refused up front")
    except Exception as error:
        if args.debug:  # the traceback, then the same one line and exit status as without --debug
            traceback.print_exc()
        if isinstance(error, ValueError):  # ConfigError, UsageError, FitDataError and the library's input checks
            fail(str(error))
        if isinstance(error, OSError):
            fail(os_error_text(error))
        if "RESOURCE_EXHAUSTED" in str(error):  # XLA ran out of (device) memory
            fail(f"out of memory on the device ({str(error).splitlines()[0][:200]}); allowed: smaller sizes")
        _bug(error)
