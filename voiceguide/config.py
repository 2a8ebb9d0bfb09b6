"""Your own defaults: a TOML file and VOICEGUIDE_* environment variables.

Precedence, highest first: the command line's options, the environment, the config file, the
routine's own `speech:` block, voiceguide's built-in defaults. `load_config` reads the two
middle layers; `voiceguide config` shows each value and where it came from.

    # $XDG_CONFIG_HOME/voiceguide/config.toml (usually ~/.config/voiceguide/config.toml)
    engine = "espeak"
    voice = "en-gb"
    rate = 120
    volume = 0.8
    format = "mp3"            # export's format when -o does not name one
    cache_max_size = "500MB"  # the phrase cache is kept under this; 0: no limit
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.errors import ConfigError, escaped
from voiceguide.routine import RATE_RANGE
from voiceguide.speech import SpeechSettings

BUILT_IN = "built-in"
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}


def parse_size(value: Any) -> int:
    """Bytes from 500MB, 1.5GB, 200k, or a whole number of bytes. Raises ValueError."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError("a size like 500MB, 2GB or 0 (no limit)")
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    """1234567 -> '1.2 MB'."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def _engine(value: Any) -> str:
    from voiceguide.engines import engine_names

    if value not in engine_names():
        raise ValueError("one of " + ", ".join(engine_names()))
    return value


def _voice(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a voice's id, name or language, like en-us")
    return value


def _rate(value: Any) -> int:
    low, high = RATE_RANGE
    number = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise ValueError(f"words a minute, a whole number from {low} to {high}")
    return number


def _volume(value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not 0 < number <= 1:  # NaN fails too
        raise ValueError("a number above 0 and at most 1")
    return number


def _format(value: Any) -> str:
    from voiceguide.writers import FORMATS

    if value not in FORMATS:
        raise ValueError("one of " + ", ".join(FORMATS))
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]
    default: Any  # None: decided elsewhere (the engine's default voice)
    help: str

    @property
    def variable(self) -> str:
        return "VOICEGUIDE_" + self.name.upper()


SETTINGS = {
    s.name: s
    for s in (
        Setting("engine", _engine, None, "speech engine (none: espeak where it loads)"),
        Setting("voice", _voice, None, "voice (none: the routine's, else the engine's)"),
        Setting("rate", _rate, 135, "words a minute"),
        Setting("volume", _volume, 0.9, "speech and chime loudness"),
        Setting("format", _format, "wav", "export's format when -o names none"),
        Setting("cache_max_size", parse_size, 10**9, "phrase cache size limit (0: none)"),
    )
}


def config_path() -> Path:
    """$XDG_CONFIG_HOME/voiceguide/config.toml (by default ~/.config/voiceguide/config.toml)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voiceguide" / "config.toml"


@dataclass(frozen=True)
class Config:
    """The values the environment and the config file set, and where each came from."""

    values: dict[str, Any]
    sources: dict[str, str]
    path: Path

    def value(self, name: str) -> Any:
        return self.values.get(name, SETTINGS[name].default)

    def source(self, name: str) -> str:
        return self.sources.get(name, BUILT_IN)

    def speech(self) -> SpeechSettings:
        """The speech values set here (None where not), to be merged over a routine's."""
        get = self.values.get
        return SpeechSettings(get("voice"), get("rate"), get("volume"), get("engine"))


def load_config() -> Config:
    """The config file's values, then the environment's over them. Raises ConfigError."""
    path = config_path()
    values, sources = {}, {}
    for name, raw in _read_file(path).items():
        values[name] = _parsed(name, raw, f"{path}: {name}")
        sources[name] = f"config file ({path})"
    for setting in SETTINGS.values():
        raw = os.environ.get(setting.variable)
        if raw:  # set and not empty
            values[setting.name] = _parsed(setting.name, raw, setting.variable, setting.variable)
            sources[setting.name] = f"environment ({setting.variable})"
    return Config(values, sources, path)


def _parsed(name: str, raw: Any, where: str, variable: str = "") -> Any:
    try:
        return SETTINGS[name].parse(raw)
    except ValueError as e:
        shown = escaped(str(raw))[:40]
        raise ConfigError(f"{where}: '{shown}' is not {e}", variable) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        return {}  # the usual case: no TOML parser to import (2 ms of every command)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{e.object[e.start]:02x} at line {line})"
        raise ConfigError(f"{path}: {message}; save the file as UTF-8") from None
    for key in document:
        if key not in SETTINGS:
            close = difflib.get_close_matches(key, SETTINGS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(SETTINGS)
            raise ConfigError(f"{path}: unknown setting '{escaped(key)}' ({hint})")
    return document
