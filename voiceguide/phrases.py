"""Phrases for a session: found in the cache, or synthesized into it (see `workers`).

A session's phrases stay on disk, read as they are played (holding them all in memory could
take hundreds of MB). So that a session never loses its audio mid-play: its own later prunes
(words said on resuming) spare all its entries, and an entry another process removed (its
prune, `cache clear`) is made again when it is read, fitted to the length the timeline has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from voiceguide.cache import Entry, PhraseCache, keep_limit
from voiceguide.errors import SpeechError
from voiceguide.pronounce import Pronunciation
from voiceguide.speech import SpeechEngine, SpeechSettings

DEFAULT_SAMPLE_RATE = 22050
REMAKE_TRIES = 3

SynthesisProgress = Callable[[int, int], None]  # phrases made, phrases to make
Arrived = Callable[[dict[str, Entry]], None]  # texts' clips, ready to be read


@dataclass
class Phrases:
    """The clips of one session's phrases, by text."""

    entries: dict[str, Entry]
    voice: str
    synthesized: int = 0  # how many had to be made this time
    # The full-volume entries the copies read here were made from: spared by prunes too.
    sources: frozenset[Path] = frozenset()
    # A text's entry made once more (found again, or synthesized), for one removed meanwhile.
    remake: Callable[[str], Entry] | None = None
    sample_rate: int = field(init=False)

    def __post_init__(self) -> None:
        rates = {entry.sample_rate for entry in self.entries.values()}
        if len(rates) > 1:
            raise SpeechError(f"the speech engine produced several sample rates: {sorted(rates)}")
        self.sample_rate = rates.pop() if rates else DEFAULT_SAMPLE_RATE

    def length(self, text: str) -> int:
        return self.entries[text].length

    def paths(self) -> frozenset[Path]:
        """The cache files these phrases are read from or copied from: what a prune must
        spare."""
        return frozenset(entry.path for entry in self.entries.values()) | self.sources

    def pcm(self, text: str) -> bytes:
        entry = self.entries[text]
        try:
            return entry.read()
        except (OSError, SpeechError):  # removed, or removed and made again, meanwhile
            if self.remake is None:
                raise
        for _ in range(REMAKE_TRIES):  # each may be removed again before it is read
            again = self.remake(text)  # a failing engine raises its own error
            try:
                pcm = again.read()
            except (OSError, SpeechError):
                continue
            # Made again, a phrase may differ by a few samples (espeak-ng does not repeat
            # itself exactly): the timeline, already laid out, keeps its length.
            pcm = pcm[: 2 * entry.length]
            return pcm + bytes(2 * entry.length - len(pcm))
        raise SpeechError(
            f"the phrase cache entry {entry.path} keeps being removed while in use "
            "(is another voiceguide clearing the cache?); try again"
        )


def engine_identity(engine: SpeechEngine) -> str:
    """What the cache keys say about the engine: its name, and what could change its sound."""
    return f"{engine.name}: {engine.identity()}"


