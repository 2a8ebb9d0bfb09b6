"""Loading routines: every key of the format, durations in every form, names and paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, ROUTINES

from voiceguide import bundled
from voiceguide.durations import format_clock, parse_duration
from voiceguide.errors import RoutineError
from voiceguide.loader import load_routine
from voiceguide.routine import Action, Include, Repeat, Sides
from voiceguide.speech import SpeechSettings


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (10, 10.0),
        (2.5, 2.5),
        ("10s", 10.0),
        ("1m", 60.0),
        ("1m30s", 90.0),
        ("2.5s", 2.5),
        ("1:30", 90.0),
        ("1:02:03", 3723.0),
        ("90", 90.0),
        ("1 min 30 s", 90.0),
        ("1h", 3600.0),
        ("20 seconds", 20.0),
    ],
)
def test_durations_in_every_form(written, seconds):
    assert parse_duration(written) == seconds


@pytest.mark.parametrize("written", ["10 parsecs", "-5s", "0", "nan", "inf", "", "s", True, None])
def test_not_durations(written):
    with pytest.raises(ValueError):
        parse_duration(written)


def test_clock_format_truncates_like_a_stopwatch():
    assert format_clock(43.86) == "00:43"
    assert format_clock(43.86, 1) == "00:43.8"
    assert format_clock(12 * 3600) == "720:00"


def test_every_key_of_the_format(tmp_path):
    (tmp_path / "other.yaml").write_text("title: Other\nsteps:\n  - say: Included.\n")
    (tmp_path / "ding.wav").write_bytes((ROOT / "sounds" / "bell.wav").read_bytes())
    path = tmp_path / "all.yaml"
    path.write_text(
        "title: All keys\n"
        "description: Not spoken.\n"
        "speech: {voice: en-gb, rate: 150, volume: 0.8}\n"
        "chimes: {hold-start: ding.wav, session-end: bowl}\n"
        "steps:\n"
        "  - say: Start.\n"
        "    hold: 10s\n"
        "    countdown: 3\n"
        "    halfway: true\n"
        "    pause: 5s\n"
        "    title: First\n"
        "  - repeat: 3\n"
        "    rest: 15s\n"
        "    steps: [{say: Again.}]\n"
        "  - sides: [left, right]\n"
        "    steps: [{say: 'The {side} side.', hold: 1m}]\n"
        "  - include: other\n"
    )
    routine = load_routine(path)
    assert (routine.title, routine.description, routine.name) == ("All keys", "Not spoken.", "all")
    assert routine.speech == SpeechSettings("en-gb", 150, 0.8)
    assert [(c.role, c.sound, c.path.name) for c in routine.chimes] == [
        ("hold-start", "ding.wav", "ding.wav"),
        ("session-end", "bowl", "bowl.wav"),
    ]
    first, repeat, sides, include = routine.steps
    assert isinstance(first, Action)
    assert (first.say, first.hold, first.countdown, first.halfway, first.pause, first.title) == (
        "Start.", 10.0, 3, True, 5.0, "First"
    )  # fmt: skip
    assert (first.pos.line, first.pos.column) == (6, 5)
    assert isinstance(repeat, Repeat) and (repeat.times, repeat.rest) == (3, 15.0)
    assert isinstance(sides, Sides) and sides.sides == ("left", "right")
    assert sides.steps[0].say == "The {side} side." and sides.steps[0].hold == 60.0
    assert isinstance(include, Include) and include.routine.title == "Other"


def test_a_bom_crlf_line_ends_and_accents_load_as_written():
    routine = load_routine(ROUTINES / "ok-bom-crlf-accents.yaml")
    assert routine.title == "Café résumé"
    first, second = routine.steps
    assert first.say == "Détendez-vous. “Respirez”."
    assert first.hold == 90.0
    assert (second.say, second.pause) == ("Préparez-vous.", 2.5)
    assert (second.pos.line, second.pos.column) == (6, 5)


def test_yaml_1_1_words_are_text_where_text_belongs(tmp_path):
    path = tmp_path / "yes.yaml"
    path.write_text("title: Yes\nsteps:\n  - say: Yes\n  - say: 1:30\n  - say: No\n")
    assert [s.say for s in load_routine(path).steps] == ["Yes", "1:30", "No"]


def test_a_routine_is_found_by_bundled_name():
    routine = load_routine("back-hands")
    assert routine.path == bundled.scripts_dir() / "back-hands.yaml"
    assert routine.name == "back-hands"


def test_a_path_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("back-hands.yaml").write_text("title: Mine\nsteps:\n  - say: hi\n")
    assert load_routine("back-hands.yaml").title == "Mine"


def test_a_file_that_is_not_a_routine_file_is_never_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("back-hands").write_text("title: Mine\nsteps:\n  - say: hi\n")
    Path("notes").write_text("title: Notes\nsteps:\n  - say: hi\n")
    assert load_routine("back-hands").title != "Mine"  # the bundled one
    with pytest.raises(RoutineError, match=r"^notes: is not a routine file"):
        load_routine("notes")


def test_include_resolves_beside_the_including_file_first_then_bundled(tmp_path):
    (tmp_path / "back-hands.yaml").write_text("title: Local hands\nsteps:\n  - say: hi\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "part.yaml").write_text(
        "title: Part\nsteps:\n  - include: back-massage-ball\n"
    )
    path = tmp_path / "top.yaml"
    path.write_text("title: Top\nsteps:\n  - include: back-hands\n  - include: sub/part.yaml\n")
    local, part = load_routine(path).steps
    assert local.routine.title == "Local hands"
    assert part.routine.steps[0].routine.title == "Lower back release with two massage balls"


def test_problems_in_an_included_file_name_that_file(tmp_path):
    (tmp_path / "broken.yaml").write_text("title: Broken\nsteps:\n  - say: hi\n    hlod: 3\n")
    path = tmp_path / "top.yaml"
    path.write_text("title: Top\nsteps:\n  - include: broken\n")
    with pytest.raises(RoutineError) as caught:
        load_routine(path)
    (problem,) = caught.value.problems
    assert Path(problem.path).name == "broken.yaml"
    assert (problem.line, problem.column) == (4, 5)


def test_a_folder_named_like_a_bundled_routine_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("back-full").mkdir()  # where its tracks were exported, say
    assert load_routine("back-full").title == "Full back session"


def test_a_sides_steps_own_title_may_name_the_side(tmp_path):
    from fakes import EstimatedLengths

    from voiceguide.compiler import compile_routine
    from voiceguide.speech import SpeechSettings

    path = tmp_path / "r.yaml"
    path.write_text(
        "title: t\nsteps:\n  - sides: [left, right]\n    title: The {side} hand\n"
        "    steps:\n      - say: Press.\n"
    )
    timeline = compile_routine(
        load_routine(path),
        EstimatedLengths(),
        SpeechSettings(engine="f", voice="v", rate=150, volume=1),
    )
    assert timeline.steps[0].title == "The left and right hand"


def test_problems_are_listed_in_the_order_of_the_file(tmp_path):
    path = tmp_path / "typos.yaml"
    path.write_text(
        "title: t\nsteps:\n  - say: a\n    hodl: 3\n    halfway: true\n    countdwn: 2\n"
    )
    with pytest.raises(RoutineError) as caught:
        load_routine(path)
    assert [(p.line, p.column) for p in caught.value.problems] == [(4, 5), (5, 5), (6, 5)]


@pytest.mark.parametrize(
    ("unit", "seconds"),
    [
        ("h", 3600), ("hr", 3600), ("hour", 3600), ("hours", 3600),
        ("m", 60), ("min", 60), ("mins", 60), ("minute", 60), ("minutes", 60),
        ("s", 1), ("sec", 1), ("secs", 1), ("second", 1), ("seconds", 1),
    ],
)  # fmt: skip
def test_every_unit_counts_what_it_names(unit, seconds):
    # Two of them, with and without a space: 'minutes' read as 1 s or 'hr' as 360 s is caught.
    assert parse_duration(f"2{unit}") == 2 * seconds
    assert parse_duration(f"2 {unit}") == 2 * seconds


def test_units_add_up_largest_first():
    assert parse_duration("1h 2min 3.5s") == 3723.5
    assert parse_duration("1 hr 30 mins") == 5400
    assert parse_duration("0:05") == 5.0


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (2.5, "2.5 s"),
        (59, "59 s"),
        (60, "1 min"),
        (90, "1 min 30 s"),
        (3600, "1 h"),
        (3661, "1 h 1 min 1 s"),
        (7205, "2 h 5 s"),
        (3659, "1 h 59 s"),
    ],
)
def test_short_durations_name_each_unit_once(seconds, shown):
    from voiceguide.durations import format_short

    assert format_short(seconds) == shown


def test_a_duration_not_above_zero_says_so():
    with pytest.raises(ValueError, match=r"^'-5s' is not a positive duration \(it must be above"):
        parse_duration("-5s")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("1m1m", "'1m1m' is not a duration (use seconds like 10 or 2.5, or 10s, 1m, 1m30s, 1:30)"),
        ("30s 1m", "'30s 1m' is not a duration (use seconds"),
        ("010", "'010' is not a duration: write it without the leading zero"),
        ("1:99", "'1:99' is not a duration (use seconds"),
        ("-5s", "'-5s' is not a positive duration (it must be above zero)"),
        ("0.0009", "'0.0009' is shorter than the shortest duration, 1 ms"),
        ("nan", "'nan' is not a finite duration (use seconds"),
        ("", "an empty text is not a duration (use seconds"),
        ("1" + " " * 39 + "s", "'1" + " " * 39 + "s' is not a duration (use seconds"),
        (True, "'True' is not a duration (use seconds"),
    ],
)
def test_a_mistaken_duration_says_what_is_wrong(written, message):
    with pytest.raises(ValueError) as caught:
        parse_duration(written)
    assert str(caught.value).startswith(message)


def test_a_duration_of_forty_characters_is_still_read():
    assert parse_duration("1" + " " * 38 + "s") == 1.0  # 40 characters: the most
    assert parse_duration("2 minutes 30 seconds") == 150.0
