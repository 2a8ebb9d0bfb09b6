"""A session's length without synthesizing anything: each phrase's length from the phrase
cache where it is there, else estimated from its words and the rate (for `list`).

The estimate is a pace fitted to the bundled routines with espeak-ng (see ESTIMATE_*); the
timeline is laid out by the compiler as for a real session, holds and pauses exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide import compiler, sounds
from voiceguide.cache import PhraseCache
from voiceguide.engines import get_engine
from voiceguide.phrases import DEFAULT_SAMPLE_RATE, engine_identity
from voiceguide.pronounce import Pronunciation
from voiceguide.routine import Routine
from voiceguide.session import settings_for, speaking_for, wording_of
from voiceguide.speech import SpeechSettings

# Fitted by least squares to the bundled routines' phrases as espeak-ng says them at 135 words
# a minute (trimmed): characters predict a phrase's length better than words do.
ESTIMATE_SECONDS_A_CHARACTER = 0.07
ESTIMATE_SECONDS_A_PHRASE = 0.19


@dataclass(frozen=True)
class Length:
    seconds: float
    estimated: bool  # some phrase was not in the cache: its length is a guess


class _CachedOrEstimated:
    def __init__(self, lengths: dict[str, int | None], chimes: dict, rate: int, wpm: int):
        self.lengths, self.chimes, self.sample_rate, self.wpm = lengths, chimes, rate, wpm
        self.estimated = False

    def speech(self, text: str) -> int:
        known = self.lengths[text]
        if known is not None:
            return known
        self.estimated = True
        seconds = len(text) * ESTIMATE_SECONDS_A_CHARACTER * 135 / self.wpm
        return round((seconds + ESTIMATE_SECONDS_A_PHRASE) * self.sample_rate)

    def chime(self, role: str) -> int:
        return self.chimes[role].length


def session_length(
    routine: Routine, overrides: SpeechSettings | None = None, cache: PhraseCache | None = None
) -> Length:
    """How long the routine's session lasts, from the cache or estimated; nothing is
    synthesized or written."""
    engine = get_engine(settings_for(routine, overrides).engine)
    speaking = speaking_for(routine, overrides, engine)
    script = compiler.expand(routine, wording_of(routine, speaking, engine))
    cache = cache or PhraseCache()
    identity = engine_identity(engine)
    say = Pronunciation(routine.pronounce)
    known: dict[str, int | None] = {}
    rates = set()
    for text in compiler.phrases(script):
        entry = cache.get(cache.key(identity, speaking.voice, speaking.rate, say(text)))
        known[text] = entry.length if entry else None
        if entry:
            rates.add(entry.sample_rate)
    rate = rates.pop() if len(rates) == 1 else DEFAULT_SAMPLE_RATE
    chimes = sounds.load_chimes(routine, rate, 1.0, cache=None)
    lengths = _CachedOrEstimated(known, chimes, rate, speaking.rate)
    info = SpeechSettings(speaking.voice, speaking.rate, speaking.volume, engine.name)
    timeline = compiler.lay_out(script, lengths, info, sounds.chime_names(routine))
    return Length(timeline.duration, lengths.estimated)
