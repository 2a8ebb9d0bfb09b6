"""The sound card, through simpleaudio (imported here only: every other command works on a
machine with no audio stack).

simpleaudio opens ALSA's 'default' device for each sound, and plays each in its own stream, so
sounds started at exact times mix. It must never be handed an empty buffer (it crashes on some
systems), and its `stop` lets what ALSA already holds play out (about 0.2 s through PulseAudio).
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
import time

from voiceguide.errors import PlaybackError


class MissingOutput(PlaybackError):
    """An output that was asked for by name is not installed."""

    exit_code = 3


NO_DEVICE = "no audio output device found ({}); export instead: voiceguide export {}"


class SimpleaudioSink:
    def __init__(self, routine_name: str = "ROUTINE"):
        try:
            import simpleaudio
        except ImportError:
            raise PlaybackError(
                "simpleaudio is not installed; install it with 'pip install simpleaudio'"
            ) from None
        self._simpleaudio = simpleaudio
        self._routine = routine_name
        self._playing: list = []
        self._started = False
        _quiet_alsa()

    def play(self, pcm: bytes, sample_rate: int, at: float | None = None) -> None:
        if not pcm:
            return
        try:
            handle = self._simpleaudio.play_buffer(pcm, 1, 2, sample_rate)
        except Exception as e:  # simpleaudio's error type lives in its private C module
            if not self._started:
                raise PlaybackError(NO_DEVICE.format(_alsa_message(e), self._routine)) from None
            raise PlaybackError(f"lost the audio output device ({_alsa_message(e)})") from None
        self._started = True
        self._playing = [p for p in self._playing if p.is_playing()] + [handle]

    def probe(self, sample_rate: int) -> None:
        """Open the device once with a few milliseconds of silence: a missing device is found
        before the session starts, and the first real cue is not the slow first call."""
        self.play(bytes(2 * (sample_rate // 50)), sample_rate)

    def stop(self) -> None:
        for handle in self._playing:
            handle.stop()

    def close(self, timeout: float = 3.0) -> None:
        """Wait for what is playing to end: simpleaudio's playback threads must not outlive
        the interpreter (that crashes it at exit)."""
        deadline = time.monotonic() + timeout
        while any(h.is_playing() for h in self._playing) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._playing = []


def _alsa_message(error: Exception) -> str:
    text = str(error)
    return (
        text.split("-- MSG: ", 1)[1].strip() if "-- MSG: " in text else text or type(error).__name__
    )


_silent_handler = None


def _quiet_alsa() -> None:
    """ALSA prints its own error lines to stderr when a device fails; voiceguide says one line
    of its own instead."""
    global _silent_handler
    name = ctypes.util.find_library("asound")
    if _silent_handler is not None or name is None:
        return
    try:
        asound = ctypes.CDLL(name)
    except OSError:
        return
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    _silent_handler = handler_type(lambda *args: None)
    asound.snd_lib_error_set_handler(_silent_handler)


class StreamSink:
    """One output stream for the whole session, through PortAudio (the `sounddevice` package,
    imported here only).

    The stream runs from `open` to `close`, playing digital silence between cues, so the sound
    server never suspends the device mid-session (a suspended Bluetooth headset loses the first
    syllable after a hold). Sounds are placed by clock time on the device's own sample clock:
    the player hands each cue over `AHEAD` seconds early with the time it is due, so a player
    woken late under load still starts the cue on time. `stop` drops everything queued, and
    silence follows within the stream's latency.
    """

    AHEAD = 0.25  # seconds before its time that the player hands a sound over
    LATENCY = 0.05  # seconds of audio the stream keeps queued: how soon 'stop' is heard
    LOST_AFTER = 1.5  # seconds without a callback in a running stream: the device is gone

    def __init__(self, routine_name: str = "ROUTINE", clock=time.monotonic):
        try:
            import sounddevice
        except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
            raise PlaybackError(f"streaming output unavailable ({e})") from None
        self._sounddevice = sounddevice
        self._routine = routine_name
        self._clock = clock
        self._lock = threading.Lock()
        self._voices: list[list] = []  # [first frame, samples]: sounds playing or to play
        self._frames = 0  # frames handed to the stream so far
        self._zero: float | None = None  # the clock time at which frame 0 sounds (estimated)
        self._last_callback = 0.0
        self._stream = None
        self._rate = 0
        self._quiet: _StderrFilter | None = None
        _quiet_alsa()

    def probe(self, sample_rate: int) -> None:
        """Open the stream now: a missing device is found before the session starts."""
        self._rate = sample_rate
        sd = self._sounddevice
        self._quiet = self._quiet or _StderrFilter()
        try:
            self._stream = sd.RawOutputStream(
                samplerate=sample_rate,
                channels=1,
                dtype="int16",
                latency=self.LATENCY,
                callback=self._fill,
            )
            self._stream.start()
        except Exception as e:  # sounddevice.PortAudioError, or a bad device setting
            raise PlaybackError(NO_DEVICE.format(_portaudio_message(e), self._routine)) from None
        self._last_callback = self._clock()
        deadline = self._clock() + 2.0
        while self._zero is None and self._clock() < deadline:
            time.sleep(0.005)  # the first callbacks place the stream on the clock
        if self._zero is None:
            self.close()
            raise PlaybackError(NO_DEVICE.format("the stream never started", self._routine))

    def play(self, pcm: bytes, sample_rate: int, at: float | None = None) -> None:
        if not pcm:
            return
        if self._stream is None:
            self.probe(sample_rate)
        self._check()
        with self._lock:
            frame = self._frames if at is None or self._zero is None else self._frame_of(at)
            self._voices.append([max(frame, self._frames), memoryview(pcm).cast("h")])

    def stop(self) -> None:
        with self._lock:
            self._voices = []

    def close(self, timeout: float = 3.0) -> None:
        """Let what is queued play out, then close the stream."""
        deadline = self._clock() + timeout
        while self._busy() and self._clock() < deadline and self._alive():
            time.sleep(0.01)
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.abort() if not self._alive() else self._stream.stop()
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None
        if self._quiet is not None:
            self._quiet.close()
            self._quiet = None

    # -- inside

    def _frame_of(self, at: float) -> int:
        return round((at - self._zero) * self._rate)

    def _busy(self) -> bool:
        with self._lock:
            return any(start + len(s) > self._frames for start, s in self._voices)

    def _alive(self) -> bool:
        return self._stream is not None and self._clock() - self._last_callback < self.LOST_AFTER

    def _check(self) -> None:
        if not self._alive() or not self._stream.active:
            raise PlaybackError("lost the audio output device (the output stream stopped)")

    def _fill(self, out, frames: int, times, status) -> None:
        """PortAudio's callback, on its own thread: the next `frames` samples."""
        now = self._clock()
        # When this block's first frame will sound: now plus what is queued ahead of it.
        zero = (
            now
            + max(times.outputBufferDacTime - times.currentTime, 0.0)
            - self._frames / self._rate
        )
        with self._lock:
            # Smoothed, so that one late callback does not move every sound; it follows the
            # device clock's drift against the system's.
            self._zero = zero if self._zero is None else self._zero + 0.05 * (zero - self._zero)
            first, end = self._frames, self._frames + frames
            block = array.array("h", [0]) * frames
            playing = []
            for voice in self._voices:
                start, samples = voice
                lo, hi = max(start, first), min(start + len(samples), end)
                if lo < hi:
                    _mix(block, lo - first, samples[lo - start : hi - start])
                if start + len(samples) > end:
                    playing.append(voice)
            self._voices = playing
            self._frames = end
            self._last_callback = now
        out[:] = block.tobytes()


