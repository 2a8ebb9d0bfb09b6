"""Piper's pace against espeak-ng's at the same --rate: python tools/calibrate_piper.py

Pace is words over spoken seconds (finished: trimmed as every phrase is), on the bundled
routines' instructions. Prints, a rate per line, the length_scale voiceguide gives Piper
(voiceguide/engines/piper.py), both paces and Piper's over espeak's (goal: within 10 %).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceguide import bundled
from voiceguide.compiler import expand, phrases
from voiceguide.engines.espeak import EspeakEngine
from voiceguide.engines.piper import PiperEngine, length_scale
from voiceguide.finishing import finish
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings

RATES = (80, 135, 220, 300, 400)


def instructions(limit: int = 24) -> list[str]:
    texts = []
    for name in bundled.routine_names():
        texts += [t for t in phrases(expand(load_routine(name))) if len(t.split()) >= 4]
    return list(dict.fromkeys(texts))[:limit]


def pace(engine, voice: str, rate: int, texts: list[str]) -> float:
    speaking = SpeechSettings(voice, rate, 0.9)
    seconds = sum(finish(engine.synthesize(t, speaking), 0.9).seconds for t in texts)
    return sum(len(t.split()) for t in texts) / seconds * 60


def main() -> None:
    texts = instructions()
    espeak, piper = EspeakEngine(), PiperEngine()
    print(f"{len(texts)} phrases, {sum(len(t.split()) for t in texts)} words")
    print("rate  length_scale  espeak wpm  piper wpm  piper/espeak")
    for rate in RATES:
        a = pace(espeak, "en-us", rate, texts)
        b = pace(piper, "en_US-joe-medium", rate, texts)
        print(
            f"{rate:4}  {length_scale(rate):12.3f}  {a:10.1f}  {b:9.1f}  {b / a:12.3f}", flush=True
        )


if __name__ == "__main__":
    main()
