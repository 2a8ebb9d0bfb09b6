"""espeak-ng, through its C library (libespeak-ng), so that every phrase is reproducible.

espeak-ng keeps state between utterances in static variables (the wave generator's phase and
pitch flutter, among others), so inside one process only the first phrase repeats exactly; 15
syntheses of one text gave 11 lengths. Re-initialising does not reset that state, and
terminating then initialising again hangs. So a process loads the library once, initialises
it and sets the voice and rate, and never speaks with it: each phrase is said by a fork of
that process, which starts from exactly that state, hands its samples over a pipe and ends
(about 1 ms). Every phrase is then byte-identical to what the `espeak-ng` command says for it,
whatever was said before. Where there is no fork (Windows), the library is unloaded and loaded
again for each phrase instead (about 25 ms). The library runs in synchronous mode: no thread
of its own, nothing printed, nothing to wait for.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import islice

from voiceguide.audio import Clip
from voiceguide.errors import SpeechError
from voiceguide.speech import SpeechSettings, Voice, brief, find_voice

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
# One more than the cores: while the worker finishes and stores a clip, a core is not idle
# (64 phrases, 2 cores, load 3: 1.06 s against 1.10 s with 2 forks and 1.12 s with 4).
FORKS_AT_ONCE = (os.cpu_count() or 1) + 1
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
    sample_rate = SAMPLE_RATE  # of every voice: known before any phrase is made
    # One worker process, given every phrase at once, which says them in forks, one more than
    # the cores at once (`synthesize_many`): a worker a core cost an interpreter and numpy
    # apiece (0.2 s of CPU each) and spoke no faster. Without fork (Windows), a process a core.
    max_workers = 1 if hasattr(os, "fork") else os.cpu_count() or 1

    def __init__(self) -> None:
        self._version: str | None = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def identity(self) -> str:
        if self._version is None:
            lib = _load()  # the version needs no initialisation (a warm export asks only this)
            try:
                lib.espeak_Info.restype = ctypes.c_char_p
                self._version = lib.espeak_Info(None).decode("utf-8", "replace")
            finally:
                _unload(lib)
        return f"espeak-ng {self._version} amplitude {AMPLITUDE}"

    def voices(self) -> list[Voice]:
        return _all_voices()

    def synthesize(self, text: str, speaking: SpeechSettings) -> Clip:
        voice = find_voice(speaking.voice, self.voices())
        if not hasattr(os, "fork"):  # Windows: a library loaded afresh for each phrase
            with _library() as lib:
                return Clip(_Speaker(lib, voice.id, speaking.rate).say(text), SAMPLE_RATE)
        return Clip(_said_in_a_fork(_ready(voice.id, speaking.rate), text), SAMPLE_RATE)

    def synthesize_many(self, texts: list[str], speaking: SpeechSettings) -> Iterator[Clip]:
        """The phrases in order, each said by its own fork as `synthesize` does, FORKS_AT_ONCE
        at once: while they speak, the caller finishes the clips already said. They start
        speaking before this returns, so the caller can get ready meanwhile (the worker
        imports numpy, 0.04 s, while the first phrases are said).

        The forks are made by a fork of this process that does nothing else (`_relay`), not
        by this one: after each fork, every page a process writes faults once more, and the
        caller, finishing clips between forks, spent 0.15 s of CPU on that for 64 phrases."""
        if not hasattr(os, "fork"):
            return (self.synthesize(text, speaking) for text in texts)
        _keep_freed_memory()
        clips = self._relayed_clips(texts, speaking)
        next(clips)  # the relay is forked and speaking; from here, closing the clips ends it
        return clips

    def _relayed_clips(self, texts: list[str], speaking: SpeechSettings) -> Iterator:
        """None once the relay is speaking, then each text's clip."""
        speaker = _ready(find_voice(speaking.voice, self.voices()).id, speaking.rate)
        read_end, write_end = os.pipe()
        _widen(write_end)
        try:
            pid = os.fork()
        except OSError as e:  # too many processes (EAGAIN)
            os.close(read_end)
            os.close(write_end)
            raise SpeechError(f"espeak-ng cannot start: {e.strerror}") from None
        if pid == 0:  # the relay: whatever happens, it never returns into the caller's stack
            try:
                os.close(read_end)
                _relay(speaker, texts, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        try:
            with os.fdopen(read_end, "rb") as relayed:
                yield None
                for text in texts:
                    yield Clip(_relayed(relayed, text), SAMPLE_RATE)
        finally:  # stopped early (an error): the relay drains its forks and ends
            os.waitpid(pid, 0)


def _keep_freed_memory() -> None:
    """glibc keeps 32 MB free at the top of this process's heap rather than handing memory
    back as each phrase's arrays are freed: the worker saying every phrase otherwise faulted
    14,000 pages in again for 64 phrases (25 ms of CPU; a cold export of the hour 0.02 s
    longer). Not for Piper's workers: no faster, 17 MB more each."""
    with suppress(OSError, AttributeError):
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None).mallopt(-2, 32 << 20)  # M_TOP_PAD


def _widen(pipe_end: int) -> None:
    """A pipe that holds a few phrases (1 MB, Linux's default limit, not 64 kB): the relay
    goes on while its reader is busy (importing numpy, writing an entry)."""
    with suppress(OSError, AttributeError, ImportError):
        import fcntl

        fcntl.fcntl(pipe_end, fcntl.F_SETPIPE_SZ, 1 << 20)


