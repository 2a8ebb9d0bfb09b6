"""The terminal side: keys to commands, the wait that ends early, what the display shows."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from fakes import EstimatedLengths

from voiceguide.compiler import compile_routine
from voiceguide.console import Controls, PlainDisplay, TerminalDisplay, parse_keys, status_lines
from voiceguide.loader import load_routine
from voiceguide.player import BACK, NEXT, PAUSE, QUIT, status_at
from voiceguide.speech import SpeechSettings

RATE = 22050


def test_keys_become_commands():
    assert parse_keys(b" ") == [PAUSE]
    assert parse_keys(b"nNpPqQ") == [NEXT, NEXT, BACK, BACK, QUIT, QUIT]
    assert parse_keys(b"\x1b[C\x1b[D") == [NEXT, BACK]  # right and left arrows
    assert parse_keys(b"\x1bOC") == [NEXT]  # the arrow in application mode
    assert parse_keys(b"x \x1b[A?") == [PAUSE]  # other keys, up arrow: nothing


def test_a_wait_ends_at_its_deadline_and_not_before():
    controls = Controls()
    deadline = time.monotonic() + 0.05
    assert controls.wait_until(deadline) is None
    assert time.monotonic() >= deadline


def test_a_command_ends_a_wait_early():
    controls = Controls()
    threading.Timer(0.05, controls.put, [PAUSE]).start()
    started = time.monotonic()
    assert controls.wait_until(started + 30) == PAUSE
    assert time.monotonic() - started < 1


def timeline(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "title: T\nsteps:\n  - say: First.\n  - repeat: 2\n    steps:\n      - say: Press.\n"
        "        hold: 20s\n  - sides: [left, right]\n    steps:\n      - say: The {side} point.\n"
    )
    return compile_routine(
        load_routine(path),
        EstimatedLengths(),
        SpeechSettings(engine="fake", voice="v", rate=150, volume=1),
    )


def test_the_display_describes_step_round_hold_and_next(tmp_path):
    t = timeline(tmp_path)
    hold = t.holds[1]
    lines = status_lines(status_at(t, hold.start + 5 * RATE))
    assert lines[0] == "Step 2 of 3: Press (2 rounds) (round 2 of 2)"
    assert lines[1].startswith("playing, ") and lines[1].endswith(" left in the session")
    assert lines[2] == "hold [######..................]   15 s left"
    assert lines[3] == "next: The left and right point"
    assert lines[4] == "space pause/resume, n next, p back, w where am I, q quit"
    side = next(c for c in t.cues if c.context.side == "right")
    assert (
        status_lines(status_at(t, side.start))[0]
        == "Step 3 of 3: The left and right point (right side)"
    )
    assert status_lines(status_at(t, 0, paused=True))[1].startswith("paused, ")


def test_the_terminal_display_redraws_in_place(tmp_path):
    t = timeline(tmp_path)
    out = io.StringIO()
    display = TerminalDisplay(out)
    display(status_at(t, 0))
    display(status_at(t, RATE))
    first, second = out.getvalue().split("\x1b[5F")  # up five lines, to the first column
    assert first.count("\x1b[K\n") == 5 and second.count("\x1b[K\n") == 5


def test_without_a_terminal_progress_is_plain_lines_an_event(tmp_path):
    t = timeline(tmp_path)
    out = io.StringIO()
    display = PlainDisplay(out)
    for sample in [*range(0, t.length, RATE // 4), t.length]:
        display(status_at(t, sample))
    display(status_at(t, t.holds[0].start + RATE, paused=True))
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "Step 1 of 3: First",
        "Step 2 of 3: Press (2 rounds) (round 1 of 2)",
        "hold, 20 s",
        "Step 2 of 3: Press (2 rounds) (round 2 of 2)",
        "hold, 20 s",
        "Step 3 of 3: The left and right point (left side)",
        "Step 3 of 3: The left and right point (right side)",
        "done",
        "paused",
    ]
