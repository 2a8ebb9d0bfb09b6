"""Listening for tests: does this audio say these words? (numpy: a test-only dependency)

Speech is compared through its spectrum, frame by frame (log energy in 24 bands, 10 ms apart),
aligned with dynamic time warping: espeak-ng does not repeat itself sample for sample inside
one process, so exact comparison only works against the cache entry that was used.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from itertools import pairwise
from pathlib import Path

import numpy as np

from voiceguide.audio import trim_silence

FRAME, HOP = 512, 220


def features(pcm: bytes) -> np.ndarray:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    if len(x) < FRAME:
        x = np.pad(x, (0, FRAME - len(x)))
    count = 1 + (len(x) - FRAME) // HOP
    frames = x[np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.geomspace(2, power.shape[1] - 1, 25).astype(int)
    bands = [power[:, a : b + 1].sum(axis=1) for a, b in pairwise(edges)]
    return np.log10(np.stack(bands, axis=1) + 1e-9)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean spectral distance along the best alignment whose tempo stays within 1:2."""
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    previous = np.full(cost.shape[1] + 2, np.inf)
    previous[2] = cost[0, 0]
    for row in cost[1:]:
        best = np.minimum(np.minimum(previous[2:], previous[1:-1]), previous[:-2])
        previous = np.concatenate(([np.inf, np.inf], best + row))
    return float(previous[-1] / len(cost))


def espeak(
    text: str, voice: str = "en-us", rate: int = 135, volume: float = 0.9, trim: bool = True
) -> bytes:
    """The espeak-ng command's own rendering of a text, without its silent ends if `trim`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ref.wav"
        amplitude = str(round(volume * 100))
        command = [
            "espeak-ng",
            "-v",
            voice,
            "-s",
            str(rate),
            "-a",
            amplitude,
            "-w",
            str(path),
            text,
        ]
        subprocess.run(command, check=True)
        with wave.open(str(path)) as f:
            pcm = f.readframes(f.getnframes())
            return trim_silence(pcm) if trim else pcm


def read_wav(path: Path) -> tuple[wave._wave_params, bytes]:
    with wave.open(str(path)) as f:
        return f.getparams(), f.readframes(f.getnframes())


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2")
