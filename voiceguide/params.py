"""A routine's choices: named values with a default and the values allowed.

A param is written once (`params:` at the top of a routine) and used as `{name}` in durations,
`repeat` and text. Its values stay the text the routine wrote ('3', '2m'): the loader parses
them where a number or a duration is expected, and the compiler speaks them in the routine's
language where they appear in text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from voiceguide.durations import parse_duration

WHOLE = re.compile(r"[0-9]+")
_BARE_SECONDS = re.compile(r"[0-9]*\.?[0-9]+")  # a duration written without a unit


@dataclass(frozen=True)
class Param:
    """One choice a routine offers: its default and either a list of choices or a range."""

    name: str
    default: str
    choices: tuple[str, ...] = ()
    low: str | None = None  # a range's ends, as written
    high: str | None = None

    @property
    def kind(self) -> Literal["choices", "whole", "duration"]:
        if self.choices:
            return "choices"
        ends = (self.default, self.low or "", self.high or "")
        return "whole" if all(WHOLE.fullmatch(v) for v in ends) else "duration"

    def allowed(self) -> str:
        """The values allowed, as a message shows them: '3, 4' or 'from 2m to 3m'."""
        if len(self.choices) > 1:
            return f"{', '.join(self.choices[:-1])} or {self.choices[-1]}"
        if self.choices:
            return self.choices[0]
        return f"from {self.low} to {self.high}"

    def edges(self) -> tuple[str, ...]:
        """The values `check` tries: each choice, or a range's two ends (default first)."""
        values = self.choices or (self.low or "", self.high or "")
        return tuple(dict.fromkeys((self.default, *values)))

    def accepts(self, value: str) -> str | None:
        """The value as this param knows it, or None when it is not allowed: a choice as the
        routine wrote it, a whole number without leading zeros ('02' is '2'), a duration with
        its unit ('150' is '150s', so that it is said as a duration)."""
        value = value.strip()
        if self.choices:
            return next((c for c in self.choices if _same(c, value)), None)
        number, low, high = (self.measure(v) for v in (value, self.low or "", self.high or ""))
        if number is None or low is None or high is None or not low <= number <= high:
            return None
        if self.kind == "whole":
            return str(int(value))
        return value + "s" if _BARE_SECONDS.fullmatch(value) else value

    def measure(self, value: str) -> float | None:
        """A range's value as a number: whole, or seconds; None when it is neither."""
        if self.kind == "whole":
            return int(value) if WHOLE.fullmatch(value) and len(value) <= 9 else None
        return _seconds(value)


def _seconds(value: str) -> float | None:
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _same(written: str, value: str) -> bool:
    """'3' is '3'; '2m' is '120s' too: the same duration."""
    if written == value:
        return True
    first, second = _seconds(written), _seconds(value)
    return first is not None and first == second


def variants(params: tuple[Param, ...]) -> list[dict[str, str]]:
    """The values `check` compiles besides the defaults: each param's other allowed values,
    one param at a time (the others at their defaults)."""
    return [
        {param.name: value} for param in params for value in param.edges() if value != param.default
    ]
