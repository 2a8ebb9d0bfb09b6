"""Files that appear whole or not at all: written under a temporary name beside the final one,
renamed into place together when everything is complete, removed on any failure."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class AtomicFiles:
    """with AtomicFiles() as files: write through files.open(path) ...; files.commit()"""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []
        self.current: Path | None = None  # the file being written or renamed, for messages

    @contextlib.contextmanager
    def open(self, final: Path) -> Iterator[IO[bytes]]:
        self.current = final
        temporary = final.with_name(f".{final.name}.{os.urandom(4).hex()}.part")
        # os.open with 0o666 lets the umask decide permissions, as for any new file.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.pending.append((temporary, final))
        with os.fdopen(descriptor, "wb") as handle:
            yield handle

    def commit(self) -> None:
        for temporary, final in self.pending:
            self.current = final
            os.replace(temporary, final)
        self.pending = []

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for temporary, _ in self.pending:
            with contextlib.suppress(OSError):
                temporary.unlink()
