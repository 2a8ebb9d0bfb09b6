"""Speech engines by name. Each engine is one module here; adding one is that module and one
line in ENGINES. A module is imported only when its engine is asked for, so an engine whose
packages are missing costs nothing until it is used (and then says how to install them)."""

from __future__ import annotations

import difflib
import importlib

from voiceguide.errors import SpeechError
from voiceguide.speech import SpeechEngine

DEFAULT_ENGINE = "espeak"
ENGINES = {
    "espeak": "voiceguide.engines.espeak:EspeakEngine",
    "piper": "voiceguide.engines.piper:PiperEngine",
}


def engine_names() -> list[str]:
    return list(ENGINES)


def get_engine(name: str | None = None) -> SpeechEngine:
    """A new engine of that name (the default without one). Raises SpeechError."""
    name = name or DEFAULT_ENGINE
    if name not in ENGINES:
        close = difflib.get_close_matches(name, ENGINES, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "engines: " + ", ".join(ENGINES)
        raise SpeechError(f"unknown engine '{name}' ({hint})")
    module, _, factory = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), factory)()
