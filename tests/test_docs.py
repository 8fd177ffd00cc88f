"""Executable documentation and self-contained files.

1. Every ```python block of README.md and of docs/**/*.md runs: the blocks of one file in order, in one
   namespace, in a temporary working directory, float64 on. A snippet that no longer matches the API
   fails here. Blocks that are not meant to run must be written as ```bash / ```text / ```toml.
   The tutorials and getting-started show their output: their blocks are ```python exec="on"
   session="<page>" ... (markdown-exec runs them when the site is built), and the checks of what they
   print live here (`_CHECKS`), not in the reader's code.
2. Every public name of `jaxsot` and `jaxsot.fit` has an API entry (`::: jaxsot.NAME`) in docs/api/,
   and no entry points at an internal (underscore) path.
3. No file of the repository refers to anything outside it: notes kept elsewhere, sibling folders,
   absolute paths of a development machine, or issue numbers of a tracker. The detector is tested on
   synthetic text, so the check can fail.
4. README's relative links and images point at files that exist.
5. The site builds with `mkdocs build --strict` (the test extra installs the docs tools).
6. The configurations printed on the how-to pages are the embedded defaults (`jaxsot default-config`).
"""

import contextlib
import importlib
import inspect
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import jax
import pytest

jax.config.update("jax_enable_x64", True)

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# ---------------------------------------------------------------------------------------------
# 1. Executable snippets

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_PYTHON_INFOS = {"python"}
_NOT_RUN_BUT_PYTHON = re.compile(r"^(py|python3|pycon|ipython|py3)\b")  # would silently escape execution


def _markdown_files():
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [f for f in files if f.is_file()]


def _blocks(path):
    return [(m["info"].strip(), m["body"]) for m in _FENCE.finditer(path.read_text(encoding="utf-8"))]


def _files_with_python():
    return [f for f in _markdown_files() if any(info.split()[:1] == ["python"] for info, _ in _blocks(f))]


# Pages whose code blocks run at build time, output shown beside the code (markdown-exec).
_EXECUTED_PAGES = ("docs/getting-started.md", "docs/tutorials/*.md")

# What the executed pages must find, asserted in the page's namespace after its last block. The pages
# print these numbers; the assertions stay here, out of the reader's code.
_CHECKS = {
    "docs/getting-started.md": [
        "eigh_error < 1e-12",  # the energies are the eigenvalues of H = c k^2 + b.sigma
        "identity_error < 1e-8",  # in-plane T2 = (hbar/(m alpha)) z x F_so (paper eq. 10/11); m = 5.6856301 m_e is given to 8 digits
        "grad_error < 1e-8",  # autodiff against a central difference
        "jaxsot.occupied_bands(model, EF) == (-1, 1)",  # E_F > J: the upper band is occupied
        "abs(amr_exact - strong) < 0.2 * (strong - 1)",  # close to the strong-exchange AMR (paper eq. 18)
        "shift_error < 1e-8 * np.max(np.abs(shift)) + 1e-12",  # Delta k = (qE tau/hbar)(1 - exp(-t/tau))
        "np.allclose(T1[0], 0.0) and abs(T1[-1][2]) < np.linalg.norm(T1[-1])",  # T1 starts at 0 and builds up
    ],
    "docs/tutorials/approximation-errors.md": [
        "np.all(np.abs(orders - 2.0) < 0.15)",  # both approximations converge as (alpha k_F/J)^2
    ],
    "docs/tutorials/custom-observables.md": [
        'abs(transport[0]) < 1e-12 * abs(float(equilibrium["Jz_x"])) and abs(transport[-1]) > 1e-8',
        'np.allclose(rate, result.observables["spin_rate"]["exact"], rtol=1e-9, atol=1e-16)',
    ],
    "docs/tutorials/fitting.md": [
        "all(abs(value) < 4 for value in z.values())",  # the truth within 4 standard errors
    ],
    "docs/tutorials/lab-data.md": [
        "abs(data[1].current_density / 2e11 - 1.0) < 1e-8",  # 10 significant digits in the file
        'abs(report["relative_change"]) > 1e-3',  # R_2w/j0 moves between the two currents
        "all(abs(value) < 3.0 for value in z.values())",  # the every-order fit within 3 SE of the truth
        'ratio["xi_DL"] * xi_fit < 0.0',  # the ratio route (Oersted only) gets the sign wrong here
    ],
    "docs/tutorials/llg-switching.md": [
        "np.array_equal(np.asarray(result.switched), expected)",  # the Stoner-Wohlfarth line
        'np.isclose(float(rates["power_spin_force"]), kappa_np * float(rates["spin_force_power"]), rtol=1e-6)',
    ],
    "docs/tutorials/quantum-check.md": [
        "0.5 * eps < semiclassical < 2 * eps",  # O(epsilon)
        "first_order < 0.05 * semiclassical",  # O(epsilon^2)
    ],
    "docs/tutorials/spin-force-vs-angle.md": [
        "max(deviations) < 0.01",  # measured: within 0.78 % at every angle
    ],
    "docs/tutorials/sweeps.md": [
        "np.all(jaxsot.sweep_status(points) == 0)",
        "np.all(np.diff(np.log(error)) / np.log(2.0) > 1.8)",  # doubling alpha: ~4x the error
    ],
    "docs/tutorials/your-own-material.md": [
        "energy_error < 1e-12",  # the model's bands against eigh of the hand-built H(k)
        "tensor_error < 1e-12",  # F_so = M0 a_so with the anisotropic mass tensor
        '"[0.0, 10.0]" in report',  # the touching point k* = (J/alpha)(z x M) found by the search
    ],
    "docs/tutorials/transient.md": [
        "abs(decay - tau) < 0.01",
        'closed_form_errors["T2"] < 0.03 and closed_form_errors["T1"] < 0.03',
    ],
}


