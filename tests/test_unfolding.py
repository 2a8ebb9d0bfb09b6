"""A session heard before all of it is made: its phrases made in session order, the first
step's first, play starting with the session's start, and the player waiting should the rest
come late. Fast: a fake engine in this process, a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import EstimatedLengths, FakeClock, GatedEngine, RecordingSink

from voiceguide.cache import PhraseCache, clear
from voiceguide.compiler import expand, lay_out
from voiceguide.errors import SpeechError
from voiceguide.loader import load_routine
from voiceguide.player import Player, status_at, where_words
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


Unfold = Callable[..., Unfolding]


@pytest.fixture
def unfold(tmp_path: Path) -> Iterator[Unfold]:
    """Unfoldings of ROUTINE with a gated engine; at the end, whatever the test did, every
    gate is opened and every making thread has ended (none is left writing to tmp_path)."""
    made: list[tuple[GatedEngine, Unfolding | None]] = []

    def start(engine: GatedEngine, first_step: int = 1, volume: float | None = None,
              cache: Path | None = None) -> Unfolding:  # fmt: skip
        made.append((engine, None))
        unfolding = Unfolding(
            routine(tmp_path), SpeechSettings(engine="gated", volume=volume), first_step,
            engine, PhraseCache(cache or tmp_path / "cache"),
        )  # fmt: skip
        made[-1] = (engine, unfolding)
        return unfolding

    yield start
    for engine, _ in made:
        engine.open()
    for _, unfolding in made:
        if unfolding is not None:
            unfolding.stop()
            assert not unfolding._making.is_alive()


def test_play_can_start_once_the_first_step_is_made_and_the_rest_follows(
    tmp_path: Path, unfold: Unfold
):
    engine = GatedEngine()
    unfolding = unfold(engine)
    # Ready while every later phrase is held back: the first step's phrases were made first.
    first = unfolding.first.timeline
    assert engine.asked[:3] == ["Find the spot.", "two", "one"]
    assert unfolding.latest().timeline == first  # nothing more until the gate opens
    assert [step.title for step in first.steps] == ["Find the spot"]
    assert first.to_come == ("Then press firmly", "Then the left and right side")
    assert status_at(first, 0).steps == 3 and not status_at(first, 0).length_known
    assert not status_at(first, first.length).finished  # the start is played, not the session
    engine.open()
    whole = unfolding.wait()
    # The whole session is the one export makes, and what was played first is its start.
    exported = build_session(routine(tmp_path), SpeechSettings(engine="gated"), engine,
                             PhraseCache(tmp_path / "cache")).timeline  # fmt: skip
    assert whole.timeline == exported and whole.timeline.to_come == ()
    assert exported.cues[: len(first.cues)] == first.cues
    assert exported.steps[0] == first.steps[0] and first.length == exported.steps[0].end


@pytest.mark.parametrize("volume", [1.0, 0.6])
def test_a_warm_cache_gives_the_whole_session_at_once(unfold: Unfold, volume: float):
    engine = GatedEngine()
    engine.open()
    unfold(engine, volume=volume).wait()  # all made (their copies too) before the second looks
    for _ in range(20):  # every time: the cache's phrases are known at once, all together
        again = unfold(engine, volume=volume)
        assert again.first.timeline.to_come == ()
        assert again.wait().timeline == again.first.timeline


def test_the_chimes_are_made_while_the_first_phrases_are(tmp_path: Path, unfold: Unfold):
    # The first sound waits for the first phrases, not for the chimes after them: with the
    # first phrase held back, the chimes are in the cache already (nothing else can be).
    import threading

    from voiceguide.sounds import load_chimes
    from voiceguide.speech import DEFAULT_VOLUME

    engine = GatedEngine("Find")
    started: list[Unfolding] = []
    thread = threading.Thread(target=lambda: started.append(unfold(engine)), daemon=True)
    thread.start()
    cache = tmp_path / "cache"
    deadline = time.monotonic() + 60
    while not (engine.asked and list(cache.glob("*/*.wav"))) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.asked == ["Find the spot."] and not started  # still held back
    assert list(cache.glob("*/*.wav")), "no chime made while the first phrase was"
    engine.open()
    thread.join(60)
    # Made at the usual rate, then again at the fake voice's own: the chimes are the session's.
    rate = started[0].first.timeline.sample_rate
    assert rate != 22050 and started[0].chimes == load_chimes(
        routine(tmp_path), rate, DEFAULT_VOLUME, PhraseCache(cache)
    )


def test_starting_at_a_later_step_waits_for_the_steps_before_it_too(unfold: Unfold):
    engine = GatedEngine()
    engine.open()  # 'Then' phrases are those of step 2: it needs them to be laid out
    unfolding = unfold(engine, 2)
    assert len(unfolding.first.timeline.steps) >= 2


def test_the_session_is_laid_out_step_by_step_as_its_phrases_arrive(unfold: Unfold):
    engine = GatedEngine("Then", "Then the")
    unfolding = unfold(engine)
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
    assert statuses[-1].finished and statuses[-1].length_known


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
    waiting = [s for s in statuses if not s.length_known]
    assert waiting and not any(s.finished for s in waiting)
    assert all(s.steps == 3 for s in statuses) and statuses[-1].finished


def test_a_cache_cleared_mid_play_is_made_again_as_exported(tmp_path: Path, unfold: Unfold):
    # `voiceguide cache clear` in another terminal while the session plays: every phrase,
    # the first step's (laid out before the rest arrived) too, is made again as it was.
    engine = GatedEngine()
    unfolding = unfold(engine, volume=0.6)  # read from copies, made from full-volume entries
    first = unfolding.first
    assert first.timeline.to_come
    engine.open()
    whole = unfolding.wait()
    before = [whole.cue_pcm(cue) for cue in whole.timeline.cues]
    assert clear(tmp_path / "cache")[0] > 0
    played = [first.cue_pcm(cue) for cue in first.timeline.cues]
    assert played == before[: len(played)]
    clear(tmp_path / "cache")
    assert [whole.cue_pcm(cue) for cue in whole.timeline.cues] == before


def test_words_said_mid_play_spare_every_phrase_made_for_the_session(
    tmp_path: Path, unfold: Unfold
):
    # Words said on resuming are made into a cache at its limit, whose prune follows: it
    # spares every entry the session reads, of the steps laid out after those words too.
    engine = GatedEngine()
    unfolding = unfold(engine, volume=0.6)
    first = unfolding.first
    engine.open()
    whole = unfolding.wait()
    first.cache._max_bytes = 1  # a prune removes all it may
    assert first.speak("Resuming.")
    assert all(path.exists() for path in whole.phrases.paths())
    assert whole.phrases.sources and whole.phrases.sources <= whole.phrases.paths()


def test_where_am_i_says_no_time_left_in_a_session_whose_length_is_not_known(unfold: Unfold):
    engine = GatedEngine()
    first = unfold(engine).first.timeline
    said = where_words(status_at(first, 0))
    assert said.startswith("Find the spot.") and "session" not in said
    engine.open()
    assert "in the session" in where_words(status_at(unfold(engine).wait().timeline, 0))


def test_the_rest_failing_lets_the_known_part_play_to_its_end_then_raises():
    # The later steps' phrases cannot be made (the engine failed in the background): the
    # step playing is heard whole, then the error ends the session.
    script = expand(load_routine_text())
    start = lay_out(script, EstimatedLengths(), SPEECH, until=1)
    clock = FakeClock()
    sink = RecordingSink(clock)

    def latest():
        raise SpeechError("the speech engine (gated) crashed; try again")

    player = Player(start, lambda cue: b"\1\0" * cue.length, sink, clock, clock.wait_until,
                    latest=latest)  # fmt: skip
    with pytest.raises(SpeechError):
        player.run()
    assert len(sink.due) == len(start.cues)
    assert clock() >= sink.due[0] + (start.length - start.cues[0].start) / RATE


def _children() -> set[int]:
    return {
        int(pid)
        for task in Path("/proc/self/task").iterdir()
        for pid in (task / "children").read_text().split()
    }


def test_a_problem_found_once_the_first_step_is_made_leaves_no_worker_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The routine's own chime is no sound file: found once the first step's phrases are
    # made, while a worker (espeak, for real) is held making the later ones.
    import tempfile

    from fakes import GatedEspeak

    from voiceguide.errors import RoutineError

    gate, scratch = tmp_path / "gate", tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("VOICEGUIDE_TEST_GATE", str(gate))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (tmp_path / "bad.wav").write_bytes(b"not a sound" * 100)
    path = tmp_path / "chimed.yaml"
    path.write_text("chimes:\n  hold-start: bad.wav\n" + ROUTINE)
    before = _children()
    try:
        with pytest.raises(RoutineError, match=r"bad\.wav"):
            Unfolding(load_routine(path), SpeechSettings(engine="espeak"), 1, GatedEspeak(),
                      PhraseCache(tmp_path / "cache"))  # fmt: skip
        assert not _children() - before  # no worker left speaking (earlier ones may end)
        assert not list(scratch.iterdir())  # nor its scratch folder
    finally:
        gate.touch()  # (on a failure: the worker, held, ends)


def test_a_warm_cache_announces_all_its_phrases_in_one_call(tmp_path: Path, unfold: Unfold):
    # So that whoever waits for the first step's phrases, woken, finds all of them there.
    from voiceguide.phrases import prepare_phrases

    engine = GatedEngine()
    engine.open()
    whole = unfold(engine, volume=0.6).wait()
    texts = list(whole.phrases.entries)
    calls: list[dict] = []
    cache = PhraseCache(tmp_path / "cache")
    prepare_phrases(texts, whole.speaking, engine, cache, arrived=calls.append)
    assert [set(call) for call in calls] == [set(texts)]


def test_the_rest_arriving_late_loses_no_cue_of_the_known_part():
    # The machine stalls just before the known part's last cue is handed over, past the
    # known end, and a key press (where am I) is seen first: the rest is then taken late,
    # and the session goes on from that cue, not from after it.
    script = expand(load_routine_text())
    whole = lay_out(script, EstimatedLengths(), SPEECH)
    start = lay_out(script, EstimatedLengths(), SPEECH, until=1)
    clock = FakeClock()
    sink = RecordingSink(clock)
    stalled: list[float] = []

    def wait_until(deadline: float) -> str | None:
        if not stalled and player.next_cue == len(start.cues) - 1:
            clock.now = player._time_of(start.length) + 0.01
            stalled.append(clock.now)
            return "where"
        return clock.wait_until(deadline)

    player = Player(start, lambda cue: b"\1\0" * cue.length, sink, clock, wait_until,
                    latest=lambda: whole if stalled else start)  # fmt: skip
    assert player.run().finished
    assert stalled and len(sink.due) == len(whole.cues)
