"""The documentation site: every Python example in ``docs/`` runs, and the site builds.

How the examples run (``docs/about-these-docs.md`` says the same for writers):

* Every fenced block whose language is ``python`` (or ``py``) runs.  The blocks of one
  page run in order, in one namespace, in a fresh interpreter, with the current directory
  a new temporary folder that holds a copy of ``examples/``; ``SAFTALE_DB`` is unset.
* A ``text`` block titled ``Output`` (```` ```text title="Output" ````) right after a
  Python block is what that block must print, exactly (trailing spaces aside).
* ``<!-- docs-test: file NAME -->`` on the line before a block (any language) writes the
  block to ``NAME`` in that folder, at that point of the page, instead of running it; later
  blocks can read or import it.  When ``NAME`` is a ``test_*.py`` file, pytest runs it once
  the page's blocks have run, and every test in it must pass.
* ``<!-- docs-test: postgres -->`` on a line of its own makes the whole page run against a
  new, empty PostgreSQL store whose URL is in ``SAFTALE_DB`` (skipped without a server,
  failed under ``CI=true``, as every PostgreSQL test).
* ``<!-- not-tested: REASON -->`` on the line before a Python block is the only way to
  leave one out, and the reason is required.

The site test builds with ``mkdocs build --strict``, as CI does.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

PYTHON = frozenset({"python", "py", "python3"})
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-tested|docs-test)\s*:\s*(?P<value>.*?)\s*-->\s*$")
TITLE = re.compile(r'\btitle="(?P<title>[^"]*)"')


class DocsError(ValueError):
    """A page uses the example conventions wrongly (the message names page and line)."""


@attrs.frozen
class Block:
    """One fenced block of a page."""

    page: Path
    line: int
    """The line of the first line of code (1-based)."""
    language: str
    title: str | None
    code: str
    marker: tuple[str, str] | None
    """``(kind, value)`` of the marker comment on the line before the fence, if any."""

    @property
    def where(self) -> str:
        return f"{_shown(self.page)}:{self.line}"


@attrs.frozen
class Page:
    """What the test does with one page: the steps to run, in order."""

    path: Path
    steps: tuple[dict[str, Any], ...]
    postgres: bool
    test_files: tuple[str, ...]
    skipped: tuple[Block, ...]


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def scan(path: Path) -> tuple[list[Block], list[tuple[int, str, str]]]:
    """Every fenced block of a page, with the marker comment just before it; and the
    marker comments outside fences that stand before no block: ``(line, kind, value)``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    loose: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        opening = FENCE_OPEN.match(lines[i])
        if opening is None:
            found = MARKER.match(lines[i])
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if found and not FENCE_OPEN.match(following):
                loose.append((i + 1, found["kind"], found["value"]))
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"]
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = i + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        if end == len(lines):
            raise DocsError(f"{_shown(path)}:{i + 1}: a fence is never closed")
        body = [line.removeprefix(indent) for line in lines[i + 1 : end]]
        found = MARKER.match(lines[i - 1]) if i > 0 else None
        language = info.split()[0].strip("{}.").lower() if info.split() else ""
        title = TITLE.search(info)
        blocks.append(
            Block(
                page=path,
                line=i + 2,
                language=language,
                title=title["title"] if title else None,
                code="\n".join(body) + "\n",
                marker=(found["kind"], found["value"]) if found else None,
            )
        )
        i = end + 1
    return blocks, loose


def _file_name(block: Block, value: str) -> str:
    name = value[len("file") :].strip()
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts:
        raise DocsError(f"{block.where}: 'docs-test: file' needs a relative NAME, got {name!r}")
    return name


