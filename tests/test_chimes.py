"""The chimes: made by the script in the repository, distinct, faded, at speech loudness."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from array import array
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import ROOT

from voiceguide import bundled
from voiceguide.audio import Clip, loudness_dbfs, peak_dbfs, read_sound
from voiceguide.loader import load_routine
from voiceguide.routine import CHIME_ROLES
from voiceguide.sounds import SPEECH_LOUDNESS, load_chimes

NAMES = ["bell", "bowl", "hold-end", "hold-start", "session-end", "wood"]


def samples(clip: Clip) -> list[int]:
    return array("h", clip.pcm).tolist()


def test_the_script_makes_the_bundled_chimes(tmp_path: Path):
    script = ROOT / "tools" / "make_chimes.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    assert sorted(p.stem for p in tmp_path.glob("*.wav")) == NAMES == bundled.sound_names()
    for name in NAMES:
        made, shipped = (
            samples(read_sound(d / f"{name}.wav")) for d in (tmp_path, ROOT / "sounds")
        )
        assert len(made) == len(shipped)
        # Floating point may round one sample differently on another machine, never more.
        assert max(abs(a - b) for a, b in zip(made, shipped, strict=True)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_each_chime_is_faded_and_below_full_scale(name: str):
    clip = read_sound(bundled.sounds_dir() / f"{name}.wav")
    values = samples(clip)
    assert clip.sample_rate == 22050
    assert values[-1] == 0 and abs(values[0]) <= 16  # no click where it starts or ends
    # A ramp, not a step: the first millisecond stays below a fifth of the peak.
    assert max(abs(v) for v in values[:22]) < 0.2 * max(abs(v) for v in values)
    assert peak_dbfs(clip.pcm) <= -3.0
    assert loudness_dbfs(clip.pcm, clip.sample_rate) == pytest.approx(SPEECH_LOUDNESS, abs=0.1)


def dominant_hz(clip: Clip, seconds: float = 0.2) -> float:
    """From zero crossings over the first `seconds`, where the fundamental rings loudest."""
    values = samples(clip)[: round(seconds * clip.sample_rate)]
    crossings = sum(1 for a, b in pairwise(values) if (a < 0) != (b < 0))
    return crossings / 2 / seconds


def test_the_three_roles_are_distinct_to_the_ear():
    start, end, session = (read_sound(bundled.sounds_dir() / f"{r}.wav") for r in CHIME_ROLES)
    assert [round(c.seconds, 2) for c in (start, end, session)] == [1.0, 1.25, 3.0]
    assert dominant_hz(start) > 800  # a single bright strike
    # Two falling notes: E5, then C5 from 0.22 s.
    assert 600 < dominant_hz(end, 0.2) < 720
    assert 480 < dominant_hz(Clip(end.pcm[2 * 6615 :], 22050)) < 600
    assert session.seconds > 2 * start.seconds  # rings out


def test_volume_scales_the_chimes_like_the_speech(tmp_path: Path):
    routine = load_routine("back-hands")
    full = load_chimes(routine, 22050, 1.0)
    half = load_chimes(routine, 22050, 0.5)
    for role in CHIME_ROLES:
        difference = loudness_dbfs(half[role].pcm, 22050) - loudness_dbfs(full[role].pcm, 22050)
        assert difference == pytest.approx(-6.02, abs=0.05)


def write_wav(path: Path, frames: list[tuple[int, int]], rate: int) -> None:
    """A stereo 24-bit WAV: what a user's own chime file often is."""
    data = b"".join(
        struct.pack("<i", left)[:3] + struct.pack("<i", right)[:3] for left, right in frames
    )
    fmt = struct.pack("<HHIIHH", 1, 2, rate, rate * 6, 6, 24)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_a_routines_own_chime_is_converted_and_set_to_speech_loudness(tmp_path: Path):
    rate = 44100
    frames = [
        (round(800_000 * math.sin(2 * math.pi * 523 * i / rate)),) * 2 for i in range(rate // 2)
    ]  # a quiet half second of C5, both channels
    write_wav(tmp_path / "mine.wav", frames, rate)
    path = tmp_path / "r.yaml"
    path.write_text("title: Mine\nchimes:\n  hold-start: mine.wav\nsteps:\n  - hold: 10s\n")
    chimes = load_chimes(load_routine(path), 22050, 1.0)
    own = chimes["hold-start"]
    assert own.sample_rate == 22050 and abs(own.length - 11025) <= 1
    assert loudness_dbfs(own.pcm, 22050) == pytest.approx(SPEECH_LOUDNESS, abs=0.5)
    assert 500 < dominant_hz(own) < 546
    assert samples(own)[0] == 0 and samples(own)[-1] == 0
    assert (
        chimes["hold-end"].pcm
        == load_chimes(load_routine("back-hands"), 22050, 1.0)["hold-end"].pcm
    )
