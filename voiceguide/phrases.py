"""Phrases for a session: found in the cache, or synthesized into it by worker processes.

The real engine never runs in the calling process. Each worker is a fresh interpreter
(`python -m voiceguide.synth_worker`, spawned, never forked: forking after pyttsx3 initialises
hangs) that owns one engine, ignores Ctrl-C (the caller handles it) and sends its stdout
nowhere. Separate processes synthesize safely in parallel; threads would not.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import selectors
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voiceguide.cache import Entry, PhraseCache
from voiceguide.errors import OutputError, SpeechError
from voiceguide.speech import Speaking, SpeechEngine
from voiceguide.synth_worker import synthesize_batch

DEFAULT_SAMPLE_RATE = 22050
PHRASES_PER_TASK = 4
MAX_WORKERS = 8

Progress = Callable[[int, int], None]
_RAISED_IN_WORKERS = {error.__name__: error for error in (SpeechError, OutputError)}


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
        t: cache.key(identity, speaking.voice, speaking.rate, speaking.volume, t) for t in texts
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
        if getattr(engine, "isolate", True):
            made = _synthesize_in_workers(engine, speaking, cache.root, missing, progress)
        else:  # an engine that is safe in this process, like the test suite's
            made = synthesize_batch(engine, speaking, cache.root, missing)
        entries.update({d.pop("text"): Entry(**d) for d in made})
    voices = {entry.voice for entry in entries.values()}
    voice = voices.pop() if len(voices) == 1 else speaking.voice
    return Phrases({text: entries[text] for text in keys}, voice, len(missing))


def worker_count(missing: int) -> int:
    """Processes worth starting for this many phrases: each costs an interpreter's start-up."""
    tasks = -(-missing // PHRASES_PER_TASK)
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 1) + 1, (tasks + 1) // 2))


def _synthesize_in_workers(
    engine: SpeechEngine, speaking: Speaking, cache_root: Path, missing: list, progress
) -> list[dict]:
    tasks = [missing[i : i + PHRASES_PER_TASK] for i in range(0, len(missing), PHRASES_PER_TASK)]
    hello = json.dumps({"engine": base64.b64encode(pickle.dumps(engine)).decode("ascii")}) + "\n"
    batch = {"speaking": asdict(speaking), "cache": str(cache_root)}
    workers = [_start_worker(hello) for _ in range(worker_count(len(missing)))]
    made: list[dict] = []
    try:
        with selectors.DefaultSelector() as selector:
            for worker in workers:
                _give(worker, tasks, batch, selector)
            while selector.get_map():
                for key, _ in selector.select():
                    answer = _answer(key.fileobj, engine)
                    made += answer
                    if progress:
                        progress(len(made), len(missing))
                    _give(key.data, tasks, batch, selector, key.fileobj)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    return made


def _start_worker(hello: str) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "voiceguide.synth_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    worker.stdin.write(hello)
    return worker


def _give(worker, tasks: list, batch: dict, selector, registered=None) -> None:
    """The worker's next task, or the end of its input when none is left."""
    if registered is not None:
        selector.unregister(registered)
    if not tasks:
        worker.stdin.close()
        return
    worker.stdin.write(json.dumps({**batch, "items": tasks.pop(0)}) + "\n")
    worker.stdin.flush()
    selector.register(worker.stdout, selectors.EVENT_READ, worker)


def _answer(stream, engine: SpeechEngine) -> list[dict]:
    line = stream.readline()
    if not line:
        raise SpeechError(f"the speech engine ({engine.name}) crashed; try again")
    answer = json.loads(line)
    if "error" in answer:
        raise _RAISED_IN_WORKERS.get(answer["type"], SpeechError)(answer["error"])
    return answer["made"]