class _Speaker:
    """A library set to one voice and rate, saying one text at a time."""

    def __init__(self, lib: ctypes.CDLL, voice: str, rate: int):
        self.lib, self.key, self.chunks = lib, (voice, rate), []
        self.callback = _CALLBACK(self._collect)  # kept: the library calls it
        lib.espeak_SetSynthCallback(self.callback)
        if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != 0:
            raise SpeechError(f"espeak-ng cannot load the voice '{voice}'")
        lib.espeak_SetParameter(_RATE, rate, 0)
        lib.espeak_SetParameter(_VOLUME, AMPLITUDE, 0)
        lib.espeak_Synth.argtypes = (
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        )  # fmt: skip

    def _collect(self, wav, count, events) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # go on

    def say(self, text: str) -> bytes:
        self.chunks.clear()
        data = text.encode("utf-8")
        flags = _CHARS_UTF8 | _ENDPAUSE
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, flags, None, None)
        if status != 0:
            raise SpeechError(f"espeak-ng failed on '{brief(text)}' (status {status})")
        return b"".join(self.chunks)


# This process's library, initialised and set to a voice and rate, that never speaks itself:
# each phrase is said by a fork of it, which starts from exactly that state and then ends.
_READY: list[_Speaker] = []
_VOICES: list[list[Voice]] = []


def _ready(voice: str, rate: int) -> _Speaker:
    if _READY and _READY[0].key == (voice, rate):
        return _READY[0]
    if _READY:
        old = _READY.pop()
        old.lib.espeak_Terminate()
        _unload(old.lib)
    lib = _load()
    _initialise(lib)
    _READY.append(_Speaker(lib, voice, rate))
    return _READY[0]


def _relay(speaker: _Speaker, texts: list[str], out: int) -> None:
    """In a fork: say the texts, each in a fork of this process, FORKS_AT_ONCE at once, and
    pass each one's samples on through `out` in order (a status byte, a length, the samples;
    status 2 and a message for a phrase espeak-ng failed on). Never returns."""
    code = 0
    waiting = iter(texts)
    speaking_now: deque[tuple[int, int, str]] = deque()
    try:  # the first forks too: one that fails (EMFILE, EAGAIN) ends the relay, not more
        speaking_now.extend(_fork_saying(speaker, t) for t in islice(waiting, FORKS_AT_ONCE))
        with os.fdopen(out, "wb") as answers:
            while speaking_now:
                child = speaking_now.popleft()
                try:
                    status, data = 0, _said_by(child)
                except SpeechError as e:
                    status, data = 2, str(e).encode("utf-8")
                speaking_now.extend(_fork_saying(speaker, t) for t in islice(waiting, 1))
                answers.write(struct.pack("<BI", status, len(data)) + data)
                answers.flush()
                if status:
                    break
    except BaseException:  # the caller stopped listening (an error, a stop): end quietly
        code = 1
    finally:  # no fork is left behind
        for child in speaking_now:
            with suppress(BaseException):
                _said_by(child)
        os._exit(code)


def _relayed(relayed, text: str) -> bytes:
    """The next phrase's samples from the relay. Raises SpeechError."""
    head = relayed.read(5)
    if len(head) < 5:
        raise SpeechError(f"espeak-ng failed on '{brief(text)}' (its relay ended)")
    status, size = struct.unpack("<BI", head)
    data = relayed.read(size)
    if len(data) < size:
        raise SpeechError(f"espeak-ng failed on '{brief(text)}' (its relay ended)")
    if status:
        raise SpeechError(data.decode("utf-8", "replace"))
    return data


def _said_in_a_fork(speaker: _Speaker, text: str) -> bytes:
    """What `speaker` says for `text`, said by a child process: about 1 ms to fork, where
    loading and initialising the library again took about 25 ms."""
    return _said_by(_fork_saying(speaker, text))


def _fork_saying(speaker: _Speaker, text: str) -> tuple[int, int, str]:
    """A child process saying `text`: its pid, the pipe its samples come through, the text."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: speak, hand the samples over, vanish (no cleanup: not ours)
        code = 0
        try:
            os.close(read_end)
            pcm = speaker.say(text)
            with os.fdopen(write_end, "wb") as out:
                out.write(pcm)
        except SpeechError:
            code = 2
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_end)
    return pid, read_end, text


def _said_by(child: tuple[int, int, str]) -> bytes:
    pid, read_end, text = child
    with os.fdopen(read_end, "rb") as answer:
        pcm = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SpeechError(f"espeak-ng failed on '{brief(text)}' (status {status})")
    return pcm


def _all_voices() -> list[Voice]:
    """Listed once a process, before any library is kept ready (listing changes its state)."""
    if not _VOICES:
        if _READY:
            _VOICES.append(_list_voices(_READY[0].lib))
        else:
            with _library() as lib:
                _VOICES.append(_list_voices(lib))
    return _VOICES[0]


def _initialise(lib: ctypes.CDLL) -> None:
    if lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _DONT_EXIT) <= 0:
        raise SpeechError("espeak-ng cannot start: its data files are missing")


@contextmanager
def _library() -> Iterator[ctypes.CDLL]:
    """libespeak-ng, loaded privately and initialised; unloaded again afterwards, so that the
    next use starts from the library's initial state."""
    lib = _load()
    try:
        _initialise(lib)
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