def _mix(block: array.array, at: int, samples: memoryview) -> None:
    """Add samples into the block; a block holds one sound almost always, so copy if silent."""
    part = block[at : at + len(samples)]
    if not any(part):
        block[at : at + len(samples)] = array.array("h", samples)
        return
    for i, value in enumerate(samples):
        block[at + i] = max(-32768, min(32767, part[i] + value))


class _StderrFilter:
    """PortAudio's ALSA layer prints its internal errors on stderr ("Expression '...' failed in
    'src/hostapi/alsa/...'"), and its release build has no switch for that; voiceguide says one
    line of its own instead. While a stream is open, file descriptor 2 goes through a pipe that
    passes on every other line."""

    def __init__(self) -> None:
        self.saved = os.dup(2)
        self.read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pass_on, name="voiceguide-stderr", daemon=True)
        self.thread.start()

    def _pass_on(self) -> None:
        with os.fdopen(self.read_end, "rb", closefd=True) as lines:
            for line in lines:
                if not (line.startswith(b"Expression '") or b"src/hostapi/" in line):
                    os.write(self.saved, line)

    def close(self) -> None:
        sys.stderr.flush()
        os.dup2(self.saved, 2)  # the pipe's last write end closes: the reader sees its end
        self.thread.join(timeout=1)
        os.close(self.saved)


def _portaudio_message(error: Exception) -> str:
    return str(error).strip() or type(error).__name__


OUTPUTS = ("auto", "stream", "simpleaudio")


def open_sink(routine_name: str, sample_rate: int, output: str = "auto"):
    """The session's sound output, opened: one stream for the whole session (PortAudio) where
    it is available, else simpleaudio, a stream per sound."""
    if output in ("auto", "stream"):
        try:
            sink = StreamSink(routine_name)
        except PlaybackError:
            if output == "stream":
                raise MissingOutput(
                    "streaming output needs the PortAudio library "
                    "(Debian: apt install libportaudio2) and 'pip install sounddevice'"
                ) from None
        else:
            sink.probe(sample_rate)
            return sink
    sink = SimpleaudioSink(routine_name)
    sink.probe(sample_rate)
    return sink