def _keys(
    texts: Sequence[str],
    speaking: SpeechSettings,
    engine: SpeechEngine,
    cache: PhraseCache,
    pronunciation: Pronunciation | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Each text as the engine is given it, and the key of its full-volume entry."""
    identity = engine_identity(engine)
    spoken = {t: pronunciation(t) if pronunciation else t for t in texts}
    keys = {t: cache.key(identity, speaking.voice, speaking.rate, spoken[t]) for t in texts}
    return spoken, keys


def full_volume_sources(
    texts: Sequence[str],
    speaking: SpeechSettings,
    engine: SpeechEngine,
    cache: PhraseCache,
    pronunciation: Pronunciation | None = None,
) -> frozenset[Path]:
    """The full-volume entries the texts' copies at `speaking.volume` are made from (none at
    full volume): spared by prunes as much as the copies."""
    if speaking.volume == 1.0:
        return frozenset()
    _, keys = _keys(texts, speaking, engine, cache, pronunciation)
    return frozenset(cache.path(key) for key in keys.values())


def phrases_of(
    entries: dict[str, Entry],
    speaking: SpeechSettings,
    engine: SpeechEngine,
    cache: PhraseCache,
    pronunciation: Pronunciation | None = None,
    sources: frozenset[Path] = frozenset(),
    keep: frozenset[Path] | Callable[[], frozenset[Path]] = frozenset(),
    synthesized: int = 0,
) -> Phrases:
    """A session's phrases from their entries: read as they are, and each made again should
    another process remove it meanwhile (sparing `keep`, or what it gives when called, and
    these in the prune that may follow). The one way a session's Phrases are built, whole
    or in part."""
    voices = {entry.voice for entry in entries.values()}
    voice = voices.pop() if len(voices) == 1 else speaking.voice
    phrases = Phrases(entries, voice, synthesized, sources)

    def remake(text: str) -> Entry:
        in_use = (keep() if callable(keep) else keep) | phrases.paths()
        again = prepare_phrases([text], speaking, engine, cache, None, pronunciation, in_use)
        return again.entries[text]

    phrases.remake = remake
    return phrases


def prepare_phrases(
    texts: Sequence[str],
    speaking: SpeechSettings,
    engine: SpeechEngine,
    cache: PhraseCache,
    progress: SynthesisProgress | None = None,
    pronunciation: Pronunciation | None = None,
    keep: frozenset[Path] = frozenset(),
    arrived: Arrived | None = None,
    stop: threading.Event | None = None,
    meanwhile: Callable[[], frozenset[Path]] | None = None,
) -> Phrases:
    """Every text's clip, synthesizing only those the cache lacks. The engine is given each
    text as `pronunciation` says it; the clips are kept by the written text. Clips are made
    and kept at full volume; below it, each is read from its copy at `speaking.volume`, made
    here if missing. The prune that follows any new entry spares these texts' entries and
    those in `keep` (the rest of a session that is playing).

    Texts are made in the order given; `arrived` hears of the texts' clips as soon as they
    are ready (all those in the cache at once, in one call), and setting `stop` ends the
    synthesis (Stopped). With `arrived`, someone waits for the first texts: the workers
    start one at a time, the first sooner. `meanwhile` is called while the workers make the
    missing texts (not at all if none is missing); the cache files it names are spared by
    the prune that follows."""
    spoken, keys = _keys(texts, speaking, engine, cache, pronunciation)
    full = replace(speaking, volume=1.0)
    gain = speaking.volume
    ready: dict[str, Entry] = {}  # at the session's volume, read as they are: no numpy
    missing: dict[str, str] = {}  # spoken text -> key: each made once
    copied = False
    for text, key in keys.items():
        entry = cache.get(cache.copy_key(key, gain)) if gain != 1.0 else None
        if entry is None and (entry := cache.get(key)) is not None and gain != 1.0:
            entry = cache.copy_at(key, replace(entry, gain=gain), engine.name)  # a new volume
            copied = True
        if entry is None:
            missing[spoken[text]] = key
        else:
            ready[text] = entry
    written: dict[str, list[str]] = {}  # spoken text -> the written texts said that way
    for text in keys:
        written.setdefault(spoken[text], []).append(text)

    def made_now(described: list[dict]) -> None:
        now: dict[str, Entry] = {}
        for d in described:  # the copies at `gain`, below 1
            entry = Entry.from_description(d)
            for text in written[d["text"]]:
                now[text] = entry
        ready.update(now)
        if arrived:
            arrived(now)

    if arrived and ready:
        arrived(dict(ready))  # one call: a warm cache is known whole at once
    spared: frozenset[Path] = frozenset()  # what `meanwhile` made or used
    if missing:
        from voiceguide import workers  # only now: a warm cache needs no worker machinery

        items = list(missing.items())
        if getattr(engine, "isolate", True):
            spared = workers.synthesize_in_workers(
                engine, full, cache.root, items, progress, made_now, stop, gain,
                first_soon=arrived is not None, meanwhile=meanwhile,
            )  # fmt: skip
        else:  # an engine that is safe in this process, like the test suite's
            if meanwhile is not None:
                spared = meanwhile()
            for described in workers.synthesized(engine, full, cache.root, items, gain):
                if stop is not None and stop.is_set():
                    raise workers.Stopped
                made_now([described])
    # The full-volume entries the copies were made from: spared by prunes too.
    sources = frozenset(cache.path(key) for key in keys.values()) if gain != 1.0 else frozenset()
    if missing or copied:  # new entries: the cache may pass its limit
        in_use = keep | sources | spared | frozenset(entry.path for entry in ready.values())
        keep_limit(cache, in_use)
    entries = {text: ready[text] for text in keys}
    return phrases_of(entries, speaking, engine, cache, pronunciation, sources, keep, len(missing))
