"""espeak-ng, through its C library (libespeak-ng), loaded afresh for every phrase.

Why not a long-lived engine: espeak-ng keeps state between utterances in static variables
(the wave generator's phase and pitch flutter, among others), so inside one process only the
first phrase repeats exactly; 15 syntheses of one text gave 11 lengths. Re-initialising does
not reset them and terminating then initialising again hangs. Unloading the library
(dlclose) and loading it again does: every phrase is then byte-identical to what the
`espeak-ng` command says for it, whatever was said before. It costs about 25 ms a phrase,
less than starting the command. The library runs in synchronous mode: no thread of its own,
nothing printed, nothing to wait for.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from voiceguide.audio import Clip
from voiceguide.errors import SpeechError
from voiceguide.speech import Speaking, Voice, brief, find_voice

SAMPLE_RATE = 22050
AMPLITUDE = 80  # of espeak-ng's 0-200; the finishing levels it: headroom against clipping
MISSING = (
    "espeak-ng is not installed; install it with 'sudo apt-get install espeak-ng' "
    "(Debian, Ubuntu) or 'brew install espeak-ng' (macOS)"
)
_LIBRARIES = {
    "darwin": ("libespeak-ng.1.dylib", "libespeak-ng.dylib"),
    "win32": ("libespeak-ng.dll",),
}.get(sys.platform, ("libespeak-ng.so.1", "libespeak-ng.so"))
_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: the callback runs inside espeak_Synth
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors, never exit()
_RATE, _VOLUME = 1, 2
_CHARS_UTF8, _ENDPAUSE = 1, 0x1000
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _VoiceStruct(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, code, NUL)... then a zero byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


class EspeakEngine:
    name = "espeak"
    default_voice = "en-us"

    def __init__(self) -> None:
        self._voices: list[Voice] | None = None
        self._version: str | None = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def identity(self) -> str:
        if self._version is None:
            with _library() as lib:
                lib.espeak_Info.restype = ctypes.c_char_p
                self._version = lib.espeak_Info(None).decode("utf-8", "replace")
        return f"espeak-ng {self._version} amplitude {AMPLITUDE}"

    def voices(self) -> list[Voice]:
        if self._voices is None:
            with _library() as lib:
                self._voices = _list_voices(lib)
        return self._voices

    def synthesize(self, text: str, speaking: Speaking) -> Clip:
        voice = find_voice(speaking.voice, self.voices())
        chunks: list[bytes] = []

        def collect(wav, count, events) -> int:
            if count > 0:
                chunks.append(ctypes.string_at(wav, count * 2))
            return 0  # go on

        callback = _CALLBACK(collect)
        with _library() as lib:
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(voice.id.encode("utf-8")) != 0:
                raise SpeechError(f"espeak-ng cannot load the voice '{voice.id}'")
            lib.espeak_SetParameter(_RATE, speaking.rate, 0)
            lib.espeak_SetParameter(_VOLUME, AMPLITUDE, 0)
            data = text.encode("utf-8")
            lib.espeak_Synth.argtypes = (
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            )  # fmt: skip
            status = lib.espeak_Synth(
                data, len(data) + 1, 0, 1, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
            )
            if status != 0:
                raise SpeechError(f"espeak-ng failed on '{brief(text)}' (status {status})")
        return Clip(b"".join(chunks), SAMPLE_RATE)


@contextmanager
def _library() -> Iterator[ctypes.CDLL]:
    """libespeak-ng, loaded privately and initialised; unloaded again afterwards, so that the
    next use starts from the library's initial state."""
    lib = _load()
    try:
        if lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _DONT_EXIT) <= 0:
            raise SpeechError("espeak-ng cannot start: its data files are missing")
        yield lib
    finally:
        lib.espeak_Terminate()
        _unload(lib)


def _load() -> ctypes.CDLL:
    for name in _LIBRARIES:
        try:
            return ctypes.CDLL(name, mode=getattr(os, "RTLD_LOCAL", 0))
        except OSError:
            continue
    raise SpeechError(MISSING)


def _unload(lib: ctypes.CDLL) -> None:
    import _ctypes

    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(lib._handle)


def _list_voices(lib: ctypes.CDLL) -> list[Voice]:
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
    found = lib.espeak_ListVoices(None)
    voices = []
    i = 0
    while found[i]:
        v = found[i].contents
        gender = {1: "male", 2: "female"}.get(v.gender)
        # Lower case, as the voices folder's names are matched (and as users type them).
        identifier = (v.identifier or b"").decode("utf-8", "replace").lower()
        name = (v.name or b"").decode("utf-8", "replace") or identifier
        voices.append(Voice(identifier, name, _languages(v.languages), gender))
        i += 1
    return voices


def _languages(address: int | None) -> tuple[str, ...]:
    """espeak's packed list: a priority byte, then a NUL-terminated code, until a zero byte."""
    languages = []
    while address and ctypes.string_at(address, 1) != b"\0":
        code = ctypes.string_at(address + 1)
        languages.append(code.decode("ascii", "replace"))
        address += 2 + len(code)
    return tuple(languages)
