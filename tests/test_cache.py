"""Cache damage: every byte of an entry is verified, and whatever stands in an entry's place
(a damaged file, a folder) is replaced; no temporary outlives a failed or interrupted write."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from audiocheck import distance, features
from conftest import voiceguide

from voiceguide import cache as cache_module
from voiceguide.audio import Clip
from voiceguide.cache import PhraseCache
from voiceguide.loader import load_routine
from voiceguide.session import build_session

KEY = "ab" * 32
CLIP = Clip(bytes(range(256)) * 2, 22050)


def entry_bytes(root: Path) -> bytes:
    cache = PhraseCache(root)
    cache.put(KEY, CLIP, "gmw/en-us")
    return cache.path(KEY).read_bytes()


def test_every_flipped_byte_of_an_entry_is_detected(tmp_path: Path):
    data = entry_bytes(tmp_path)
    cache = PhraseCache(tmp_path)
    missed = []
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        cache.path(KEY).write_bytes(bytes(damaged))
        if cache.get(KEY) is not None:
            missed.append(offset)
    assert missed == []  # the sample rate (24-27) and the voice in the trailer included
    cache.path(KEY).write_bytes(data + b"\0")  # and nothing may follow it
    assert cache.get(KEY) is None
    cache.path(KEY).write_bytes(data)
    assert cache.get(KEY).sample_rate == 22050 and cache.get(KEY).voice == "gmw/en-us"


@pytest.mark.parametrize("offset", [24, -5])  # the sample rate; a letter of the voice
def test_a_damaged_entry_is_replaced_by_the_next_put(tmp_path: Path, offset: int):
    data = bytearray(entry_bytes(tmp_path))
    data[offset] ^= 0x01
    cache = PhraseCache(tmp_path)
    cache.path(KEY).write_bytes(bytes(data))
    entry = cache.put(KEY, CLIP, "gmw/en-us")
    assert (entry.sample_rate, entry.voice) == (22050, "gmw/en-us")
    assert cache.path(KEY).read_bytes() == entry_bytes(tmp_path / "fresh")


def test_a_folder_where_an_entry_belongs_is_replaced(tmp_path: Path):
    cache = PhraseCache(tmp_path)
    (cache.path(KEY) / "inside").mkdir(parents=True)
    assert cache.get(KEY) is None
    assert cache.put(KEY, CLIP, "v").read() == CLIP.pcm
    (tmp_path / "cd").write_bytes(b"a file where a shard folder belongs")
    other = "cd" * 32
    assert cache.put(other, CLIP, "v").read() == CLIP.pcm


def test_a_folder_in_an_entrys_place_does_not_fail_every_command(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    first = voiceguide("show", "back-massage-ball", env={"VOICEGUIDE_CACHE": str(cache_dir)})
    assert first.returncode == 0
    entry = sorted(cache_dir.rglob("*.wav"))[0]
    entry.unlink()
    (entry / "x").mkdir(parents=True)
    again = voiceguide("show", "back-massage-ball", env={"VOICEGUIDE_CACHE": str(cache_dir)})
    assert (again.returncode, again.stderr, again.stdout) == (0, "", first.stdout)
    assert entry.is_file()


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError(errno.ENOSPC, "No space left")])
def test_no_temporary_is_left_when_a_write_fails(tmp_path: Path, monkeypatch, fault):
    def encode(key: str, clip: Clip, voice: str, engine: str, gain=None) -> bytes:
        assert len(list((tmp_path / "ab").iterdir())) == 1  # the temporary, being written
        raise fault

    monkeypatch.setattr(cache_module, "_encode", encode)
    with pytest.raises((KeyboardInterrupt, cache_module.OutputError)):
        PhraseCache(tmp_path).put(KEY, CLIP, "v")
    assert [p.name for p in tmp_path.rglob("*")] == ["ab"]  # the shard folder, empty


def test_a_session_keeps_its_phrases_whoever_prunes_the_cache(tmp_path: Path):
    root = tmp_path / "cache"
    routine = tmp_path / "three.yaml"
    routine.write_text(
        "title: three\nsteps:\n  - title: a\n    say: Lie down on your back.\n"
        "  - title: b\n    say: Breathe in slowly.\n  - title: c\n    say: Rest your arms.\n",
        encoding="utf-8",
    )
    # A limit of one byte: every prune removes all it may.
    session = build_session(load_routine(str(routine)), cache=PhraseCache(root, max_bytes=1))
    speech = [cue for cue in session.timeline.cues if cue.kind == "speech"]
    before = {cue.text: session.cue_pcm(cue) for cue in speech}
    assert len(before) == 3

    # Words said mid-session (on resuming) are synthesized, and the cache pruned: not of the
    # session's phrases, which are read as they were.
    assert session.speak("Resuming.")
    assert {cue.text: session.cue_pcm(cue) for cue in speech} == before

    # Another process prunes everything: the session's phrases are made again, each as long
    # as the timeline has it, and saying its own words.
    result = voiceguide("cache", "prune", "--max-size", "1", env={"VOICEGUIDE_CACHE": str(root)})
    assert (result.returncode, result.stderr) == (0, "")
    assert not list(root.glob("??/*.wav"))
    after = {cue.text: session.cue_pcm(cue) for cue in speech}
    assert {t: len(pcm) for t, pcm in after.items()} == {t: len(pcm) for t, pcm in before.items()}
    for text, pcm in after.items():
        distances = {other: distance(features(pcm), features(b)) for other, b in before.items()}
        assert min(distances, key=distances.get) == text, distances
