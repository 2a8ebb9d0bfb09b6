"""The sound card, through simpleaudio (imported here only: every other command works on a
machine with no audio stack).

simpleaudio opens ALSA's 'default' device for each sound, and plays each in its own stream, so
sounds started at exact times mix. It must never be handed an empty buffer (it crashes on some
systems), and its `stop` lets what is buffered play out (the stream buffer: STREAM_BUFFER_MS).
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import ctypes.util
import math
import os
import sys
import threading
import time

from voiceguide.errors import PlaybackError


class MissingOutput(PlaybackError):
    """An output that was asked for by name is not installed."""

    exit_code = 3


NO_DEVICE = "no audio output device found ({}); export instead: voiceguide export {}"
# simpleaudio asks ALSA for 100 ms of buffer. Measured on a loaded machine (load 11 on 2 cores,
# the sound recorded twice, independently): the player's streams ran dry mid-phrase (zeros
# inserted, 28 to 85 ms), in 6 of 6 sessions. A deeper PulseAudio stream buffer and a higher
# priority for the playback threads, where allowed: 1 of 4. The cost: a pause takes effect
# up to the buffer's length later. PULSE_LATENCY_MSEC set by the user wins.
STREAM_BUFFER_MS = 300
PLAYBACK_NICENESS = -10


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
        _steady_playback()

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


def _steady_playback() -> None:
    """Before the first stream opens: a deeper stream buffer, and (where the system allows it,
    as PulseAudio does for itself) a higher priority, inherited by simpleaudio's threads."""
    os.environ.setdefault("PULSE_LATENCY_MSEC", str(STREAM_BUFFER_MS))
    with contextlib.suppress(OSError):  # an ordinary user may not raise it: nothing changes
        if hasattr(os, "setpriority") and os.getpriority(os.PRIO_PROCESS, 0) > PLAYBACK_NICENESS:
            os.setpriority(os.PRIO_PROCESS, 0, PLAYBACK_NICENESS)


_silent_handler = None


