"""What happens to every engine's phrase before it is cached: the same for all engines.

Trim by threshold (neural voices start and end with faint noise, not exact zeros), fade both
ends so joins never click, then set the loudness to one target that the chimes share, with
peaks kept below -1 dBFS. So any engine's speech and the chimes sound equally loud.

numpy does the arithmetic: sample by sample in Python, finishing took four times as long as
espeak-ng took to speak (2.3 s against 0.6 s for the benchmark's 64 phrases).
"""

from __future__ import annotations

import math

import numpy as np

from voiceguide.audio import Clip
from voiceguide.sounds import SPEECH_LOUDNESS

TRIM_THRESHOLD = 10 ** (-54 / 20) * 32768  # -54 dBFS: below any syllable, above engine hiss
TRIM_BEFORE = 0.010  # seconds kept before the first sample above the threshold (an onset)
TRIM_AFTER = 0.030  # and after the last (a decay)
FADE_SECONDS = 0.005
PEAK_CEILING = -1.0  # dBFS
BLOCK, GATE = 0.05, 20.0  # the loudness measure of `audio.loudness_dbfs`, which the chimes use


def finish(clip: Clip, volume: float) -> Clip:
    """The clip trimmed, faded, and at the session's loudness for `volume`."""
    rate = clip.sample_rate
    x = trimmed(np.frombuffer(clip.pcm, dtype="<i2"), rate).astype(np.float64)
    if not len(x):
        return Clip(b"", rate)
    faded(x, round(FADE_SECONDS * rate))
    x = levelled(x, rate, volume)
    return Clip(x.astype("<i2").tobytes(), rate)


def trimmed(x: np.ndarray, rate: int) -> np.ndarray:
    """Without what is quieter than the threshold at both ends, but for a margin for onsets
    and decays. (Compared as whole samples, in place: no copy of the clip is made for it.)"""
    below = math.floor(TRIM_THRESHOLD) if x.dtype.kind == "i" else TRIM_THRESHOLD
    loud = (x > below) | (x < -below)
    if not loud.any():
        return x[:0]
    first, last = int(np.argmax(loud)), len(x) - 1 - int(np.argmax(loud[::-1]))
    start = max(0, first - round(TRIM_BEFORE * rate))
    end = min(len(x), last + 1 + round(TRIM_AFTER * rate))
    return x[start:end].copy()


def faded(x: np.ndarray, count: int) -> None:
    """A raised-cosine fade in and out, in place: the clip starts and ends at zero."""
    count = min(count, len(x) // 2)
    if count < 1:
        return
    weight = 0.5 - 0.5 * np.cos(np.pi * np.arange(count) / count)
    x[:count] = np.rint(x[:count] * weight)
    x[len(x) - count :] = np.rint(x[len(x) - count :] * weight[::-1])


def levelled(x: np.ndarray, rate: int, volume: float) -> np.ndarray:
    """Gain to the target loudness (the chimes' at this volume), unless peaks would pass the
    ceiling: then as loud as the ceiling allows."""
    loudness = gated_loudness(x, rate)
    peak = float(np.max(np.abs(x)))
    if loudness == -math.inf or peak == 0:
        return x
    target = SPEECH_LOUDNESS + 20 * math.log10(volume)
    gain_db = min(target - loudness, PEAK_CEILING - 20 * math.log10(peak / 32768))
    x *= 10 ** (gain_db / 20)  # in place: the clip is ours (a trimmed copy)
    return np.clip(np.rint(x, out=x), -32768, 32767, out=x)


def gated_loudness(x: np.ndarray, rate: int) -> float:
    """RMS (dBFS) over the 50 ms blocks within 20 dB of the loudest, as for the chimes."""
    size = max(1, round(BLOCK * rate))
    count = len(x) // size
    if count == 0:
        return -math.inf
    powers = np.sum(x[: count * size].reshape(count, size) ** 2, axis=1) / size
    if powers.max() == 0:
        return -math.inf
    loud = powers[powers >= powers.max() * 10 ** (-GATE / 10)]
    return 10 * math.log10(float(np.mean(loud)) / 32768**2)
