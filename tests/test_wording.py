"""The words voiceguide says itself, in the routine's language; `wording:` and `pronounce:`;
engines found by name (a fake one registered like the real ones)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from audiocheck import espeak, read_wav
from conftest import voiceguide
from fakes import FakeEngine

from voiceguide import engines
from voiceguide.audio import Clip, loudness_dbfs, peak_dbfs
from voiceguide.cache import PhraseCache, gained
from voiceguide.engines.espeak import AMPLITUDE
from voiceguide.finishing import finish
from voiceguide.loader import load_routine
from voiceguide.numbers import in_words
from voiceguide.routine import Position
from voiceguide.session import build_session
from voiceguide.sounds import SPEECH_LOUDNESS
from voiceguide.speech import SpeechSettings
from voiceguide.wording import CATALOGS, PHRASES, check_phrase, wording_for


@pytest.mark.parametrize(
    ("language", "numbers"),
    [
        ("en", {1: "one", 21: "twenty-one", 42: "forty-two", 101: "one hundred and one"}),
        ("de", {1: "eins", 21: "einundzwanzig", 71: "einundsiebzig", 100: "hundert",
                101: "hunderteins", 234: "zweihundertvierunddreißig"}),
        ("fr", {1: "un", 21: "vingt et un", 71: "soixante et onze", 80: "quatre-vingts",
                81: "quatre-vingt-un", 91: "quatre-vingt-onze", 200: "deux cents",
                201: "deux cent un"}),
        ("es", {1: "uno", 16: "dieciséis", 21: "veintiuno", 22: "veintidós",
                31: "treinta y uno", 100: "cien", 101: "ciento uno", 500: "quinientos"}),
        ("it", {1: "uno", 21: "ventuno", 23: "ventitré", 28: "ventotto", 108: "centotto",
                180: "centottanta", 300: "trecento"}),
        ("nl", {1: "één", 21: "eenentwintig", 22: "tweeëntwintig", 23: "drieëntwintig",
                80: "tachtig", 101: "honderdeen", 200: "tweehonderd"}),
    ],
)  # fmt: skip
def test_numbers_are_spelled_as_each_language_counts(language, numbers):
    assert {n: in_words(n, language) for n in numbers} == numbers


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", {1: "one second", 21: "twenty-one seconds", 81: "one minute and twenty-one seconds",
                3660: "sixty-one minutes"}),
        ("de", {1: "eine Sekunde", 21: "einundzwanzig Sekunden",
                81: "eine Minute und einundzwanzig Sekunden", 6060: "hunderteine Minuten"}),
        ("fr", {1: "une seconde", 21: "vingt et une secondes", 31: "trente et une secondes",
                81: "une minute et vingt et une secondes", 3660: "soixante et une minutes",
                6060: "cent une minutes"}),
        ("es", {1: "un segundo", 21: "veintiún segundos", 31: "treinta y un segundos",
                81: "un minuto y veintiún segundos", 3660: "sesenta y un minutos",
                6060: "ciento un minutos", 7260: "ciento veintiún minutos"}),
        ("it", {1: "un secondo", 21: "ventun secondi", 31: "trentun secondi",
                81: "un minuto e ventun secondi", 6060: "centouno minuti"}),
        ("nl", {1: "één seconde", 21: "eenentwintig seconden",
                81: "één minuut en eenentwintig seconden", 6060: "honderdeen minuten"}),
    ],
)  # fmt: skip
def test_seconds_and_minutes_agree_with_their_numbers(language, said):
    words = wording_for(language, {}, Position("routine.yaml", 1, 1))
    assert {s: words.seconds_in_words(s) for s in said} == said


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_every_catalog_has_every_phrase_and_each_is_valid(language):
    catalog = CATALOGS[language]
    assert set(catalog) == set(PHRASES)
    assert {name: check_phrase(name, text) for name, text in catalog.items()} == {
        name: [] for name in catalog
    }


ENGLISH = {
    word
    for text in CATALOGS["en"].values()
    for word in re.findall(r"[a-z]+", text.lower())
    if word not in ("title", "side", "round", "rounds", "time", "count", "minutes", "seconds")
} | {"side", "sides", "round", "rounds", "halfway", "left", "right"}

ROUTINE = """\
title: {title}
speech: {{voice: {voice}}}
steps:
  - repeat: 2
    steps:
      - sides: [{left}, {right}]
        steps:
          - say: {say}
            hold: 12s
            countdown: 3
            halfway: true
