"""Faults: each is one clear line and an exit code, and leaves no partial file behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import voiceguide

from voiceguide.export import plan_export, write_export
from voiceguide.loader import load_routine
from voiceguide.session import build_session


def mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a file system of its own needs root")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")


@pytest.fixture
def read_only_dir(tmp_path: Path):
    path = tmp_path / "read-only"
    if os.geteuid() != 0:
        path.mkdir()
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mount_tmpfs(path, "ro,size=1m")
    yield path
    subprocess.run(["umount", str(path)], check=True)


@pytest.fixture
def full_disk(tmp_path: Path):
    path = tmp_path / "small"
    mount_tmpfs(path, "size=256k")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_an_existing_file_is_kept_and_nothing_is_synthesized(tmp_path: Path):
    (tmp_path / "hands.wav").write_bytes(b"mine")
    cache = tmp_path / "cache"
    result = voiceguide(
        "export", "back-hands", "-o", tmp_path / "hands.wav", env={"VOICEGUIDE_CACHE": str(cache)}
    )
    assert result.returncode == 5
    assert result.stderr == f"error: {tmp_path / 'hands.wav'} exists; use --force to overwrite it\n"
    assert (tmp_path / "hands.wav").read_bytes() == b"mine"
    assert not cache.exists()  # refused before any work


def test_an_existing_sidecar_is_refused_too(tmp_path: Path):
    (tmp_path / "hands.srt").write_text("mine")
    result = voiceguide("export", "back-hands", "-o", tmp_path / "hands.wav")
    assert (result.returncode, result.stderr) == (
        5,
        f"error: {tmp_path / 'hands.srt'} exists; use --force to overwrite it\n",
    )
    assert files_in(tmp_path) == ["hands.srt"]


def test_force_overwrites(tmp_path: Path):
    (tmp_path / "balls.wav").write_bytes(b"old")
    result = voiceguide("export", "back-massage-ball", "-o", tmp_path / "balls.wav", "--force")
    assert result.returncode == 0
    assert (tmp_path / "balls.wav").read_bytes()[:4] == b"RIFF"


def test_a_read_only_folder(read_only_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    result = voiceguide(
        "export",
        "back-hands",
        "-o",
        read_only_dir / "hands.wav",
        env={"VOICEGUIDE_CACHE": str(cache)},
    )
    assert result.returncode == 5
    reason = "permission denied" if os.geteuid() else "the file system is read-only"
    assert result.stderr == f"error: cannot write to {read_only_dir}: {reason}\n"
    assert files_in(read_only_dir) == [] and not cache.exists()


def test_a_read_only_cache_made_at_full_volume_still_serves_another_volume(tmp_path: Path):
    cache = tmp_path / "cache"
    mount_tmpfs(cache, "size=64m")
    try:
        env = {"VOICEGUIDE_CACHE": str(cache)}
        made = voiceguide(
            "export", "back-hands", "-o", tmp_path / "full.wav", "--volume", "1", env=env
        )
        assert made.returncode == 0, made.stderr
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)
        # No copy at 0.9 is there, and none can be written: the gain is applied as it is read.
        result = voiceguide("export", "back-hands", "-o", tmp_path / "ro.wav", env=env)
        assert (result.returncode, result.stderr) == (0, "")
    finally:
        subprocess.run(["umount", str(cache)], check=True)
    writable = voiceguide(
        "export",
        "back-hands",
        "-o",
        tmp_path / "rw.wav",
        env={"VOICEGUIDE_CACHE": str(tmp_path / "rw")},
    )
    assert writable.returncode == 0
    assert (tmp_path / "ro.wav").read_bytes() == (tmp_path / "rw.wav").read_bytes()


def test_a_full_disk_leaves_nothing_behind(full_disk: Path):
    result = voiceguide(
        "export", "back-hands", "-o", full_disk / "hands.wav", "--tracks", full_disk / "tracks"
    )
    assert result.returncode == 5
    assert result.stderr.startswith(
        f"error: cannot write {full_disk / 'hands.wav'}: the disk is full"
    )
    assert result.stderr.endswith("; nothing was written\n") and result.stderr.count("\n") == 1
    assert files_in(full_disk) == []


def test_an_export_interrupted_while_writing_leaves_nothing_behind(tmp_path: Path):
    routine = load_routine("back-hands")
    session = build_session(routine)
    titles = [s.title for s in session.timeline.steps]
    plan = plan_export(routine.name, titles, tmp_path / "hands.wav", tmp_path / "new" / "tracks")
    written = 0

    def interrupt(samples: int) -> None:
        nonlocal written
        written += samples
        if written > session.timeline.length * 1.5:  # the single file is done, tracks half-way
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_export(session.timeline, session.cue_pcm, plan, interrupt)
    assert files_in(tmp_path) == []  # no file, no temporary, not even the folder it made


def worker_processes(cache: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(cache).encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_ctrl_c_while_synthesizing_stops_at_once_and_cleanly(tmp_path: Path):
    routine = tmp_path / "long.yaml"
    steps = "".join(
        f"  - say: Instruction number {n}, said slowly and calmly.\n" for n in range(300)
    )
    routine.write_text("title: Long\nsteps:\n" + steps)
    cache = tmp_path / "cache"
    export = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voiceguide",
            "export",
            str(routine),
            "-o",
            str(tmp_path / "out" / "long.wav"),
        ],
        env={**os.environ, "VOICEGUIDE_CACHE": str(cache)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list(cache.rglob("*.wav")) and time.monotonic() < deadline:
        time.sleep(0.01)
    export.send_signal(signal.SIGINT)
    stdout, stderr = export.communicate(timeout=30)
    assert (export.returncode, stderr, stdout) == (130, "interrupted\n", "")
    assert not (tmp_path / "out").exists() or files_in(tmp_path / "out") == []
    time.sleep(0.2)
    assert worker_processes(cache) == []
    # What was synthesized before the interruption is whole and used next time.
    assert all(p.stat().st_size > 44 for p in cache.rglob("*.wav"))
    assert not [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".wav"]


def test_no_espeak_ng_says_how_to_install_it(tmp_path: Path):
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if os.geteuid() != 0 or not unshare or not mount:
        pytest.skip("hiding a system library needs root, unshare and mount")
    found = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    libraries = {
        os.path.realpath(line.split("=> ")[1])
        for line in found.splitlines()
        if "libespeak-ng.so" in line
    }
    hide = " && ".join(f"mount --bind /dev/null {lib}" for lib in libraries)
    script = f"{hide} && exec {sys.executable} -m voiceguide show back-hands"
    result = subprocess.run(
        [unshare, "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60
    )
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot hide the library here: {result.stderr.strip()}")
    assert result.returncode == 3
    assert result.stderr == (
        "error: espeak-ng is not installed; install it with 'sudo apt-get install espeak-ng' "
        "(Debian, Ubuntu) or 'brew install espeak-ng' (macOS)\n"
    )


def test_an_unwritable_phrase_cache_says_where_to_put_it(read_only_dir: Path):
    result = voiceguide(
        "show", "back-massage-ball", env={"VOICEGUIDE_CACHE": str(read_only_dir / "cache")}
    )
    assert result.returncode == 5
    assert result.stderr.startswith(
        f"error: cannot write the phrase cache in {read_only_dir / 'cache'}: "
    )
    assert result.stderr.endswith("; set VOICEGUIDE_CACHE to a writable folder\n")


@pytest.mark.parametrize("fmt", ["mp3", "opus", "m4b"])
def test_a_full_disk_leaves_nothing_behind_in_every_format(full_disk: Path, fmt: str):
    result = voiceguide("export", "back-hands", "-o", full_disk / f"hands.{fmt}")
    assert result.returncode == 5, result.stderr
    assert result.stderr.startswith(
        f"error: cannot write {full_disk / f'hands.{fmt}'}: the disk is full"
    )
    assert result.stderr.endswith("; nothing was written\n") and result.stderr.count("\n") == 1
    assert files_in(full_disk) == []


@pytest.mark.parametrize("fmt", ["mp3", "opus", "m4b"])
def test_every_format_interrupted_while_writing_leaves_nothing_behind(tmp_path: Path, fmt):
    routine = load_routine("back-hands")
    session = build_session(routine)
    titles = [s.title for s in session.timeline.steps]
    plan = plan_export(routine.name, titles, tmp_path / "new" / f"hands.{fmt}")
    written = 0

    def interrupt(samples: int) -> None:
        nonlocal written
        written += samples
        if written > session.timeline.length // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_export(session.timeline, session.cue_pcm, plan, interrupt)
    assert files_in(tmp_path) == []