def _executed_pages():
    return sorted({p for pattern in _EXECUTED_PAGES for p in ROOT.glob(pattern)})


def _exec_options(info):
    return dict(re.findall(r'(\w+)="([^"]*)"', info))


def test_executed_pages_show_their_output_and_keep_asserts_out():
    pages = _executed_pages()
    assert len(pages) >= 8, pages
    problems = []
    for page in pages:
        name = page.relative_to(ROOT).as_posix()
        sessions = set()
        for info, body in _blocks(page):
            if info.split()[:1] != ["python"]:
                continue
            options = _exec_options(info)
            if options.get("exec") != "on" or options.get("source") not in ("block", "above", "tabbed-left"):
                problems.append(f"{name}: a python block is not run at build time with its source shown: {info!r}")
            sessions.add(options.get("session"))
            if re.search(r"^\s*(assert\b|np\.testing\.)", body, re.MULTILINE):
                problems.append(f"{name}: an assertion in the reader's code (move it to _CHECKS)")
        if len(sessions) > 1 or None in sessions:
            problems.append(f"{name}: blocks must share one session (they run in one namespace): {sessions}")
    assert not problems, "\n".join(problems)
    unknown = sorted(set(_CHECKS) - {p.relative_to(ROOT).as_posix() for p in pages})
    assert not unknown, f"_CHECKS for pages that are not executed: {unknown}"


def test_markdown_files_found():
    names = {f.relative_to(ROOT).as_posix() for f in _markdown_files()}
    assert "README.md" in names and "docs/index.md" in names and len(names) > 20, sorted(names)


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_unexecuted_python_fences(path):
    bad = [info for info, _ in _blocks(path) if _NOT_RUN_BUT_PYTHON.match(info)]
    assert not bad, f"{path.relative_to(ROOT)}: fences {bad} are not executed; use python (or text)"


# Each page runs in a fresh interpreter, as a reader runs it: in the suite's long-lived process (after
# about 1,000 tests) XLA crashed (SIGSEGV) while serializing one of these pages' programs into the
# persistent compilation cache, a crash the same page never shows on its own. The session's float64
# and compilation cache reach the child through the environment and the line below.
_PAGE_RUNNER = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import jax
jax.config.update("jax_enable_x64", True)
blocks, checks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__docs__"}
for label, body in blocks:
    exec(compile(body, label, "exec"), namespace)