"""

LANGUAGES = {
    "de": ("Nacken", "links", "rechts", "Drücke den Punkt.",
           ["Runde eins von zwei.", "Seite: links.", "Seitenwechsel. Seite: rechts.",
            "Halbzeit.", "drei", "zwei", "eins", "Runde zwei von zwei."]),
    "fr": ("Nuque", "gauche", "droit", "Appuie sur le point.",
           ["Tour un sur deux.", "Côté gauche.", "Changez de côté. Côté droit.",
            "À mi-temps.", "trois", "deux", "un"]),
    "es": ("Cuello", "izquierdo", "derecho", "Presiona el punto.",
           ["Ronda uno de dos.", "Lado izquierdo.", "Cambia de lado. Lado derecho.",
            "Vamos por la mitad.", "tres", "dos", "uno"]),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_routine_in_another_language_has_no_english_word(tmp_path: Path, language):
    title, left, right, say, expected = LANGUAGES[language]
    path = tmp_path / f"{language}.yaml"
    path.write_text(
        ROUTINE.format(title=title, voice=language, left=left, right=right, say=say),
        encoding="utf-8",
    )
    shown = voiceguide("show", path, "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    texts = [c["text"] for c in document["cues"] if c["kind"] == "speech"]
    texts += [s["title"] for s in document["steps"]]
    words = {w for text in texts for w in re.findall(r"\w+", text.lower())}
    assert words & ENGLISH == set()
    assert set(expected) <= set(texts)
    assert (
        document["steps"][0]["title"]
        == {
            "de": "Drücke den Punkt (links, rechts) (2 Runden)",
            "fr": "Appuie sur le point (gauche, droit) (2 tours)",
            "es": "Presiona el punto (izquierdo, derecho) (2 rondas)",
        }[language]
    )

    # ...and the export speaks it: each cue is espeak-ng's own rendering of its words, in the
    # routine's voice, finished like every phrase.
    out = tmp_path / f"{language}.wav"
    exported = voiceguide("export", path, "-o", out, "--no-sidecars")
    assert exported.returncode == 0, exported.stderr
    _, pcm = read_wav(out)
    for cue in document["cues"]:
        if cue["kind"] == "speech" and cue["text"] in expected[:4]:
            start, end = round(cue["start"] * 22050), round(cue["end"] * 22050)
            raw = espeak(cue["text"], voice=language, volume=AMPLITUDE / 100, trim=False)
            finished = gained(finish(Clip(raw, 22050), 1.0).pcm, 0.9)
            assert pcm[2 * start : 2 * end] == finished, cue["text"]


def test_wording_replaces_catalog_phrases_and_fills_placeholders(tmp_path: Path):
    path = tmp_path / "arms.yaml"
    path.write_text(
        """\
title: Arms
language: de
wording:
  next_side: Jetzt der andere Arm.
  first_side: Die {side} Seite, Runde {round}.
  count_1: los
steps:
  - repeat: 2
    steps:
      - sides: [linke, rechte]
        steps:
          - say: Runde {round} von {rounds}, {side} Seite.
            hold: 5s
            countdown: 2
""",
        encoding="utf-8",
    )
    document = json.loads(voiceguide("show", path, "--json").stdout)
    texts = [c["text"] for c in document["cues"] if c["kind"] == "speech"]
    assert texts[:6] == [
        "Runde eins von zwei.",
        "Die linke Seite, Runde eins.",
        "Runde eins von zwei, linke Seite.",
        "zwei",
        "los",
        "Jetzt der andere Arm.",
    ]


def test_pronounce_changes_only_what_the_engine_hears(tmp_path: Path):
    path = tmp_path / "say.yaml"
    path.write_text(
        """\
