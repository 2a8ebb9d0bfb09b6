"""Stand-ins for fast unit tests of the compiler: phrase lengths without a speech engine."""

from __future__ import annotations

from dataclasses import dataclass, field

CHIME_SECONDS = {"hold-start": 1.0, "hold-end": 1.25, "session-end": 3.0}


@dataclass
class EstimatedLengths:
    """A phrase lasts 0.3 s plus its words at `rate` words a minute; chimes as in CHIME_SECONDS."""

    rate: int = 150
    sample_rate: int = 22050
    chimes: dict[str, float] = field(default_factory=lambda: dict(CHIME_SECONDS))
    asked: list[str] = field(default_factory=list)

    def speech(self, text: str) -> int:
        self.asked.append(text)
        return round((0.3 + len(text.split()) * 60 / self.rate) * self.sample_rate)

    def chime(self, role: str) -> int:
        return round(self.chimes[role] * self.sample_rate)
