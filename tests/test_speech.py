"""The speech engine and the phrase cache, for real: espeak-ng through its library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from audiocheck import espeak
from conftest import voiceguide

from voiceguide.audio import Clip, loudness_dbfs, peak_dbfs, trim_silence
from voiceguide.cache import PhraseCache
from voiceguide.engines.espeak import AMPLITUDE, EspeakEngine
from voiceguide.errors import SpeechError
from voiceguide.loader import load_routine
from voiceguide.phrases import engine_identity, prepare_phrases
from voiceguide.session import build_session
from voiceguide.speech import SpeechSettings, Voice, find_voice

CALM = SpeechSettings("en-us", 135, 0.9)


def test_every_phrase_is_exactly_what_espeak_ng_says_whatever_came_before():
    # espeak-ng carries state from one utterance to the next inside a process; the engine
    # loads its library afresh for each phrase, so none depends on what was said before.
    texts = ["Press firmly on the sore spot.", "Round two of three.", "three", "Halfway."]
    engine = EspeakEngine()
    said = [trim_silence(engine.synthesize(t, CALM).pcm) for t in texts + texts[::-1]]
    expected = [espeak(t, volume=AMPLITUDE / 100) for t in texts + texts[::-1]]
    assert [len(p) for p in said] == [len(p) for p in expected]
    assert said == expected


def test_voices_are_found_by_id_last_part_name_or_language():
    voices = [
        Voice("gmw/en", "English (Great Britain)", ("en-gb",)),
        Voice("gmw/en-us", "English (America)", ("en-us",)),
        Voice("gmw/de", "German", ("de",)),
    ]
    assert find_voice("gmw/en-us", voices).id == "gmw/en-us"
    assert find_voice("EN-US", voices).id == "gmw/en-us"
    assert find_voice("German", voices).id == "gmw/de"
    assert find_voice("en-gb", voices).id == "gmw/en"
    with pytest.raises(SpeechError, match=r"^unknown voice 'en-uss' \(closest: en-us\)$"):
        find_voice("en-uss", voices)
    with pytest.raises(SpeechError, match=r"^unknown voice 'klingon' \(see 'voiceguide voices'\)$"):
        find_voice("klingon", voices)


def test_volume_sets_the_speech_level(tmp_path: Path):
    cache = PhraseCache(tmp_path)
    text = ["Breathe in slowly, and let your shoulders drop."]
    full = prepare_phrases(text, CALM, EspeakEngine(), cache)
    half = prepare_phrases(text, SpeechSettings("en-us", 135, 0.45), EspeakEngine(), cache)
    difference = loudness_dbfs(half.pcm(text[0]), 22050) - loudness_dbfs(full.pcm(text[0]), 22050)
    assert difference == pytest.approx(-6.0, abs=0.6)


def test_a_warm_cache_synthesizes_nothing(tmp_path: Path):
    routine = load_routine("back-massage-ball")
    cold = build_session(routine, cache=PhraseCache(tmp_path))
    entries = sorted(tmp_path.rglob("*.wav"))
    stamps = [p.stat().st_mtime_ns for p in entries]
    warm = build_session(routine, cache=PhraseCache(tmp_path))
    assert cold.phrases.synthesized == len(cold.phrases.entries) > 10
    assert warm.phrases.synthesized == 0
    assert [p.stat().st_mtime_ns for p in sorted(tmp_path.rglob("*.wav"))] == stamps
    assert warm.timeline == cold.timeline


@pytest.mark.parametrize("damage", ["flip a sample", "truncate", "empty"])
def test_a_damaged_entry_is_detected_and_made_again(tmp_path: Path, damage: str):
    text = "Slowly release, and rest your hands."
    cache = PhraseCache(tmp_path)
    first = prepare_phrases([text], CALM, EspeakEngine(), cache)
    before = first.pcm(text)
    key = PhraseCache.key(engine_identity(EspeakEngine()), "en-us", 135, text)
    copy = Path(first.entries[text].path)  # what is read: the copy at the volume
    assert copy == cache.path(PhraseCache.copy_key(key, CALM.volume))
    damaged(copy, damage)
    again = prepare_phrases([text], CALM, EspeakEngine(), cache)
    assert again.synthesized == 0  # the copy made again from its entry
    assert again.pcm(text) == before
    damaged(copy, damage)
    damaged(cache.path(key), damage)
    again = prepare_phrases([text], CALM, EspeakEngine(), cache)
    assert again.synthesized == 1
    assert cache.get(key) is not None
    assert again.pcm(text) == before  # made again, exactly as before


def damaged(path: Path, damage: str) -> None:
    data = bytearray(path.read_bytes())
    if damage == "flip a sample":
        data[1000] ^= 0x40
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))


def test_an_entry_is_published_once_and_never_replaced_by_a_later_one(tmp_path: Path):
    cache = PhraseCache(tmp_path)
    first = cache.put("a" * 64, Clip(b"\1\0" * 100, 22050), "v")
    second = cache.put("a" * 64, Clip(b"\2\0" * 50, 22050), "v")  # another process, later
    assert second.length == first.length == 100
    assert cache.get("a" * 64).read() == b"\1\0" * 100
    assert [p.name for p in (tmp_path / "aa").iterdir()] == [
        "a" * 64 + ".wav"
    ]  # no temporaries left


def test_worker_output_never_reaches_stdout(tmp_path: Path):
    result = voiceguide(
        "show", "back-foam-roller", "--json", env={"VOICEGUIDE_CACHE": str(tmp_path)}
    )
    assert result.returncode == 0
    assert "Audio saved" not in result.stdout and result.stderr == ""
    assert json.loads(result.stdout)["title"] == "Upper and mid back with a foam roller"


def test_two_exports_of_one_routine_at_once_share_a_cold_cache(tmp_path: Path):
    env = {**os.environ, "VOICEGUIDE_CACHE": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voiceguide",
                "export",
                "back-hands",
                "-o",
                str(tmp_path / f"{n}.wav"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in ("one", "two")
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read()
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "two.wav").read_bytes()
    assert (tmp_path / "one.json").read_text() == (tmp_path / "two.json").read_text()
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix != ".wav"]
    assert leftovers == []


def test_cold_exports_are_identical_with_one_worker_or_several(tmp_path: Path, monkeypatch):
    from voiceguide import workers

    routines = [load_routine(name) for name in ("back-full", "headache-acupressure")]
    several = [build_session(r, cache=PhraseCache(tmp_path / "several")) for r in routines]
    assert workers.worker_count(len(several[0].phrases.entries)) > 1
    monkeypatch.setattr(workers, "MAX_WORKERS", 1)
    monkeypatch.setattr(workers, "PHRASES_PER_TASK", 7)  # another order of synthesis too
    one = [build_session(r, cache=PhraseCache(tmp_path / "one")) for r in routines]
    for a, b in zip(several, one, strict=True):
        assert a.phrases.synthesized > 0 and b.phrases.synthesized > 0
        assert a.timeline == b.timeline
        assert {t: a.phrases.pcm(t) for t in a.phrases.entries} == {
            t: b.phrases.pcm(t) for t in b.phrases.entries
        }


def test_every_phrase_is_as_loud_as_the_chimes_with_peaks_below_minus_1_dbfs():
    session = build_session(load_routine("back-full"))
    chimes = {role: loudness_dbfs(clip.pcm, 22050) for role, clip in session.chimes.items()}
    for text in session.phrases.entries:
        pcm = session.phrases.pcm(text)
        assert peak_dbfs(pcm) < -1.0, text
        for role, level in chimes.items():
            assert abs(loudness_dbfs(pcm, 22050) - level) <= 1.5, (text, role)


def test_another_engine_on_the_command_line_leaves_the_routines_voice_behind(tmp_path):
    routine = tmp_path / "joe.yaml"
    routine.write_text(
        "title: Joe\nspeech: {engine: piper, voice: en_US-joe-medium}\nsteps:\n  - say: Hello.\n"
    )
    result = voiceguide("check", routine, "--engine", "espeak")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"ok: {routine} (Joe, ")


def _children() -> set[str]:
    return {
        pid
        for task in Path("/proc/self/task").iterdir()
        for pid in (task / "children").read_text().split()
    }


def test_phrases_said_at_once_are_the_phrases_said_one_by_one():
    engine, speaking = EspeakEngine(), SpeechSettings("en-us", 135, 0.9)
    texts = ["Breathe in.", "Press firmly on the spot.", "Breathe in.", "Let go.", "Rest now."]
    before = _children()
    at_once = [clip.pcm for clip in engine.synthesize_many(texts, speaking)]
    assert at_once == [engine.synthesize(text, speaking).pcm for text in texts]
    assert at_once[0] == at_once[2] and len(set(at_once)) == 4
    said = engine.synthesize_many(texts, speaking)
    assert next(said).pcm == at_once[0]
    said.close()  # stopped early, as on an error: the forks still speaking are reaped
    assert not _children() - before  # (earlier tests' workers may end meanwhile)


def test_the_phrases_are_being_said_before_the_first_is_asked_for():
    # So that the worker can load numpy meanwhile; closed unread, nothing is left running.
    engine, speaking = EspeakEngine(), SpeechSettings("en-us", 135, 0.9)
    before = _children()
    said = engine.synthesize_many(["Breathe in.", "Let go."], speaking)
    assert _children() - before  # the relay, speaking
    said.close()
    assert not _children() - before


RELAY_FORK_FAILS = """
import errno, os, sys
from voiceguide.engines import espeak
from voiceguide.speech import SpeechSettings

def no_fork(speaker, text):  # as when the process limit is reached (EAGAIN)
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

me = os.getpid()
espeak._fork_saying = no_fork  # in the relay too: it is a fork of this process
try:
    list(espeak.EspeakEngine().synthesize_many(["Rest now."], SpeechSettings("en-us", 135)))
    print("no error", os.getpid() == me, flush=True)
except BaseException as e:
    print(type(e).__name__, os.getpid() == me, flush=True)
"""


def test_a_relay_that_cannot_fork_ends_and_never_returns_into_the_caller():
    # Its first forks fail: the relay (a fork of the caller) must end, not raise into the
    # caller's stack and go on running the caller's code as a second caller.
    result = subprocess.run(
        [sys.executable, "-c", RELAY_FORK_FAILS], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.splitlines() == ["SpeechError True"], result
