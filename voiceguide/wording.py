"""Every word voiceguide says (or shows) itself, from a catalog per language.

A catalog maps phrase names to texts with placeholders ('Round {round} of {rounds}.'). The
routine's language picks the catalog: its `language:`, else its voice's. A routine's
`wording:` block replaces any phrase by name. Numbers are spelled as the language counts
aloud (`voiceguide.numbers`); the countdown's numbers are phrases too (count_1..count_10).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from voiceguide.errors import Problem, RoutineError, excerpt
from voiceguide.numbers import COUNTING, counting, in_words
from voiceguide.routine import Position

# Placeholders every text may use, where a routine's repeat or sides gives them a value.
CONTEXT_PLACEHOLDERS = ("side", "round", "rounds")

# phrase name -> (placeholders it needs, placeholders of its own); all allow the context ones.
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "round": ((), ()),
    "first_side": ((), ()),
    "next_side": ((), ()),  # "Now the other arm." needs no '{side}'
    "halfway": ((), ()),
    **{f"count_{k}": ((), ()) for k in range(1, 11)},
    "resuming": ((), ("step",)),
    "hold_left": (("time",), ("time",)),
    "left_in_hold": (("time",), ("time",)),  # the where-am-I key: time left in the hold
    "left_in_session": (("time",), ("time",)),  # and in the whole session
    "one_minute": ((), ()),
    "minutes": (("count",), ("count",)),
    "one_second": ((), ()),
    "seconds": (("count",), ("count",)),
    "minutes_and_seconds": (("minutes", "seconds"), ("minutes", "seconds")),
    "title_rounds": (("title",), ("title",)),
    "title_sides": (("title", "sides"), ("title", "sides")),
    "and": ((), ()),
    "each_side": ((), ()),
    "title_hold": (("time",), ("time",)),
    "title_pause": (("time",), ("time",)),
}

_COMMON_TITLES = {"title_sides": "{title} ({sides})"}

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "round": "Round {round} of {rounds}.",
        "first_side": "{side} side.",
        "next_side": "Switch sides. {side} side.",
        "halfway": "Halfway.",
        "resuming": "Resuming. {step}.",
        "hold_left": "Hold, {time} left.",
        "left_in_hold": "{time} left.",
        "left_in_session": "{time} in the session.",
        "one_minute": "one minute",
        "minutes": "{count} minutes",
        "one_second": "one second",
        "seconds": "{count} seconds",
        "minutes_and_seconds": "{minutes} and {seconds}",
        "title_rounds": "{title} ({rounds} rounds)",
        "and": "and",
        "each_side": "each side",
        "title_hold": "Hold {time}",
        "title_pause": "Pause {time}",
    },
    "de": {
        "round": "Runde {round} von {rounds}.",
        "first_side": "Seite: {side}.",
        "next_side": "Seitenwechsel. Seite: {side}.",
        "halfway": "Halbzeit.",
        "resuming": "Es geht weiter. {step}.",
        "hold_left": "Halten, noch {time}.",
        "left_in_hold": "Noch {time}.",
        "left_in_session": "Insgesamt noch {time}.",
        "one_minute": "eine Minute",
        "minutes": "{count} Minuten",
        "one_second": "eine Sekunde",
        "seconds": "{count} Sekunden",
        "minutes_and_seconds": "{minutes} und {seconds}",
        "title_rounds": "{title} ({rounds} Runden)",
        "and": "und",
        "each_side": "jede Seite",
        "title_hold": "Halten {time}",
        "title_pause": "Pause {time}",
    },
    "fr": {
        "round": "Tour {round} sur {rounds}.",
        "first_side": "Côté {side}.",
        "next_side": "Changez de côté. Côté {side}.",
        "halfway": "À mi-temps.",
        "resuming": "On reprend. {step}.",
        "hold_left": "Maintenez, encore {time}.",
        "left_in_hold": "Encore {time}.",
        "left_in_session": "Encore {time} de séance.",
        "one_minute": "une minute",
        "minutes": "{count} minutes",
        "one_second": "une seconde",
        "seconds": "{count} secondes",
        "minutes_and_seconds": "{minutes} et {seconds}",
        "title_rounds": "{title} ({rounds} tours)",
        "and": "et",
        "each_side": "chaque côté",
        "title_hold": "Maintenir {time}",
        "title_pause": "Pause {time}",
    },
    "es": {
        "round": "Ronda {round} de {rounds}.",
        "first_side": "Lado {side}.",
        "next_side": "Cambia de lado. Lado {side}.",
        "halfway": "Vamos por la mitad.",
        "resuming": "Seguimos. {step}.",
        "hold_left": "Mantén, quedan {time}.",
        "left_in_hold": "Quedan {time}.",
        "left_in_session": "Quedan {time} de sesión.",
        "one_minute": "un minuto",
        "minutes": "{count} minutos",
        "one_second": "un segundo",
        "seconds": "{count} segundos",
        "minutes_and_seconds": "{minutes} y {seconds}",
        "title_rounds": "{title} ({rounds} rondas)",
        "and": "y",
        "each_side": "cada lado",
        "title_hold": "Mantener {time}",
        "title_pause": "Pausa {time}",
    },
    "it": {
        "round": "Giro {round} di {rounds}.",
        "first_side": "Lato {side}.",
        "next_side": "Cambia lato. Lato {side}.",
        "halfway": "A metà.",
        "resuming": "Riprendiamo. {step}.",
        "hold_left": "Mantieni, ancora {time}.",
        "left_in_hold": "Ancora {time}.",
        "left_in_session": "Ancora {time} di sessione.",
        "one_minute": "un minuto",
        "minutes": "{count} minuti",
        "one_second": "un secondo",
        "seconds": "{count} secondi",
        "minutes_and_seconds": "{minutes} e {seconds}",
        "title_rounds": "{title} ({rounds} giri)",
        "and": "e",
        "each_side": "ogni lato",
        "title_hold": "Tenere {time}",
        "title_pause": "Pausa {time}",
    },
    "nl": {
        "round": "Ronde {round} van {rounds}.",
        "first_side": "Kant: {side}.",
        "next_side": "Wissel van kant. Kant: {side}.",
        "halfway": "Halverwege.",
        "resuming": "We gaan verder. {step}.",
        "hold_left": "Vasthouden, nog {time}.",
        "left_in_hold": "Nog {time}.",
        "left_in_session": "Nog {time} in de sessie.",
        "one_minute": "één minuut",
        "minutes": "{count} minuten",
        "one_second": "één seconde",
        "seconds": "{count} seconden",
        "minutes_and_seconds": "{minutes} en {seconds}",
        "title_rounds": "{title} ({rounds} rondes)",
        "and": "en",
        "each_side": "elke kant",
        "title_hold": "Vasthouden {time}",
        "title_pause": "Pauze {time}",
    },
}
for _language, _catalog in CATALOGS.items():
    _catalog.update(_COMMON_TITLES)
    _catalog.update({f"count_{k}": in_words(k, _language) for k in range(1, 11)})

# The catalogs' units whose nouns are feminine (une seconde, eine Minute): numbers agree.
_FEMININE = {"fr": ("seconds", "minutes"), "de": ("seconds", "minutes")}

# What a language without a catalog shows in titles (not spoken) unless `wording:` says.
_NEUTRAL = {
    "title_rounds": "{title} ({rounds}x)",
    "and": "/",
    "each_side": "…",
    "title_hold": "{time}",
    "title_pause": "{time}",
    **_COMMON_TITLES,
}

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?] ))\w")


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def fill(template: str, values: Mapping[str, str], keep: bool = False) -> str:
    """The template with each placeholder replaced: the one substitution of every text. One
    with no value here is left out, or kept as written with `keep` (in titles, which have no
    single round)."""
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0) if keep else ""), template)
    return " ".join(text.split())


def language_code(name: str) -> str:
    """'en' for 'en-us', 'gmw/en-US', 'en_US-joe-medium'; '' when it does not look like one."""
    last = name.strip().rsplit("/", 1)[-1].lower()
    match = re.match(r"([a-z]{2,3})(?:[-_.]|$)", last)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Wording:
    """One language's phrases, with a routine's own in place of the catalog's."""

    language: str = "en"
    phrases: Mapping[str, str] = field(default_factory=lambda: CATALOGS["en"])
    where: Position | None = None  # what chose the language, for errors

    def phrase(self, name: str, **values: str) -> str:
        template = self.phrases.get(name)
        if template is None:
            raise RoutineError(self._missing(name))
        return fill(template, values)

    def _missing(self, name: str) -> Problem:
        where = self.where or Position("routine", 0, 0)
        there = ", ".join(sorted(CATALOGS))
        message = (
            f"there is no wording for the language '{self.language}' (there is for {there}):"
            f" give 'language:' one of those, or say '{name}' (and the other phrases it needs)"
            " in a 'wording:' block"
        )
        return Problem(where.path, where.line, where.column, message)

    def number(self, n: int) -> str:
        """`n` spelled as the language counts; digits where there is no catalog (the engine
        reads them in its own language)."""
        return in_words(n, self.language) if self.language in COUNTING else str(n)

    def sentence(self, name: str, **values: str) -> str:
        """A phrase that is said on its own: it starts with a capital."""
        text = self.phrase(name, **values)
        return _SENTENCE_START.sub(lambda m: m.group(0).upper(), text)

    # -- what the compiler and the player say

    def round_announcement(self, number: int, rounds: int, side: str | None = None) -> str:
        values = {"round": self.number(number), "rounds": self.number(rounds)}
        return self.sentence("round", **values, **({"side": side} if side else {}))

    def side_announcement(self, side: str, first: bool, context: Mapping[str, str]) -> str:
        return self.sentence("first_side" if first else "next_side", **{**context, "side": side})

    def halfway(self, context: Mapping[str, str]) -> str:
        return self.sentence("halfway", **context)

    def count(self, k: int, context: Mapping[str, str]) -> str:
        return self.phrase(f"count_{k}", **context)

    def quantity(self, n: int, unit: str) -> str:
        """`n` as it counts the catalog's `unit` ('seconds', 'minutes'): agreeing with the
        noun's gender where a language's numbers do (French 'vingt et une secondes')."""
        if self.language not in COUNTING:
            return str(n)
        return counting(n, self.language, unit in _FEMININE.get(self.language, ()))

    def seconds_in_words(self, seconds: float) -> str:
        """'forty seconds', 'one minute', 'two minutes and ten seconds' (whole seconds)."""
        total = max(1, round(seconds))
        minutes, rest = divmod(total, 60)
        parts = []
        if minutes:
            parts.append(
                self.phrase("one_minute")
                if minutes == 1
                else self.phrase("minutes", count=self.quantity(minutes, "minutes"))
            )
        if rest:
            parts.append(
                self.phrase("one_second")
                if rest == 1
                else self.phrase("seconds", count=self.quantity(rest, "seconds"))
            )
        if len(parts) == 2:
            return self.phrase("minutes_and_seconds", minutes=parts[0], seconds=parts[1])
        return parts[0]

    def title(self, name: str, **values: str) -> str:
        """Shown, not spoken: where a language has no catalog, a neutral form."""
        if name not in self.phrases and name in _NEUTRAL:
            return fill(_NEUTRAL[name], values)
        return self.phrase(name, **values)


ENGLISH = Wording()


def wording_for(
    language: str,
    own: Mapping[str, str] | None = None,
    where: Position | None = None,
) -> Wording:
    """The catalog for `language` (none for a language without one), with `own` phrases in
    place of its."""
    return Wording(language, {**CATALOGS.get(language, {}), **(own or {})}, where)


def check_phrase(name: str, text: str) -> list[str]:
    """What is wrong with a `wording:` entry: an unknown placeholder, a missing one."""
    import difflib

    needed, own = PHRASES[name]
    allowed = (*own, *CONTEXT_PLACEHOLDERS)
    found = placeholders(text)
    problems = []
    for name_used in found:
        if name_used not in allowed:
            close = difflib.get_close_matches(name_used, allowed, n=1, cutoff=0.6)
            hint = (
                f" (did you mean '{{{close[0]}}}'?)"
                if close
                else f" (allowed: {', '.join('{' + a + '}' for a in allowed)})"
            )
            problems.append(f"unknown placeholder '{{{excerpt(name_used)}}}' in {name}{hint}")
    for placeholder in needed:
        if placeholder not in found:
            problems.append(f"{name} needs '{{{placeholder}}}' in its text")
    return problems
