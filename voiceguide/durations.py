"""Durations as routines write them, and as people read and hear them."""

from __future__ import annotations

import math
import re

UNITS = {
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
# ASCII digits only (\d would take Arabic-Indic ones), decimal, no leading zeros to read as octal.
_NUMBER = r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)\s*")
# m:ss or h:mm:ss, with minutes and seconds below 60 once there is a larger field
_CLOCK = re.compile(r"(?:([0-9]+):([0-5][0-9])|([0-9]+)):([0-5][0-9](?:\.[0-9]+)?)")
_NOT_FINITE = {"nan", ".nan", "inf", ".inf", "+inf", "+.inf", "infinity", "+infinity"}
MAX_TEXT = 40  # characters: longer is not a duration anyone writes
# Shorter than this is no step anyone times, and at 16 kHz still 16 samples: no step, chapter or
# track of an export is ever empty (an empty Opus or M4B track is a file ffmpeg cannot decode).
MIN_SECONDS = 0.001
HINT = "use seconds like 10 or 2.5, or 10s, 1m, 1m30s, 1:30"


def parse_duration(value: object, shown: str | None = None) -> float:
    """Seconds from a number or a string like '10s', '1m30s', '2.5s', '1:30'.

    Raises ValueError with a message that shows the value (as `shown`, when given) and the
    allowed forms. Zero, negative, NaN and infinite durations are refused here, and so are
    durations under a millisecond and ambiguous forms: '010' (octal in YAML 1.1), '1:99',
    '1m1m', digits other than 0-9.
    """
    shown = shown if shown is not None else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"'{shown}' is not a duration ({HINT})")
    seconds = float(value) if isinstance(value, (int, float)) else _parse_text(value, shown)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"'{shown}' is not a finite duration ({HINT})")
    if seconds <= 0:
        raise _not_positive(shown)
    if seconds < MIN_SECONDS:
        raise ValueError(f"'{shown}' is shorter than the shortest duration, 1 ms")
    return seconds


def _not_positive(shown: str) -> ValueError:
    return ValueError(f"'{shown}' is not a positive duration (it must be above zero)")


def _parse_text(text: str, shown: str) -> float:
    cleaned = text.strip().lower()
    if cleaned in _NOT_FINITE:
        return math.nan
    if cleaned.startswith("-"):
        raise _not_positive(shown)
    if not cleaned:
        raise ValueError(f"an empty text is not a duration ({HINT})")
    if len(cleaned) > MAX_TEXT:
        raise ValueError(f"'{shown}' is not a duration ({HINT})")
    if re.fullmatch(_NUMBER, cleaned):
        return float(cleaned)
    if re.fullmatch(r"0[0-9]+(?:\.[0-9]+)?", cleaned):
        raise ValueError(f"'{shown}' is not a duration: write it without the leading zero")
    clock = _CLOCK.fullmatch(cleaned)
    if clock:
        hours, minutes, only_minutes, seconds = clock.groups()
        return int(hours or 0) * 3600 + int(minutes or only_minutes) * 60 + float(seconds)
    total, position, used = 0.0, 0, []
    while position < len(cleaned):
        part = _PART.match(cleaned, position)
        unit = UNITS.get(part.group(2)) if part else None
        # Each unit once, largest first: '1m1m' and '30s 1m' are mistakes, not sums.
        if unit is None or (used and unit >= used[-1]):
            raise ValueError(f"'{shown}' is not a duration ({HINT})")
        used.append(unit)
        total += float(part.group(1)) * unit
        position = part.end()
    return total


def format_clock(seconds: float, decimals: int = 0) -> str:
    """'mm:ss' (minutes may pass 59), or 'mm:ss.s' with decimals=1. Truncated, like a stopwatch."""
    scale = 10**decimals
    units = math.floor(seconds * scale + 1e-6)
    minutes, rest = divmod(units, 60 * scale)
    whole, fraction = divmod(rest, scale)
    text = f"{minutes:02d}:{whole:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def format_short(seconds: float) -> str:
    """A compact duration for tables and titles: '10 s', '2.5 s', '1 min', '1 min 30 s'."""
    if seconds < 60:
        return f"{seconds:g} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{rest} s"] if rest else []
    return " ".join(parts)
