"""Params: choices a routine offers, `--set` on the command line, `with:` on an include, and
`check` compiling every allowed value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import EstimatedLengths

from voiceguide import compiler
from voiceguide.cli import cli
from voiceguide.errors import ParamError, RoutineError
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Timeline
from voiceguide.wording import wording_for

RATE = 22050
INFO = SpeechSettings(engine="fake", voice="test", rate=150, volume=1.0)

ROUNDS = """\
title: Rounds
params:
  rounds: {default: 3, choices: [3, 4]}
  minutes: {default: 2m, min: 2m, max: 3m}
steps:
  - say: We do {rounds} rounds of {minutes}.
  - repeat: "{rounds}"
    steps:
      - say: Press.
        hold: "{minutes}"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def compiled(path: Path, values: dict[str, str] | None = None) -> Timeline:
    return compiler.compile_routine(load_routine(path, values), EstimatedLengths(), INFO)


def said(timeline: Timeline) -> list[str]:
    return [c.text for c in timeline.cues if c.kind == "speech"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_defaults_are_used_when_nothing_is_set(tmp_path):
    timeline = compiled(write(tmp_path, "r.yaml", ROUNDS))
    assert said(timeline)[0] == "We do three rounds of two minutes."
    assert [h.length for h in timeline.holds] == [120 * RATE] * 3


def test_set_values_change_repeat_holds_and_words(tmp_path):
    timeline = compiled(write(tmp_path, "r.yaml", ROUNDS), {"rounds": "4", "minutes": "150s"})
    assert said(timeline)[0] == "We do four rounds of two minutes and thirty seconds."
    assert "Round four of four." in said(timeline)
    assert [h.length for h in timeline.holds] == [150 * RATE] * 4
    assert timeline.steps[1].title == "Press (4 rounds)"


def test_a_number_is_said_in_the_routines_language(tmp_path):
    text = ROUNDS.replace("title: Rounds", "title: Runden\nlanguage: de")
    routine = load_routine(write(tmp_path, "r.yaml", text), {"rounds": "4", "minutes": "3m"})
    script = compiler.expand(routine, wording_for("de"))
    assert script.steps[0].parts[0].text == "We do vier rounds of drei Minuten."


def test_a_choice_may_be_given_as_the_same_duration_written_otherwise(tmp_path):
    text = "title: t\nparams:\n  hold: {default: 1m, choices: [1m, 2m]}\nsteps:\n"
    text += "  - hold: '{hold}'\n"
    routine = load_routine(write(tmp_path, "r.yaml", text), {"hold": "120s"})
    assert routine.values == {"hold": "2m"}  # the routine's own spelling of the choice
    assert routine.steps[0].hold == 120.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rounds": "5"}, "--set rounds=5: rounds may be 3 or 4"),
        ({"minutes": "3m1s"}, "--set minutes=3m1s: minutes may be from 2m to 3m"),
        ({"minutes": "soon"}, "--set minutes=soon: minutes may be from 2m to 3m"),
        ({"round": "4"}, "--set round=4: r has no param 'round' (its params: rounds, minutes)"),
    ],
)
def test_a_value_the_routine_does_not_allow_is_refused_by_name(tmp_path, values, message):
    with pytest.raises(ParamError) as caught:
        load_routine(write(tmp_path, "r.yaml", ROUNDS), values)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_range_ends_are_allowed_and_a_whole_range_takes_only_whole_numbers(tmp_path):
    text = "title: t\nparams:\n  n: {default: 2, min: 1, max: 5}\nsteps:\n"
    text += "  - repeat: '{n}'\n    steps: [{say: Hi.}]\n"
    path = write(tmp_path, "r.yaml", text)
    assert load_routine(path, {"n": "5"}).steps[0].times == 5
    assert load_routine(path, {"n": "1"}).steps[0].times == 1
    for bad in ("6", "0", "2.5", "2s"):
        with pytest.raises(ParamError, match=r"n may be from 1 to 5$"):
            load_routine(path, {"n": bad})


