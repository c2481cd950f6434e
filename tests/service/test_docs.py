"""docs/operations.md stays true: its commands, options, JSON and URLs are the real ones."""

from __future__ import annotations

import json
import re
import shlex

import click
import pytest

from fieldline.cli import COMMANDS, load_command
from fieldline.queue import QueueStatusJSON
from fieldline.queue.sqlite_file import sqlite_path_from_url
from tests.conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC, flags=re.DOTALL)


def command_lines() -> list[str]:
    lines: list[str] = []
    for language, text in BLOCKS:
        if language == "sh":
            lines.extend(
                line.split("  #", 1)[0] for line in text.splitlines() if line.startswith("fieldline ")
            )
    return lines


@pytest.mark.parametrize("line", command_lines())
def test_documented_commands_and_options_exist(line: str) -> None:
    words = shlex.split(line)
    assert words[1] in COMMANDS, f"unknown command in docs: {line}"
    command = load_command(COMMANDS[words[1]][0])
    if isinstance(command, click.Group):  # `fieldline db upgrade ...`: check the subcommand's options
        subcommand = command.get_command(click.Context(command), words[2])
        assert subcommand is not None, f"unknown subcommand in docs: {line}"
        command, words = subcommand, words[1:]
    known = {option for param in command.params if isinstance(param, click.Option) for option in param.opts}
    for word in words[2:]:
        if word.startswith("--"):
            assert word in known, f"{word} is not an option of `fieldline {words[1]}`"


def test_every_option_of_serve_is_documented() -> None:
    command = load_command(COMMANDS["serve"][0])
    for param in command.params:
        if isinstance(param, click.Option) and param.opts[0] != "--log-level":
            assert f"`{param.opts[0]}" in DOC, f"{param.opts[0]} is not documented"


def test_status_json_example_has_the_real_keys() -> None:
    [example] = [text for language, text in BLOCKS if language == "json"]
    document = json.loads(example)
    assert set(document) == set(QueueStatusJSON.__annotations__)
    assert set(document["recent_failures"][0]) == {
        "job_id",
        "event_id",
        "key",
        "error",
        "attempts",
        "failed_at",
        "dead",
    }


def test_documented_queue_urls_parse() -> None:
    urls = re.findall(r'"(sqlite:[^"]+)"', DOC)
    assert urls
    for url in urls:
        path, options = sqlite_path_from_url(url)
        assert path.endswith(".db")
        assert set(options) <= {"synchronous", "max_attempts", "backoff_base", "backoff_max"}


def test_documented_postgresql_urls_parse() -> None:
    from fieldline.queue.postgres_db import OPTIONS, split_url

    urls = re.findall(r'"(postgresql:[^"]+)"', DOC)
    assert urls
    for url in urls:
        _, options = split_url(url)
        assert set(options) <= OPTIONS