def _default_device_problem() -> str | None:
    """Why ALSA's 'default' playback device cannot be opened, or None (also None where ALSA
    itself is not found: the outputs then say what is wrong)."""
    name = ctypes.util.find_library("asound")
    if name is None:
        return None
    try:
        asound = ctypes.CDLL(name)
    except OSError:
        return None
    _quiet_alsa()
    asound.snd_strerror.restype = ctypes.c_char_p
    pcm = ctypes.c_void_p()
    nonblocking, playback = 1, 0
    error = asound.snd_pcm_open(ctypes.byref(pcm), b"default", playback, nonblocking)
    if error < 0:
        return asound.snd_strerror(error).decode(errors="replace")
    asound.snd_pcm_close(pcm)
    return None


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

    The stream runs from `probe` to `close`, playing digital silence between cues, so the sound
    server never suspends the device mid-session (a suspended Bluetooth headset loses the first
    syllable after a hold). Sounds are placed by clock time on the device's own sample clock:
    the player hands each cue over `AHEAD` seconds early with the time it is due, so a player
    woken late under load still starts the cue on time. `stop` drops everything queued, in
    this object and in the stream's buffers (PortAudio's abort, then a restart), so silence
    follows at once whatever the latency.

    The device's clock keeps the session's time: `clock` is the system's monotonic clock
    plus the device's lead on it, and the player schedules on it, so a cue due at clock time
    `at` is the frame `(at - zero) * rate`, exactly, however far the device's clock drifts from
    the system's. The lead is followed slowly from PortAudio's estimate of when a frame will
    sound (`outputBufferDacTime`, on PortAudio's clock, at a fixed offset from the monotonic
    clock: the smallest difference seen from inside a callback), so a late callback or the
    estimate's wander through PulseAudio moves only when cues are handed over, never where
    they sound. After a restart or an underrun the frames are numbered on from the clock.
    """

    AHEAD = 0.8  # seconds before its time that the player hands a sound over
    LATENCY = 0.3  # seconds of audio the stream keeps queued: room for a late callback
    LOST_AFTER = 1.5  # seconds without a callback in a running stream: the device is gone
    START = 0.5  # seconds from a (re)start to the first sound placed exactly: past the buffer
    SETTLE = 2  # callbacks after a (re)start whose estimates are not used: the prefill
    FOLLOW = 0.01  # how far each callback's estimate moves the device's lead: seconds' average

    def __init__(self, routine_name: str = "ROUTINE", clock=time.monotonic):
        problem = _default_device_problem()
        if problem:
            # Found before PortAudio starts: PortAudio 19.6 aborts the process (an assertion
            # in its ALSA device list) where ALSA has no usable default device.
            raise PlaybackError(NO_DEVICE.format(problem, routine_name))
        try:
            import sounddevice
        except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
            raise MissingOutput(
                "streaming output needs the PortAudio library (Debian: apt install "
                f"libportaudio2) and 'pip install sounddevice' ({e})"
            ) from None
        self._sounddevice = sounddevice
        self._routine = routine_name
        self._clock = clock
        self._lock = threading.Lock()
        # [first frame or None until placed, samples, clock time or None]: playing or to play.
        # Samples are native int16: the PCM is little-endian, as are the machines it runs on.
        self._voices: list[list] = []
        self._frames = 0  # frames handed to the stream so far
        self._zero: float | None = None  # the clock time at which frame 0 sounds
        self._lead = 0.0  # the device's clock minus the system's
        self._offset = math.inf  # the system's clock minus PortAudio's
        self._settling = self.SETTLE  # callbacks to wait before placing the stream again
        self._renumber = False  # the frames stopped following each other: number them anew
        self._latest = 0.0  # the latest time `clock` gave
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
            # A sound for a clock time is placed once the stream is on the clock (at once,
            # unless it is being placed again after a restart).
            frame = self._frame_of(at)
            self._voices.append([frame, memoryview(pcm).cast("h"), at])

    def stop(self) -> None:
        with self._lock:
            self._voices = []
        if self._stream is not None and self._alive():
            with contextlib.suppress(Exception):  # a lost device is found by the next play
                self._stream.abort()  # drops what the stream has buffered
                with self._lock:
                    self._settling = self.SETTLE  # frames were dropped: place the stream again
                    self._renumber = True
                self._stream.start()

    def close(self, timeout: float = 3.0) -> None:
        """Let what is queued play out, then close the stream."""
        deadline = self._clock() + timeout
        while self._busy() and self._clock() < deadline and self._alive():
            time.sleep(0.01)
        if self._stream is not None and self._alive():
            # What was handed over is still in the stream's buffer: let it sound.
            time.sleep(min(self._stream.latency, max(deadline - self._clock(), 0)))
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

    def _frame_of(self, at: float | None) -> int | None:
        """The frame that sounds at clock time `at`; None while the stream is being placed."""
        if self._zero is None or self._settling > 0 or self._renumber:
            return None
        if at is None:
            return self._frames
        return max(round((at - self._zero) * self._rate), self._frames)

    def _busy(self) -> bool:
        with self._lock:
            return any(
                start is None or start + len(s) > self._frames for start, s, _ in self._voices
            )

    def _alive(self) -> bool:
        return self._stream is not None and self._clock() - self._last_callback < self.LOST_AFTER

    def _place(self, times, now: float) -> None:
        """Put the stream on the clock once; then follow the device's lead on the system."""
        if self._settling > 0:
            self._settling -= 1
            return
        self._offset = min(self._offset, now - times.currentTime)
        sounds_at = times.outputBufferDacTime + self._offset  # this block, on the system clock
        if self._zero is None:
            self._zero = sounds_at - self._frames / self._rate
        elif self._renumber:
            # After dropped frames the numbers may go back: nothing queued counts on them.
            self._frames = round((sounds_at + self._lead - self._zero) * self._rate)
            self._renumber = False
        else:
            lead = self._zero + self._frames / self._rate - sounds_at
            self._lead += self.FOLLOW * (lead - self._lead)

    def clock(self) -> float:
        """The session's clock: the device's, in seconds, never going back."""
        self._latest = max(self._latest, self._clock() + self._lead)
        return self._latest

    def _check(self) -> None:
        if not self._alive() or not self._stream.active:
            raise PlaybackError("lost the audio output device (the output stream stopped)")

    def _fill(self, out, frames: int, times, status) -> None:
        """PortAudio's callback, on its own thread: the next `frames` samples."""
        now = self._clock()
        with self._lock:
            if status.output_underflow:
                self._settling = self.SETTLE  # the device played silence of its own
                self._renumber = True
            self._place(times, now)
            first, end = self._frames, self._frames + frames
            block = array.array("h", [0]) * frames
            playing = []
            for voice in self._voices:
                start, samples, at = voice
                if start is None:
                    start = voice[0] = self._frame_of(at)
                    if start is None:
                        playing.append(voice)
                        continue
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
    it is installed, else simpleaudio, a stream a sound. `routine_name` is what the hint
    without a device puts after `voiceguide export` (the routine, and its `--set` values)."""
    sink = None
    if output == "stream" or (output == "auto" and _portaudio_installed()):
        try:
            sink = StreamSink(routine_name)
        except MissingOutput:
            if output == "stream":
                raise
    sink = sink or SimpleaudioSink(routine_name)
    sink.probe(sample_rate)
    return sink


def _portaudio_installed() -> bool:
    """Whether sounddevice and its library are there, found without starting PortAudio."""
    import importlib.util

    try:
        found = importlib.util.find_spec("sounddevice") is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules
        return False
    return found and ctypes.util.find_library("portaudio") is not None
