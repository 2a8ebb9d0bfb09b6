"""Make the bundled chimes in sounds/: python tools/make_chimes.py [OUTDIR]

Each chime is a few decaying sine partials (a bell, a bowl, a wood block), synthesized
deterministically, faded in over a few milliseconds and out to exact zero, and scaled to the
loudness of espeak-ng's speech at full volume, so that chimes and voice sit at one level.
"""

from __future__ import annotations

import math
import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceguide.audio import loudness_dbfs, wav_header

RATE = 22050
TARGET_LOUDNESS = -20.0  # dBFS, gated: espeak-ng speech at volume 1.0 measures about this
PEAK_LIMIT = -3.0  # dBFS

# A strike: (onset s, fundamental Hz, [(partial ratio, amplitude, decay time constant s), ...])
BELL = [(1.0, 1.0, 0.45), (2.0, 0.45, 0.3), (2.76, 0.3, 0.2), (4.07, 0.12, 0.12)]
SOFT_BELL = [(1.0, 1.0, 0.5), (2.0, 0.3, 0.3), (3.0, 0.1, 0.2)]
BOWL = [(1.0, 1.0, 1.4), (1.004, 0.6, 1.4), (2.71, 0.35, 0.8), (5.15, 0.12, 0.4)]
WOOD = [(1.0, 1.0, 0.035), (2.3, 0.5, 0.02), (3.9, 0.25, 0.012)]

CHIMES = {
    # A single bright strike: press now.
    "hold-start": (1.0, [(0.0, 880.0, BELL)]),
    # Two falling notes: let go.
    "hold-end": (1.25, [(0.0, 659.26, SOFT_BELL), (0.22, 523.25, SOFT_BELL)]),
    # A slow rising arpeggio that rings out: the session is over.
    "session-end": (3.0, [(0.0, 523.25, BOWL), (0.3, 659.26, BOWL), (0.6, 783.99, BOWL)]),
    # Alternatives a routine can pick by name.
    "bell": (1.2, [(0.0, 587.33, BELL)]),
    "bowl": (2.5, [(0.0, 392.0, BOWL)]),
    "wood": (0.35, [(0.0, 1200.0, WOOD)]),
}

ATTACK = 0.004  # seconds of raised-cosine fade-in
RELEASE = 0.08  # seconds of fade-out, ending at exact zero


def synthesize(seconds: float, strikes: list) -> list[float]:
    count = round(seconds * RATE)
    signal = [0.0] * count
    for onset, fundamental, partials in strikes:
        first = round(onset * RATE)
        for ratio, amplitude, decay in partials:
            omega = 2 * math.pi * fundamental * ratio / RATE
            for i in range(count - first):
                t = i / RATE
                signal[first + i] += amplitude * math.exp(-t / decay) * math.sin(omega * i)
        attack = round(ATTACK * RATE)
        for i in range(min(attack, count - first)):
            signal[first + i] *= 0.5 - 0.5 * math.cos(math.pi * i / attack)
    release = round(RELEASE * RATE)
    for i in range(release):
        signal[count - 1 - i] *= 0.5 - 0.5 * math.cos(math.pi * i / release)
    return signal


def to_pcm(signal: list[float]) -> bytes:
    peak = max(abs(x) for x in signal)
    trial = array("h", (round(x / peak * 16384) for x in signal)).tobytes()
    gain = 10 ** ((TARGET_LOUDNESS - loudness_dbfs(trial, RATE)) / 20) * 16384 / peak
    gain = min(gain, 10 ** (PEAK_LIMIT / 20) * 32767 / peak)
    values = array("h", (round(x * gain) for x in signal))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (seconds, strikes) in CHIMES.items():
        pcm = to_pcm(synthesize(seconds, strikes))
        (out_dir / f"{name}.wav").write_bytes(wav_header(len(pcm) // 2, RATE) + pcm)
        print(f"{name}.wav  {seconds:.2f} s")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "sounds"
    )
