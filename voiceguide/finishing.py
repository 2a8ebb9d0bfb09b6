"""What happens to every engine's phrase before it is cached: the same for all engines.

Trim by threshold (neural voices start and end with faint noise, not exact zeros), fade both
ends so joins never click, then set the loudness to one target that the chimes share, with
peaks kept below -1 dBFS. So any engine's speech and the chimes sound equally loud.
"""

from __future__ import annotations

import math

from voiceguide.audio import Clip, _samples, fade, loudness_dbfs, peak_dbfs, scale
from voiceguide.sounds import SPEECH_LOUDNESS

TRIM_THRESHOLD = 10 ** (-54 / 20) * 32768  # -54 dBFS: below any syllable, above engine hiss
TRIM_BEFORE = 0.010  # seconds kept before the first sample above the threshold (an onset)
TRIM_AFTER = 0.030  # and after the last (a decay)
FADE_SECONDS = 0.005
PEAK_CEILING = -1.0  # dBFS


def finish(clip: Clip, volume: float) -> Clip:
    """The clip trimmed, faded, and at the session's loudness for `volume`."""
    return level(fade(trim(clip), FADE_SECONDS), volume)


def trim(clip: Clip) -> Clip:
    """Drop what is quieter than the threshold at both ends, keeping a margin for onsets and
    decays."""
    values = _samples(clip.pcm)
    edges = _edges(values)
    if not edges:
        return Clip(b"", clip.sample_rate)
    first, last = edges
    start = max(0, first - round(TRIM_BEFORE * clip.sample_rate))
    end = min(len(values), last + 1 + round(TRIM_AFTER * clip.sample_rate))
    return Clip(clip.pcm[2 * start : 2 * end], clip.sample_rate)


def _edges(values) -> tuple[int, int] | tuple[()]:
    first = next((i for i, v in enumerate(values) if abs(v) > TRIM_THRESHOLD), None)
    if first is None:
        return ()
    last = next(i for i in range(len(values) - 1, -1, -1) if abs(values[i]) > TRIM_THRESHOLD)
    return first, last


def level(clip: Clip, volume: float) -> Clip:
    """Gain to the target loudness (the chimes' at this volume), unless peaks would pass the
    ceiling: then as loud as the ceiling allows."""
    loudness = loudness_dbfs(clip.pcm, clip.sample_rate)
    if loudness == -math.inf:
        return clip
    target = SPEECH_LOUDNESS + 20 * math.log10(volume)
    gain_db = min(target - loudness, PEAK_CEILING - peak_dbfs(clip.pcm))
    return scale(clip, 10 ** (gain_db / 20))
