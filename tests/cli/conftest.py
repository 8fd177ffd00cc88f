"""Fixtures of the CLI tests: the command line called in this process (no JAX start-up per call)."""

import types

import pytest

from jaxsot.cli import main


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Call `jaxsot ARGS` in this process, in folder `cwd`: (returncode, stdout, stderr) like subprocess.run."""

    def run(*args, cwd):
        monkeypatch.chdir(cwd)
        try:
            status = main(list(args))
        except SystemExit as stop:
            status = stop.code
        captured = capsys.readouterr()
        return types.SimpleNamespace(returncode=status, stdout=captured.out, stderr=captured.err)

    return run
