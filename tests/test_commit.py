"""The export's commit under crashes and races: after a SIGKILL at any rename or sync, the next
command finds the complete old set or the complete new set, and no leftovers; of two exports to
one name, exactly one wins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import voiceguide

from voiceguide import files
from voiceguide.files import AtomicFiles

SET = ["out.cue", "out.json", "out.lrc", "out.srt", "out.vtt", "out.wav"]
ROUTINE = "back-massage-ball"


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> tuple[dict, dict]:
    """The old set (135 words a minute) and the new one (200), exported whole."""
    sets = []
    for rate in ("135", "200"):
        folder = tmp_path_factory.mktemp(f"rate{rate}")
        result = voiceguide("export", ROUTINE, "-o", folder / "out.wav", "--rate", rate)
        assert result.returncode == 0, result.stderr
        sets.append(contents(folder))
    assert sets[0]["out.wav"] != sets[1]["out.wav"]
    return sets[0], sets[1]


def killed_export(folder: Path, call: str, when: int) -> int:
    """Export the new set over the old one, killed by the `when`-th `call` system call."""
    calls = "rename,renameat,renameat2" if call == "rename" else "fsync,fdatasync"
    command = [
        "strace",
        "-qq",
        "-o",
        os.devnull,
        "-e",
        f"trace={calls}",
        "-e",
        f"inject={calls}:signal=KILL:when={when}",
        sys.executable,
        "-m",
        "voiceguide",
        "export",
        ROUTINE,
        "-o",
        str(folder / "out.wav"),
        "--rate",
        "200",
        "--force",
    ]
    return subprocess.run(command, capture_output=True, timeout=120).returncode


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)")
@pytest.mark.parametrize("call", ["fsync", "rename"])
def test_a_kill_at_every_sync_and_rename_leaves_the_old_set_or_the_new(
    tmp_path: Path, references, call: str
):
    old, new = references
    outcomes = []
    when = 1
    while True:
        folder = tmp_path / f"{call}{when}"
        folder.mkdir()
        for name, data in old.items():
            (folder / name).write_bytes(data)
        killed = killed_export(folder, call, when)
        # The next command that touches the output: an export without --force.
        after = voiceguide("export", ROUTINE, "-o", folder / "out.wav")
        assert after.returncode == 5, after.stderr
        assert after.stderr == f"error: {folder / 'out.wav'} exists; use --force to overwrite it\n"
        found = contents(folder)
        assert found in (old, new), f"{call} {when}: {sorted(found)}"  # whole, and nothing else
        outcomes.append("old" if found == old else "new")
        if killed == 0:  # there was no `when`-th call: every one has been tried
            break
        assert killed == -9
        when += 1
    print(f"{call}: {when - 1} kills, outcomes {outcomes}")
    assert when > 5 and outcomes[-1] == "new" and "old" in outcomes
    if call == "rename":  # once the record is down, the new set wins, whichever rename died
        assert outcomes[1:] == ["new"] * (len(outcomes) - 1)


def test_temporaries_of_a_process_that_died_before_its_commit_are_removed(tmp_path: Path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    (tmp_path / f".vg-{dead}-0123abcd-0.part").write_bytes(b"x" * 1000)
    alive = tmp_path / f".vg-{os.getppid()}-0123abcd-0.part"  # a live process's: kept
    alive.write_bytes(b"y")
    files.recover([tmp_path / "out.wav"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]


def test_two_exports_to_one_name_exactly_one_wins(tmp_path: Path):
    cache = tmp_path / "cache"  # cold: both synthesize, then both try to commit
    env = {**os.environ, "VOICEGUIDE_CACHE": str(cache)}
    out = tmp_path / "out.wav"
    command = [sys.executable, "-m", "voiceguide", "export", ROUTINE, "-o", str(out)]
    racers = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = sorted((r.wait(timeout=120), r.stderr.read()) for r in racers)
    for racer in racers:
        racer.stdout.close()
        racer.stderr.close()
    assert results[0] == (0, "")
    assert results[1] == (5, f"error: {out} exists; use --force to overwrite it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", *SET]


def test_a_file_that_appears_before_the_commit_is_not_overwritten(tmp_path: Path):
    with (
        pytest.raises(files.OutputError, match="exists; use --force"),
        AtomicFiles(overwrite=False) as staged,
    ):
        with staged.open(tmp_path / "a.txt") as f:
            f.write(b"ours")
        (tmp_path / "a.txt").write_bytes(b"theirs")
        staged.commit()
    assert contents(tmp_path) == {"a.txt": b"theirs"}


def test_o_equal_to_a_track_name_is_refused_before_any_work(tmp_path: Path):
    result = voiceguide(
        "export",
        ROUTINE,
        "-o",
        tmp_path / "01 - Before you start.wav",
        "--tracks",
        tmp_path,
    )
    assert result.returncode == 5
    assert result.stderr == (
        f"error: {tmp_path / '01 - Before you start.wav'} would be written twice;"
        " give -o a name no track has\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_name_of_254_characters_is_written_and_255_plus_is_one_line(tmp_path: Path):
    longest = "n" * 250 + ".wav"
    result = voiceguide("export", ROUTINE, "-o", tmp_path / longest, "--no-sidecars")
    assert result.returncode == 0, result.stderr
    too_long = tmp_path / ("n" * 300 + ".wav")
    result = voiceguide("export", ROUTINE, "-o", too_long, "--no-sidecars")
    assert result.returncode == 5
    assert result.stderr == f"error: cannot write {too_long}: File name too long\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [longest]


def test_a_newline_in_the_output_name_is_refused(tmp_path: Path):
    name = str(tmp_path / "a\nb.wav")
    result = voiceguide("export", ROUTINE, "-o", name)
    assert result.returncode == 5
    assert result.stderr == f"error: {name!r}: a file name cannot hold control characters\n"
    assert list(tmp_path.iterdir()) == []
