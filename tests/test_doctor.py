"""`voiceguide doctor`, as a user runs it: what it finds, a fix line a problem, the exit code;
and it plays nothing (a recorder on the virtual sound card hears only silence)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundcard

PROGRAM = Path(sys.executable).parent / "voiceguide"


def doctor(env: dict | None = None, tmp_path: Path | None = None):
    return subprocess.run(
        [str(PROGRAM), "doctor"],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines_about(output: str, what: str) -> list[str]:
    """The finding about `what`, and its fix line if it has one."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if line[10:].startswith(what + " "))
    follow = lines[at + 1 : at + 2]
    return [lines[at], *(line.strip() for line in follow if line.startswith(" "))]


def test_doctor_reports_engines_extras_and_places(tmp_path: Path):
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "voiceguide" / "config.toml"
    result = doctor()
    espeak = lines_about(result.stdout, "engine espeak")[0]
    assert espeak.startswith("ok        engine espeak             espeak-ng 1.5")
    assert "voices, default en-us" in espeak
    [place] = lines_about(result.stdout, "config")
    assert place == f"ok        config                    {config} (none; built-in defaults)"
    [cache] = lines_about(result.stdout, "cache")
    assert cache.startswith(
        f"ok        cache                     {os.environ['VOICEGUIDE_CACHE']}: "
    )
    assert cache.endswith(" (limit 1.0 GB)")
    assert lines_about(result.stdout, "extra soundfile")[0].startswith("ok        extra soundfile ")


@pytest.mark.skipif(
    Path("/proc/asound/cards").exists()
    and "no soundcards" not in Path("/proc/asound/cards").read_text(),
    reason="this machine has a sound card",
)
def test_no_sound_device_is_a_problem_with_its_fix():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE")}
    result = subprocess.run(
        [str(PROGRAM), "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    finding, fix = lines_about(result.stdout, "audio")
    assert finding.startswith("problem   audio                     no audio output device (")
    assert fix == (
        "fix: start PulseAudio or PipeWire, or connect a sound device (or: "
        f"{PROGRAM} export ROUTINE)"
    )
    assert result.returncode == 1
    assert result.stderr == "error: 1 problem(s) found; see the fix lines above\n"


def test_a_bad_config_is_a_problem_with_its_fix(tmp_path: Path):
    (tmp_path / "voiceguide").mkdir()
    path = tmp_path / "voiceguide" / "config.toml"
    path.write_text("rate = 1\n")
    result = doctor({"XDG_CONFIG_HOME": str(tmp_path)})
    finding, fix = lines_about(result.stdout, "config")
    assert finding == (
        f"problem   config                    {path}: rate: '1' is not words a minute, a whole "
        "number from 80 to 400"
    )
    assert fix == f"fix: edit or remove {path}"
    assert result.returncode == 1
    quiet = subprocess.run(
        [str(PROGRAM), "doctor", "-q"],
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ok " not in quiet.stdout  # the problems only
    assert lines_about(quiet.stdout, "config") == [finding, fix]


def test_the_sound_device_is_found_and_nothing_is_heard(card):
    recorder = soundcard.Recorder(card)
    result = doctor(card.env)
    recording = recorder.stop()
    [audio] = lines_about(result.stdout, "audio")
    assert audio.startswith("ok        audio                     default output: ")
    assert len(recording) > 0 and not np.any(recording)  # silence, every sample
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_voice_is_looked_up(tmp_path: Path):
    result = doctor()
    [voice] = lines_about(result.stdout, "voice")
    detail = "gmw/en-us (English (America)) of espeak, from built-in"
    assert voice == f"ok        voice                     {detail}"
    unknown = doctor({"VOICEGUIDE_VOICE": "elvish"})
    finding, fix = lines_about(unknown.stdout, "voice")
    assert (
        finding
        == f"problem   voice                     unknown voice 'elvish' (see '{PROGRAM} voices')"
    )
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "voiceguide" / "config.toml"
    assert fix == (
        f"fix: set 'voice' in {config} (or VOICEGUIDE_VOICE) to one from '{PROGRAM} voices'"
    )
    assert unknown.returncode == 1


def test_each_export_format_names_its_own_encoder(tmp_path: Path):
    result = doctor()
    [mp3] = lines_about(result.stdout, "extra lameenc")
    assert mp3.startswith("ok        extra lameenc ") and mp3.endswith(" (MP3 export)")
    [opus] = lines_about(result.stdout, "extra soundfile")
    assert opus.startswith("ok        extra soundfile ") and opus.endswith(" (Opus export)")
    hidden = tmp_path / "hidden" / "lameenc"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    result = doctor({"PYTHONPATH": str(tmp_path / "hidden")})
    assert lines_about(result.stdout, "extra lameenc") == [
        "optional  extra lameenc             MP3 export needs lameenc; install it:"
        " pip install 'voiceguide[encoders]'",
        "to add it: pip install 'voiceguide[encoders]'",
    ]
    assert lines_about(result.stdout, "extra soundfile")[0] == opus


def test_a_bad_variable_is_fixed_in_the_variable_and_the_cache_is_still_reported():
    result = doctor({"VOICEGUIDE_RATE": "abc"})
    finding, fix = lines_about(result.stdout, "config")
    assert finding == (
        "problem   config                    VOICEGUIDE_RATE: 'abc' is not words a minute,"
        " a whole number from 80 to 400"
    )
    assert fix == "fix: correct or unset VOICEGUIDE_RATE"
    [cache] = lines_about(result.stdout, "cache")
    assert cache.startswith(
        f"ok        cache                     {os.environ['VOICEGUIDE_CACHE']}: "
    )
    assert result.returncode == 1
