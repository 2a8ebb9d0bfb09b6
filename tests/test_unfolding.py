"""A session heard before all of it is made: its phrases made in session order, the first
step's first, play starting with the session's start, and the player waiting should the rest
come late. Fast: a fake engine in this process, a fake clock."""

from __future__ import annotations

import time
from pathlib import Path

from fakes import EstimatedLengths, FakeClock, GatedEngine, RecordingSink

from voiceguide.cache import PhraseCache
from voiceguide.compiler import expand, lay_out
from voiceguide.loader import load_routine
from voiceguide.player import Player, status_at
from voiceguide.session import Unfolding, build_session
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Cue

RATE = 22050
ROUTINE = """\
title: Later
steps:
  - say: Find the spot.
    hold: 20s
    countdown: 2
  - say: Then press firmly.
    hold: 10s
    halfway: true
  - sides: [left, right]
    steps:
      - say: Then the {side} side.
        hold: 5s
"""
SPEECH = SpeechSettings(engine="fake", voice="v", rate=150, volume=1.0)


def routine(tmp_path: Path):
    path = tmp_path / "later.yaml"
    path.write_text(ROUTINE)
    return load_routine(path)


def test_play_can_start_once_the_first_step_is_made_and_the_rest_follows(tmp_path: Path):
    engine = GatedEngine()
    unfolding = Unfolding(routine(tmp_path), SpeechSettings(engine="gated"), 1, engine,
                          PhraseCache(tmp_path / "cache"))  # fmt: skip
    # Ready while every later phrase is held back: the first step's phrases were made first.
    first = unfolding.first.timeline
    assert engine.asked[:3] == ["Find the spot.", "two", "one"]
    assert unfolding.latest().timeline == first  # nothing more until the gate opens
    assert [step.title for step in first.steps] == ["Find the spot"]
    assert first.to_come == ("Then press firmly", "Then the left and right side")
    assert status_at(first, 0).steps == 3 and not status_at(first, 0).known
    assert not status_at(first, first.length).finished  # the start is played, not the session
    engine.open()
    whole = unfolding.wait()
    # The whole session is the one export makes, and what was played first is its start.
    exported = build_session(routine(tmp_path), SpeechSettings(engine="gated"), engine,
                             PhraseCache(tmp_path / "cache")).timeline  # fmt: skip
    assert whole.timeline == exported and whole.timeline.to_come == ()
    assert exported.cues[: len(first.cues)] == first.cues
    assert exported.steps[0] == first.steps[0] and first.length == exported.steps[0].end


def test_a_warm_cache_gives_the_whole_session_at_once(tmp_path: Path):
    engine = GatedEngine()
    engine.open()
    cache = tmp_path / "cache"
    made = Unfolding(routine(tmp_path), SpeechSettings(engine="gated"), 1, engine,
                     PhraseCache(cache))  # fmt: skip
    made.wait()  # all made (the copies at the session's volume too) before the second looks
    again = Unfolding(routine(tmp_path), SpeechSettings(engine="gated"), 1, engine,
                      PhraseCache(cache))  # fmt: skip
    assert again.first.timeline.to_come == () and again.latest() is again.first


def test_starting_at_a_later_step_waits_for_the_steps_before_it_too(tmp_path: Path):
    engine = GatedEngine()
    engine.open()  # 'Then' phrases are those of step 2: it needs them to be laid out
    unfolding = Unfolding(routine(tmp_path), SpeechSettings(engine="gated"), 2, engine,
                          PhraseCache(tmp_path / "cache"))  # fmt: skip
    assert len(unfolding.first.timeline.steps) >= 2


def test_the_session_is_laid_out_step_by_step_as_its_phrases_arrive(tmp_path: Path):
    engine = GatedEngine("Then", "Then the")
    unfolding = Unfolding(routine(tmp_path), SpeechSettings(engine="gated"), 1, engine,
                          PhraseCache(tmp_path / "cache"))  # fmt: skip
    engine.gates["Then"].set()  # the second step's phrases come; the third's stay held
    deadline = time.monotonic() + 60
    while len(unfolding.latest().timeline.steps) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    second = unfolding.latest().timeline
    assert len(second.steps) == 2 and second.to_come == ("Then the left and right side",)
    engine.open()
    whole = unfolding.wait().timeline
    assert whole.cues[: len(second.cues)] == second.cues and whole.steps[:2] == second.steps


def played(rest_at: float) -> tuple[list[Cue], list[float], list]:
    """A session played from its first step's layout, the whole known at clock `rest_at`:
    each cue with the clock time it was asked for, and the statuses shown."""
    script = expand(load_routine_text())
    whole = lay_out(script, EstimatedLengths(), SPEECH)
    start = lay_out(script, EstimatedLengths(), SPEECH, until=1)
    clock = FakeClock()
    sink = RecordingSink(clock)
    statuses = []
    player = Player(
        start,
        lambda cue: b"\1\0" * cue.length,
        sink,
        clock,
        clock.wait_until,
        statuses.append,
        latest=lambda: whole if clock() >= rest_at else start,
    )
    assert player.run().finished
    assert len(sink.due) == len(whole.cues)
    return list(whole.cues), sink.due, statuses


def load_routine_text():
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return routine(Path(folder))


def test_the_rest_in_time_plays_every_cue_exactly_on_the_exported_line():
    cues, due, statuses = played(rest_at=1000.0 + 10)
    for cue, at in zip(cues, due, strict=True):
        assert abs((at - due[0]) - (cue.start - cues[0].start) / RATE) < 1e-6
    assert statuses[-1].finished and statuses[-1].known


def test_the_rest_late_waits_in_silence_then_goes_on_exactly_from_there():
    late = 1000.0 + 60  # the first step lasts about 24 s
    cues, due, statuses = played(rest_at=late)
    later = next(i for i, cue in enumerate(cues) if cue.step > 1)
    # The start as exported, then silence until the rest is known, then the rest as exported.
    for cue, at in zip(cues[:later], due[:later], strict=True):
        assert abs((at - due[0]) - (cue.start - cues[0].start) / RATE) < 1e-6
    assert due[later] >= late
    for cue, at in zip(cues[later:], due[later:], strict=True):
        assert abs((at - due[later]) - (cue.start - cues[later].start) / RATE) < 1e-6
    waiting = [s for s in statuses if not s.known]
    assert waiting and not any(s.finished for s in waiting)
    assert all(s.steps == 3 for s in statuses) and statuses[-1].finished