def test_show_set_is_exit_2_naming_the_allowed_values(tmp_path):
    path = write(tmp_path, "r.yaml", ROUNDS)
    result = run("show", str(path), "--set", "rounds=5")
    assert (result.exit_code, result.stderr) == (2, "error: --set rounds=5: rounds may be 3 or 4\n")
    assert result.stdout == ""
    result = run("show", str(path), "--set", "rounds")
    assert result.exit_code == 2
    assert "'rounds' is not NAME=VALUE, like rounds=4" in result.stderr


def test_show_set_with_real_speech(tmp_path):
    path = write(tmp_path, "r.yaml", ROUNDS)
    result = run("show", str(path), "--json", "--set", "rounds=4", "--set", "minutes=3m")
    assert result.exit_code == 0, result.stderr
    timeline = json.loads(result.stdout)
    spoken = [c["text"] for c in timeline["cues"] if c["kind"] == "speech"]
    assert spoken[0] == "We do four rounds of three minutes."
    assert [round(h["end"] - h["start"], 6) for h in timeline["holds"]] == [180.0] * 4


def test_check_fails_naming_a_non_default_value_that_cannot_fit(tmp_path):
    text = (
        "title: t\nparams:\n  secs: {default: 20, choices: [20, 4]}\nsteps:\n"
        "  - say: Press.\n    hold: '{secs}'\n    countdown: 3\n    halfway: true\n"
    )
    path = write(tmp_path, "r.yaml", text)
    assert run("show", str(path)).exit_code == 0  # the default fits
    result = run("check", str(path))
    line = f"{path}:7:16: countdown: 3 runs into 'Halfway.' in a 4 s hold (with --set secs=4)"
    assert (result.exit_code, result.stderr) == (1, line + "\n")


def test_check_tries_both_ends_of_a_range(tmp_path):
    text = (
        "title: t\nparams:\n  secs: {default: 20, min: 3, max: 20}\nsteps:\n"
        "  - hold: '{secs}s'\n    countdown: 3\n"
    )
    path = write(tmp_path, "r.yaml", text)
    result = run("check", str(path))
    message = "countdown: 3 does not fit in hold: 3s (the count must end inside the hold)"
    assert (result.exit_code, result.stderr) == (1, f"{path}:6:16: {message} (with --set secs=3)\n")


def test_include_with_passes_values_and_its_own_params(tmp_path):
    write(tmp_path, "inner.yaml", ROUNDS)
    text = (
        "title: Outer\nparams:\n  long: {default: 3m, choices: [2m, 3m]}\nsteps:\n"
        "  - include: inner\n    with: {rounds: 4, minutes: '{long}'}\n"
        "  - say: The end after {long}.\n"
    )
    timeline = compiled(write(tmp_path, "outer.yaml", text))
    assert said(timeline)[0] == "We do four rounds of three minutes."
    assert said(timeline)[-1] == "The end after three minutes."
    assert [h.length for h in timeline.holds] == [180 * RATE] * 4
    short = compiled(tmp_path / "outer.yaml", {"long": "2m"})
    assert [h.length for h in short.holds] == [120 * RATE] * 4


def test_include_with_a_value_not_allowed_points_at_the_with_entry(tmp_path):
    write(tmp_path, "inner.yaml", ROUNDS)
    text = "title: Outer\nsteps:\n  - include: inner\n    with: {rounds: 5}\n"
    with pytest.raises(RoutineError) as caught:
        load_routine(write(tmp_path, "outer.yaml", text))
    assert str(caught.value).endswith("outer.yaml:4:20: with: rounds=5: rounds may be 3 or 4")


