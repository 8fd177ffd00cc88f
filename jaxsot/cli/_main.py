"""The `jaxsot` command line: one entry point, one module per command.

Each command module (`run`, `sweep`, `llg`, `validate`, `fit`) has `register(subparsers)` and
`main(args) -> exit status`. This module builds the parser and turns every failure into one line:
exit 2 for what the user can fix (config, data file, paths), exit 1 for checks that failed,
and for anything else a line saying it is a bug (the traceback only with --debug).
"""

import argparse
import sys
from typing import NoReturn

from . import fit, llg, run, sweep, validate
from ._common import REPORT_BUGS, fail
from ._config import DEFAULT_LLG_TOML, DEFAULT_RUN_TOML, DEFAULT_SWEEP_TOML, DEFAULT_VALIDATE_TOML, ConfigError

_DEFAULTS = {"run": DEFAULT_RUN_TOML, "sweep": DEFAULT_SWEEP_TOML, "llg": DEFAULT_LLG_TOML, "validate": DEFAULT_VALIDATE_TOML}
_COMMANDS = {"run": run.main, "sweep": sweep.main, "llg": llg.main, "validate": validate.main, "fit": fit.main, "synth": fit.main}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jaxsot")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from jaxsot import __version__

        return __version__


def parser() -> argparse.ArgumentParser:
    """The `jaxsot` argument parser with every subcommand."""
    top = argparse.ArgumentParser(prog="jaxsot", description="Semiclassical spin-orbit torque in Rashba ferromagnets (JAX).")
    top.add_argument("--version", action="version", version=f"jaxsot {_version()}")
    top.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = top.add_subparsers(dest="command", required=True)
    run.register(commands)
    default = commands.add_parser("default-config", help="print an embedded default configuration (of run, sweep, llg or validate)")
    default.add_argument("which", nargs="?", choices=tuple(_DEFAULTS), default="run", help="which command's default (default: run)")
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
        print(_DEFAULTS[args.which], end="")
        return 0
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\njaxsot: interrupted; files written so far are complete", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, ConfigError):
            fail(f"config: {error}")
        if isinstance(error, (ValueError, OSError)):
            fail(str(error))
        _bug(error)
