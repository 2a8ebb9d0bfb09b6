"""Phrases for a session: found in the cache, or synthesized into it by worker processes.

The real engine never runs in the calling process: workers are started with `spawn` (forking
after pyttsx3 initialises hangs), ignore Ctrl-C (the caller handles it), and send their stdout
nowhere. Separate processes synthesize safely in parallel; threads would not.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from voiceguide.cache import Entry, PhraseCache
from voiceguide.errors import SpeechError
from voiceguide.speech import Speaking, SpeechEngine, find_voice, silence_stdout

DEFAULT_SAMPLE_RATE = 22050
PHRASES_PER_TASK = 4
MAX_WORKERS = 8

Progress = Callable[[int, int], None]


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


def prepare_phrases(
    texts: Sequence[str],
    speaking: Speaking,
    engine: SpeechEngine,
    cache: PhraseCache,
    progress: Progress | None = None,
) -> Phrases:
    """Every text's clip, synthesizing only those the cache lacks."""
    identity = engine.identity()
    keys = {
        text: cache.key(identity, speaking.voice, speaking.rate, speaking.volume, text)
        for text in texts
    }
    entries: dict[str, Entry] = {}
    missing = []
    for text, key in keys.items():
        entry = cache.get(key)
        if entry is None:
            missing.append((text, key))
        else:
            entries[text] = entry
    if missing:
        run = _synthesize_here if not getattr(engine, "isolate", True) else _synthesize_in_workers
        entries.update(run(engine, speaking, cache.root, missing, progress))
    voices = {entry.voice for entry in entries.values()}
    voice = voices.pop() if len(voices) == 1 else speaking.voice
    return Phrases({text: entries[text] for text in keys}, voice, len(missing))


def worker_count(missing: int) -> int:
    """Processes worth starting for this many phrases: each costs an interpreter's start-up."""
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 1) * 2, missing // (2 * PHRASES_PER_TASK)))


def _synthesize_in_workers(engine, speaking, cache_root, missing, progress) -> dict[str, Entry]:
    tasks = [missing[i : i + PHRASES_PER_TASK] for i in range(0, len(missing), PHRASES_PER_TASK)]
    entries: dict[str, Entry] = {}
    pool = ProcessPoolExecutor(
        max_workers=min(worker_count(len(missing)), len(tasks)),
        mp_context=get_context("spawn"),
        initializer=_start_worker,
        initargs=(engine,),
    )
    try:
        futures = [
            pool.submit(_synthesize_batch, None, speaking, cache_root, task) for task in tasks
        ]
        for future in as_completed(futures):
            entries.update(future.result())
            if progress:
                progress(len(entries), len(missing))
    except BrokenProcessPool:
        raise SpeechError(f"the speech engine ({engine.name}) crashed; try again") from None
    finally:
        # On Ctrl-C or an error, queued tasks are dropped and the workers end with the pool.
        pool.shutdown(wait=True, cancel_futures=True)
    return entries


def _synthesize_here(engine, speaking, cache_root, missing, progress) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for text, entry in _synthesize_batch(engine, speaking, cache_root, missing):
        entries[text] = entry
        if progress:
            progress(len(entries), len(missing))
    return entries


_worker_engine: SpeechEngine | None = None


def _start_worker(engine: SpeechEngine) -> None:
    global _worker_engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    silence_stdout()
    _worker_engine = engine


def _synthesize_batch(
    engine: SpeechEngine | None, speaking: Speaking, cache_root: Path, batch: list[tuple[str, str]]
) -> list[tuple[str, Entry]]:
    engine = engine or _worker_engine
    assert engine is not None
    cache = PhraseCache(cache_root)
    voice = find_voice(speaking.voice, engine.voices()).id
    made = []
    for text, key in batch:
        # Another process sharing the cache may have made it since the caller looked.
        entry = cache.get(key) or cache.put(key, engine.synthesize(text, speaking), voice)
        made.append((text, entry))
    return made
