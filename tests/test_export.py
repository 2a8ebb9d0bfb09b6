"""Real exports, read back: every cue where the timeline says, the right words, the chimes,
digital silence elsewhere, sidecars that agree, tracks that join to the single file."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from audiocheck import espeak, read_wav, samples
from conftest import voiceguide

from voiceguide.audio import Clip, loudness_dbfs
from voiceguide.cache import gained
from voiceguide.engines.espeak import AMPLITUDE
from voiceguide.finishing import finish
from voiceguide.loader import load_routine
from voiceguide.session import build_session

ROUTINE = "back-hands"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    result = voiceguide(
        "export", ROUTINE, "-o", folder / "hands.wav", "--tracks", folder / "tracks"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar and no "Audio saved to" when not on a terminal
    session = build_session(load_routine(ROUTINE))
    params, pcm = read_wav(folder / "hands.wav")
    return folder, session, params, pcm, result.stdout


def test_it_says_what_it_wrote(exported):
    _, session, *_, stdout = exported
    names = [line.removeprefix("wrote ") for line in stdout.splitlines()]
    steps = len(session.timeline.steps)
    assert [Path(n).name for n in names[:6]] == [
        f"hands.{s}" for s in ("wav", "json", "srt", "vtt", "lrc", "cue")
    ]
    assert len(names) == 6 + steps + 1 and names[-1].endswith("playlist.m3u8")


def test_the_wav_is_mono_16_bit_at_the_engines_rate_and_exactly_as_long(exported):
    folder, session, params, pcm, _ = exported
    timeline = session.timeline
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050)
    assert params.nframes == timeline.length == len(pcm) // 2
    header = (folder / "hands.wav").read_bytes()[:44]
    assert header[:4] == b"RIFF" and int.from_bytes(header[4:8], "little") == 36 + len(pcm)
    assert (folder / "hands.wav").stat().st_size == 44 + len(pcm)


def test_each_speech_cue_is_its_cache_entry_from_its_first_sample(exported):
    _, session, _, pcm, _ = exported
    speech = [c for c in session.timeline.cues if c.kind == "speech"]
    assert len(speech) > 30  # back-hands says 36 things
    for cue in speech:
        assert pcm[2 * cue.start : 2 * cue.end] == session.phrases.pcm(cue.text), cue.text
        # The sample before and the one after are silence: nothing is cut or shifted.
        before = pcm[max(0, 2 * cue.start - 2) : 2 * cue.start]
        assert before in (b"", b"\0\0") and pcm[2 * cue.end : 2 * cue.end + 2] == b"\0\0"


def test_each_speech_cue_is_exactly_what_espeak_ng_says_for_its_words(exported):
    # Speech is reproducible, so the export's samples are the espeak-ng command's own rendering
    # of each cue's text, finished (trimmed, faded, levelled) as every phrase is.
    _, session, _, pcm, _ = exported
    first_cue = {}
    for cue in session.timeline.cues:
        if cue.kind == "speech":
            first_cue.setdefault(cue.text, cue)
    for text, cue in first_cue.items():
        raw = Clip(espeak(text, volume=AMPLITUDE / 100, trim=False), 22050)
        assert pcm[2 * cue.start : 2 * cue.end] == gained(finish(raw, 1.0).pcm, 0.9), text


WITHOUT_NUMPY = """
import sys
sys.modules["numpy"] = None  # importing it fails: a warm export must not need it
from voiceguide.cli import main
sys.argv = ["voiceguide", *sys.argv[1:]]
main()
"""


def test_a_warm_export_below_full_volume_needs_no_numpy(exported, tmp_path: Path):
    # Each phrase and chime is read from its copy at the volume, as it is: no arithmetic, and
    # no numpy, whose import alone took longer than the rest of a warm export.
    folder, *_ = exported
    for volume, made in (("0.9", folder / "hands.wav"), ("0.5", tmp_path / "half.wav")):
        if volume == "0.5":  # the copies at another volume are made once, with numpy
            result = voiceguide("export", ROUTINE, "-o", made, "--volume", volume)
            assert result.returncode == 0, result.stderr
        again = tmp_path / f"again-{volume}.wav"
        args = ["export", ROUTINE, "-o", str(again), "--volume", volume]
        result = subprocess.run(
            [sys.executable, "-c", WITHOUT_NUMPY, *args], capture_output=True, text=True
        )
        assert (result.returncode, result.stderr) == (0, ""), volume
        assert again.read_bytes() == made.read_bytes(), volume


def test_chimes_sound_at_their_cue_starts(exported):
    _, session, _, pcm, _ = exported
    chimes = [c for c in session.timeline.cues if c.kind == "chime"]
    assert [c.role for c in chimes[:2]] == ["hold-start", "hold-end"] and chimes[
        -1
    ].role == "session-end"
    for cue in chimes:
        assert pcm[2 * cue.start : 2 * cue.end] == session.chimes[cue.role].pcm


def test_digital_silence_everywhere_else(exported):
    _, session, _, pcm, _ = exported
    heard = samples(pcm).copy()
    for cue in session.timeline.cues:
        heard[cue.start : cue.end] = 0
    assert not heard.any()
    assert np.count_nonzero(samples(pcm)) > 0.05 * len(heard)


def test_no_clicks_every_cue_starts_and_ends_at_zero(exported):
    _, session, _, pcm, _ = exported
    values = samples(pcm)
    for cue in session.timeline.cues:
        assert values[cue.start] == 0 and values[cue.end - 1] == 0, cue
        assert np.abs(values[cue.start : cue.start + 8]).max() < 2000  # rises, does not jump


def test_speech_and_chimes_at_one_steady_level_below_full_scale(exported):
    _, session, _, pcm, _ = exported
    values = samples(pcm)
    assert np.abs(values).max() < 32768 * 10 ** (-1 / 20)  # peaks below -1 dBFS
    rate = session.timeline.sample_rate
    longer = [c for c in session.timeline.cues if c.length > 0.5 * rate]
    level = {c: loudness_dbfs(pcm[2 * c.start : 2 * c.end], rate) for c in longer}
    speech = np.median([v for c, v in level.items() if c.kind == "speech"])
    assert all(abs(v - speech) < 3.5 for v in level.values()), sorted(level.values())


def parse_srt(text: str, separator: str) -> list[tuple[float, float, str]]:
    clock = rf"(\d\d):(\d\d):(\d\d){separator}(\d\d\d)"
    pattern = rf"{clock} --> {clock}\n(.+)"
    found = []
    for match in re.finditer(pattern, text):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups()[:8])
        found.append(
            (h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, match[9])
        )
    return found


def test_subtitles_give_each_phrase_its_words_and_times(exported):
    folder, session, *_ = exported
    timeline = session.timeline
    speech = [c for c in timeline.cues if c.kind == "speech"]
    srt = (folder / "hands.srt").read_text(encoding="utf-8")
    vtt = (folder / "hands.vtt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ") and vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    for parsed in (parse_srt(srt, ","), parse_srt(vtt, r"\.")):
        assert [text for *_, text in parsed] == [c.text for c in speech]
        for (start, end, _), cue in zip(parsed, speech, strict=True):
            assert abs(start - cue.start / 22050) <= 0.0005 and abs(end - cue.end / 22050) <= 0.0005


def test_the_json_is_the_timeline_and_the_cue_sheet_indexes_the_steps(exported):
    folder, session, *_ = exported
    timeline = session.timeline
    assert json.loads((folder / "hands.json").read_text()) == timeline.to_json()
    assert json.loads(voiceguide("show", ROUTINE, "--json").stdout) == timeline.to_json()
    sheet = (folder / "hands.cue").read_text(encoding="utf-8")
    assert 'FILE "hands.wav" WAVE' in sheet
    titles = re.findall(r'^    TITLE "(.*)"$', sheet, re.M)
    indexes = re.findall(r"^    INDEX 01 (\d\d):(\d\d):(\d\d)$", sheet, re.M)
    assert titles == [s.title for s in timeline.steps]
    for (minutes, seconds, frames), step in zip(indexes, timeline.steps, strict=True):
        at = int(minutes) * 60 + int(seconds) + int(frames) / 75
        assert abs(at - step.start / 22050) <= 1 / 150  # the nearest CD frame


def test_tracks_joined_end_to_end_are_the_single_file(exported):
    folder, session, _, pcm, _ = exported
    timeline = session.timeline
    tracks = sorted((folder / "tracks").glob("*.wav"))
    assert [t.name for t in tracks] == [
        "01 - Before you start.wav",
        "02 - Get comfortable.wav",
        "03 - Find the spot.wav",
        "04 - How to press.wav",
        "05 - Press and hold.wav",
        "06 - How often.wav",
        "07 - Closing.wav",
    ]
    parts = [read_wav(t) for t in tracks]
    assert all(p.framerate == 22050 and p.nchannels == 1 for p, _ in parts)
    assert b"".join(data for _, data in parts) == pcm
    assert [len(data) // 2 for _, data in parts] == [s.length for s in timeline.steps]
    playlist = (folder / "tracks" / "playlist.m3u8").read_text(encoding="utf-8").splitlines()
    assert playlist[:2] == ["#EXTM3U", f"#PLAYLIST:{timeline.title}"]
    assert playlist[3::2] == [t.name for t in tracks]
    assert playlist[2] == f"#EXTINF:{round(timeline.steps[0].length / 22050)},Before you start"


def test_no_sidecars_writes_only_the_wav(tmp_path: Path):
    result = voiceguide(
        "export", "back-massage-ball", "-o", tmp_path / "balls.wav", "--no-sidecars"
    )
    assert result.returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["balls.wav"]


def test_a_progress_bar_only_on_a_terminal(tmp_path: Path):
    main, child = pty.openpty()
    command = [
        sys.executable,
        "-m",
        "voiceguide",
        "export",
        "back-massage-ball",
        "-o",
        str(tmp_path / "b.wav"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=child, env=os.environ)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=60) == 0
    os.close(main)
    assert b"Exporting" in shown and b"100%" in shown
