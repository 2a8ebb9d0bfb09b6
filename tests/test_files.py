"""Files that appear whole or not at all, even when a rename fails half-way through a commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voiceguide import files
from voiceguide.files import AtomicFiles


def write_all(folder: Path, names: list[str]) -> None:
    with AtomicFiles() as staged:
        for name in names:
            with staged.open(folder / name) as f:
                f.write(f"new {name}".encode())
        staged.commit()


def test_all_files_appear_together_with_the_umask_permissions(tmp_path: Path):
    write_all(tmp_path, ["a.txt", "b.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path):
    with pytest.raises(RuntimeError), AtomicFiles() as staged:
        with staged.open(tmp_path / "a.txt") as f:
            f.write(b"half")
        raise RuntimeError("the disk went away")
    assert list(tmp_path.iterdir()) == []


def test_a_rename_failing_half_way_puts_everything_back(tmp_path: Path, monkeypatch):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    real_replace = os.replace

    def replace(source, target):
        if Path(target).name == "c.txt":  # the third file cannot be published
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(OSError):
        write_all(tmp_path, ["a.txt", "b.txt", "c.txt"])
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert (tmp_path / "b.txt").read_text() == "old b"


def test_an_interruption_inside_the_open_leaves_no_temporary(tmp_path: Path, monkeypatch):
    real_open = os.open

    def open_then_interrupted(path, flags, mode=0o777):
        real_open(path, flags, mode)  # the file exists; the descriptor never reaches Python
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "open", open_then_interrupted)
    with pytest.raises(KeyboardInterrupt), AtomicFiles() as staged, staged.open(tmp_path / "x"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_failed_replace_of_a_file_that_existed_keeps_the_old_one(tmp_path: Path, monkeypatch):
    # The new file cannot take the old one's place after the old one was set aside: the old
    # one must come back, byte for byte, and nothing else stay behind.
    (tmp_path / "a.txt").write_text("old a")
    real_replace = os.replace

    def replace(source, target):
        if Path(source).name.endswith(".part"):  # the new file's rename, not the setting aside
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(OSError):
        write_all(tmp_path, ["a.txt"])
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a"


def test_a_commit_replaces_an_existing_file_and_leaves_no_set_aside_copy(tmp_path: Path):
    (tmp_path / "a.txt").write_text("old a")
    write_all(tmp_path, ["a.txt", "b.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "new a.txt"
