"""One writer per audio format, behind one small interface, chosen by the output's extension.

A writer module has:
- `check() -> None`: raise EncoderMissing (with the install line) if its encoder is absent;
  called before any synthesis;
- `write(f, audio, progress) -> None`: write `audio` (a Program) into the open, seekable binary
  file `f`.

Writers see only a Program: the samples of a span of the session, as pieces (bytes of 16-bit
mono PCM, or a count of samples of digital silence), plus its chapters, words and tags. They
never see the routine, the engine or the cache. Adding a format is one module here and one
line in FORMATS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

from voiceguide.errors import FormatError

# format name (= module name) -> the extensions that choose it
FORMATS: dict[str, tuple[str, ...]] = {
    "wav": (".wav",),
    "mp3": (".mp3",),
    "opus": (".opus",),
    "m4b": (".m4b", ".m4a"),
}

WriteProgress = Callable[[int], None]  # samples written since the last call


@dataclass(frozen=True)
class Chapter:
    start: int  # first sample, from the start of the program
    end: int
    title: str


@dataclass(frozen=True)
class Words:
    """Spoken text and the sample where it starts: synced lyrics."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str
    album: str
    comment: str
    track: tuple[int, int] | None = None  # (this track, of how many), in --tracks mode


@dataclass(frozen=True)
class Program:
    """What a writer gets: a span of the session, rendered, and what to say about it."""

    sample_rate: int
    length: int  # samples
    pieces: Iterable[bytes | int]  # read once, in order; together exactly `length` samples
    chapters: tuple[Chapter, ...]
    words: tuple[Words, ...]
    tags: Tags

    def lrc(self) -> str:
        """The words as LRC text, times from the start of this program."""
        from voiceguide.sidecars import lrc_text

        rate = self.sample_rate
        return lrc_text(self.tags.title, [(w.start / rate, w.text) for w in self.words])


def format_for(suffix: str) -> str:
    """The format an output file's extension asks for; FormatError lists those there are."""
    for name, extensions in FORMATS.items():
        if suffix.lower() in extensions:
            return name
    known = ", ".join(e for extensions in FORMATS.values() for e in extensions)
    raise FormatError(f"cannot write '{suffix or 'no extension'}' files; use one of {known}")


def writer(name: str) -> ModuleType:
    """The writer module of a format (imported only when asked for: encoders are optional)."""
    if name not in FORMATS:
        raise FormatError(f"unknown format '{name}'; use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"voiceguide.writers.{name}")
