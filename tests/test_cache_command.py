"""The phrase cache from the command line: `cache path|size|clear|prune`, its size limit, the
volume as a gain after the cache, and `list` without synthesizing."""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import voiceguide

from voiceguide.cli import cli


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty cache of this test's own (the run's shared one is warm)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("VOICEGUIDE_CACHE", str(path))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def entries(cache: Path) -> dict[Path, int]:
    """Every entry, with its modification time: a rewritten entry changes it."""
    return {p: p.stat().st_mtime_ns for p in cache.glob("??/*.wav")}


def test_another_volume_synthesizes_nothing_and_is_a_gain(cache: Path, tmp_path: Path):
    loud, quiet = tmp_path / "loud.wav", tmp_path / "quiet.wav"
    assert run("export", "back-massage-ball", "-o", str(loud), "--volume", "1").exit_code == 0
    before = entries(cache)
    assert len(before) > 10
    for volume in ("0.5", "0.3", "0.77"):
        assert run("show", "back-massage-ball", "--volume", volume).exit_code == 0
    assert run("export", "back-massage-ball", "-o", str(quiet), "--volume", "0.5").exit_code == 0
    after = entries(cache)
    assert {p: after[p] for p in before} == before  # not one entry rewritten
    # Nothing synthesized: what is new is a copy of each entry at each volume used, once.
    copies = sorted(trailer(p).get("gain") for p in after.keys() - before.keys())
    assert copies == sorted([0.5, 0.3, 0.77] * len(before))
    full, half = (read(p) for p in (loud, quiet))
    assert len(full) == len(half)  # the same timeline
    assert np.array_equal(np.rint(full * 0.5), half)  # every sample: half, rounded


def trailer(entry: Path) -> dict:
    """What an entry's 'vgid' chunk, after its samples, says."""
    data = entry.read_bytes()
    size = int.from_bytes(data[40:44], "little")
    return json.loads(data[44 + size + 8 :])


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def test_list_synthesizes_nothing_and_marks_estimates(cache: Path):
    listed = run("list", "--json")
    assert listed.exit_code == 0
    assert not cache.exists() or not any(cache.rglob("*"))  # nothing made, nothing written
    rows = json.loads(listed.stdout)
    assert all(row["estimated"] for row in rows)
    text = run("list").stdout.splitlines()
    assert all(line.split()[1].startswith("~") for line in text[1:])
    shown = json.loads(run("show", "back-hands", "--json").stdout)
    rows = {row["name"]: row for row in json.loads(run("list", "--json").stdout)}
    assert rows["back-hands"] == {
        "name": "back-hands",
        "title": shown["title"],
        "duration": round(shown["duration"], 3),
        "estimated": False,
    }
    assert rows["headache-acupressure"]["estimated"]
    # The estimate is close: within 5 % of the real length, for each bundled routine.
    for name, row in rows.items():
        real = json.loads(run("show", name, "--json").stdout)["duration"]
        assert row["duration"] == pytest.approx(real, rel=0.05), name


def test_cache_path_size_and_clear(cache: Path, tmp_path: Path):
    assert run("cache", "path").stdout == f"{cache}\n"
    assert run("show", "back-massage-ball").exit_code == 0
    stored = sorted(cache.glob("??/*.wav"))
    speech = len(stored) - 6  # and the three chimes, with their copies at the default volume
    size = json.loads(run("cache", "size", "--json").stdout)
    assert size["path"] == str(cache)
    assert (size["entries"], size["bytes"]) == (len(stored), sum(p.stat().st_size for p in stored))
    by = {(g["engine"], g["voice"]): g["entries"] for g in size["by"]}
    assert by == {("espeak", "gmw/en-us"): speech, ("chimes", ""): 6}
    lines = run("cache", "size").stdout.splitlines()
    assert lines[0].startswith(f"{cache}: {len(stored)} entries, ")
    assert lines[0].endswith(" (limit 1.0 GB)")
    assert lines[1].split()[:3] == ["chimes", "-", "6"]
    assert lines[2].split()[:3] == ["espeak", "gmw/en-us", str(speech)]
    # Not its own files are left alone, even inside its folders.
    (cache / "notes.txt").write_text("mine")
    (stored[0].parent / "readme.txt").write_text("mine too")
    cleared = run("cache", "clear")
    assert cleared.stdout.startswith(f"removed {len(stored)} entries (")
    left = {p.relative_to(cache) for p in cache.rglob("*") if p.is_file()}
    assert left == {Path("notes.txt"), stored[0].relative_to(cache).parent / "readme.txt"}
    assert json.loads(run("cache", "size", "--json").stdout)["entries"] == 0


