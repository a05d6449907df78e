"""The docs' examples still run (issue 12).

Two checks: every ``clipdex ...`` command written in code in the docs names a real command and only
options that command has (checked in-process against the Typer app, so it is fast); and every fenced
block marked ``doc-test`` (```` ```bash doc-test ````) runs: a page's blocks, in order, as one bash
script in an empty folder with the project's ``clipdex`` on PATH and no ``CLIPDEX_*`` variables
inherited, so the page's own commands set up whatever they need.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from clipdex.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOC_PAGES = sorted((ROOT / "docs").glob("*.md"))
COMMAND_PAGES = [*DOC_PAGES, ROOT / "README.md", ROOT / "deploy" / "README.md"]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
WORD = re.compile(r"^[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*$")
STOP = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "<", "#"}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]


def code_lines(text: str) -> list[str]:
    """Every line of code on a page: fenced blocks (continuations joined) and inline spans outside them."""
    lines = []
    for _, body in fenced_blocks(text):
        lines += body.replace("\\\n", " ").splitlines()
    lines += INLINE.findall(FENCE.sub("", text))
    return lines


def _options(command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts + param.secondary_opts)
    return names


def check_command(tokens: list[str], root) -> str | None:
    """None when ``clipdex <tokens>`` is a real command with real options, else what is wrong.

    ``root`` is the Typer app's click command (Typer vendors click, so groups are told by their
    ``commands``); ``a|b`` names alternatives, each of which must exist.
    """
    command = root
    for raw in tokens:
        if raw in STOP or raw.startswith("#"):
            break
        tok = raw.strip("[](),`'\"")
        if not tok or tok in ("...", "+"):
            continue
        if tok.startswith("--"):
            option = tok.split("=", 1)[0].rstrip(":")
            if option not in _options(command):
                return f"`{command.name}` has no option {option}"
        elif hasattr(command, "commands"):
            if not WORD.match(tok):  # `clipdex <no-reply@localhost>`: prose in code, not a command
                break
            choices = tok.split("|")
            if not all(c in command.commands for c in choices):
                return f"`{command.name}` has no command {tok!r}"
            command = command.commands[choices[0]]
    return None


def command_errors(text: str, root) -> list[str]:
    errors = []
    for line in code_lines(text):
        tokens = line.split()
        starts = [i for i, t in enumerate(tokens) if t == "clipdex"]
        for start, end in zip(starts, [*starts[1:], len(tokens)]):
            if problem := check_command(tokens[start + 1:end], root):
                errors.append(f"{' '.join(tokens[start:end])}: {problem}")
    return errors


@pytest.fixture(scope="module")
def root():
    return typer.main.get_command(app)


def test_the_checker_catches_invented_commands_and_options(root):
    doc = ("```sh\nclipdex serve --no-such-flag\nclipdex frobnicate\nclipdex eval asr|shots|nope --json\n```\n"
           "Then `clipdex worker --queues cpu --concurrency 2` and `clipdex admin list-tenants`.\n")
    errors = command_errors(doc, root)
    assert len(errors) == 3, errors
    assert "--no-such-flag" in errors[0] and "frobnicate" in errors[1] and "nope" in errors[2]


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_clipdex_command_in_the_docs_exists(page, root):
    assert command_errors(page.read_text(), root) == []


def test_the_readme_indexes_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert [p.name for p in DOC_PAGES if f"](docs/{p.name})" not in readme] == []


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", FENCE.sub("", page.read_text()))
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert [t for t in local if not (page.parent / t).exists()] == []


def doc_test_scripts() -> dict[Path, str]:
    scripts = {}
    for page in DOC_PAGES:
        blocks = [body for info, body in fenced_blocks(page.read_text()) if "doc-test" in info.split()]
        if blocks:
            scripts[page] = "set -euo pipefail\n" + "\n".join(blocks)
    return scripts


def test_the_docs_have_runnable_examples():
    assert ROOT / "docs" / "operations.md" in doc_test_scripts()


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(doc_test_scripts()), ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_test_blocks_run(page, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = doc_test_scripts()[page]
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{page.name}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
