"""The compiler, with phrase lengths from a function (no speech engine): exact cue times."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from fakes import EstimatedLengths

from voiceguide import compiler
from voiceguide.errors import RoutineError
from voiceguide.loader import load_routine
from voiceguide.timeline import SpeechInfo, Timeline

RATE = 22050
INFO = SpeechInfo("fake", "test", 150, 1.0)


def compile_text(tmp_path: Path, text: str, lengths: EstimatedLengths | None = None) -> Timeline:
    path = tmp_path / "routine.yaml"
    path.write_text(text)
    return compiler.compile_routine(load_routine(path), lengths or EstimatedLengths(), INFO)


def seconds(samples: int) -> float:
    return samples / RATE


def speech_samples(text: str) -> int:
    return EstimatedLengths().speech(text)


def test_a_hold_lasts_exactly_its_time_from_chime_onset_to_chime_onset(tmp_path):
    timeline = compile_text(tmp_path, "title: t\nsteps:\n  - say: Press.\n    hold: 10s\n")
    start, end = [c for c in timeline.cues if c.kind == "chime" and c.role.startswith("hold")]
    assert (start.role, end.role) == ("hold-start", "hold-end")
    assert end.start - start.start == 10 * RATE
    # The words, half a second, then the chime.
    assert start.start == speech_samples("Press.") + RATE // 2
    assert [(h.start, h.length) for h in timeline.holds] == [(start.start, 10 * RATE)]


def test_countdown_numbers_start_on_the_last_whole_seconds_and_halfway_at_mid_hold(tmp_path):
    text = "title: t\nsteps:\n  - hold: 1m\n    countdown: 3\n    halfway: true\n"
    timeline = compile_text(tmp_path, text)
    hold = timeline.holds[0]
    spoken = [(c.start - hold.start, c.text, c.role) for c in timeline.cues if c.kind == "speech"]
    assert spoken == [
        (30 * RATE, "Halfway.", "halfway"),
        (57 * RATE, "three", "countdown"),
        (58 * RATE, "two", "countdown"),
        (59 * RATE, "one", "countdown"),
    ]


def test_a_step_ends_with_a_breath_or_exactly_its_pause(tmp_path):
    text = (
        "title: t\nsteps:\n  - say: One two three.\n  - say: Four.\n    pause: 5s\n"
        "  - pause: 2.5s\n"
    )
    timeline = compile_text(tmp_path, text)
    first, second, third = timeline.steps
    assert first.length == speech_samples("One two three.") + RATE  # one second's breath
    assert second.length == speech_samples("Four.") + 5 * RATE
    assert third.start == second.end
    # The last step also holds the session-end chime.
    assert third.length == round(2.5 * RATE) + round(3.0 * RATE)


def test_steps_tile_the_session_and_the_end_chime_closes_it(tmp_path):
    text = "title: t\nsteps:\n  - say: a\n  - say: b\n    hold: 5\n  - pause: 1\n"
    timeline = compile_text(tmp_path, text)
    assert timeline.steps[0].start == 0
    for before, after in pairwise(timeline.steps):
        assert before.end == after.start
    assert timeline.steps[-1].end == timeline.length
    last = timeline.cues[-1]
    assert (last.role, last.end, last.step) == ("session-end", timeline.length, 3)


def test_repeat_announces_rounds_and_rests_only_between_them(tmp_path):
    text = "title: t\nsteps:\n  - repeat: 3\n    rest: 15s\n    steps:\n      - say: Press.\n"
    timeline = compile_text(tmp_path, text)
    spoken = [(c.start, c.text) for c in timeline.cues if c.kind == "speech"]
    assert [t for _, t in spoken] == [
        "Round one of three.",
        "Press.",
        "Round two of three.",
        "Press.",
        "Round three of three.",
        "Press.",
    ]
    announce, press = speech_samples("Round one of three."), speech_samples("Press.")
    round_length = announce + RATE + press + RATE
    assert [s for s, _ in spoken[::2]] == [
        0,
        round_length + 15 * RATE,
        2 * (round_length + 15 * RATE),
    ]
    # No rest after the last round: the session-end chime follows the last breath.
    assert timeline.cues[-1].start == 3 * round_length + 2 * 15 * RATE
    assert [c.context.round for c in timeline.cues if c.kind == "speech"] == [
        (1, 3), (1, 3), (2, 3), (2, 3), (3, 3), (3, 3)
    ]  # fmt: skip


def test_a_single_round_is_not_announced(tmp_path):
    text = "title: t\nsteps:\n  - repeat: 1\n    steps:\n      - say: Press.\n"
    timeline = compile_text(tmp_path, text)
    assert [c.text for c in timeline.cues if c.kind == "speech"] == ["Press."]


def test_sides_announce_each_side_and_each_side_gets_its_full_hold(tmp_path):
    text = (
        "title: t\nsteps:\n  - sides: [left, right]\n    rest: 10s\n    steps:\n"
        "      - say: Press the {side} point.\n        hold: 30s\n"
    )
    timeline = compile_text(tmp_path, text)
    assert [c.text for c in timeline.cues if c.kind == "speech"] == [
        "Left side.",
        "Press the left point.",
        "Switch sides. Right side.",
        "Press the right point.",
    ]
    assert [(h.length, h.context.side) for h in timeline.holds] == [
        (30 * RATE, "left"),
        (30 * RATE, "right"),
    ]
    left_end = next(c for c in timeline.cues if c.role == "hold-end").end
    switch = next(c for c in timeline.cues if c.text.startswith("Switch"))
    assert switch.start == left_end + RATE + 10 * RATE  # breath, then the rest


def test_include_inlines_the_other_routines_steps(tmp_path):
    (tmp_path / "part.yaml").write_text("title: Part\nsteps:\n  - say: Inside.\n    hold: 5s\n")
    text = "title: t\nsteps:\n  - say: Before.\n  - include: part\n  - say: After.\n"
    timeline = compile_text(tmp_path, text)
    assert [c.text or c.role for c in timeline.cues] == [
        "Before.",
        "Inside.",
        "hold-start",
        "hold-end",
        "After.",
        "session-end",
    ]
    assert [s.title for s in timeline.steps] == ["Before", "Part", "After"]
    assert timeline.holds[0].step == 2


def test_speech_never_overlaps_speech_or_a_chime(tmp_path):
    text = (
        "title: t\nsteps:\n  - say: A.\n    hold: 10s\n    countdown: 4\n    halfway: true\n"
        "  - say: B.\n"
    )
    timeline = compile_text(tmp_path, text)
    assert len(timeline.cues) == 10
    for before, after in pairwise(timeline.cues):
        assert after.start >= before.end, (before, after)


def test_json_times_give_back_the_exact_first_sample(tmp_path):
    text = (
        "title: t\nsteps:\n  - say: One, two.\n    hold: 7.3s\n    countdown: 2\n  - say: Three.\n"
    )
    timeline = compile_text(tmp_path, text)
    document = timeline.to_json()
    assert document["sample_rate"] == RATE
    assert [round(c["start"] * RATE) for c in document["cues"]] == [c.start for c in timeline.cues]
    assert [round(c["end"] * RATE) for c in document["cues"]] == [c.end for c in timeline.cues]
    assert round(document["duration"] * RATE) == timeline.length
    assert document["cues"][0] == {
        "start": 0.0,
        "end": round(speech_samples("One, two.") / RATE, 6),
        "kind": "speech",
        "text": "One, two.",
        "step": 1,
        "role": "instruction",
    }
    assert document["cues"][1]["sound"] == "hold-start"


def test_phrases_lists_each_text_once_in_order_of_use(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "title: t\nsteps:\n  - repeat: 2\n    steps:\n      - say: Press.\n        hold: 10s\n"
        "        countdown: 2\n        halfway: true\n"
    )
    assert compiler.phrases(compiler.expand(load_routine(path))) == [
        "Round one of two.",
        "Press.",
        "Halfway.",
        "two",
        "one",
        "Round two of two.",
    ]


def test_titles_come_from_the_routine_or_what_the_step_says(tmp_path):
    text = (
        "title: t\nsteps:\n  - say: Find a comfortable position. Then relax.\n"
        "  - title: Named\n    say: x\n  - pause: 5s\n  - hold: 1m\n"
        "  - repeat: 3\n    steps:\n      - say: Press.\n"
        "  - sides: [left, right]\n    steps:\n      - say: Press the {side} point.\n"
    )
    timeline = compile_text(tmp_path, text)
    assert [s.title for s in timeline.steps] == [
        "Find a comfortable position",
        "Named",
        "Pause 5 s",
        "Hold 1 min",
        "Press (3 rounds)",
        "Press the left and right point",
    ]


def test_a_title_is_never_empty(tmp_path):
    timeline = compile_text(tmp_path, "title: t\nsteps:\n  - say: '. Then relax.'\n")
    assert [s.title for s in timeline.steps] == [". Then relax."]


@pytest.mark.parametrize(
    ("step", "where", "message"),
    [
        ("hold: 3.5s\n    countdown: 3", (5, 16), "countdown: 3 does not fit in a 3.5 s hold"),
        ("hold: 1.5s\n    halfway: true", (5, 14), "halfway does not fit in a 1.5 s hold"),
        (
            "hold: 0.5s",
            (4, 11),
            "hold: 0.5 s is shorter than its start chime (1 s); make it longer",
        ),
    ],
)
def test_what_cannot_fit_in_a_hold_is_an_error_not_an_overrun(tmp_path, step, where, message):
    with pytest.raises(RoutineError) as caught:
        compile_text(tmp_path, f"title: t\nsteps:\n  - say: Press.\n    {step}\n")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == where
    assert problem.message.startswith(message)


def test_a_countdown_that_runs_into_halfway_is_named(tmp_path):
    with pytest.raises(RoutineError, match=r"countdown: 5 runs into 'Halfway\.' in a 10 s hold"):
        compile_text(
            tmp_path, "title: t\nsteps:\n  - hold: 10s\n    countdown: 5\n    halfway: true\n"
        )


def test_a_slow_pace_can_make_a_countdown_not_fit(tmp_path):
    slow = EstimatedLengths(rate=40)  # "three" then lasts 1.8 s: it would run into "two"
    message = (
        "countdown: 3 does not fit: 'three' takes 1.8 s at this voice and pace,"
        " longer than its second"
    )
    with pytest.raises(RoutineError) as caught:
        compile_text(tmp_path, "title: t\nsteps:\n  - hold: 10s\n    countdown: 3\n", slow)
    assert [p.message for p in caught.value.problems] == [message]


def test_session_length_is_checked_before_anything_is_expanded(tmp_path):
    lengths = EstimatedLengths()
    text = "title: t\nsteps:\n  - repeat: 100\n    steps:\n      - repeat: 100\n        steps:\n"
    text += "          - repeat: 100\n            steps:\n              - say: Press.\n"
    with pytest.raises(RoutineError, match="more than 12 h"):
        compile_text(tmp_path, text, lengths)
    assert lengths.asked == []  # no phrase length was even asked for


@pytest.mark.parametrize(("hold", "samples"), [("2.3s", 50715), ("1.4s", 30870), ("8.2s", 180810)])
def test_a_hold_is_rounded_to_the_nearest_sample_not_truncated(tmp_path, hold, samples):
    # 2.3 * 22050 is 50714.999... in floating point: int() would lose a sample.
    timeline = compile_text(tmp_path, f"title: t\nsteps:\n  - hold: {hold}\n")
    start, end = (c for c in timeline.cues if c.role in ("hold-start", "hold-end"))
    assert end.start - start.start == samples
    assert timeline.holds[0].length == samples
    assert timeline.to_json()["holds"][0]["end"] - timeline.to_json()["holds"][0]["start"] == (
        pytest.approx(samples / RATE, abs=1e-6)
    )
