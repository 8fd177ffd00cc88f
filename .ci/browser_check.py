"""Open the built documentation site in headless Chromium and check what a reader sees.

Usage: python .ci/browser_check.py SITE_DIR [--screenshot FILE]

The site is served over HTTP from a local thread (every request and its status is recorded), and a
few pages are loaded by Chromium with their scripts run (`--dump-dom` after a virtual-time budget).
Each page must:

- typeset every formula: as many KaTeX elements as pymdownx.arithmatex left formulas, and none of
  KaTeX's error marks;
- load every image it shows (each <img> of the page was requested and answered with status 200; every
  request of the page, scripts, styles and fonts included, got an answer below 400);
- log nothing on the console (Chromium's `--enable-logging=stderr` lines `...:CONSOLE:LINE] "message"`;
  headless Chromium gives every console message the same log level, so any message fails: the site's
  pages log nothing when all is well, an uncaught exception logs "Uncaught ...", and the site's KaTeX
  script logs any formula it cannot typeset).

Exits 1 with one line per failure, 0 when every page passes. Chromium (Debian package `chromium`) must
be installed; nothing here goes beyond the local server (no network).
"""

import argparse
import functools
import html.parser
import http.server
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

# Pages with formulas, images, figures drawn at build time and API tables.
PAGES = (
    "",
    "theory/",
    "theory/model/",
    "theory/harmonic-hall/",
    "tutorials/transient/",
    "api/dynamics/",
    "faq/",
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
)
# Chromium's console lines: [pid:tid:time:LEVEL:CONSOLE:LINE] "message", source: URL (LINE)
# (older builds: LEVEL:CONSOLE(LINE)]).
_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (?P<text>.*)")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass

    def log_request(self, code="-", size="-"):
        self.server.requests.append((self.path.split("?")[0], int(code) if str(code).isdigit() else 0))


class _Page(html.parser.HTMLParser):
    """Counts what the DOM holds after the scripts ran."""

    def __init__(self):
        super().__init__()
        self.images, self.formulas, self.katex, self.katex_errors = [], 0, 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if "arithmatex" in classes:
            self.formulas += 1
        if "katex" in classes:
            self.katex += 1
        if "katex-error" in classes:
            self.katex_errors += 1


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("browser check: no Chromium found (Debian: apt-get install chromium)")


def serve(site):
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def load(browser, url, profile, extra=()):
    command = [browser, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=8000", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr):
    return [match["text"][:300] for match in map(_CONSOLE.search, stderr.splitlines()) if match]


def check_page(browser, server, base, page, profile):
    failures = []
    start = len(server.requests)
    result = load(browser, base + page, profile, ("--dump-dom",))
    requests = server.requests[start:]
    if result.returncode != 0 or "<html" not in result.stdout:
        return [f"{page or '/'}: Chromium failed (exit {result.returncode}): {result.stderr[-300:]}"]
    dom = _Page()
    dom.feed(result.stdout)
    if dom.formulas and dom.katex < dom.formulas:
        failures.append(f"{page or '/'}: {dom.formulas - dom.katex} of {dom.formulas} formulas not typeset by KaTeX")
    if dom.katex_errors:
        failures.append(f"{page or '/'}: {dom.katex_errors} KaTeX error marks")
    answered = {path: code for path, code in requests}
    for path, code in requests:
        if code >= 400:
            failures.append(f"{page or '/'}: {path} answered {code}")
    for src in dom.images:
        if src.startswith("data:"):
            continue
        path = urllib.parse.urlparse(urllib.parse.urljoin(base + page, src)).path
        if answered.get(path) != 200:
            failures.append(f"{page or '/'}: image {src} not loaded ({answered.get(path, 'never requested')})")
    failures += [f"{page or '/'}: console message: {text}" for text in console_messages(result.stderr)]
    return failures, dom


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=pathlib.Path)
    parser.add_argument("--screenshot", type=pathlib.Path, help="PNG of the theory/model page")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        sys.exit(f"browser check: {args.site} has no index.html (build the site first)")
    browser = chromium()
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    failures = []
    with tempfile.TemporaryDirectory() as profile:
        for page in PAGES:
            outcome = check_page(browser, server, base, page, profile)
            if isinstance(outcome, list):
                failures += outcome
                continue
            page_failures, dom = outcome
            failures += page_failures
            print(f"{page or '/':28s} formulas {dom.katex:4d}/{dom.formulas:<4d} images {len(dom.images):2d}  "
                  f"{'ok' if not page_failures else 'FAILED'}")
        if args.screenshot:
            shot = load(browser, base + "theory/model/", profile,
                        (f"--screenshot={args.screenshot.resolve()}", "--window-size=1280,1600"))
            if shot.returncode != 0 or not args.screenshot.is_file():
                failures.append(f"screenshot failed: {shot.stderr[-300:]}")
    server.shutdown()
    for failure in failures:
        print("FAILED", failure)
    print(f"browser check: {len(PAGES)} pages, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
