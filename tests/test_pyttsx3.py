"""The pyttsx3 engine, for real: on Linux it speaks through pyttsx3's espeak driver, in worker
processes, and its phrases go through the same finishing as every engine's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from audiocheck import distance, espeak, features, read_wav, samples
from conftest import voiceguide

from voiceguide import engines
from voiceguide.audio import loudness_dbfs, peak_dbfs
from voiceguide.engines import espeak as espeak_engine
from voiceguide.errors import SpeechError
from voiceguide.loader import load_routine
from voiceguide.session import build_session

SAID = ["Press firmly on the sore spot.", "Breathe out slowly.", "Now roll to the left side."]
ROUTINE = "title: Through pyttsx3\nsteps:\n" + "".join(
    f"  - say: {text}\n    hold: 2s\n" for text in SAID
)


def test_pyttsx3_says_the_words_and_the_export_names_it(tmp_path: Path):
    routine = tmp_path / "r.yaml"
    routine.write_text(ROUTINE)
    out = tmp_path / "out.wav"
    result = voiceguide("export", routine, "-o", out, "--engine", "pyttsx3")
    assert (result.returncode, result.stderr) == (0, "")
    timeline = json.loads(out.with_suffix(".json").read_text())
    assert timeline["engine"] == "pyttsx3"
    _, pcm = read_wav(out)
    cues = [c for c in timeline["cues"] if c["kind"] == "speech"]
    assert [c["text"] for c in cues] == SAID
    heard = {
        c["text"]: features(pcm[2 * round(c["start"] * 22050) : 2 * round(c["end"] * 22050)])
        for c in cues
    }
    references = {text: features(espeak(text)) for text in SAID}
    # Each phrase is nearest the espeak-ng command's rendering of its own text, by a margin.
    for text in SAID:
        distances = {other: distance(heard[text], ref) for other, ref in references.items()}
        own = distances.pop(text)
        assert min(distances.values()) > 1.3 * own, (text, own, distances)


def test_pyttsx3_phrases_are_finished_like_every_engine_s(tmp_path: Path):
    routine = tmp_path / "r.yaml"
    routine.write_text(ROUTINE)
    session = build_session(load_routine(routine), engine=engines.get_engine("pyttsx3"))
    chime = np.median([loudness_dbfs(c.pcm, c.sample_rate) for c in session.chimes.values()])
    for text in SAID:
        pcm = session.phrases.pcm(text)
        values = samples(pcm)
        assert values[0] == 0 and values[-1] == 0  # faded at both ends
        assert abs(loudness_dbfs(pcm, 22050) - chime) < 1.5
        assert peak_dbfs(pcm) < -1.0


def test_the_default_engine_is_espeak_where_its_library_loads(monkeypatch):
    assert engines.default_engine() == "espeak"  # Linux: always espeak
    monkeypatch.setattr(sys, "platform", "darwin")
    assert engines.default_engine() == "espeak"  # libespeak-ng loads here

    def missing():
        raise SpeechError(espeak_engine.MISSING)

    monkeypatch.setattr(espeak_engine, "_load", missing)
    assert engines.default_engine() == "pyttsx3"
    assert engines.get_engine().name == "pyttsx3"