title: Pronounce
pronounce: {acupressure: ack you pressure, "LACROSSE ball": la cross ball}
steps:
  - say: Acupressure, with a lacrosse ball. Acupressures stay as written.
""",
        encoding="utf-8",
    )
    text = "Acupressure, with a lacrosse ball. Acupressures stay as written."
    spoken = "ack you pressure, with a la cross ball. Acupressures stay as written."
    cache = PhraseCache(tmp_path / "cache")
    session = build_session(load_routine(path), cache=cache)
    assert [c.text for c in session.timeline.cues if c.kind == "speech"] == [text]
    raw = Clip(espeak(spoken, volume=AMPLITUDE / 100, trim=False), 22050)
    assert session.phrases.pcm(text) == gained(finish(raw, 1.0).pcm, 0.9)


@pytest.fixture
def fake_engine(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "fake", "fakes:FakeEngine")
    FakeEngine.said.clear()
    return FakeEngine


def test_a_third_engine_is_one_module_and_one_registry_line(tmp_path: Path, fake_engine):
    routine = load_routine("back-massage-ball")
    session = build_session(
        routine, SpeechSettings(engine="fake", rate=135), cache=PhraseCache(tmp_path)
    )
    assert session.timeline.speech.engine == "fake"
    assert session.timeline.sample_rate == 16000
    assert "Switch sides. Right side." in fake_engine.said
    for text in session.phrases.entries:
        pcm = session.phrases.pcm(text)
        # Its faint hiss is trimmed; its quiet tone is brought to the chimes' loudness.
        assert pcm[:2] == b"\0\0" and pcm[-2:] == b"\0\0"
        target = SPEECH_LOUDNESS + 20 * math.log10(0.9)  # the chimes' at volume 0.9
        assert loudness_dbfs(pcm, 16000) == pytest.approx(target, abs=0.05)
        assert peak_dbfs(pcm) < -1.0


def test_an_unknown_engine_is_exit_3_with_the_closest_name():
    result = voiceguide("show", "back-hands", "--engine", "pipr")
    assert (result.returncode, result.stderr) == (
        3,
        "error: unknown engine 'pipr' (did you mean 'piper'?)\n",
    )
    result = voiceguide("voices", "--engine", "festival")
    assert (result.returncode, result.stderr) == (
        3,
        "error: unknown engine 'festival' (engines: espeak, piper, pyttsx3)\n",
    )


def test_piper_without_its_extra_is_exit_3_with_the_install_line(tmp_path: Path):
    # A 'piper' that cannot be found, as in an install without the extra.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('piper', 'onnxruntime'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    result = voiceguide(
        "show", "back-hands", "--engine", "piper", env={"PYTHONPATH": str(tmp_path)}
    )
    assert (result.returncode, result.stderr) == (
        3,
        "error: Piper is not installed; install it with: pip install 'voiceguide[piper]'\n",
    )


def test_an_engine_that_hangs_is_one_error_and_no_stray_process(tmp_path, monkeypatch):
    from voiceguide import workers
    from voiceguide.errors import SpeechError

    monkeypatch.setitem(engines.ENGINES, "hang", "fakes:HangingEngine")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setattr(workers, "ANSWER_SECONDS", 1.5)
    started = []
    real_start = workers._start_worker
    monkeypatch.setattr(
        workers, "_start_worker", lambda *args: started.append(real_start(*args)) or started[-1]
    )
    with pytest.raises(
        SpeechError, match=r"^the speech engine \(hang\) stopped answering; try again$"
    ):
        build_session(
            load_routine("back-hands"), SpeechSettings(engine="hang"), cache=PhraseCache(tmp_path)
        )
    assert started and all(worker.poll() is not None for worker in started)
    assert not list(tmp_path.rglob("*.wav"))
