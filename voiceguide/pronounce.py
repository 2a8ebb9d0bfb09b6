"""A routine's `pronounce:` map: written form -> spoken form, whole words, any case.

It changes only what the engine is given. The timeline, subtitles and chapters keep the
written text; the phrase cache is keyed by the spoken form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class Pronunciation:
    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self.spoken = {written.lower(): spoken for written, spoken in pairs}
        # Longest first, so that 'lower back' wins over 'back'.
        words = sorted(self.spoken, key=len, reverse=True)
        self.pattern = (
            re.compile(r"(?<!\w)(" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)
            if words
            else None
        )

    def __call__(self, text: str) -> str:
        """What the engine is given for `text`."""
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.spoken[m.group(0).lower()], text)
