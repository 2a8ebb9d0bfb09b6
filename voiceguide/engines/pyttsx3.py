"""The operating system's voices through pyttsx3: nsss on macOS, sapi5 on Windows, and its
espeak driver on Linux. The default engine where libespeak-ng does not load (see `engines`).

Not byte-reproducible: espeak carries state from one utterance to the next inside a process
(the `espeak` engine forks a fresh state for every phrase instead), and nsss and sapi5 promise
nothing. So two cold exports can differ slightly; the phrase cache still makes play and export
of one session identical.

pyttsx3's espeak driver is fragile (DESIGN.md, "Known ground"): `runAndWait` returns before the
file exists, its `stop` resets rate and volume, it prints "Audio saved to ..." from espeak's
thread, and it is not thread-safe. So an engine is initialised once per process and owned by
one thread; it waits for the 'finished-utterance' event; the driver's `stop` is neutralised; and
it runs only inside worker processes (see `voiceguide.workers`), whose stdout goes nowhere.
Its clips are returned raw: the shared finishing trims, fades and levels them.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from voiceguide.audio import AudioFormatError, Clip, read_sound
from voiceguide.errors import SpeechError
from voiceguide.speech import SpeechSettings, Voice, brief, find_voice

MISSING = "pyttsx3 is not installed; install it with 'pip install pyttsx3'"


def driver() -> str:
    return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")


class Pyttsx3Engine:
    """pyttsx3, driven one phrase at a time, with the workarounds its espeak driver needs."""

    name = "pyttsx3"
    default_voice = "en-us"

    def __init__(self) -> None:
        self.driver = driver()
        self._engine = None
        self._finished = threading.Event()
        self._errors: list[BaseException] = []
        self._applied: SpeechSettings | None = None
        self._voices: list[Voice] | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def identity(self) -> str:
        return f"pyttsx3 {_pyttsx3_version()}; {self.driver} {self._library_version()}"

    def _library_version(self) -> str:
        if self.driver != "espeak":
            return sys.platform
        from voiceguide.engines import espeak

        return espeak.EspeakEngine().identity().split(" amplitude")[0]

    def voices(self) -> list[Voice]:
        if self._voices is None:
            self._voices = [
                Voice(v.id, v.name or v.id, tuple(map(_text, v.languages or ())), _gender(v.gender))
                for v in self._live().getProperty("voices")
            ]
        return self._voices

    def synthesize(self, text: str, speaking: SpeechSettings) -> Clip:
        engine = self._live()
        self._apply(engine, speaking)
        # nsss writes AIFF whatever the name says; read_sound looks at the bytes.
        path = Path(self._folder.name) / "phrase.wav"
        path.unlink(missing_ok=True)
        self._finished.clear()
        self._errors.clear()
        engine.save_to_file(text, str(path))  # one file a runAndWait: queued ones are lost
        engine.runAndWait()
        # runAndWait returns before espeak's thread has written the file: wait for the event.
        if not self._finished.wait(timeout=20):
            raise SpeechError(f"the speech engine did not finish the phrase '{brief(text)}'")
        if self._errors:
            raise SpeechError(f"the speech engine failed: {self._errors[0]}")
        try:
            return read_sound(path)
        except AudioFormatError as e:
            raise SpeechError(f"the speech engine wrote no usable audio: {e}") from None

    def _failed(self, exception: BaseException | None = None, **_: object) -> None:
        # An error ends the utterance as surely as finishing it: stop waiting at once.
        self._errors.append(exception or SpeechError("unknown error"))
        self._finished.set()

    def _apply(self, engine, speaking: SpeechSettings) -> None:
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
            raise SpeechError(MISSING) from None
        self._library_version()  # a clear message if espeak-ng is missing
        try:
            engine = pyttsx3.init(self.driver)
        except Exception as e:  # pyttsx3 raises whatever its driver raised
            raise SpeechError(f"cannot start the '{self.driver}' speech engine: {e}") from None
        engine.connect("finished-utterance", lambda **_: self._finished.set())
        engine.connect("error", self._failed)
        if self.driver == "espeak":
            # Its stop() calls espeak_Cancel, which resets rate and volume mid-way through a loop.
            engine.proxy._driver.stop = lambda: None
        self._folder = tempfile.TemporaryDirectory(prefix="voiceguide-")
        self._engine = engine
        return engine


def _text(language: str | bytes) -> str:
    # The espeak driver gives languages as bytes with a priority byte in front.
    if isinstance(language, bytes):
        return language.lstrip(b"\x00\x01\x02\x03\x04\x05").decode("utf-8", "replace")
    return language


def _gender(gender: str | None) -> str | None:
    return gender.lower() if gender else None  # 'Male' from the espeak driver


def _pyttsx3_version() -> str:
    # The dist-info folder's name: importlib.metadata costs more start-up time than the rest of
    # a warm export's imports.
    try:
        import pyttsx3
    except ImportError:
        return "missing"
    for info in Path(pyttsx3.__file__).parent.parent.glob("pyttsx3-*.dist-info"):
        return info.name.removeprefix("pyttsx3-").removesuffix(".dist-info")
    return "unknown"
