"""The speech engine: pyttsx3 (espeak-ng on Linux, nsss on macOS, sapi5 on Windows).

pyttsx3's espeak driver is fragile (DESIGN.md, "Known ground"): `runAndWait` returns before the
file exists, its `stop` resets rate and volume, it prints "Audio saved to ..." from espeak's
thread, and it is not thread-safe. So an engine is initialised once per process and owned by
one thread; it waits for the 'finished-utterance' event; the driver's `stop` is neutralised; and
the real engine runs only inside worker processes (see `voiceguide.phrases`), whose stdout goes
nowhere.
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voiceguide.audio import AudioFormatError, Clip, fade, read_sound, trim_silence
from voiceguide.errors import SpeechError

DEFAULT_VOICE = "en-us"
DEFAULT_RATE = 135  # words a minute: calm; espeak-ng's own default of 175-200 is brisk
DEFAULT_VOLUME = 0.9  # espeak-ng peaks near full scale at 1.0
FADE_SECONDS = 0.002  # at both ends of a phrase, so it starts and ends at zero
MISSING_ESPEAK = (
    "espeak-ng is not installed; install it with 'sudo apt-get install espeak-ng' "
    "(Debian, Ubuntu) or 'brew install espeak-ng' (macOS)"
)


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None = None


@dataclass(frozen=True)
class Speaking:
    """Complete speech settings: what a phrase is synthesized with."""

    voice: str
    rate: int
    volume: float


class SpeechEngine(Protocol):
    """What voiceguide needs from a text-to-speech engine.

    Instances are pickled into worker processes, so they must be cheap to copy and initialise
    any live engine lazily, in the process that uses it.
    """

    name: str

    def identity(self) -> str:
        """Changes whenever the same text and settings could sound different (versions)."""
        ...

    def voices(self) -> list[Voice]: ...

    def synthesize(self, text: str, speaking: Speaking) -> Clip:
        """The phrase as a trimmed, faded clip. Raises SpeechError."""
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
    names = sorted({v.id.rsplit("/", 1)[-1] for v in voices})
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    hint = f"closest: {', '.join(close)}" if close else "see 'voiceguide voices'"
    raise SpeechError(f"unknown voice '{wanted}' ({hint})")


def default_driver() -> str:
    return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")


class Pyttsx3Engine:
    """pyttsx3, driven one phrase at a time, with the workarounds its espeak driver needs."""

    def __init__(self, driver: str | None = None):
        self.name = driver or default_driver()
        self._engine = None
        self._finished = threading.Event()
        self._errors: list[BaseException] = []
        self._applied: Speaking | None = None
        self._voices: list[Voice] | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    def __getstate__(self) -> dict:
        return {"name": self.name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["name"])

    def identity(self) -> str:
        return f"pyttsx3 {_pyttsx3_version()}; {self.name} {self._library_version()}"

    def _library_version(self) -> str:
        if self.name != "espeak":
            return sys.platform
        try:
            from pyttsx3.drivers import _espeak
        except (RuntimeError, OSError, ImportError):
            raise SpeechError(MISSING_ESPEAK) from None
        return _espeak.Info(None).decode("utf-8", "replace")

    def voices(self) -> list[Voice]:
        if self._voices is None:
            self._voices = [
                Voice(v.id, v.name or v.id, tuple(v.languages or ()), v.gender)
                for v in self._live().getProperty("voices")
            ]
        return self._voices

    def synthesize(self, text: str, speaking: Speaking) -> Clip:
        engine = self._live()
        self._apply(engine, speaking)
        # nsss writes AIFF whatever the name says; read_sound looks at the bytes.
        path = Path(self._folder.name) / "phrase.wav"
        path.unlink(missing_ok=True)
        self._finished.clear()
        self._errors.clear()
        engine.save_to_file(text, str(path))
        engine.runAndWait()
        if not self._finished.wait(timeout=30 + len(text) / 10):
            raise SpeechError(f"the speech engine did not finish the phrase '{_brief(text)}'")
        if self._errors:
            raise SpeechError(f"the speech engine failed: {self._errors[0]}")
        try:
            clip = read_sound(path)
        except AudioFormatError as e:
            raise SpeechError(f"the speech engine wrote no usable audio: {e}") from None
        return fade(Clip(trim_silence(clip.pcm), clip.sample_rate), FADE_SECONDS)

    def _failed(self, exception: BaseException | None = None, **_: object) -> None:
        # An error ends the utterance as surely as finishing it: stop waiting at once.
        self._errors.append(exception or SpeechError("unknown error"))
        self._finished.set()

    def _apply(self, engine, speaking: Speaking) -> None:
        # Settings are tracked here: the espeak driver's getProperty('rate') reads back garbage.
        if speaking == self._applied:
            return
        voice = find_voice(speaking.voice, self.voices())
        engine.setProperty("voice", voice.id)
        engine.setProperty("rate", speaking.rate)
        engine.setProperty("volume", speaking.volume)
        self._applied = speaking

    def _live(self):
        if self._engine is not None:
            return self._engine
        try:
            import pyttsx3
        except ImportError:
            raise SpeechError(
                "pyttsx3 is not installed; install it with 'pip install pyttsx3'"
            ) from None
        self._library_version()  # a clear message if espeak-ng is missing
        try:
            engine = pyttsx3.init(self.name)
        except Exception as e:  # pyttsx3 raises whatever its driver raised
            raise SpeechError(f"cannot start the '{self.name}' speech engine: {e}") from None
        engine.connect("finished-utterance", lambda **_: self._finished.set())
        engine.connect("error", self._failed)
        if self.name == "espeak":
            # Its stop() calls espeak_Cancel, which resets rate and volume mid-way through a loop.
            engine.proxy._driver.stop = lambda: None
        self._folder = tempfile.TemporaryDirectory(prefix="voiceguide-")
        self._engine = engine
        return engine


def _pyttsx3_version() -> str:
    # The dist-info folder's name: importlib.metadata costs more start-up time than the rest of
    # a warm export's imports.
    try:
        import pyttsx3
    except ImportError:
        return "missing"
    for info in Path(pyttsx3.__file__).parent.parent.glob("pyttsx3-*.dist-info"):
        return info.name.removeprefix("pyttsx3-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyttsx3")
    except PackageNotFoundError:
        return "unknown"


def _brief(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def silence_stdout() -> None:
    """Send this process's stdout to nowhere, at the file descriptor too (espeak's thread
    prints there). For worker processes only: their stdout is nobody's output."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
