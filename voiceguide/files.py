"""Files that appear whole or not at all: written under a temporary name beside the final one,
renamed into place together when everything is complete, removed on any failure. If a rename
fails half-way through, those already done are undone, and files they replaced come back."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _beside(final: Path, suffix: str) -> Path:
    return final.with_name(f".{final.name}.{os.urandom(4).hex()}.{suffix}")


class AtomicFiles:
    """with AtomicFiles() as files: write through files.open(path) ...; files.commit()"""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []
        self.current: Path | None = None  # the file being written or renamed, for messages

    @contextlib.contextmanager
    def open(self, final: Path) -> Iterator[IO[bytes]]:
        self.current = final
        temporary = _beside(final, "part")
        # os.open with 0o666 lets the umask decide permissions, as for any new file.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.pending.append((temporary, final))
        with os.fdopen(descriptor, "wb") as handle:
            yield handle

    def commit(self) -> None:
        published: list[tuple[Path, Path | None]] = []  # (final, the file it replaced, set aside)
        try:
            for temporary, final in self.pending:
                self.current = final
                previous = None
                if final.exists():
                    previous = _beside(final, "old")
                    os.replace(final, previous)
                try:
                    os.replace(temporary, final)
                finally:
                    published.append((final, previous))
        except BaseException:
            _undo(published)
            raise
        for _, previous in published:
            if previous is not None:
                with contextlib.suppress(OSError):
                    previous.unlink()
        self.pending = []

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for temporary, _ in self.pending:
            with contextlib.suppress(OSError):
                temporary.unlink()


def _undo(published: list[tuple[Path, Path | None]]) -> None:
    """Put back what a half-done commit changed: the new files out, the old ones in."""
    for final, previous in reversed(published):
        with contextlib.suppress(OSError):
            if previous is not None:
                os.replace(previous, final)  # over the new file, if it got there
            else:
                final.unlink()
