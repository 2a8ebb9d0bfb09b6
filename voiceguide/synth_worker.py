"""A speech worker: a fresh interpreter that owns one engine and synthesizes into the cache.

Run by `voiceguide.phrases` as `python -m voiceguide.synth_worker`, never forked from a process
that has initialised pyttsx3. The protocol is JSON lines: the first line on stdin carries the
engine (pickled, base64); each further line is a batch of phrases, answered by one line. The
answers go to a duplicate of the original stdout, because stdout itself is sent to nowhere:
pyttsx3's espeak driver prints "Audio saved to ..." there from espeak's thread.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import sys
from pathlib import Path

from voiceguide.cache import PhraseCache
from voiceguide.errors import VoiceguideError
from voiceguide.speech import Speaking, find_voice, silence_stdout


def serve(requests, answers) -> None:
    engine = pickle.loads(base64.b64decode(json.loads(requests.readline())["engine"]))
    for line in requests:
        batch = json.loads(line)
        try:
            made = synthesize_batch(
                engine, Speaking(**batch["speaking"]), Path(batch["cache"]), batch["items"]
            )
            answer = {"made": made}
        except VoiceguideError as e:
            answer = {"error": str(e), "type": type(e).__name__}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def synthesize_batch(engine, speaking: Speaking, cache_root: Path, items: list) -> list[dict]:
    """Synthesize what the cache lacks; describe each entry, for the caller to rebuild."""
    cache = PhraseCache(cache_root)
    voice = find_voice(speaking.voice, engine.voices()).id
    made = []
    for text, key in items:
        # Another process sharing the cache may have made it since the caller looked.
        entry = cache.get(key) or cache.put(key, engine.synthesize(text, speaking), voice)
        made.append({"text": text, **entry.describe()})
    return made


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    silence_stdout()
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
