"""Composed sessions: a routine marks its opening and closing steps (`part:`), and an include
can leave them out (`without:`), so a session made of routines opens and closes once."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import EstimatedLengths

from voiceguide import compiler
from voiceguide.errors import RoutineError
from voiceguide.loader import load_routine
from voiceguide.timeline import SpeechInfo, Timeline

INFO = SpeechInfo("fake", "test", 150, 1.0)

HANDS = """\
title: Hands
steps:
  - part: opening
    say: Stop if anything hurts.
  - part: opening
    say: Sit comfortably.
  - say: At the chime, press the point.
    hold: 3s
  - part: closing
    say: Well done. Take your time before you get up.
"""

BALLS = """\
title: Balls
steps:
  - part: opening
    say: Stop if anything hurts.
  - say: At the chime, lie on the balls.
    hold: 4s
  - part: closing
    say: Roll to your side and get up slowly.
"""

FULL = """\
title: Full
steps:
  - part: opening
    say: Stop if anything hurts.
  - include: hands
    without: [opening, closing]
  - say: Put your hands down. Now get your two massage balls.
    pause: 20s
  - include: balls
    without: opening
"""


def folder_with_routines(tmp_path: Path) -> Path:
    (tmp_path / "hands.yaml").write_text(HANDS)
    (tmp_path / "balls.yaml").write_text(BALLS)
    (tmp_path / "full.yaml").write_text(FULL)
    return tmp_path


def compiled(path: Path) -> Timeline:
    return compiler.compile_routine(load_routine(path), EstimatedLengths(), INFO)


def said(timeline: Timeline) -> list[str]:
    return [c.text for c in timeline.cues if c.kind == "speech"]


def test_a_routine_on_its_own_says_its_opening_and_closing(tmp_path):
    folder = folder_with_routines(tmp_path)
    assert said(compiled(folder / "hands.yaml")) == [
        "Stop if anything hurts.",
        "Sit comfortably.",
        "At the chime, press the point.",
        "Well done. Take your time before you get up.",
    ]


def test_a_composed_session_opens_once_and_closes_once(tmp_path):
    timeline = compiled(folder_with_routines(tmp_path) / "full.yaml")
    assert said(timeline) == [
        "Stop if anything hurts.",
        "At the chime, press the point.",
        "Put your hands down. Now get your two massage balls.",
        "At the chime, lie on the balls.",
        "Roll to your side and get up slowly.",
    ]
    assert [h.length for h in timeline.holds] == [3 * 22050, 4 * 22050]
    # The transition's 20 s to fetch the balls are all there, before the next instruction.
    transition, balls = (c for c in timeline.cues if c.text.startswith(("Put", "At the chime, l")))
    assert balls.start - transition.end == 20 * 22050


def test_the_routine_itself_is_unchanged_by_an_include_leaving_parts_out(tmp_path):
    folder = folder_with_routines(tmp_path)
    (folder / "both.yaml").write_text(
        "title: Both\nsteps:\n  - include: hands\n    without: closing\n  - include: hands\n"
    )
    first, second = load_routine(folder / "both.yaml").steps
    assert [s.part for s in first.routine.steps] == ["opening", "opening", None]
    assert [s.part for s in second.routine.steps] == ["opening", "opening", None, "closing"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "  - say: a\n  - part: opening\n    say: b\n",
            "4:5: an opening step must come before the routine's other steps",
        ),
        (
            "  - part: closing\n    say: a\n  - say: b\n",
            "5:5: a step after a closing step must be closing too (closing steps come last)",
        ),
        (
            "  - repeat: 2\n    steps:\n      - say: a\n        part: closing\n",
            "6:15: part: only a routine's top-level steps are opening or closing",
        ),
        (
            "  - part: begining\n    say: a\n",
            "3:11: part: 'begining' is not opening or closing (did you mean 'opening'?)",
        ),
        (
            "  - include: hands\n    without: [openng]\n",
            "4:15: without: 'openng' is not opening or closing (did you mean 'opening'?)",
        ),
        (
            "  - include: only-parts\n    without: [opening, closing]\n",
            "4:14: without: opening and closing leaves nothing of 'only-parts' (all its steps are"
            " left out)",
        ),
    ],
)
def test_misplaced_parts_are_one_line_at_their_place(tmp_path, steps, message):
    folder = folder_with_routines(tmp_path)
    (folder / "only-parts.yaml").write_text(
        "title: o\nsteps:\n  - part: opening\n    say: a\n  - part: closing\n    say: b\n"
    )
    path = folder / "r.yaml"
    path.write_text("title: t\nsteps:\n" + steps)
    with pytest.raises(RoutineError) as caught:
        load_routine(path)
    assert str(caught.value) == f"{path}:{message}"