def test_prune_removes_the_least_recently_used_first(cache: Path):
    assert run("show", "back-massage-ball").exit_code == 0
    stored = sorted(cache.glob("??/*.wav"))
    copies_before = copies(cache)
    # Last used: one a minute, in the order of their names.
    for minutes, path in enumerate(stored):
        stamp = 1_700_000_000 + 60 * minutes
        os.utime(path, (stamp, path.stat().st_mtime))
    newest = stored[-4:]
    keep = sum(p.stat().st_size for p in newest)
    result = run("cache", "prune", "--max-size", str(keep))
    assert result.stdout.startswith(f"removed {len(stored) - 4} entries (")
    assert sorted(cache.glob("??/*.wav")) == newest
    # Using an entry (a replay) makes it the most recent.
    assert run("show", "back-massage-ball").exit_code == 0
    # What the replay reads is made again: each phrase's and chime's copy at the volume.
    assert len(copies(cache)) == len(copies_before) == len(stored) // 2


def test_the_size_limit_is_kept_as_phrases_are_made(cache: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_CACHE", str(tmp_path / "alone"))
    assert run("show", "headache-acupressure").exit_code == 0
    its_own = names(tmp_path / "alone")  # the entries of that session (and its chimes)
    monkeypatch.setenv("VOICEGUIDE_CACHE", str(cache))
    assert run("show", "back-massage-ball").exit_code == 0
    assert names(cache) - its_own  # another session's entries, more than 100 kB
    monkeypatch.setenv("VOICEGUIDE_CACHE_MAX_SIZE", "100kB")  # less than one session
    assert run("show", "headache-acupressure").exit_code == 0
    assert names(cache) == its_own  # the others went; the session at hand keeps all its own
    before = entries(cache)
    assert run("show", "headache-acupressure").exit_code == 0
    assert entries(cache) == before  # a replay makes nothing


def copies(cache: Path) -> list[Path]:
    """The entries that are copies of others at a volume."""
    return [p for p in cache.glob("??/*.wav") if "gain" in trailer(p)]


def names(cache: Path) -> set[str]:
    return {p.name for p in cache.glob("??/*.wav")}


def test_a_bad_max_size_is_a_usage_error(cache: Path):
    result = voiceguide("cache", "prune", "--max-size", "lots")
    assert (result.returncode, result.stderr) == (
        2,
        "error: Invalid value for '--max-size': 'lots' is not a size like 500MB, 2GB or 0 "
        "(no limit) (see 'voiceguide cache prune --help')\n",
    )


def test_entries_an_older_version_made_are_shown_and_pruned_first(cache: Path):
    assert run("show", "back-massage-ball").exit_code == 0
    stored = sorted(cache.glob("??/*.wav"))
    old = cache / "ab" / ("ab" * 32 + ".wav")  # as version 2 wrote them: no engine, no format
    old.parent.mkdir(exist_ok=True)
    meta = b'{"key": "' + b"ab" * 32 + b'", "sha256": "' + b"0" * 64 + b'", "voice": "gmw/en-us"}'
    old.write_bytes(wav_with_trailer(b"\0\0" * 1000, meta))
    lines = run("cache", "size").stdout.splitlines()
    assert lines[1].split()[:4] == ["(older", "version)", "-", "1"]
    # Used just now, it still goes first: no version will read it again.
    result = run("cache", "prune", "--max-size", str(sum(p.stat().st_size for p in stored)))
    assert result.stdout.startswith("removed 1 entries (")
    assert sorted(cache.glob("??/*.wav")) == stored


def wav_with_trailer(pcm: bytes, meta: bytes) -> bytes:
    import struct

    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    chunks += b"vgid" + struct.pack("<I", len(meta)) + meta
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
