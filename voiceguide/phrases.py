"""Phrases for a session: found in the cache, or synthesized into it (see `workers`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from voiceguide.cache import Entry, PhraseCache, keep_limit
from voiceguide.errors import SpeechError
from voiceguide.pronounce import Pronunciation
from voiceguide.speech import SpeechEngine, SpeechSettings

DEFAULT_SAMPLE_RATE = 22050

SynthesisProgress = Callable[[int, int], None]  # phrases made, phrases to make


@dataclass
class Phrases:
    """The clips of one session's phrases, by text."""

    entries: dict[str, Entry]
    voice: str
    synthesized: int = 0  # how many had to be made this time
    sample_rate: int = field(init=False)

    def __post_init__(self) -> None:
        rates = {entry.sample_rate for entry in self.entries.values()}
        if len(rates) > 1:
            raise SpeechError(f"the speech engine produced several sample rates: {sorted(rates)}")
        self.sample_rate = rates.pop() if rates else DEFAULT_SAMPLE_RATE

    def length(self, text: str) -> int:
        return self.entries[text].length

    def pcm(self, text: str) -> bytes:
        return self.entries[text].read()


def engine_identity(engine: SpeechEngine) -> str:
    """What the cache keys say about the engine: its name, and what could change its sound."""
    return f"{engine.name}: {engine.identity()}"


def prepare_phrases(
    texts: Sequence[str],
    speaking: SpeechSettings,
    engine: SpeechEngine,
    cache: PhraseCache,
    progress: SynthesisProgress | None = None,
    pronunciation: Pronunciation | None = None,
) -> Phrases:
    """Every text's clip, synthesizing only those the cache lacks. The engine is given each
    text as `pronunciation` says it; the clips are kept by the written text. Clips are made
    and kept at full volume; `speaking.volume` is a gain applied as they are read."""
    identity = engine_identity(engine)
    spoken = {t: pronunciation(t) if pronunciation else t for t in texts}
    keys = {t: cache.key(identity, speaking.voice, speaking.rate, spoken[t]) for t in texts}
    full = replace(speaking, volume=1.0)
    entries: dict[str, Entry] = {}
    missing: dict[str, str] = {}  # spoken text -> key: each made once
    for text, key in keys.items():
        entry = cache.get(key)
        if entry is None:
            missing[spoken[text]] = key
        else:
            entries[text] = entry
    if missing:
        from voiceguide import workers  # only now: a warm cache needs no worker machinery

        items = list(missing.items())
        if getattr(engine, "isolate", True):
            made = workers.synthesize_in_workers(engine, full, cache.root, items, progress)
        else:  # an engine that is safe in this process, like the test suite's
            made = workers.synthesize_batch(engine, full, cache.root, items)
        by_spoken = {d["text"]: Entry.from_description(d) for d in made}
        entries.update({t: by_spoken[spoken[t]] for t in keys if t not in entries})
        keep_limit(cache, frozenset(entry.path for entry in entries.values()))
    voices = {entry.voice for entry in entries.values()}
    voice = voices.pop() if len(voices) == 1 else speaking.voice
    gained = {text: replace(entries[text], gain=speaking.volume) for text in keys}
    return Phrases(gained, voice, len(missing))
