"""A session: a routine made audible. Its phrases, its chimes and its timeline, together.

Export and play both start here, so what you export is exactly what you hear.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide import compiler, sounds
from voiceguide.audio import Clip
from voiceguide.cache import PhraseCache
from voiceguide.phrases import Phrases, SynthesisProgress, prepare_phrases
from voiceguide.routine import Routine, SpeechSettings
from voiceguide.speech import (
    DEFAULT_RATE,
    DEFAULT_VOICE,
    DEFAULT_VOLUME,
    Pyttsx3Engine,
    Speaking,
    SpeechEngine,
)
from voiceguide.timeline import Cue, SpeechInfo, Timeline

DEFAULTS = SpeechSettings(DEFAULT_VOICE, DEFAULT_RATE, DEFAULT_VOLUME)


def speaking_for(routine: Routine, overrides: SpeechSettings | None = None) -> Speaking:
    """Defaults, then the routine's speech block, then the command line's options."""
    merged = DEFAULTS.merged(routine.speech).merged(overrides or SpeechSettings())
    assert merged.voice is not None and merged.rate is not None and merged.volume is not None
    return Speaking(merged.voice, merged.rate, merged.volume)


@dataclass(frozen=True)
class Session:
    routine: Routine
    speaking: Speaking
    phrases: Phrases
    chimes: dict[str, Clip]
    timeline: Timeline
    engine: SpeechEngine
    cache: PhraseCache

    def cue_pcm(self, cue: Cue) -> bytes:
        """The samples of a cue: from the phrase cache, or the chime."""
        return self.phrases.pcm(cue.text) if cue.kind == "speech" else self.chimes[cue.role].pcm

    def speak(self, text: str) -> bytes:
        """Words that are not in the timeline (said on resuming a paused session), in the
        session's voice; synthesized now unless the cache has them."""
        return prepare_phrases([text], self.speaking, self.engine, self.cache).pcm(text)


@dataclass(frozen=True)
class _Lengths:
    phrases: Phrases
    chimes: dict[str, Clip]

    @property
    def sample_rate(self) -> int:
        return self.phrases.sample_rate

    def speech(self, text: str) -> int:
        return self.phrases.length(text)

    def chime(self, role: str) -> int:
        return self.chimes[role].length


def build_session(
    routine: Routine,
    overrides: SpeechSettings | None = None,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None = None,
    progress: SynthesisProgress | None = None,
) -> Session:
    """Synthesize what the cache lacks, load the chimes, lay out the timeline."""
    engine = engine or Pyttsx3Engine()
    speaking = speaking_for(routine, overrides)
    script = compiler.expand(routine)  # checks the session's limits before any synthesis
    cache = cache or PhraseCache()
    phrases = prepare_phrases(compiler.phrases(script), speaking, engine, cache, progress)
    chimes = sounds.load_chimes(routine, phrases.sample_rate, speaking.volume, cache)
    info = SpeechInfo(engine.name, phrases.voice, speaking.rate, speaking.volume)
    timeline = compiler.lay_out(
        script, _Lengths(phrases, chimes), info, sounds.chime_names(routine)
    )
    return Session(routine, speaking, phrases, chimes, timeline, engine, cache)
