"""What every speech engine shares: its interface, voices, settings, and the finishing of its
clips (one trim, fade and loudness for every engine; see `voiceguide.finishing`).

The engines themselves are in `voiceguide.engines`, one module each, found by name.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass
from typing import Protocol

from voiceguide.audio import Clip
from voiceguide.errors import SpeechError

DEFAULT_RATE = 135  # words a minute: calm; espeak-ng's own default of 175-200 is brisk
DEFAULT_VOLUME = 0.9


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None = None

    @property
    def language(self) -> str:
        """The voice's main language as a bare code: 'en' for 'en-us' or 'en_US'."""
        first = self.languages[0] if self.languages else self.id.rsplit("/", 1)[-1]
        return first.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class SpeechSettings:
    """Voice, pace, loudness and engine: the one type for speech settings. As a routine's
    `speech:` block or the command line's options, None means 'not said here' (see `merged`);
    once merged with the defaults (`session.speaking_for`) every field is set, and it is what a
    phrase is synthesized with and what a timeline records."""

    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    engine: str | None = None

    def merged(self, over: SpeechSettings) -> SpeechSettings:
        """These settings with every value that `over` gives taking precedence."""
        return SpeechSettings(
            voice=over.voice if over.voice is not None else self.voice,
            rate=over.rate if over.rate is not None else self.rate,
            volume=over.volume if over.volume is not None else self.volume,
            engine=over.engine if over.engine is not None else self.engine,
        )


class SpeechEngine(Protocol):
    """What voiceguide needs from a text-to-speech engine.

    Instances are pickled into worker processes, so they must be cheap to copy and load any
    live engine lazily, in the process that uses it. `synthesize` returns the engine's raw
    speech: voiceguide trims, fades and levels it the same way for every engine. An engine
    whose voices take long to load may also have `load(voice)`, which a worker told the voice
    ahead calls before its first phrase is given (play's first sound waits for less); it
    writes nothing that lasts, since a worker found not needed is killed, even while loading.
    """

    name: str
    default_voice: str

    def identity(self) -> str:
        """Changes whenever the same text and settings could sound different (versions)."""
        ...

    def voices(self) -> list[Voice]: ...

    def synthesize(self, text: str, speaking: SpeechSettings) -> Clip:
        """The phrase, as the engine made it. Raises SpeechError."""
        ...


def find_voice(wanted: str, voices: list[Voice]) -> Voice:
    """The voice named by id ('gmw/en-us'), the id's last part ('en-us'), name or language."""
    key = wanted.strip().lower()
    for match in (
        lambda v: v.id.lower() == key,
        lambda v: v.id.lower().rsplit("/", 1)[-1] == key,
        lambda v: v.name.lower() == key,
        lambda v: key in (language.lower() for language in v.languages),
    ):
        found = [v for v in voices if match(v)]
        if found:
            return found[0]
    names = {v.id.rsplit("/", 1)[-1].lower(): v.id.rsplit("/", 1)[-1] for v in voices}
    close = [names[n] for n in difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.6)]
    hint = f"closest: {', '.join(close)}" if close else "see 'voiceguide voices'"
    raise SpeechError(f"unknown voice '{wanted}' ({hint})")


def voice_of(engine: SpeechEngine, wanted: str) -> Voice:
    """The voice `wanted` names: the engine's own lookup if it has one (Piper's takes paths
    too), else one of its voices by id, name or language."""
    lookup = getattr(engine, "voice", None)
    return lookup(wanted) if lookup is not None else find_voice(wanted, engine.voices())


def brief(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def silence_stdout() -> None:
    """Send this process's stdout to nowhere, at the file descriptor too (an engine's library
    may print there). For worker processes only: their stdout is nobody's output."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
