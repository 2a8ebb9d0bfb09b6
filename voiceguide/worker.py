"""The worker's side of `voiceguide.workers`: what runs in a worker process.

Kept apart from the caller's side, whose modules (subprocess, tempfile, threading and the
rest) a worker does not need: fewer to import as it starts, and no `threading` and `random`
in it, whose handlers run at every fork (espeak forks once a phrase: with them, 1.08 ms a
fork against 0.60 ms).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from voiceguide.cache import PhraseCache
from voiceguide.errors import VoiceguideError
from voiceguide.speech import SpeechSettings, silence_stdout, voice_of


def serve(requests, answers) -> None:
    """Answer the caller: the first line names the engine (and the voice to load at once, if
    told ahead); each further line is a batch of phrases to make into the cache."""
    hello = requests.readline()
    if not hello:  # started early, and not needed after all
        return
    greeting = json.loads(hello)
    engine = pickle.loads(base64.b64decode(greeting["engine"]))
    load = getattr(engine, "load", None)  # an engine with a voice to load before it speaks
    if greeting.get("voice") and load is not None:
        with contextlib.suppress(VoiceguideError):  # said, as it should be, by its first phrase
            load(greeting["voice"])
    for line in requests:
        batch = json.loads(line)
        try:
            speaking = SpeechSettings(**batch["speaking"])
            gain = batch.get("gain", 1.0)
            made = synthesized(engine, speaking, Path(batch["cache"]), batch["items"], gain)
            for entry in made:  # each as it is made: the caller sees that the worker lives
                _send(answers, {"made": [entry]})
            answer = {"done": True}
        except VoiceguideError as e:
            answer = {"error": str(e), "type": type(e).__name__}
        _send(answers, answer)


def _send(answers, answer: dict) -> None:
    answers.write(json.dumps(answer) + "\n")
    answers.flush()


def synthesized(
    engine, speaking: SpeechSettings, cache_root: Path, items: list, gain: float = 1.0
) -> Iterator[dict]:
    """Each item's entry (its copy at `gain`, below 1), described: those the cache has
    first, then each as it is made. The copies are made here, where numpy is loaded anyway
    and the engine's forks speak meanwhile: the caller need not load it."""
    cache = PhraseCache(cache_root)
    voice = voice_of(engine, speaking.voice).id
    # Another process sharing the cache may have made some since the caller looked.
    entries = {key: cache.get(key) for _, key in items}
    missing = [(text, key) for text, key in items if entries[key] is None]
    texts = [text for text, _ in missing]
    many = getattr(engine, "synthesize_many", None)  # one that says several at once
    # Started before numpy is imported: an engine that speaks in other processes (espeak's
    # forks) is already speaking while this process loads it.
    if many and texts:
        clips = many(texts, speaking)
    else:
        clips = (engine.synthesize(text, speaking) for text in texts)

    from voiceguide.finishing import finish  # numpy: only where phrases are made

    for text, key in items:
        if entries[key] is not None:
            copy = cache.copy_at(key, replace(entries[key], gain=gain), engine.name)
            yield {"text": text, **copy.describe()}
    for (text, key), clip in zip(missing, clips, strict=True):
        with _not_stopped_midway():
            entry = cache.put(key, finish(clip, speaking.volume), voice, engine.name)
            copy = cache.copy_at(key, replace(entry, gain=gain), engine.name)
        yield {"text": text, **copy.describe()}


_WRITING: list[bool] = []  # an entry is being written: a stop waits until it is whole
_STOP_ASKED: list[bool] = []


@contextmanager
def _not_stopped_midway() -> Iterator[None]:
    """A stop asked for while an entry is written comes after it, so that a worker never
    leaves a temporary file in the cache: with the synthesis in forks, the worker spends
    most of its time writing entries. (Masking the signal would not do: numpy's threads
    would take it.)"""
    _WRITING.append(True)
    try:
        yield
    finally:
        _WRITING.pop()
    if _STOP_ASKED:
        sys.exit(1)


def _stop_asked(signum, frame) -> None:
    """Told to stop: end like a normal exit (finally blocks and scratch folders are cleaned
    up), now or once the entry being written is whole."""
    if _WRITING:
        _STOP_ASKED.append(True)
    else:
        sys.exit(1)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, _stop_asked)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    silence_stdout()
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
