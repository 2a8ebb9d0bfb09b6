"""MP3, Opus and M4B exports, read back with real decoders (ffmpeg, ffprobe) and a second,
independent reader of tags and chapters (mutagen): the decoded length, each cue's onset, the
chapters, the tags, and the same words as the WAV export."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import mutagen
import numpy as np
import pytest
from audiocheck import distance, features, read_wav, samples
from conftest import voiceguide
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from voiceguide.loader import load_routine
from voiceguide.session import build_session

ROUTINE = "back-hands"
FORMATS = ["mp3", "opus", "m4b"]
FRAME = {"mp3": 576 / 22050, "opus": 960 / 48000, "m4b": 1024 / 22050}  # one codec frame, s

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def decode(path: Path, rate: int = 22050) -> np.ndarray:
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate)]
    raw = subprocess.run([*command, "-f", "s16le", "-"], capture_output=True, check=True).stdout
    return samples(raw)


def probe(path: Path, *more: str) -> dict:
    command = ["ffprobe", "-v", "error", "-of", "json", "-show_chapters", "-show_format", *more]
    return json.loads(subprocess.run([*command, str(path)], capture_output=True).stdout)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    for extension in ["wav", *FORMATS]:  # a folder each: each has its own sidecars
        result = voiceguide("export", ROUTINE, "-o", folder / extension / f"hands.{extension}")
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
    session = build_session(load_routine(ROUTINE))
    _, pcm = read_wav(folder / "wav" / "hands.wav")
    files = {f: folder / f / f"hands.{f}" for f in ["wav", *FORMATS]}
    decoded = {f: decode(files[f]) for f in FORMATS}
    return files, session.timeline, samples(pcm), decoded


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_decoded_length_is_the_sessions_within_one_codec_frame(exports, fmt):
    files, timeline, *_ = exports
    rate = 48000 if fmt == "opus" else 22050  # Opus decodes at 48 kHz
    heard = len(decode(files[fmt], rate)) / rate
    assert 0 <= heard - timeline.duration < FRAME[fmt] or abs(heard - timeline.duration) < 1e-4


def onset_shift(wav: np.ndarray, heard: np.ndarray, start: int, length: int) -> float:
    """How late (s) the decoded cue is against the WAV's: the lag of best correlation."""
    span, most = min(length, 4096), 1100  # the first 0.19 s; lags up to 50 ms
    reference = wav[start : start + span].astype(float)
    window = heard[start - most : start + span + most].astype(float)
    scores = np.correlate(window, reference, mode="valid")
    return (int(np.argmax(scores)) - most) / 22050


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_speech_cue_starts_within_10_ms_of_its_time(exports, fmt):
    _, timeline, wav, decoded = exports
    speech = [c for c in timeline.cues if c.kind == "speech" and c.start > 1100]
    assert len(speech) > 30  # back-hands says 36 things
    shifts = [onset_shift(wav, decoded[fmt], c.start, c.length) for c in speech]
    assert max(abs(s) for s in shifts) <= 0.010, shifts


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_says_the_same_words_as_the_wav(exports, fmt):
    _, timeline, wav, decoded = exports
    first = {}
    for cue in timeline.cues:
        if cue.kind == "speech":
            first.setdefault(cue.text, cue)
    as_pcm = {f: a.astype("<i2").tobytes() for f, a in (("wav", wav), (fmt, decoded[fmt]))}
    heard = {t: features(as_pcm[fmt][2 * c.start : 2 * c.end]) for t, c in first.items()}
    wavs = {t: features(as_pcm["wav"][2 * c.start : 2 * c.end]) for t, c in first.items()}
    # Lossy coding moves every phrase away from its WAV (MP3 -V 8 most: it zeroes quiet top
    # bands, which the log spectrum weighs heavily), so the test is the margin: in fresh runs
    # every other text was at least 1.42x (MP3), 2.2x (M4B), 2.5x (Opus) as far as the phrase's
    # own; one run of the whole suite, on a cache other tests had filled, came under 1.25x.
    for text in first:
        distances = {other: distance(heard[text], ref) for other, ref in wavs.items()}
        own = distances.pop(text)
        nearest = min(distances, key=distances.get)
        assert distances[nearest] > 1.1 * own, (text, own, nearest, distances[nearest])


