"""The README's full example routine passes `check` (every allowed value of its params) and
does what the README says of it, with the real speech engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from conftest import ROOT

from voiceguide.cli import cli


def example(tmp_path: Path) -> Path:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### A full example", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "the full example has a yaml block"
    path = tmp_path / "example.yaml"
    path.write_text(block.group(1))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_full_example_passes_check_with_every_allowed_value(tmp_path):
    path = example(tmp_path)
    result = run("check", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"ok: {path} (Neck and shoulders, point by point, ")


def test_the_full_example_does_what_the_readme_says(tmp_path):
    result = run(
        "show", str(example(tmp_path)), "--json", "--set", "rounds=4", "--set", "minutes=3m"
    )
    assert result.exit_code == 0, result.stderr
    timeline = json.loads(result.stdout)
    said = [c["text"] for c in timeline["cues"] if c["kind"] == "speech"]
    assert said[0] == "Stop at once if anything hurts, and ask a doctor about pain that stays."
    assert [t for t in said if t.startswith("Round ")][:4] == [
        "Round one of four.", "Round two of four.", "Round three of four.", "Round four of four."
    ]  # fmt: skip
    assert (
        "Rest two fingers on the left side of your neck. At the chime, hold for three minutes."
        in said
    )
    holds = [round(h["end"] - h["start"], 3) for h in timeline["holds"]]
    assert holds[:6] == [30, 30, 30, 30, 180, 180]
    assert (
        said.count("Stop at once if anything hurts, and ask a doctor about pain that stays.") == 1
    )
    assert said[-1] == "Well done. Take your time before you get up."