@pytest.mark.parametrize(
    ("params", "step", "message"),
    [
        ("{n: {default: 5, choices: [3, 4]}}", "say: Hi.",
         "4:23: default: 5 is not an allowed value of 'n' (3 or 4)"),
        ("{n: {default: 3, min: 5, max: 2}}", "say: Hi.", "4:31: min: 5 is above max: 2"),
        ("{n: {default: 3}}", "say: Hi.", "4:13: param 'n' needs 'choices', or 'min' and 'max'"),
        ("{side: {default: 3, choices: [3]}}", "say: Hi.",
         "4:10: 'side' cannot be a param: '{side}' is what a 'sides' step says"),
        ("{n: {default: 3, choices: [3]}}", "hold: '{m}'", "7:11: unknown param '{m}' in hold"
         " (did you mean '{n}'?)"),
        ("{n: {default: 3, choices: [3]}}", "say: 'For {m}.'",
         "7:10: unknown placeholder '{m}' in say (did you mean '{n}'?)"),
        ("{n: {default: 3s, min: 1s, max: 2 parsecs}}", "say: Hi.",
         "4:41: max: '2 parsecs' is not a duration (use seconds like 10 or 2.5, or 10s, 1m, "
         "1m30s, 1:30)"),
    ],
)  # fmt: skip
def test_a_bad_params_block_is_one_line_at_its_place(tmp_path, params, step, message):
    text = f"title: t\n\n\nparams: {params}\nsteps:\n  - say: Start.\n  - {step}\n"
    with pytest.raises(RoutineError) as caught:
        load_routine(write(tmp_path, "r.yaml", text))
    assert str(caught.value) == f"{tmp_path / 'r.yaml'}:{message}"


def test_show_names_the_params_their_values_and_what_they_allow(tmp_path):
    path = write(tmp_path, "r.yaml", ROUNDS)
    result = run("show", str(path), "--set", "minutes=150s")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == (
        "params: rounds=3 (3 or 4), minutes=150s (from 2m to 3m); choose with --set NAME=VALUE"
    )


def test_play_and_export_take_set_too(tmp_path):
    import wave

    path = write(
        tmp_path,
        "r.yaml",
        ROUNDS.replace("min: 2m", "min: 5s").replace("default: 2m", "default: 5s"),
    )
    refused = run("play", str(path), "--set", "rounds=5", "--no-journal")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "error: --set rounds=5: rounds may be 3 or 4\n",
    )
    out = tmp_path / "out.wav"
    result = run("export", str(path), "-o", str(out), "--set", "rounds=4", "--set", "minutes=6s")
    assert result.exit_code == 0, result.stderr
    timeline = json.loads((tmp_path / "out.json").read_text())
    assert [round(h["end"] - h["start"], 6) for h in timeline["holds"]] == [6.0] * 4
    with wave.open(str(out)) as wav:
        assert wav.getnframes() == round(timeline["duration"] * timeline["sample_rate"])


def test_a_whole_number_set_with_a_leading_zero_is_that_number(tmp_path):
    text = "title: p\nparams:\n  n: {default: 2, min: 1, max: 3}\nsteps:\n"
    text += "  - say: Rest {n}.\n    pause: '{n}'\n"
    path = write(tmp_path, "p.yaml", text)
    result = run("show", str(path), "--set", "n=02")
    assert (result.exit_code, result.stderr) == (0, "")
    assert "params: n=2 (from 1 to 3); choose with --set NAME=VALUE" in result.stdout.splitlines()
    assert "Rest two." in result.stdout
    assert load_routine(path, {"n": "03"}).steps[0].pause == 3.0


def test_a_duration_range_given_bare_seconds_is_said_with_its_unit(tmp_path):
    text = "title: t\nparams:\n  minutes: {default: 2m, min: 1m, max: 3m}\nsteps:\n"
    text += "  - say: Hold for {minutes}.\n    hold: '{minutes}'\n"
    path = write(tmp_path, "r.yaml", text)
    for given in ("150", "2:30", "150s"):
        timeline = compiled(path, {"minutes": given})
        assert said(timeline)[0] == "Hold for two minutes and thirty seconds.", given
        assert [h.length for h in timeline.holds] == [150 * RATE]
    default = text.replace("default: 2m", "default: 90")
    timeline = compiled(write(tmp_path, "d.yaml", default))
    assert said(timeline)[0] == "Hold for one minute and thirty seconds."
    result = run("show", str(path), "--set", "minutes=150")
    assert (result.exit_code, result.stderr) == (0, "")
    line = "params: minutes=150s (from 1m to 3m); choose with --set NAME=VALUE"
    assert line in result.stdout.splitlines()
