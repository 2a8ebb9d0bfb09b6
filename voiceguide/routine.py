"""The routine model: what a routine file says, validated, with positions kept for errors.

`voiceguide.loader` builds these from YAML; `voiceguide.compiler` turns them into a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voiceguide.errors import Position
from voiceguide.params import Param
from voiceguide.speech import SpeechSettings

CHIME_ROLES = ("hold-start", "hold-end", "session-end")
PARTS = ("opening", "closing")
REMINDER_KINDS = ("every", "at", "left")
MAX_SESSION_SECONDS = 12 * 3600
MAX_TEXT_CHARS = 1000  # of one thing to say, '{side}' filled in
RATE_RANGE = (80, 400)  # words a minute


@dataclass(frozen=True)
class Reminder:
    """Words inside a hold: `every` N seconds, `at` N seconds after it starts, or N seconds
    `left` before it ends."""

    kind: str  # every, at, left
    seconds: float
    say: str
    pos: Position


@dataclass(frozen=True)
class Action:
    """Speak, then hold between two chimes, then stay silent: any of the three, in that order."""

    pos: Position
    say: str | None = None
    hold: float | None = None
    countdown: int = 0
    halfway: bool = False
    pause: float | None = None
    title: str | None = None
    part: str | None = None  # 'opening' or 'closing': a top-level step an include can leave out
    remind: tuple[Reminder, ...] = ()
    # Where the keys were written, for errors found only when the timeline is laid out.
    key_positions: dict[str, Position] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Repeat:
    """Nested steps run `times` times, with `rest` seconds of silence between rounds."""

    pos: Position
    times: int
    steps: tuple[Step, ...]
    rest: float = 0.0
    title: str | None = None
    part: str | None = None  # 'opening' or 'closing': a top-level step an include can leave out


@dataclass(frozen=True)
class Sides:
    """Nested steps once per side; '{side}' in their text becomes the side's name."""

    pos: Position
    sides: tuple[str, ...]
    steps: tuple[Step, ...]
    rest: float = 0.0
    title: str | None = None
    part: str | None = None  # 'opening' or 'closing': a top-level step an include can leave out


@dataclass(frozen=True)
class Include:
    """Another routine's steps, inlined. Its speech and chime settings are not used."""

    pos: Position
    name: str
    routine: Routine
    title: str | None = None
    part: str | None = None  # 'opening' or 'closing': a top-level step an include can leave out


Step = Action | Repeat | Sides | Include


@dataclass(frozen=True)
class ChimeChoice:
    """A chime picked by a routine: a bundled sound's name, or a WAV file's path."""

    role: str
    sound: str
    path: Path
    pos: Position


@dataclass(frozen=True)
class Routine:
    title: str
    steps: tuple[Step, ...]
    path: Path
    name: str
    description: str = ""
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    chimes: tuple[ChimeChoice, ...] = ()
    language: str | None = None  # a language code, like 'de'; else the voice's language
    wording: dict[str, str] = field(default_factory=dict)  # phrase name -> the routine's text
    pronounce: tuple[tuple[str, str], ...] = ()  # (written, spoken), whole words, any case
    # Where 'language' and the speech block's 'voice' were written, for errors about them.
    key_positions: dict[str, Position] = field(default_factory=dict, compare=False)
    per_day: int | None = None  # at most this many sessions a day, as its source advises
    params: tuple[Param, ...] = ()  # the choices it offers (see voiceguide.params)
    values: dict[str, str] = field(default_factory=dict)  # each param's value in effect
    # The text the loader parsed (from a file or standard input), for check's warnings.
    source: str = field(default="", compare=False, repr=False)
