"""MkDocs hook: render the reStructuredText habits of saftale's docstrings as Markdown.

The docstrings in ``src/`` use Sphinx cross-reference roles (``:class:`~saftale_core.Saftale```),
the ``::`` that introduces a literal block, and one reST "simple table" (the store URLs in
``saftale_core.store``).  mkdocstrings renders docstrings as Markdown, where these would
show up verbatim.  This hook adds a Markdown preprocessor, used by the pages and by
mkdocstrings alike, that turns

* a role into a link to the API page of its target when that target is documented, and
  into plain code otherwise (an *optional* autorefs reference: it never fails a build);
* ``Some text::`` before an indented block into ``Some text:``;
* a reST simple table (``====  ====`` borders) into a Markdown table.

It changes nothing else, and nothing in ``src/``.  It also unsets ``SAFTALE_DB`` and
``SAFTALE_VIEWS`` for the build, so that no page shows the builder's store URL.
"""

from __future__ import annotations

import contextlib
import html
import importlib
import inspect
import os
import pkgutil
import re
import sys
from typing import Any

from markdown import Markdown  # type: ignore[import-untyped]  # no stubs installed
from markdown.extensions import Extension  # type: ignore[import-untyped]
from markdown.preprocessors import Preprocessor  # type: ignore[import-untyped]
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority

PACKAGES = ("saftale_core", "saftale_projections")

ROLE = re.compile(
    r":(?:py:)?(?P<role>class|meth|func|attr|data|mod|exc|obj|const):"
    r"`(?P<tilde>~?)(?P<body>[^`]+)`"
)
EXPLICIT_TITLE = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
FENCE = re.compile(r"^\s*(```|~~~)")
BORDER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")


def _import(path: str) -> tuple[Any, str] | None:
    """The object a dotted path names, and the part of the path that was a module."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        module = ".".join(parts[:cut])
        for name in parts[cut:]:
            try:
                obj = getattr(obj, name)
            except AttributeError:
                return None
        return obj, module
    return None


def _defining_module(obj: Any, name: str) -> str | None:
    """For data (no ``__qualname__``): the deepest saftale module that exports it."""
    found = [
        module_name
        for module_name, module in list(sys.modules.items())
        if module_name.split(".")[0] in PACKAGES
        and name in getattr(module, "__all__", ())
        and getattr(module, name, None) is obj
    ]
    return max(found, key=lambda m: m.count("."), default=None)


def _canonical(path: str) -> str:
    """The path under which mkdocstrings documents the object ``path`` names (best effort)."""
    found = _import(path)
    if found is None:
        return path
    obj, module = found
    if inspect.ismodule(obj):
        return str(obj.__name__)
    qualname = getattr(obj, "__qualname__", None)
    owner = getattr(obj, "__module__", None)
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and qualname and owner:
        return f"{owner}.{qualname}"
    name = path.rsplit(".", 1)[-1]
    if path.count(".") - module.count(".") > 1:
        # An attribute of a class: canonical class path, then the attribute.
        head, _, attribute = path.rpartition(".")
        return f"{_canonical(head)}.{attribute}"
    defining = _defining_module(obj, name)
    return f"{defining}.{name}" if defining else path


def _modules() -> list[Any]:
    """Every module of the packages (imported once; one that cannot be imported is left out)."""
    if not _MODULES:
        for package in PACKAGES:
            root = importlib.import_module(package)
            _MODULES.append(root)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                with contextlib.suppress(Exception):
                    _MODULES.append(importlib.import_module(info.name))
    return _MODULES


_MODULES: list[Any] = []


def _qualify(target: str) -> str:
    """A role's target as a full path.  A name without its module (``Saftale``,
    ``PlanRow.notes``) is looked up in the modules' ``__all__``; when it names one object,
    that object's path is used, else the target is left as it is."""
    head, dot, rest = target.partition(".")
    if head in PACKAGES:
        return _canonical(target)
    found = {
        _canonical(f"{module.__name__}.{head}")
        for module in _modules()
        if head in getattr(module, "__all__", ())
    }
    if len(found) != 1:
        return target
    return found.pop() + dot + rest


def role_to_html(match: re.Match[str]) -> str:
    body = match["body"].strip()
    explicit = EXPLICIT_TITLE.match(body)
    target = explicit["target"] if explicit else body
    target = target.lstrip("~.")
    if explicit:
        title = explicit["title"]
    elif match["tilde"]:
        title = target.rsplit(".", 1)[-1]
    else:
        title = target
    if match["role"] in ("meth", "func") and not title.endswith(")"):
        title += "()"
    try:
        identifier = _qualify(target)
    except Exception:  # an import failing must not fail the build: plain code then
        identifier = target
    return (
        f'<autoref identifier="{html.escape(identifier)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    out = []
    for i, (start, end) in enumerate(spans):
        stop = len(line) if i == len(spans) - 1 else spans[i + 1][0]
        out.append(line[start:stop].strip() if end else "")
    return out


def _table(lines: list[str]) -> list[str]:
    """A reST simple table (its border, header, border, rows, border) as a Markdown table."""
    border = lines[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    indent = border[: len(border) - len(border.lstrip())]
    header: list[str] = []
    rows: list[list[str]] = []
    section = 0
    for line in lines[1:]:
        if BORDER.match(line):
            section += 1
            continue
        cells = _cells(line.ljust(len(border)), spans)
        if section == 0:
            header = cells
        elif rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    out = [indent + "| " + " | ".join(header) + " |", indent + "|" + "---|" * len(header)]
    out += [indent + "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def _tables(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if BORDER.match(line) and i + 2 < len(lines) and BORDER.match(lines[i + 2]):
            end = i + 3
            while end < len(lines) and not BORDER.match(lines[end]):
                end += 1
            if end < len(lines):
                out += [""] if out and out[-1].strip() else []
                out += _table(lines[i : end + 1])
                out.append("")
                i = end + 1
                continue
        out.append(line)
        i += 1
    return out


class ReSTHabits(Preprocessor):  # type: ignore[misc]
    """Roles, ``::`` and simple tables, outside fenced code."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = False
        for i, line in enumerate(lines):
            if FENCE.match(line):
                fenced = not fenced
            if not fenced:
                line = ROLE.sub(role_to_html, line)
                following = lines[i + 1] if i + 1 < len(lines) else ""
                if line.rstrip().endswith("::") and not following.strip():
                    stripped = line.rstrip()[:-2].rstrip()
                    line = stripped + ":" if stripped else ""
            out.append(line)
        return _tables(out)


class ReSTHabitsExtension(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - the Markdown API's name
        # Before every other preprocessor (fenced code, HTML blocks): priority above 30.
        md.preprocessors.register(ReSTHabits(md), "saftale_rest_habits", 40)


@event_priority(100)  # before mkdocstrings reads the list of Markdown extensions
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    config.markdown_extensions.append(ReSTHabitsExtension())
    # The command reference is rendered from the command's help, and a default shown there
    # may come from the environment: the site must not show the builder's store URL (and
    # its password).
    for name in ("SAFTALE_DB", "SAFTALE_VIEWS"):
        os.environ.pop(name, None)
    return config
