"""What the encoded formats share: the optional imports of their encoders (soundfile's
libsndfile for Opus, lameenc for MP3), and the session's pieces as blocks of int16 samples."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

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


def lameenc(what: str) -> ModuleType:
    """The lameenc module (LAME), if it is installed."""
    try:
        import lameenc
    except (ImportError, OSError):
        raise EncoderMissing(f"{what} export needs lameenc; install it: {INSTALL}") from None
    return lameenc


def counted(pieces: Iterable[bytes | int], progress) -> Iterator[bytes | int]:
    """The pieces, telling `progress` how many samples each held as it is taken."""
    for piece in pieces:
        yield piece
        if progress:
            progress(piece if isinstance(piece, int) else len(piece) // 2)


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


class Guarded:
    """A file libsndfile writes through Python callbacks. An exception cannot cross that C
    boundary (cffi prints it and carries on), so `write`, `seek` and `tell` keep the first one
    (a short write, position 0), and `encode` raises it once libsndfile has given up.
    Subclasses say what they do in `put`, `move` and `where`."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        if self.error is None:
            try:
                self.put(data)
                return len(data)
            except BaseException as e:  # a full disk, or Ctrl-C
                self.error = e
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._guarded(lambda: self.move(offset, whence))

    def tell(self) -> int:
        return self._guarded(self.where)

    def _guarded(self, action: Callable[[], int]) -> int:
        if self.error is None:
            try:
                return action()
            except BaseException as e:  # flushing what is buffered: a full disk
                self.error = e
        return 0

    def put(self, data: bytes) -> None:
        raise NotImplementedError

    def move(self, offset: int, whence: int) -> int:
        raise NotImplementedError

    def where(self) -> int:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:  # soundfile asks that it exist
        raise OSError("the output is written, not read")


def encode(stream: Guarded, output: Callable[[], Any], feed: Callable[[Any], None]) -> None:
    """Open `output()` (a soundfile.SoundFile on `stream`) and `feed` it, raising the error
    the stream kept, if any, rather than libsndfile's echo of it."""
    try:
        with output() as out:
            feed(out)
    except BaseException:
        if stream.error:
            raise stream.error from None
        raise
    if stream.error:
        raise stream.error


def write_all(out: Any, stream: Guarded, samples: Iterable[Any]) -> None:
    """Every block into `out`, stopping at the stream's first error."""
    for block in samples:
        out.write(block)
        if stream.error:
            return
