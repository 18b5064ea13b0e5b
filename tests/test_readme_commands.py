"""The README's `coursepipe` commands still parse: every command line of its code blocks is taken by
the CLI's own parser (and names a shipped spec where it names one), and every option the README
writes beside a command (its tables, its prose) is one that command has. The checks cost what
`--help` costs: nothing runs; a renamed flag or command fails here, not in a user's shell."""
from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from pipelines.cli import build_parser
from pipelines.spec.pipeline_spec import spec_ids

README = Path(__file__).resolve().parent.parent / "README.md"
_PROMPTS = ("$ coursepipe ", "coursepipe ", ".venv/bin/coursepipe ")
# `coursepipe CMD ...` inside backticks (prose, tables): the command and what follows it.
_INLINE = re.compile(r"`coursepipe ((?:-v )?[a-z|-]+)([^`]*)`")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def block_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) of each `coursepipe` command in a fenced code block, continuations joined;
    output lines (`  run it:  coursepipe ...`) are not commands."""
    commands, fenced, pending, start = [], False, "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            continue
        if pending:
            pending += " " + stripped.rstrip("\\").strip()
        elif stripped.startswith(_PROMPTS):
            pending, start = stripped.rstrip("\\").strip(), number
        if pending and not stripped.endswith("\\"):
            commands.append((start, pending))
            pending = ""
    return commands


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    return words[words.index(next(w for w in words if w.endswith("coursepipe"))) + 1:]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_readme_has_commands_to_check():
    text = README.read_text(encoding="utf-8")
    assert len(block_commands(text)) >= 8 and len(_INLINE.findall(text)) >= 30


@pytest.mark.parametrize(("line", "command"), block_commands(README.read_text(encoding="utf-8")))
def test_each_command_of_a_code_block_parses(line, command):
    argv = _argv(command)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"README.md:{line}: `{command}` is not a command the CLI takes")
    spec_id = getattr(args, "spec_id", None) or getattr(args, "id", None)
    if spec_id and not getattr(args, "spec", None) and args.command not in ("init", "data"):  # a new id; a source
        assert spec_id in spec_ids(), f"README.md:{line}: {spec_id!r} is not a shipped spec"


def test_every_option_written_beside_a_command_is_one_it_takes():
    text = README.read_text(encoding="utf-8")
    commands = _subparsers(build_parser())
    wrong = []
    for number, line in enumerate(text.splitlines(), start=1):
        for names, rest in _INLINE.findall(line):
            names = names.removeprefix("-v ")
            for name in names.split("|"):
                if name not in commands:
                    wrong.append(f"README.md:{number}: no command {name!r}")
                    continue
                known = set(commands[name]._option_string_actions)
                wrong += [f"README.md:{number}: `coursepipe {name}` has no {option}"
                          for option in _OPTION.findall(rest) if option not in known]
    assert wrong == []


def test_the_check_sees_a_renamed_option():
    """The guard can fail: an option the command lacks, and a command line the parser refuses."""
    commands = _subparsers(build_parser())
    assert "--outptu" not in commands["run"]._option_string_actions
    with pytest.raises(SystemExit):
        build_parser().parse_args(_argv("coursepipe run iris_softmax --outptu x"))
    assert block_commands("```\n$ coursepipe run x \\\n    --output y\n  run it:  coursepipe z\n```\n") == [
        (2, "$ coursepipe run x --output y")]
