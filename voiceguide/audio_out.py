"""The sound card, through simpleaudio (imported here only: every other command works on a
machine with no audio stack).

simpleaudio opens ALSA's 'default' device for each sound, and plays each in its own stream, so
sounds started at exact times mix. It must never be handed an empty buffer (it crashes on some
systems), and its `stop` lets what is buffered play out (the stream buffer: STREAM_BUFFER_MS).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import time

from voiceguide.errors import PlaybackError

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

    def play(self, pcm: bytes, sample_rate: int) -> None:
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
