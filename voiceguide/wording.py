"""Every phrase voiceguide itself speaks, kept in one place so the voice stays consistent."""

from __future__ import annotations

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> str:
    """English words for 0..999: 42 -> 'forty-two'."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0..999")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


HALFWAY = "Halfway."


def round_announcement(round_number: int, rounds: int) -> str:
    return f"Round {number_words(round_number)} of {number_words(rounds)}."


def side_announcement(side: str, first: bool) -> str:
    label = side[:1].upper() + side[1:]
    return f"{label} side." if first else f"Switch sides. {label} side."


def seconds_in_words(seconds: float) -> str:
    """'forty seconds', 'one minute', 'two minutes and ten seconds' (rounded to whole seconds)."""
    total = max(1, round(seconds))
    minutes, rest = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{number_words(minutes)} minute{'s' if minutes != 1 else ''}")
    if rest:
        parts.append(f"{number_words(rest)} second{'s' if rest != 1 else ''}")
    return " and ".join(parts)


def step_now(title: str) -> str:
    """The step, as the where-am-I key says it: its title."""
    return title.rstrip(".…") + "."


def round_of(round_number: int, rounds: int) -> str:
    return f"Round {number_words(round_number)} of {number_words(rounds)}."


def side_now(side: str) -> str:
    return f"{side[:1].upper() + side[1:]} side."


def left_in_hold(seconds: float) -> str:
    """'Eight seconds left.'"""
    return _capitalized(f"{seconds_in_words(seconds)} left.")


def left_in_session(seconds: float) -> str:
    """'Four minutes in the session.' (whole minutes from a minute on, else five seconds)."""
    rounded = 60 * round(seconds / 60) if seconds >= 60 else max(5, 5 * round(seconds / 5))
    return _capitalized(f"{seconds_in_words(rounded)} in the session.")


def _capitalized(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]
