"""Files that appear whole or not at all, all together, even across a crash or a power loss.

`AtomicFiles` writes each file under a short temporary name beside its final one
(`.vg-<pid>-<random>-<n>.part`) and syncs it to disk. `commit()` then, holding each folder's lock:

1. refuses a file that appeared meanwhile, unless told to overwrite (of two exports to one name,
   exactly one wins);
2. writes and syncs a commit record (`.vg-<pid>-<random>.commit`, one in each folder) naming every
   rename it is about to do;
3. sets each replaced file aside (`.old`), renames each new file into place, syncs the folders;
4. removes the set-aside files, then the record.

A rename that fails part-way is undone at once (the record is first turned round, so that a crash
during the undo is undone too). A crash at any instant leaves a record, or temporaries of a
process that no longer runs: `recover(paths)`, called before anything touches those paths again,
finishes what the record says (forward to the complete new set, or back to the complete old
one) and removes the leftovers. Dead or alive is judged by process id, so folders shared between
machines or PID namespaces are not cleaned up for each other's processes... unless one dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from voiceguide.errors import OutputError

LOCK_NAME = ".voiceguide.lock"
# .vg-PID-RANDOM-N.part or .old, .vg-PID-RANDOM.commit (and .commit.new while it is written)
_LEFTOVER = re.compile(r"\.vg-(\d+)-[0-9a-f]{8}(?:-\d+\.(?:part|old)|(\.commit)(\.new)?)")


class AtomicFiles:
    """with AtomicFiles() as files: write through files.open(path) ...; files.commit()

    With `overwrite=False`, a file that exists at the commit is an OutputError ("exists"),
    and nothing is written."""

    def __init__(self, overwrite: bool = True) -> None:
        self.overwrite = overwrite
        self.transaction = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.pending: list[tuple[Path, Path]] = []
        self.current: Path | None = None  # the file being written or renamed, for messages

    @contextlib.contextmanager
    def open(self, final: Path, meanwhile: Callable[[], None] | None = None) -> Iterator[IO[bytes]]:
        """The new file, to write `final` with. `meanwhile` is called as the file is synced
        to disk, once it is written (its error, or the sync's, is raised)."""
        self.current = final
        temporary = final.with_name(f".vg-{self.transaction}-{len(self.pending)}.part")
        # Registered before it exists, so an interruption inside os.open still removes it.
        self.pending.append((temporary, final))
        # os.open with 0o666 lets the umask decide permissions, as for any new file.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            _sync_file(handle.fileno(), meanwhile)  # on disk before a rename makes it the only copy

    def commit(self) -> None:
        entries = [
            _Entry(_absolute(tmp), _absolute(final), _absolute(tmp.with_suffix(".old")))
            for tmp, final in self.pending
        ]
        folders = sorted({entry.final.parent for entry in entries})
        with _locked(folders):
            for entry in entries:
                entry.existed = os.path.lexists(entry.final)
                if entry.existed and not self.overwrite:
                    raise OutputError(f"{entry.final} exists; use --force to overwrite it")
            records = [folder / f".vg-{self.transaction}.commit" for folder in folders]
            _write_records(records, entries, "forward")
            try:
                for entry in entries:
                    self.current = entry.final
                    _forward(entry)
                _sync(folders)
            except BaseException:
                with contextlib.suppress(OSError):  # a full disk, say: undo all the same
                    _write_records(records, entries, "back")
                _finish(records, entries, "back")
                raise
            _finish(records, entries, "forward")
        self.pending = []

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for temporary, _ in self.pending:
            with contextlib.suppress(OSError):
                temporary.unlink()


def recover(paths: Iterable[Path]) -> None:
    """Before touching `paths`: finish or undo any commit that a dead process left in their
    folders, and remove its temporaries. Afterwards each set is whole, old or new."""
    for folder in sorted({_absolute(Path(p)).parent for p in paths}):
        try:
            names = os.listdir(folder)
        except OSError:
            continue  # not there yet (the export will make it), or not a folder
        dead = {m.group(0): m for m in map(_LEFTOVER.fullmatch, names) if m and _dead(m)}
        if not dead and LOCK_NAME not in names:
            continue
        with _locked([folder]):
            for name, match in dead.items():
                if match.group(2) and not match.group(3):  # a record: finish what it names
                    _replay(folder / name)
            for name in dead:
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()  # temporaries no record claims
            _sync([folder])


class _Entry:
    def __init__(self, temporary: Path, final: Path, old: Path, existed: bool = False):
        self.temporary, self.final, self.old, self.existed = temporary, final, old, existed

    def describe(self) -> list:
        return [str(self.temporary), str(self.final), str(self.old), self.existed]


def _forward(entry: _Entry) -> None:
    """This entry's renames, each done only if not done yet: a replay may repeat them."""
    if not os.path.lexists(entry.temporary):
        return
    if entry.existed and not os.path.lexists(entry.old) and os.path.lexists(entry.final):
        os.replace(entry.final, entry.old)
    os.replace(entry.temporary, entry.final)


def _back(entry: _Entry) -> None:
    if os.path.lexists(entry.old):
        os.replace(entry.old, entry.final)  # over the new file, if it got there
    elif not entry.existed and not os.path.lexists(entry.temporary):
        with contextlib.suppress(FileNotFoundError):
            entry.final.unlink()  # the new file, where there was none
    with contextlib.suppress(FileNotFoundError):
        entry.temporary.unlink()


def _finish(records: list[Path], entries: list[_Entry], direction: str) -> None:
    """Complete the commit in `direction`; then the set-aside files and the records go."""
    for entry in entries if direction == "forward" else reversed(entries):
        _forward(entry) if direction == "forward" else _back(entry)
    folders = sorted({entry.final.parent for entry in entries})
    _sync(folders)
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            entry.old.unlink()
    for record in records:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
    _sync(folders)


def _write_records(records: list[Path], entries: list[_Entry], direction: str) -> None:
    text = json.dumps(
        {"direction": direction, "entries": [entry.describe() for entry in entries]}
    ).encode("utf-8")
    for record in records:
        turned = record.with_name(record.name + ".new")  # replaced whole, never half-written
        with open(turned, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(turned, record)
    _sync(sorted({record.parent for record in records}))


def _replay(record: Path) -> None:
    try:
        described = json.loads(record.read_bytes())
        entries = [
            _Entry(Path(t), Path(f), Path(o), bool(e)) for t, f, o, e in described["entries"]
        ]
        direction = described["direction"]
    except (OSError, ValueError, KeyError, TypeError):
        # Cut off while being written: no rename had started. Its temporaries go.
        return
    records = [entry.final.parent / record.name for entry in entries]
    _finish(sorted(set(records)), entries, direction)


def _dead(match: re.Match) -> bool:
    pid = int(match.group(1))
    return pid != os.getpid() and not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether a process of that id runs (ours or someone else's): who left a file behind."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


@contextlib.contextmanager
def _locked(folders: list[Path]) -> Iterator[None]:
    """Each folder's lock, taken in order (so two takers never wait for each other)."""
    with contextlib.ExitStack() as stack:
        for folder in folders:
            stack.enter_context(_folder_lock(folder))
        yield


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): commits are still atomic, not exclusive
        yield
        return
    path = folder / LOCK_NAME
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        # The holder before us removes the file as it lets go: ours must still be the one there.
        try:
            same = os.path.samestat(os.fstat(descriptor), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(descriptor)


def _sync_file(descriptor: int, meanwhile: Callable[[], None] | None) -> None:
    """fsync, by a thread while `meanwhile` runs here: the sync waits for the disk, not for
    the interpreter. The thread is waited for before this returns, however `meanwhile` ends
    (a signal included: it is raised here, not in cleanup code later)."""
    if meanwhile is None:
        os.fsync(descriptor)
        return
    failed: list[OSError] = []

    def sync() -> None:
        try:
            os.fsync(descriptor)
        except OSError as e:
            failed.append(e)

    syncing = threading.Thread(target=sync, name="voiceguide-sync")
    syncing.start()
    try:
        meanwhile()
    finally:
        syncing.join()
    if failed:
        raise failed[0]


def _sync(folders: Iterable[Path]) -> None:
    """Make renames and removals in these folders durable."""
    for folder in folders:
        try:
            descriptor = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(descriptor)
        except OSError:
            pass  # a file system that cannot sync a folder
        finally:
            os.close(descriptor)


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))
