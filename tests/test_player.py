"""The scheduler, with an injected clock and sink: exact onsets, pause, resume, skip, back."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import EstimatedLengths, FakeClock, RecordingSink

from voiceguide.compiler import compile_routine
from voiceguide.errors import SpeechError
from voiceguide.loader import load_routine
from voiceguide.player import (
    BACK,
    LEAD_IN,
    NEXT,
    PAUSE,
    QUIT,
    RESUME_GAP,
    WHERE,
    WHERE_GUARD,
    WHERE_PREP,
    Player,
    reorientation,
    status_at,
)
from voiceguide.timeline import Cue, SpeechInfo, Timeline
from voiceguide.wording import ENGLISH, wording_for

RATE = 22050
ROUTINE = """\
title: Test
steps:
  - say: Find a comfortable position.
  - say: Press firmly on the spot.
    hold: 30s
    countdown: 3
    halfway: true
  - repeat: 2
    rest: 5s
    steps:
      - say: Press again.
        hold: 10s
  - say: Well done.
"""


def timeline_of(tmp_path: Path, text: str = ROUTINE) -> Timeline:
    path = tmp_path / "routine.yaml"
    path.write_text(text)
    return compile_routine(
        load_routine(path), EstimatedLengths(), SpeechInfo("fake", "v", 150, 1.0)
    )


def pcm_of(cue: Cue) -> bytes:
    return cue.start.to_bytes(4, "little") * (cue.length // 2)  # the cue's own, recognisable bytes


WORDS = b"\7\0" * 2205  # 0.1 s, the re-orienting words


def make(tmp_path: Path, text: str = ROUTINE):
    timeline = timeline_of(tmp_path, text)
    clock = FakeClock()
    sink = RecordingSink(clock)
    said: list[str] = []

    def say_now(words: str) -> bytes:
        said.append(words)
        return WORDS

    statuses = []
    player = Player(
        timeline,
        pcm_of,
        sink,
        clock,
        clock.wait_until,
        statuses.append,
        say_now,
        background=run_now,
    )
    return timeline, clock, sink, player, said, statuses


def run_now(job) -> None:
    job()  # the where-am-I words are made at once: the fake clock does not move meanwhile


def test_every_cue_starts_exactly_on_time(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    begin = clock()
    outcome = player.run()
    origin = begin + LEAD_IN
    assert outcome.finished and outcome.position == timeline.length
    assert [pcm for _, pcm in sink.played] == [pcm_of(c) for c in timeline.cues]
    assert [at for at, _ in sink.played] == [origin + c.start / RATE for c in timeline.cues]
    assert clock() == origin + timeline.length / RATE


def test_no_drift_over_a_two_hour_session(tmp_path):
    steps = "".join(
        f"  - say: Press point {n}.\n    hold: 100s\n    countdown: 3\n" for n in range(70)
    )
    timeline, clock, sink, player, _, _ = make(tmp_path, "title: Long\nsteps:\n" + steps)
    assert timeline.duration > 2 * 3600
    begin = clock()
    player.run()
    last_time, last_pcm = sink.played[-1]
    assert last_pcm == pcm_of(timeline.cues[-1])
    assert last_time - (begin + LEAD_IN) == timeline.cues[-1].start / RATE  # to the last bit
    assert len(sink.played) == len(timeline.cues)


def test_cues_are_read_before_they_are_due(tmp_path):
    timeline = timeline_of(tmp_path)
    clock = FakeClock()
    read_at = {}

    def reading(cue: Cue) -> bytes:
        read_at[cue.start] = clock()
        return pcm_of(cue)

    player = Player(timeline, reading, RecordingSink(clock), clock, clock.wait_until)
    begin = clock()
    player.run()
    for cue in timeline.cues[1:]:
        assert read_at[cue.start] < begin + LEAD_IN + cue.start / RATE


def test_pause_mid_hold_and_resume_with_exactly_the_time_it_had_left(tmp_path):
    timeline, clock, sink, player, said, statuses = make(tmp_path)
    hold = timeline.holds[0]
    origin = clock() + LEAD_IN
    paused_at = origin + (hold.start + 12 * RATE) / RATE  # 12 s into the 30 s hold
    clock.at(paused_at, PAUSE)
    clock.at(paused_at + 60, PAUSE)  # a minute later: resume
    player.run()
    assert sink.stops == [paused_at]
    assert said == ["Resuming. Press firmly on the spot. Hold, eighteen seconds left."]
    resumed = paused_at + 60
    assert (resumed, WORDS) in sink.played
    end_chime = next(c for c in timeline.cues if c.role == "hold-end")
    played_at = dict((pcm, at) for at, pcm in sink.played)
    # The words, half a second, then the hold goes on: 18 s to its end chime.
    assert played_at[pcm_of(end_chime)] == pytest.approx(resumed + 0.1 + RESUME_GAP + 18, abs=1e-9)
    paused = [s for s in statuses if s.paused]
    assert paused and paused[0].hold_left == pytest.approx(18, abs=1 / RATE)


def test_pause_mid_instruction_says_it_again_from_its_start(tmp_path):
    timeline, clock, sink, player, said, _ = make(tmp_path)
    instruction = timeline.cues[1]  # "Press firmly on the spot."
    origin = clock() + LEAD_IN
    clock.at(origin + (instruction.start + instruction.length // 2) / RATE, PAUSE)
    clock.at(origin + 100, PAUSE)
    player.run()
    times = [at for at, pcm in sink.played if pcm == pcm_of(instruction)]
    assert len(times) == 2 and times[1] == pytest.approx(origin + 100 + 0.1 + RESUME_GAP)
    assert said == ["Resuming. Press firmly on the spot."]


def test_next_skips_to_the_next_step_and_back_returns_to_the_steps_start(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    second, third = timeline.steps[1], timeline.steps[2]
    origin = clock() + LEAD_IN
    skip_at = origin + (second.start + 5 * RATE) / RATE
    clock.at(skip_at, NEXT)
    back_at = skip_at + LEAD_IN + 10  # 10 s into the third step
    clock.at(back_at, BACK)
    player.run()
    firsts = [
        at for at, pcm in sink.played if pcm == pcm_of(timeline.cues[_first_cue(timeline, third)])
    ]
    assert firsts[:2] == [skip_at + LEAD_IN, back_at + LEAD_IN]
    assert sink.stops == [skip_at, back_at]


def test_back_at_a_steps_very_start_goes_to_the_step_before(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    second = timeline.steps[1]
    origin = clock() + LEAD_IN
    clock.at(origin + (second.start + RATE) / RATE, BACK)  # one second in
    clock.at(origin + (second.start + RATE) / RATE + 0.5, QUIT)
    player.run()
    assert sink.played[-1][1] == pcm_of(timeline.cues[0])  # the first step, from its start


def test_next_on_the_last_step_goes_to_the_closing_chime_and_then_to_the_end(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    last, closing = timeline.steps[-1], timeline.cues[-1]
    origin = clock() + LEAD_IN
    pressed = origin + last.start / RATE + 0.2  # just into "Well done."
    clock.at(pressed, NEXT)
    clock.at(pressed + LEAD_IN + 0.5, NEXT)  # during the closing chime: the end
    outcome = player.run()
    assert outcome.finished
    assert sink.played[-2:] == [
        (origin + last.start / RATE, pcm_of(timeline.cues[-2])),
        (pressed + LEAD_IN, pcm_of(closing)),
    ]
    assert clock() == pytest.approx(pressed + 2 * LEAD_IN + 0.5)  # at once, no second chime


def test_keys_during_a_restart_count_from_where_it_restarts(tmp_path):
    timeline, clock, _, player, _, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    clock.at(origin + 1, NEXT)
    clock.at(origin + 1 + LEAD_IN / 2, NEXT)  # again, before the second step has begun
    clock.at(origin + 1 + LEAD_IN, QUIT)  # still in the lead-in of the third step
    outcome = player.run()
    assert outcome.position == timeline.steps[2].start


def test_pausing_again_during_the_resuming_words_does_not_move_the_hold(tmp_path):
    timeline, clock, _, player, said, _ = make(tmp_path)
    hold = timeline.holds[0]
    origin = clock() + LEAD_IN
    paused = origin + (hold.start + 12 * RATE) / RATE
    clock.at(paused, PAUSE)
    for n in (1, 2):  # resume, and pause again while the words are said
        clock.at(paused + 5 * n, PAUSE)
        clock.at(paused + 5 * n + 0.3, PAUSE)
    clock.at(paused + 15, PAUSE)
    player.run()
    assert said == ["Resuming. Press firmly on the spot. Hold, eighteen seconds left."] * 3


def test_the_session_goes_on_when_the_resuming_words_cannot_be_made(tmp_path):
    timeline = timeline_of(tmp_path)
    clock = FakeClock()
    sink = RecordingSink(clock)

    def broken(words: str) -> bytes:
        raise SpeechError("the speech engine crashed; try again")

    player = Player(timeline, pcm_of, sink, clock, clock.wait_until, say_now=broken)
    origin = clock() + LEAD_IN
    clock.at(origin + 1, PAUSE)
    clock.at(origin + 2, PAUSE)
    assert player.run().finished
    assert sink.played[1] == (origin + 2 + LEAD_IN, pcm_of(timeline.cues[0]))  # said again


def test_quit_says_where_it_stopped_paused_or_not(tmp_path):
    _, clock, _, player, _, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    clock.at(origin + 20, QUIT)
    outcome = player.run()
    assert not outcome.finished and outcome.position == 20 * RATE
    _, clock, _, player, _, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    clock.at(origin + 7, PAUSE)
    clock.at(origin + 500, QUIT)
    assert player.run().position == 7 * RATE


def test_skips_while_paused_move_where_it_resumes(tmp_path):
    timeline, clock, sink, player, said, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    clock.at(origin + 1, PAUSE)
    clock.at(origin + 2, NEXT)
    clock.at(origin + 3, NEXT)
    clock.at(origin + 4, PAUSE)
    player.run()
    third = timeline.steps[2]
    assert said == [f"Resuming. {third.title}."]
    first_of_third = pcm_of(timeline.cues[_first_cue(timeline, third)])
    assert (origin + 4 + 0.1 + RESUME_GAP, first_of_third) in sink.played


def _first_cue(timeline: Timeline, step) -> int:
    return next(i for i, c in enumerate(timeline.cues) if c.start >= step.start)


def test_status_names_the_step_round_hold_and_what_comes_next(tmp_path):
    timeline = timeline_of(tmp_path)
    second_round_hold = timeline.holds[2]
    status = status_at(timeline, second_round_hold.start + 4 * RATE)
    assert (status.step.index, status.steps, status.step.title) == (3, 4, "Press again (2 rounds)")
    assert status.context.round == (2, 2)
    assert status.hold == second_round_hold and status.hold_left == 6.0
    assert status.next_title == "Well done"
    assert status.left == pytest.approx((timeline.length - second_round_hold.start) / RATE - 4)
    assert reorientation(status) == "Resuming. Press again (2 rounds). Hold, six seconds left."
    final = status_at(timeline, timeline.length)
    assert final.finished and final.next_title is None


def test_where_am_i_is_said_over_the_hold_and_moves_no_cue(tmp_path):
    timeline, clock, sink, player, said, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    hold = timeline.holds[0]
    asked = origin + hold.start / RATE + 5.0  # five seconds into the 30 s hold
    clock.at(asked, WHERE)
    player.run()
    words = [(t, at) for (t, pcm), at in zip(sink.played, sink.due, strict=True) if pcm == WORDS]
    session_left = (timeline.length - hold.start) / RATE - 6.0
    assert 60 < session_left < 90  # said as "one minute"
    assert len(words) == 1 and said == [
        f"{timeline.steps[1].title.rstrip('.')}. Twenty-four seconds left. "
        "One minute in the session."
    ]
    assert words[0][1] == pytest.approx(asked + WHERE_PREP, abs=1 / RATE)
    # Every cue still exactly on time: the session clock never stopped.
    cues = [(t, pcm) for t, pcm in sink.played if pcm != WORDS]
    assert [pcm for _, pcm in cues] == [pcm_of(c) for c in timeline.cues]
    assert [t for t, _ in cues] == [origin + c.start / RATE for c in timeline.cues]


def test_where_am_i_waits_for_silence_and_never_covers_a_cue(tmp_path):
    timeline, clock, sink, player, said, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    halfway = next(c for c in timeline.cues if c.role == "halfway")
    clock.at(origin + halfway.start / RATE - WHERE_PREP - 0.05, WHERE)  # due inside "Halfway."
    player.run()
    (at,) = [at for (_, pcm), at in zip(sink.played, sink.due, strict=True) if pcm == WORDS]
    begin = round((at - origin) * RATE)
    end = begin + len(WORDS) // 2
    guard = round(WHERE_GUARD * RATE)
    for cue in timeline.cues:
        assert cue.end + guard <= begin or end + guard <= cue.start, cue
    assert begin == halfway.end + guard  # the first silence that holds them
    assert len(said) == 1


def test_where_am_i_is_dropped_by_a_skip_and_ignored_while_paused(tmp_path):
    timeline, clock, sink, player, said, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    hold = origin + timeline.holds[0].start / RATE
    clock.at(hold + 2.0, WHERE)
    clock.at(hold + 2.5, NEXT)  # before the words are due
    clock.at(hold + 20.0, PAUSE)
    clock.at(hold + 21.0, WHERE)  # paused: nothing
    clock.at(hold + 22.0, PAUSE)
    player.run()
    words = [pcm for pcm in (p for _, p in sink.played) if pcm == WORDS]
    assert len(said) == 2 and len(words) == 1  # the resume words only
    assert said[1].startswith("Resuming.")


def test_where_am_i_says_nothing_when_no_silence_is_left(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    origin = clock() + LEAD_IN
    last = timeline.cues[-1]
    clock.at(origin + last.start / RATE - WHERE_PREP - 0.1, WHERE)
    player.run()
    assert WORDS not in [pcm for _, pcm in sink.played]


def test_where_am_i_in_a_language_without_a_catalog_says_nothing_and_plays_on(tmp_path):
    """A routine's own wording may give its phrases but not the where-am-I ones: the key then
    says nothing, and the session goes on exactly."""
    timeline, clock, sink, player, said, _ = make(tmp_path)
    player.words = wording_for("fi", {"halfway": "Puolivälissä."})
    clock.at(clock() + LEAD_IN + timeline.holds[0].start / RATE + 5.0, WHERE)
    outcome = player.run()
    assert outcome.finished and said == []
    assert [pcm for _, pcm in sink.played] == [pcm_of(c) for c in timeline.cues]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (17.6, "eighteen seconds"),  # rounded, not truncated to 'seventeen'
        (17.4, "seventeen seconds"),
        (59.6, "one minute"),
        (90.5, "one minute and thirty seconds"),  # round half to even: 90
        (0.2, "one second"),  # never 'zero seconds'
        (125, "two minutes and five seconds"),
    ],
)
def test_time_left_is_said_rounded_to_the_second(seconds, words):
    assert ENGLISH.seconds_in_words(seconds) == words


def test_resuming_mid_hold_says_the_time_left_rounded_not_floored(tmp_path):
    timeline = timeline_of(tmp_path)
    hold = timeline.holds[0]  # 30 s
    status = status_at(timeline, hold.end - round(17.6 * RATE))
    assert status.hold_left == pytest.approx(17.6, abs=1e-4)
    assert (
        reorientation(status) == "Resuming. Press firmly on the spot. Hold, eighteen seconds left."
    )
    later = status_at(timeline, hold.end - round(0.4 * RATE))
    assert later.hold_left == pytest.approx(0.4, abs=1e-4)  # not floored to nothing
    assert reorientation(later).endswith("Hold, one second left.")