failed = [check for check in checks if not eval(check, namespace)]
if failed:
    sys.exit("checks failed: " + "; ".join(failed))
"""


# Pages whose run is compile-heavy (each is a fresh interpreter that compiles its own programs): the slow tier.
_SLOW_PAGES = {
    "docs/api/validation.md",
    "docs/architecture.md",
    "docs/getting-started.md",
    "docs/how-to/fit.md",
    "docs/how-to/llg.md",
    "docs/how-to/read-outputs.md",
    "docs/how-to/sweep.md",
    "docs/theory/energy-amr.md",
    "docs/theory/ensembles.md",
    "docs/theory/general-spin-force.md",
    "docs/theory/harmonic-hall.md",
    "docs/theory/llg.md",
    "docs/theory/quantum.md",
    "docs/theory/spin-force.md",
    "docs/theory/st-fmr.md",
    "docs/theory/torques.md",
    "docs/tutorials/approximation-errors.md",
    "docs/tutorials/custom-observables.md",
    "docs/tutorials/fitting.md",
    "docs/tutorials/lab-data.md",
    "docs/tutorials/llg-switching.md",
    "docs/tutorials/quantum-check.md",
    "docs/tutorials/spin-force-vs-angle.md",
    "docs/tutorials/sweeps.md",
    "docs/tutorials/ti-surface.md",
    "docs/tutorials/transient.md",
    "docs/tutorials/your-own-material.md",
}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.slow) if p.relative_to(ROOT).as_posix() in _SLOW_PAGES else p
        for p in _files_with_python()
    ],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_python_snippets_run(path, tmp_path):
    name = path.relative_to(ROOT).as_posix()
    blocks = [
        (f"{name} [python block {index + 1}]", body)
        for index, (info, body) in enumerate(_blocks(path))
        if info.split()[:1] == ["python"]
    ]
    page = tmp_path / "page.json"
    page.write_text(json.dumps([blocks, list(_CHECKS.get(name, ()))]), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _PAGE_RUNNER, str(page)], cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"{name}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    # The docs build runs exec="on" blocks in the repository root: such a page writes only to folders it makes.
    if any('exec="on"' in info for info, _ in _blocks(path)):
        left = sorted(p.name for p in tmp_path.iterdir() if p != page)
        assert not left, f"{name} wrote {left} into the working directory (use a scratch folder: tempfile.mkdtemp())"


# ---------------------------------------------------------------------------------------------
# 2. API reference covers every public name, through public paths only

_ENTRY = re.compile(r"^::: (?P<name>[\w.]+)", re.MULTILINE)


def _api_entries():
    pages = sorted((DOCS / "api").glob("*.md"))
    return {m["name"] for page in pages for m in _ENTRY.finditer(page.read_text(encoding="utf-8"))}


def _public_names(module, names):
    found = set()
    for name in names:
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        found.add(f"{module.__name__}.{name}")
    return found


def test_api_reference_lists_every_public_name():
    import jaxsot
    import jaxsot.fit

    public = _public_names(jaxsot, dir(jaxsot)) | _public_names(jaxsot.fit, jaxsot.fit.__all__)
    public |= {"jaxsot.constants", "jaxsot.fit"}  # public modules documented as a whole
    missing = sorted(public - _api_entries())
    assert not missing, f"public names without an API entry in docs/api/*.md: {missing}"


def test_api_reference_uses_public_paths_only():
    entries = _api_entries()
    private = sorted(e for e in entries if any(part.startswith("_") for part in e.split(".")))
    assert not private, f"API entries through internal paths: {private}"
    unknown = []
    for entry in entries:
        module_name, _, attribute = entry.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            unknown.append(entry)
    assert not unknown, f"API entries that do not exist: {unknown}"


# ---------------------------------------------------------------------------------------------
# 3. Nothing refers outside the repository

# Built from pieces so that this file does not contain the strings it looks for.
_OUTSIDE_PATTERNS = {
    "a sibling folder": re.escape(".." + "/" + "shared"),
    "notes kept outside the repository": r"\b(" + "PHY" + r"SICS|" + "PERFOR" + r"MANCE)\." + "md" + r"\b",
    "an absolute path of a development machine": r"(?<![\w.~-])/" + "wo" + r"rk/",
    "an issue number of a tracker": r"\b" + "is" + r"sues?\s+#?\d+",
}
_OUTSIDE = re.compile("|".join(f"(?:{p})" for p in _OUTSIDE_PATTERNS.values()), re.IGNORECASE)
_SCANNED = ("README.md", "docs", "jaxsot", "tests", "experiments", "benchmarks", "docker",
            "mkdocs.yml", "pyproject.toml", "CITATION.cff", ".dockerignore", "LICENSE")


def outside_references(text):
    """(line number, line) for every line of `text` that refers outside the repository."""
    lines = enumerate(text.splitlines(), start=1)
    return [(number, line.strip()) for number, line in lines if _OUTSIDE.search(line)]


def test_detector_finds_every_kind_of_outside_reference():
    samples = [
        "see the contract in " + "../" + "shared/notes",
        "as " + "PHY" + "SICS.md requires",
        "details in " + "PERFOR" + "MANCE.md item 3",
        "results in " + "/wo" + "rk/main/out",
        "fixed in " + "is" + "sue 5",
        "(" + "Is" + "sue #12)",
    ]
    for sample in samples:
        assert outside_references(f"first line\n{sample}\n") == [(2, sample)], sample
    clean = "docs: Theory > Ensembles\nWORKDIR /data\nrelative ../experiments/figures\nissues are welcome\n"
    assert outside_references(clean) == []


def _repository_files():
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *_SCANNED],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.splitlines()
        files = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk the folders
        files = []
        for name in _SCANNED:
            path = ROOT / name
            files += [p for p in path.rglob("*") if "__pycache__" not in p.parts] if path.is_dir() else [path]
    return sorted(f for f in files if f.is_file() and not f.is_symlink())


@pytest.mark.parametrize("area", _SCANNED)
def test_no_references_outside_the_repository(area):
    offending = []
    for path in _repository_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative != area and not relative.startswith(area + "/"):
            continue
        data = path.read_bytes()
        if b"\0" in data:  # images and other binary files
            continue
        for number, line in outside_references(data.decode("utf-8", errors="replace")):
            offending.append(f"{relative}:{number}: {line[:120]}")
    assert not offending, "references outside the repository:\n" + "\n".join(offending)


# ---------------------------------------------------------------------------------------------
# 4. README links

_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def test_readme_links_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [m["target"] for m in _LINK.finditer(text) if "://" not in m["target"]]
    assert targets, "README.md should link into the docs"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


# ---------------------------------------------------------------------------------------------
# 5. The site builds in strict mode


@pytest.mark.slow  # the whole mkdocs site (API pages through griffe) in a subprocess
def test_site_builds_in_strict_mode(tmp_path):
    # JAXSOT_DOCS_EXEC=0: the code blocks are shown but not run (test_python_snippets_run runs them).
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "JAXSOT_DOCS_EXEC": "0"}
    result = subprocess.run(
        # no --quiet: it would hide the warnings that --strict turns into errors
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, check=False, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "bands" / "index.html").is_file()


# ---------------------------------------------------------------------------------------------
# 6. Documented configurations = the embedded defaults

_CONFIG_PAGES = {"run": "run.md", "sweep": "sweep.md", "llg": "llg.md", "validate": "validate.md"}


@pytest.mark.parametrize("command", sorted(_CONFIG_PAGES))
def test_documented_configuration_is_the_default(command):
    from jaxsot.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["default-config", command]) == 0
    default = tomllib.loads(printed.getvalue())
    page = DOCS / "how-to" / _CONFIG_PAGES[command]
    documented = {}
    for info, body in _blocks(page):
        if info == "toml":
            documented.update(tomllib.loads(body))
    text = page.read_text(encoding="utf-8")
    for section, table in default.items():
        if section not in documented:
            assert f"[{section}]" in text, f"{page.name}: section [{section}] of the default is not documented"
            continue
        for key, value in table.items():
            assert documented[section].get(key) == value, f"{page.name}: [{section}] {key} = {value!r} in the default"
