"""The scheduler, with an injected clock and sink: exact onsets, pause, resume, skip, back."""

from __future__ import annotations

from collections.abc import Callable
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
    WHERE_STALE,
    WHERE_TRIES,
    Player,
    reorientation,
    status_at,
    where_words,
)
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Cue, Timeline
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
        load_routine(path),
        EstimatedLengths(),
        SpeechSettings(engine="fake", voice="v", rate=150, volume=1.0),
    )


def pcm_of(cue: Cue) -> bytes:
    return cue.start.to_bytes(4, "little") * (cue.length // 2)  # the cue's own, recognisable bytes


WORDS = b"\7\0" * 2205  # 0.1 s, the re-orienting words


def make(
    tmp_path: Path,
    text: str = ROUTINE,
    clock: FakeClock | None = None,
    say_now: Callable[[str], bytes] | None = None,
    background: Callable[[Callable[[], None]], None] | None = None,
):
    """A player on a fake clock and sink; by default the words it says are recorded in
    `said` and made at once (`run_now`)."""
    timeline = timeline_of(tmp_path, text)
    clock = clock or FakeClock()
    sink = RecordingSink(clock)
    said: list[str] = []

    def say_recorded(words: str) -> bytes:
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
        say_now or say_recorded,
        background=background or run_now,
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


class Speaker:
    """say_now for the where-am-I tests: different samples each time it is asked (so the test
    sees which words were played), taking `took[n]` seconds of the fake clock for the n-th."""

    def __init__(self, clock: FakeClock, took: tuple[float, ...] = ()):
        self.clock, self.took, self.said = clock, took, []

    def __call__(self, words: str) -> bytes:
        self.said.append(words)
        self.clock.now += self.took[min(len(self.said), len(self.took)) - 1] if self.took else 0
        return len(self.said).to_bytes(2, "little") * 2205  # 0.1 s, numbered

    def played(self, sink: RecordingSink) -> list[tuple[int, float]]:
        """(which words, the time they were due) for each time words were played."""
        numbered = {n.to_bytes(2, "little") * 2205: n for n in range(1, len(self.said) + 1)}
        return [
            (numbered[pcm], at)
            for (_, pcm), at in zip(sink.played, sink.due, strict=True)
            if pcm in numbered
        ]


LONG_FIRST = """\
title: Long first
steps:
  - title: Settle
    say: Breathe out slowly and let your shoulders sink down into the floor below.
    hold: 20s
  - say: Rest.
"""


def test_where_am_i_words_that_would_be_late_are_made_again_for_when_they_are_said(tmp_path):
    # Asked for inside a long instruction: the first silence that holds them is the hold's,
    # more than WHERE_STALE after the moment they were made for. What they say then (no hold
    # yet) would be out of date: they are made again for that silence, and only those played.
    clock = FakeClock()
    speaker = Speaker(clock)
    timeline, _, sink, player, _, _ = make(tmp_path, LONG_FIRST, clock, speaker)
    origin = clock() + LEAD_IN
    clock.at(origin + 0.5, WHERE)
    assert player.run().finished
    asked = round((0.5 + WHERE_PREP) * RATE)
    instruction, chime = timeline.cues[0], timeline.cues[1]
    assert asked < instruction.end and chime.role == "hold-start"
    silence = chime.end + round(WHERE_GUARD * RATE)  # the first that holds the words
    assert silence - asked > WHERE_STALE * RATE
    assert speaker.said == [
        where_words(status_at(timeline, asked)),
        where_words(status_at(timeline, silence)),
    ]
    assert speaker.said == [
        "Settle. Thirty seconds in the session.",  # no hold yet: out of date when said
        "Settle. Nineteen seconds left. Twenty-five seconds in the session.",
    ]
    assert speaker.played(sink) == [(2, origin + silence / RATE)]


def test_where_am_i_words_are_made_again_at_most_where_tries_times(tmp_path):
    # Each making takes longer than the time allowed for it (a machine slowing down), so the
    # words come out late each time: made WHERE_TRIES times in all, and the last ones said as
    # they are, once, in a silence.
    clock = FakeClock()
    speaker = Speaker(clock, took=(3.0, 8.0, 20.0, 50.0, 120.0))
    timeline, _, sink, player, _, _ = make(tmp_path, clock=clock, say_now=speaker)
    origin = clock() + LEAD_IN
    clock.at(origin + timeline.holds[0].start / RATE + 5.0, WHERE)
    assert player.run().finished
    assert WHERE_TRIES == 3 and len(speaker.said) == WHERE_TRIES
    [(which, at)] = speaker.played(sink)
    assert which == WHERE_TRIES
    begin = round((at - origin) * RATE)
    guard = round(WHERE_GUARD * RATE)
    for cue in timeline.cues:
        assert cue.end + guard <= begin or begin + 2205 + guard <= cue.start, cue


def test_each_press_of_where_am_i_has_its_own_tries(tmp_path):
    # Two presses in one hold; the first making of each comes out late (3 s), the second in
    # time: each press has its words made again once, and both second makings are played.
    clock = FakeClock()
    speaker = Speaker(clock, took=(3.0, 0.0, 3.0, 0.0))
    timeline, _, sink, player, _, _ = make(tmp_path, clock=clock, say_now=speaker)
    hold = clock() + LEAD_IN + timeline.holds[0].start / RATE
    clock.at(hold + 5.0, WHERE)
    clock.at(hold + 16.0, WHERE)  # the first words said, and "Halfway." too
    assert player.run().finished
    assert len(speaker.said) == 4
    assert [which for which, _ in speaker.played(sink)] == [2, 4]


class LateClock(FakeClock):
    """A fake clock that can also run a job at a time: the where-am-I synthesis finishing
    while the session goes on, as its thread does."""

    def __init__(self):
        super().__init__()
        self.jobs: list[tuple[float, object]] = []

    def wait_until(self, deadline: float) -> str | None:
        command_at = self.script[0][0] if self.script else float("inf")
        if self.jobs and self.jobs[0][0] <= min(deadline, command_at):
            when, job = self.jobs.pop(0)
            self.now = max(self.now, when)
            job()
            return None  # woken early, nothing to obey: the player looks again
        return super().wait_until(deadline)


def test_where_am_i_words_made_before_a_skip_are_never_said(tmp_path):
    clock = LateClock()
    speaker = Speaker(clock)
    timeline, _, sink, player, _, _ = make(
        tmp_path,
        clock=clock,
        say_now=speaker,
        background=lambda job: clock.jobs.append((hold + 2.8, job)),  # done after the skip
    )
    hold = clock() + LEAD_IN + timeline.holds[0].start / RATE  # set before the player runs
    clock.at(hold + 2.0, WHERE)
    clock.at(hold + 2.5, NEXT)
    assert player.run().finished
    assert len(speaker.said) == 1 and speaker.played(sink) == []  # about a step left behind
    assert [pcm for _, pcm in sink.played][-3:] == [pcm_of(c) for c in timeline.cues[-3:]]


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


def where_at(seconds_left: float, title: str = "Press the point…", **context) -> str:
    from voiceguide.player import Status, where_words
    from voiceguide.timeline import Context, Hold, StepSpan

    hold = Hold(0, 30 * RATE, 1)
    position = hold.end - round(17.6 * RATE)  # 17.6 s of the hold left
    status = Status(
        position,
        StepSpan(1, title, 0, 60 * RATE),
        2,
        Context(**context),
        hold,
        None,
        RATE,
        position + round(seconds_left * RATE),
    )
    return where_words(status)


@pytest.mark.parametrize(
    ("left", "session"),
    [
        (2, "Five seconds in the session."),  # never less than five
        (33, "Thirty-five seconds in the session."),  # to five seconds below a minute
        (59, "One minute in the session."),
        (91, "Two minutes in the session."),  # to whole minutes from a minute on
        (3000, "Fifty minutes in the session."),
    ],
)
def test_where_am_i_says_the_step_the_hold_and_the_session_left(left, session):
    assert where_at(left) == f"Press the point. Eighteen seconds left. {session}"


def test_where_am_i_names_the_round_and_the_side():
    said = where_at(91, "Press.", round=(2, 3), side="left")
    assert said == (
        "Press. Round two of three. Left side. Eighteen seconds left. Two minutes in the session."
    )


def test_resuming_goes_back_only_into_an_interrupted_instruction(tmp_path):
    timeline, _, _, player, _, _ = make(tmp_path)
    instruction = timeline.cues[1]  # "Press firmly on the spot.", then half a second of silence
    assert instruction.role == "instruction"
    assert player._resume_point(instruction.start + 1) == instruction.start
    assert player._resume_point(instruction.end - 1) == instruction.start
    # Once it has been said whole, nothing is said again: not at its last sample's end, nor in
    # the silence after it.
    assert player._resume_point(instruction.end) == instruction.end
    assert player._resume_point(instruction.end + 100) == instruction.end + 100


def test_resuming_words_do_not_double_a_titles_full_stop(tmp_path):
    text = "title: t\nsteps:\n  - title: Breathe.\n    say: In and out.\n    hold: 10s\n"
    timeline = timeline_of(tmp_path, text)
    status = status_at(timeline, timeline.holds[0].start + 4 * RATE)
    assert reorientation(status) == "Resuming. Breathe. Hold, six seconds left."


class EarlySink(RecordingSink):
    """A sink that buffers, like the one-stream output: handed each sound AHEAD seconds before
    its time, with that time, and given START seconds before the first."""

    AHEAD = 0.25
    START = 2.0


def test_a_buffering_sink_gets_each_cue_early_with_the_exact_time_it_is_due(tmp_path):
    timeline = timeline_of(tmp_path)
    clock = FakeClock()
    sink = EarlySink(clock)
    player = Player(timeline, pcm_of, sink, clock, clock.wait_until, lambda s: None)
    begin = clock()
    assert player.run().finished
    origin = begin + EarlySink.START  # more than LEAD_IN: the sink's own start wins
    due = [origin + c.start / RATE for c in timeline.cues]
    assert sink.due == due
    assert [at for at, _ in sink.played] == [t - EarlySink.AHEAD for t in due]
    assert [pcm for _, pcm in sink.played] == [pcm_of(c) for c in timeline.cues]
    assert clock() == origin + timeline.length / RATE


def test_a_plain_sink_is_told_each_cues_time_too(tmp_path):
    timeline, clock, sink, player, _, _ = make(tmp_path)
    begin = clock()
    player.run()
    assert sink.due == [begin + LEAD_IN + c.start / RATE for c in timeline.cues]
