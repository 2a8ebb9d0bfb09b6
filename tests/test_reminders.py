"""Words inside a hold (`remind:`), placed by the compiler like the countdown and halfway:
never over each other, a chime or the countdown; a `check` error where they cannot fit.

Phrase lengths come from fakes.EstimatedLengths: 0.3 s plus 0.4 s a word; the start chime
lasts 1 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import EstimatedLengths

from voiceguide import compiler
from voiceguide.cli import cli
from voiceguide.errors import RoutineError
from voiceguide.loader import load_routine
from voiceguide.timeline import SpeechInfo, Timeline

RATE = 22050
INFO = SpeechInfo("fake", "test", 150, 1.0)


def compiled(tmp_path: Path, step: str) -> Timeline:
    path = tmp_path / "r.yaml"
    path.write_text("title: t\nsteps:\n  - say: At the chime, press.\n" + step)
    return compiler.compile_routine(load_routine(path), EstimatedLengths(), INFO)


def inside(timeline: Timeline) -> list[tuple[float, str, str]]:
    """(seconds after the hold's start, text, role) of what is said inside the first hold."""
    hold = timeline.holds[0]
    return [
        ((c.start - hold.start) / RATE, c.text, c.role)
        for c in timeline.cues
        if c.kind == "speech" and hold.start <= c.start < hold.end
    ]


def problem(tmp_path: Path, step: str) -> str:
    with pytest.raises(RoutineError) as caught:
        compiled(tmp_path, step)
    return str(caught.value).removeprefix(f"{tmp_path / 'r.yaml'}:")


def test_every_at_and_left_are_placed_exactly_among_halfway_and_the_countdown(tmp_path):
    timeline = compiled(
        tmp_path,
        "    hold: 1m\n    countdown: 3\n    halfway: true\n    remind:\n"
        "      - {every: 20s, say: Keep breathing slowly.}\n"
        "      - {at: 10s, say: Press firmly but gently.}\n"
        "      - {left: 10s, say: Ten seconds left.}\n",
    )
    assert inside(timeline) == [
        (10.0, "Press firmly but gently.", "reminder"),
        (20.0, "Keep breathing slowly.", "reminder"),
        (30.0, "Halfway.", "halfway"),
        (40.0, "Keep breathing slowly.", "reminder"),
        (50.0, "Ten seconds left.", "reminder"),
        (57.0, "three", "countdown"),
        (58.0, "two", "countdown"),
        (59.0, "one", "countdown"),
    ]
    assert timeline.holds[0].length == 60 * RATE  # words inside never stretch the hold


def test_an_every_reminder_leaves_out_what_would_overlap(tmp_path):
    # Every 15 s in a minute: 15 s, (30 s is halfway), 45 s; 60 s is the end chime.
    timeline = compiled(
        tmp_path,
        "    hold: 1m\n    halfway: true\n    remind: [{every: 15s, say: Keep breathing.}]\n",
    )
    assert [(t, role) for t, _, role in inside(timeline)] == [
        (15.0, "reminder"),
        (30.0, "halfway"),
        (45.0, "reminder"),
    ]


def test_reminders_say_the_side_and_the_round(tmp_path):
    timeline = compiled(
        tmp_path,
        "  - sides: [left]\n    steps:\n      - hold: 20s\n"
        "        remind: [{at: 5s, say: 'Keep the {side} hand still.'}]\n",
    )
    said = [c.text for c in timeline.cues if c.role == "reminder"]
    assert said == ["Keep the left hand still."]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "    hold: 1m\n    halfway: true\n"
            "    remind: [{at: 29.5s, say: Keep breathing slowly.}]",
            "6:14: remind: 'Keep breathing slowly.' (at 29.5 s) would overlap 'Halfway.' in a"
            " 1 min hold",
        ),
        (
            "    hold: 1m\n    remind: [{at: 0.5s, say: Breathe.}]",
            "5:14: remind: 'Breathe.' (at 0.5 s) would overlap the start chime in a 1 min hold",
        ),
        (
            "    hold: 1m\n    countdown: 3\n    remind: [{left: 2s, say: Ten seconds left.}]",
            "6:14: remind: 'Ten seconds left.' (2 s left) would overlap 'two' in a 1 min hold",
        ),
        (
            "    hold: 1m\n    countdown: 3\n    remind: [{left: 3.5s, say: Ten seconds left.}]",
            "6:14: remind: 'Ten seconds left.' (3.5 s left) would overlap 'three' in a 1 min hold",
        ),
        (
            "    hold: 1m\n    remind: [{left: 1s, say: Ten seconds left.}]",
            "5:14: remind: 'Ten seconds left.' (1 s left) runs past the end of a 1 min hold"
            " (1.5 s)",
        ),
        (
            "    hold: 8s\n    remind: [{every: 6s, say: One two three four five six seven.}]",
            "5:14: remind: every 6 s: 'One two three four five six seven.' finds no room in a 8 s"
            " hold (it takes 3.1 s)",
        ),
        (
            "    hold: 20s\n    remind:\n      - {at: 10s, say: Keep going.}\n"
            "      - {at: 10.5s, say: Breathe.}",
            "7:9: remind: 'Breathe.' (at 10.5 s) would overlap 'Keep going.' in a 20 s hold",
        ),
    ],
)
def test_words_that_cannot_fit_are_one_line_at_the_reminder(tmp_path, step, message):
    assert problem(tmp_path, step + "\n") == message


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("    hold: 1m\n    remind: [{at: 1m, say: Hi.}]", "5:19: at: 1m is not inside a hold"
         " of 1 min (the time after the hold starts must be shorter)"),
        ("    hold: 1m\n    remind: [{every: 2s, say: Hi.}]", "5:22: every: 2s is too often"
         " (at least 5 s between reminders)"),
        ("    remind: [{at: 10s, say: Hi.}]", "4:5: 'remind' needs a 'hold' in the same step"),
        ("    hold: 1m\n    remind: [{at: 10s, left: 5s, say: Hi.}]",
         "5:14: a reminder needs one of every, at and left, not at and left"),
        ("    hold: 1m\n    remind: [{at: 10s}]", "5:14: missing 'say'"),
        ("    hold: 1m\n    remind: [{at: 10s, sya: Hi.}]",
         "5:24: unknown key 'sya' in a reminder (did you mean 'say'?)"),
        ("    hold: 1m\n    remind: Keep breathing.", "5:13: remind must be a list like"
         " [{every: 20s, say: Keep breathing.}], not 'Keep breathing.'"),
    ],
)  # fmt: skip
def test_a_bad_reminder_is_one_line_at_its_place(tmp_path, step, message):
    assert problem(tmp_path, step + "\n") == message


def test_check_fails_when_a_reminder_does_not_fit_a_shorter_hold_a_param_allows(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "title: t\nparams:\n  secs: {default: 1m, choices: [1m, 20s]}\nsteps:\n"
        "  - say: At the chime, press the point.\n    hold: '{secs}'\n    halfway: true\n"
        "    remind:\n      - {left: 10s, say: Ten seconds left.}\n"
        "      - {every: 15s, say: Keep breathing slowly.}\n"
    )
    shown = CliRunner().invoke(cli, ["show", str(path), "--json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.stderr
    cues = json.loads(shown.stdout)["cues"]
    hold_start = next(c["start"] for c in cues if c.get("sound") == "hold-start")
    reminders = [
        (c["text"], round(c["start"] - hold_start, 6)) for c in cues if c["role"] == "reminder"
    ]
    assert reminders == [
        ("Keep breathing slowly.", 15),
        ("Keep breathing slowly.", 45),
        ("Ten seconds left.", 50),
    ]
    result = CliRunner().invoke(cli, ["check", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:9:9: remind: 'Ten seconds left.' (10 s left) would overlap 'Halfway.' in a"
        " 20 s hold (with --set secs=20s)\n"
    )
