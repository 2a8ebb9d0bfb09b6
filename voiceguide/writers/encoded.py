"""What the libsndfile-based writers (MP3, Opus) share: the optional soundfile import, and the
session's pieces as blocks of int16 samples for its encoder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any, BinaryIO

from voiceguide.errors import EncoderMissing

INSTALL = "pip install 'voiceguide[encoders]'"
SILENCE_BLOCK = 1 << 16  # samples of silence handed to an encoder at a time


def soundfile(container: str, what: str) -> ModuleType:
    """The soundfile module, if it is installed and its libsndfile writes `container`."""
    try:
        import soundfile
    except (ImportError, OSError):
        raise EncoderMissing(f"{what} export needs soundfile; install it: {INSTALL}") from None
    if container not in soundfile.available_formats():
        version = soundfile.__libsndfile_version__
        raise EncoderMissing(
            f"{what} export needs libsndfile 1.1 or later with {container} (found {version}); "
            f"install it: {INSTALL}"
        )
    return soundfile


def blocks(pieces: Iterable[bytes | int]) -> Iterator[Any]:
    """int16 samples (numpy arrays) for each piece; silence as zeros, in blocks."""
    import numpy as np

    zeros = np.zeros(SILENCE_BLOCK, dtype="<i2")
    for piece in pieces:
        if isinstance(piece, int):
            for start in range(0, piece, SILENCE_BLOCK):
                count = min(SILENCE_BLOCK, piece - start)
                yield zeros[:count]
        else:
            yield np.frombuffer(piece, dtype="<i2")


class Shifted:
    """A file seen from `base` on: what libsndfile writes at 0 lands after what we put first
    (the ID3 tag). Write, seek and tell only: libsndfile never reads back what it writes."""

    def __init__(self, f: BinaryIO, base: int) -> None:
        self.f, self.base = f, base

    def write(self, data: bytes) -> int:
        return self.f.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            offset += self.base
        return self.f.seek(offset, whence) - self.base

    def tell(self) -> int:
        return self.f.tell() - self.base

    def read(self, size: int = -1) -> bytes:  # soundfile asks that it exist
        raise OSError("the output is written, not read")
