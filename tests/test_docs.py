"""The README keeps up with the command line: every command (groups' subcommands too) and
every option `--help` shows is in it, as sqlite-utils tests its docs."""

from __future__ import annotations

import re

import click
import pytest
from conftest import ROOT

from voiceguide.cli import cli


def commands(group: click.Group, path: str = "voiceguide"):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


def shown_options(command: click.Command) -> list[str]:
    """Every option name `--help` lists for the command."""
    ctx = click.Context(command, info_name="voiceguide")
    names = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden:
            names += [o for o in (*param.opts, *param.secondary_opts) if o not in ("-h", "--help")]
    return names


ALL = list(commands(cli))


@pytest.mark.parametrize("path, command", ALL, ids=[path for path, _ in ALL])
def test_every_command_and_option_is_in_the_readme(path: str, command: click.Command):
    # The user's part: "Development" has other programs' options (pytest -q).
    readme = (ROOT / "README.md").read_text().split("\n## Development")[0]
    parts = path.split()
    # `voiceguide cache path|size|clear|prune` names the subcommands together.
    assert path in readme or (
        len(parts) == 3 and f"voiceguide {parts[1]} " in readme and parts[2] in readme
    ), f"'{path}' is not in the README"
    for option in shown_options(command):
        # As a word of its own: `-q` is not ffmpeg's `-q:a`, `--json` not `--jsonl`.
        written = re.search(rf"(?<![\w-]){re.escape(option)}(?=[\s`/\],|])", readme)
        assert written, f"{path} {option} is not in the README"


def test_the_docs_test_sees_every_command():
    paths = {path for path, _ in ALL}
    assert {"voiceguide cache prune", "voiceguide doctor", "voiceguide config"} <= paths
    assert "-q" in shown_options(cli) and "-o" in shown_options(cli.commands["export"])
    # -q/--quiet is everywhere, as the README says.
    assert all("--quiet" in shown_options(command) for _, command in ALL)