@pytest.mark.parametrize("fmt", FORMATS)
def test_chapters_are_the_steps_never_late_and_within_30_ms(exports, fmt):
    files, timeline, *_ = exports
    chapters = probe(files[fmt])["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in timeline.steps]
    for chapter, step in zip(chapters, timeline.steps, strict=True):
        early = step.start / 22050 - float(chapter["start_time"])
        assert 0 <= early < 0.030, (chapter, step)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tags_title_artist_album_and_a_comment(exports, fmt):
    files, timeline, *_ = exports
    found = probe(files[fmt], "-show_streams")
    where = found["streams"][0] if fmt == "opus" else found["format"]  # Ogg tags a stream
    tags = {k.lower(): v for k, v in where["tags"].items()}
    assert tags["title"] == tags["album"] == timeline.title == "Upper back release with your hands"
    assert tags["artist"] == "voiceguide"
    minutes, seconds = divmod(int(timeline.duration), 60)  # truncated, like a stopwatch
    assert tags["comment"] == f"voiceguide routine 'back-hands', {minutes:02d}:{seconds:02d}"


def test_a_second_reader_finds_the_mp3s_table_of_contents_and_chapters_in_time_order(exports):
    files, timeline, *_ = exports
    tag = ID3(files["mp3"])
    assert tag.version == (2, 3, 0)
    (toc,) = tag.getall("CTOC")
    assert toc.flags == 3  # top-level and ordered
    chapters = [tag[f"CHAP:{element}"] for element in toc.child_element_ids]
    assert [c.sub_frames["TIT2"].text[0] for c in chapters] == [s.title for s in timeline.steps]
    assert [c.start_time for c in chapters] == [s.start * 1000 // 22050 for s in timeline.steps]
    assert [c.end_time for c in chapters] == [s.end * 1000 // 22050 for s in timeline.steps]
    # The frames themselves are in time order too (mutagen's own writer does not do that).
    in_file = [f.element_id for f in tag.getall("CHAP")]
    assert in_file == list(toc.child_element_ids)
    (lyrics,) = tag.getall("SYLT")
    speech = [c for c in timeline.cues if c.kind == "speech"]
    assert lyrics.format == 2 and lyrics.type == 1
    assert list(lyrics.text) == [(c.text, c.start * 1000 // 22050) for c in speech]
    assert tag["TIT2"].text == [timeline.title] and tag["TPE1"].text == ["voiceguide"]


def test_a_second_reader_finds_the_m4b_chapters_and_tags(exports):
    files, timeline, *_ = exports
    m4b = MP4(files["m4b"])
    assert [c.title for c in m4b.chapters] == [s.title for s in timeline.steps]
    for chapter, step in zip(m4b.chapters, timeline.steps, strict=True):
        assert 0 <= step.start / 22050 - chapter.start < 0.030
    assert m4b.tags["\xa9nam"] == [timeline.title] and m4b.tags["\xa9ART"] == ["voiceguide"]
    assert m4b.tags["\xa9lyr"][0] == files["m4b"].with_suffix(".lrc").read_text(encoding="utf-8")
    assert (files["m4b"]).read_bytes()[8:12] == b"M4B "  # the brand audiobook apps see


def test_a_second_reader_finds_the_opus_chapters_and_words(exports):
    files, timeline, *_ = exports
    opus = mutagen.File(files["opus"])
    assert type(opus).__name__ == "OggOpus"
    for n, step in enumerate(timeline.steps, 1):
        ms = step.start * 1000 // 22050
        clock = f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
        assert opus[f"CHAPTER{n:03d}"] == [clock]
        assert opus[f"CHAPTER{n:03d}NAME"] == [step.title]
    assert opus["LYRICS"] == [files["opus"].with_suffix(".lrc").read_text(encoding="utf-8")]
    assert opus["TITLE"] == [timeline.title]


def test_the_lrc_gives_each_phrase_at_its_time_never_late(exports):
    files, timeline, *_ = exports
    lines = files["mp3"].with_suffix(".lrc").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"[ti:{timeline.title}]"
    speech = [c for c in timeline.cues if c.kind == "speech"]
    assert len(lines) == 1 + len(speech)
    for line, cue in zip(lines[1:], speech, strict=True):
        minutes, seconds, text = int(line[1:3]), float(line[4:9]), line[10:]
        assert text == cue.text
        assert 0 <= cue.start / 22050 - (60 * minutes + seconds) < 0.01


def test_mp3_tracks_are_numbered_tagged_and_listed_with_their_lengths(tmp_path: Path):
    result = voiceguide("export", ROUTINE, "--tracks", tmp_path, "--format", "mp3")
    assert result.returncode == 0, result.stderr
    timeline = build_session(load_routine(ROUTINE)).timeline
    tracks = sorted(tmp_path.glob("*.mp3"))
    assert [t.name for t in tracks] == [
        "01 - Before you start.mp3",
        "02 - Get comfortable.mp3",
        "03 - Find the spot.mp3",
        "04 - How to press.mp3",
        "05 - Press and hold.mp3",
        "06 - How often.mp3",
        "07 - Closing.mp3",
    ]
    for n, (track, step) in enumerate(zip(tracks, timeline.steps, strict=True), 1):
        tags = probe(track)["format"]["tags"]
        assert (tags["title"], tags["album"], tags["track"]) == (
            step.title,
            timeline.title,
            f"{n}/7",
        )
        assert abs(len(decode(track)) - step.length) < 576
    playlist = (tmp_path / "playlist.m3u8").read_text(encoding="utf-8").splitlines()
    assert playlist[3::2] == [t.name for t in tracks]
    assert playlist[2::2] == [
        f"#EXTINF:{round(s.length / 22050)},{s.title}" for s in timeline.steps
    ]


@pytest.mark.parametrize("fmt", ["wav", *FORMATS])
def test_the_shortest_step_is_a_track_every_decoder_reads_and_the_next_one_follows(
    tmp_path: Path, fmt: str
):
    routine = tmp_path / "short.yaml"
    routine.write_text(
        "title: short\nsteps:\n  - title: a\n    pause: 0.001\n  - title: b\n    say: Hi.\n",
        encoding="utf-8",
    )
    result = voiceguide("export", routine, "--tracks", tmp_path / "t", "--format", fmt)
    assert (result.returncode, result.stderr) == (0, "")
    steps = build_session(load_routine(str(routine))).timeline.steps
    assert steps[0].length == 22  # the step the test is about: 1 ms at 22.05 kHz
    tracks = sorted((tmp_path / "t").glob(f"*.{fmt}"))
    assert len(tracks) == len(steps) == 2
    rate = 48000 if fmt == "opus" else 22050  # Opus decodes at 48 kHz
    for track, step in zip(tracks, steps, strict=True):
        heard = len(decode(track, rate))  # ffmpeg reads it (not so an empty Opus or M4B)
        if fmt in ("wav", "mp3"):  # gapless to the sample, both
            assert heard == step.length
        else:
            assert heard > 0 and abs(heard / rate - step.length / 22050) <= FRAME[fmt]


def test_a_step_shorter_than_a_millisecond_is_refused_before_any_work(tmp_path: Path):
    routine = tmp_path / "short.yaml"
    routine.write_text("title: short\nsteps:\n  - pause: 0.00001s\n", encoding="utf-8")
    result = voiceguide("export", routine, "--tracks", tmp_path / "t", "--format", "opus")
    assert (result.returncode, result.stderr) == (
        1,
        f"{routine}:3:12: pause: '0.00001s' is shorter than the shortest duration, 1 ms\n",
    )
    assert list(tmp_path.iterdir()) == [routine]


def test_an_unknown_extension_lists_the_formats(tmp_path: Path):
    result = voiceguide("export", ROUTINE, "-o", tmp_path / "hands.ogg")
    assert (result.returncode, result.stderr) == (
        2,
        "error: cannot write '.ogg' files; use one of .wav, .mp3, .opus, .m4b, .m4a\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fmt", "package"), [("mp3", "lameenc"), ("opus", "soundfile")])
def test_without_its_encoder_mp3_and_opus_say_how_to_install_it_before_any_work(
    tmp_path, fmt, package
):
    # An encoder that cannot be imported, first on the path: as if it were not installed.
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / f"{package}.py").write_text(f"raise ImportError('no {package}')\n")
    cache = tmp_path / "cache"
    env = {"PYTHONPATH": str(tmp_path / "hide"), "VOICEGUIDE_CACHE": str(cache)}
    result = voiceguide("export", ROUTINE, "-o", tmp_path / f"hands.{fmt}", env=env)
    what = {"mp3": "MP3", "opus": "Opus"}[fmt]
    assert (result.returncode, result.stderr) == (
        3,
        f"error: {what} export needs {package}; install it: pip install 'voiceguide[encoders]'\n",
    )
    assert not cache.exists() and not (tmp_path / f"hands.{fmt}").exists()


def test_without_ffmpeg_m4b_names_the_package_before_any_work(tmp_path: Path):
    cache = tmp_path / "cache"
    env = {"PATH": str(tmp_path / "nothing"), "VOICEGUIDE_CACHE": str(cache)}
    result = voiceguide("export", ROUTINE, "-o", tmp_path / "hands.m4b", env=env)
    assert (result.returncode, result.stderr) == (
        3,
        "error: M4B export needs ffmpeg; install it: sudo apt install ffmpeg\n",
    )
    assert not cache.exists()
    # WAV export needs neither.
    result = voiceguide(
        "export",
        "back-massage-ball",
        "-o",
        tmp_path / "b.wav",
        env={"PYTHONPATH": str(tmp_path / "nothing"), "PATH": str(tmp_path / "nothing")},
    )
    assert result.returncode == 0, result.stderr


def test_a_format_that_disagrees_with_the_output_name_is_a_usage_error(tmp_path):
    result = voiceguide(
        "export", "back-hands", "-o", tmp_path / "x.wav", "--format", "mp3", cwd=tmp_path
    )
    assert (result.returncode, result.stderr) == (
        2,
        "error: --format mp3 does not match the output's name (x.wav)"
        " (see 'voiceguide export --help')\n",
    )
    assert list(tmp_path.iterdir()) == []