def read_page(path: Path) -> Page:
    """The steps of a page, checking that its markers are used as documented above."""
    blocks, loose = scan(path)
    for line, kind, value in loose:
        if (kind, value) != ("docs-test", "postgres"):
            raise DocsError(
                f"{_shown(path)}:{line}: '{kind}: {value}' stands before no block "
                "(only 'docs-test: postgres' stands on a line of its own)"
            )
    postgres = bool(loose)
    steps: list[dict[str, Any]] = []
    test_files: list[str] = []
    skipped: list[Block] = []
    previous: Block | None = None
    for block in blocks:
        kind, value = block.marker or ("", "")
        looks_like_python = block.language.startswith("py") or block.language == "ipython"
        if looks_like_python and block.language not in PYTHON:
            raise DocsError(f"{block.where}: use ```python, not ```{block.language}")
        if block.language == "text" and block.title == "Output":
            if previous is None or previous.language not in PYTHON or not steps:
                raise DocsError(f"{block.where}: an Output block must follow a Python block")
            last = steps[-1]
            if last["kind"] != "run" or last["line"] != previous.line:
                raise DocsError(f"{block.where}: an Output block must follow a block that runs")
            last["output"] = block.code
        elif kind == "not-tested":
            if block.language not in PYTHON:
                raise DocsError(f"{block.where}: 'not-tested' only applies to Python blocks")
            if not value:
                raise DocsError(f"{block.where}: 'not-tested' needs a reason")
            skipped.append(block)
        elif kind == "docs-test":
            if not value.startswith("file"):
                raise DocsError(
                    f"{block.where}: unknown marker 'docs-test: {value}' (known: file NAME; "
                    "postgres on a line of its own)"
                )
            name = _file_name(block, value)
            steps.append({"kind": "file", "name": name, "content": block.code})
            if PurePosixPath(name).name.startswith("test_") and name.endswith(".py"):
                test_files.append(name)
        elif block.language in PYTHON:
            steps.append(
                {
                    "kind": "run",
                    "path": str(block.page),
                    "line": block.line,
                    "code": block.code,
                    "output": None,
                }
            )
        previous = block
    return Page(path, tuple(steps), postgres, tuple(test_files), tuple(skipped))


def pages() -> list[Page]:
    """Every page of docs/ that has an example to run (the generated reference pages have
    none), and the README's first example."""
    found = [read_page(p) for p in [*sorted(DOCS.rglob("*.md")), README]]
    return [p for p in found if p.steps]


PAGES = pages()


def _page_id(page: Page) -> str:
    return str(page.path.relative_to(DOCS if page.path.is_relative_to(DOCS) else ROOT))


# -- running a page: in a fresh interpreter (this file as a script) ----------------------


def _same(got: str, expected: str) -> bool:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip("\n").splitlines()]

    return lines(got) == lines(expected)


def run_steps(steps: list[dict[str, Any]]) -> int:
    """Run a page's steps in this interpreter: files written, blocks executed in one module.

    A failing block raises (its traceback points at the Markdown line); a block whose
    output differs from its Output block prints the difference and returns 1.
    """
    module = types.ModuleType("docs_example")
    sys.modules[module.__name__] = module  # classes defined in an example need a module
    for number, step in enumerate(steps, start=1):
        if step["kind"] == "file":
            target = Path(step["name"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step["content"], encoding="utf-8")
            continue
        source = "\n" * (step["line"] - 1) + step["code"]
        code = compile(source, step["path"], "exec")
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            exec(code, module.__dict__)
        got = captured.getvalue()
        sys.stdout.write(got)
        expected = step["output"]
        if expected is not None and not _same(got, expected):
            diff = difflib.unified_diff(
                expected.splitlines(), got.splitlines(), "Output block", "printed", lineterm=""
            )
            where = f"{step['path']}:{step['line']}"
            print(f"block {number} at {where} printed:\n" + "\n".join(diff), file=sys.stderr)
            return 1
    return 0


def _child_main() -> int:
    # The examples see the installed packages and the files the page writes, not tests/.
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != HERE]
    sys.path.insert(0, os.getcwd())
    return run_steps(json.loads(sys.stdin.read()))


