"""MkDocs hooks for the API pages, whose text comes from the package's plain-text docstrings.

1. Docstrings write units in brackets after a formula, e.g. ``E_0 = ... [...] [eV/nm^2]``. Markdown
   reads ``[text] [eV/nm^2]`` as a reference link, and mkdocs-autorefs then warns that it cannot find
   the cross-reference target ``eV/nm^2``; in strict mode that warning fails the build. The filter
   below drops exactly those warnings whose target is not a Python name (units contain '/', '^',
   spaces, ...); an unresolved reference to a real name (``jaxsot.something``) still fails the build.
2. Docstrings write expectation values as ``<sigma>`` or ``<B_so x sigma>``. Markdown passes them
   through as (unknown) HTML tags, which browsers do not show. `on_page_content` escapes every
   ``<word ...>`` on the API pages whose first word is not an HTML element, so they read as text.
3. With JAXSOT_DOCS_EXEC=0 in the environment, the ```python exec="on" blocks (run at build time by
   markdown-exec) are shown as code without running them. tests/test_docs.py builds the site that way,
   because it executes every block itself; the site's own build (CI, `mkdocs serve`) runs them.
"""

import logging
import os
import re

_UNRESOLVED = re.compile(r"Could not find cross-reference target '(?P<target>[^']*)'")
_PYTHON_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

# HTML elements (and the autorefs placeholder) that may appear without attributes in the output.
_HTML_ELEMENTS = frozenset((
    "a", "abbr", "address", "area", "article", "aside", "audio", "autoref", "b", "base", "bdi",
    "bdo", "blockquote", "body", "br", "button", "canvas", "caption", "cite", "code", "col",
    "colgroup", "data", "datalist", "dd", "del", "details", "dfn", "dialog", "div", "dl", "dt",
    "em", "embed", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "img", "input", "ins",
    "kbd", "label", "legend", "li", "link", "main", "map", "mark", "math", "menu", "meta", "meter",
    "nav", "noscript", "object", "ol", "optgroup", "option", "output", "p", "param", "picture",
    "pre", "progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "search", "section",
    "select", "slot", "small", "source", "span", "strong", "style", "sub", "summary", "sup", "svg",
    "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr",
    "track", "u", "ul", "var", "video", "wbr",
))
_EXEC_FENCE = re.compile(r'^(?P<fence>[ \t]*```)python[ \t]+exec="on"[^\n]*$', re.MULTILINE)
_TAG_LIKE = re.compile(r"<(?P<inner>(?P<word>[A-Za-z_][A-Za-z0-9_]*)(?: [^<>=\"']*)?)>")


class _UnitReferenceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        match = _UNRESOLVED.search(record.getMessage())
        return match is None or _PYTHON_NAME.fullmatch(match["target"]) is not None


def on_startup(command, dirty):
    logging.getLogger("mkdocs.plugins.mkdocs_autorefs._internal.plugin").addFilter(_UnitReferenceFilter())


def _escape(match: re.Match) -> str:
    if match["word"].lower() in _HTML_ELEMENTS:
        return match[0]
    return f"&lt;{match['inner']}&gt;"


def on_page_markdown(markdown, page, config, files):
    if os.environ.get("JAXSOT_DOCS_EXEC", "1") == "0":
        return _EXEC_FENCE.sub(r"\g<fence>python", markdown)
    return markdown


def on_page_content(html, page, config, files):
    if not page.file.src_uri.startswith("api/"):
        return html
    return _TAG_LIKE.sub(_escape, html)
