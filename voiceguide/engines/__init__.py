"""Speech engines by name. Each engine is one module here; adding one is that module and one
line in ENGINES. A module is imported only when its engine is asked for, so an engine whose
packages are missing costs nothing until it is used (and then says how to install them)."""

from __future__ import annotations

import difflib
import importlib
import sys

from voiceguide.errors import SpeechError
from voiceguide.speech import SpeechEngine

DEFAULT_ENGINE = "espeak"  # where libespeak-ng loads; else (macOS, Windows) FALLBACK_ENGINE
FALLBACK_ENGINE = "pyttsx3"
ENGINES = {
    "espeak": "voiceguide.engines.espeak:EspeakEngine",
    "piper": "voiceguide.engines.piper:PiperEngine",
    "pyttsx3": "voiceguide.engines.pyttsx3:Pyttsx3Engine",
}


def engine_names() -> list[str]:
    return list(ENGINES)


def default_engine() -> str:
    """espeak where its library loads (a dlopen: about a millisecond); the system's voices
    through pyttsx3 on macOS and Windows without it. Linux keeps espeak either way: pyttsx3
    speaks through the same library there, and espeak says how to install it."""
    if sys.platform not in ("darwin", "win32"):
        return DEFAULT_ENGINE
    from voiceguide.engines import espeak

    try:
        espeak._unload(espeak._load())
    except SpeechError:
        return FALLBACK_ENGINE
    return DEFAULT_ENGINE


def get_engine(name: str | None = None) -> SpeechEngine:
    """A new engine of that name (the default without one). Raises SpeechError."""
    name = name or default_engine()
    if name not in ENGINES:
        close = difflib.get_close_matches(name, ENGINES, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "engines: " + ", ".join(ENGINES)
        raise SpeechError(f"unknown engine '{name}' ({hint})")
    module, _, factory = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), factory)()