def run_page(
    steps: list[dict[str, Any]], folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        input=json.dumps(steps),
        cwd=folder,
        env=env if env is not None else _env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SAFTALE_DB"}
    env.update(extra)
    return env


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_examples_of_the_page_run(page: Page, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    with contextlib.ExitStack() as cleanup:
        env = _env()
        if page.postgres:
            from tests import pg

            url = pg.create_database()
            cleanup.callback(pg.drop_database, url)
            env["SAFTALE_DB"] = url
        proc = run_page(list(page.steps), tmp_path, env)
        assert proc.returncode == 0, f"{_page_id(page)}: an example failed\n{_report(proc)}"
        for name in page.test_files:
            suite = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
                cwd=tmp_path,
                env={**env, "PYTHONPATH": str(tmp_path)},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert suite.returncode == 0, f"{_page_id(page)}: pytest {name}\n{_report(suite)}"
            assert re.search(r"\b[1-9][0-9]* passed\b", suite.stdout), suite.stdout


def test_the_pages_have_examples_and_few_are_left_out() -> None:
    by_name = {_page_id(p): p for p in PAGES}
    assert "tutorial.md" in by_name and "index.md" in by_name and "README.md" in by_name
    runs = sum(1 for p in PAGES for s in p.steps if s["kind"] == "run")
    assert runs >= 30, f"only {runs} Python examples found: is the extractor broken?"
    skipped = [b.where for p in PAGES for b in p.skipped]
    assert len(skipped) <= 3, f"too many examples are not tested: {skipped}"


def test_every_page_uses_the_conventions_correctly() -> None:
    """A typo in a marker or a fence language must not quietly stop an example running."""
    for path in [*sorted(DOCS.rglob("*.md")), README]:
        read_page(path)  # raises DocsError naming the page and line


def test_a_failing_example_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\n```\n\n```python\nassert x == 2, 'x is not 2'\n```\n")
    proc = run_page(list(read_page(page).steps), tmp_path)
    assert proc.returncode != 0
    assert "x is not 2" in proc.stderr and f'File "{page}", line 6' in proc.stderr


def test_output_must_match(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '```python\nprint("approved")\n```\n\n```text title="Output"\nrejected\n```\n'
        '```python\nprint("ok")\n```\n```text title="Output"\nok\n```\n'
    )
    proc = run_page(list(read_page(page).steps), tmp_path)
    assert proc.returncode == 1 and "+approved" in proc.stderr and "-rejected" in proc.stderr
    page.write_text(page.read_text().replace("rejected", "approved"))
    assert run_page(list(read_page(page).steps), tmp_path).returncode == 0


def test_files_are_written_and_skipped_blocks_do_not_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: file data/x.toml -->\n```toml\na = 1\n```\n"
        "<!-- not-tested: shows a mistake -->\n```python\nraise SystemExit(3)\n```\n"
        '```python\nimport tomllib\nprint(tomllib.loads(open("data/x.toml").read()))\n```\n'
        "```text title=\"Output\"\n{'a': 1}\n```\n"
    )
    read = read_page(page)
    assert [b.line for b in read.skipped] == [7]
    assert run_page(list(read.steps), tmp_path).returncode == 0


@pytest.mark.parametrize(
    "text",
    [
        "<!-- not-tested: -->\n```python\npass\n```\n",
        "<!-- docs-test: fiel x.py -->\n```python\npass\n```\n",
        "<!-- docs-test: file ../x.py -->\n```python\npass\n```\n",
        "<!-- docs-test: postgre -->\n\nSome text.\n",
        "<!-- docs-test: postgres -->\n```python\npass\n```\n",
        "<!-- not-tested: why -->\n\n```python\npass\n```\n",
        '```sh\nls\n```\n```text title="Output"\nx\n```\n',
        "```pycon\n>>> 1\n```\n",
        "```pyhton\npass\n```\n",
        "```python\npass\n",
    ],
)
def test_misused_conventions_are_refused(text: str, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(text)
    with pytest.raises(DocsError):
        read_page(page)


SECRET = "DocsBuilderPassword"  # no hyphen: help text may wrap there


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        # A store URL in the builder's environment must not reach any page.
        env=_env(NO_MKDOCS_2_WARNING="1", SAFTALE_DB=f"postgresql://docs:{SECRET}@127.0.0.1/x"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, _report(proc)
    leaked = [str(p) for p in site.rglob("*.html") if SECRET in p.read_text(encoding="utf-8")]
    assert leaked == [], f"the builder's SAFTALE_DB is shown in {leaked}"
    for page in DOCS.rglob("*.md"):
        relative = page.relative_to(DOCS)
        if relative.parts[0].startswith("_"):
            continue
        built = site / relative.with_suffix("") / "index.html"
        if relative.name == "index.md":
            built = site / relative.parent / "index.html"
        assert built.is_file(), f"{relative} was not built"
    api_pages = (site / "reference" / "api").rglob("*.html")
    api = "".join(p.read_text(encoding="utf-8") for p in api_pages)
    for documented in ("saftale_core.application.Saftale", "saftale_projections.queries.Views"):
        assert f'id="{documented}"' in api, f"{documented} is missing from the API pages"
    leftover = re.findall(r":(?:class|meth|func|attr|data|mod|exc):`", api)
    assert leftover == [], "Sphinx roles left in the API pages (docs/_hooks/docstrings.py)"
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "saftale [OPTIONS]" in cli, "the command reference has no usage line"


if __name__ == "__main__":
    sys.exit(_child_main())
