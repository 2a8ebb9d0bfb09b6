"""The exceptions voiceguide raises. The CLI turns each into one line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS_SHOWN = 20


def escaped(text: str) -> str:
    """The text with every control character written as an escape: one line, and nothing a
    terminal would obey (a newline, a carriage return, an escape sequence)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def excerpt(value: str, limit: int = 40) -> str:
    """A value quoted back in a message: escaped, and cut short if long."""
    shown = escaped(value[: limit + 1])
    return shown if len(value) <= limit and len(shown) <= 2 * limit else shown[:limit] + "…"


class VoiceguideError(Exception):
    """Base of everything voiceguide raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Position:
    """Where something was written: 1-based line and column (0 and 0: the file as a whole)."""

    path: str
    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a routine, at a place in a file."""

    where: Position
    message: str
    severity: str = "error"  # or "warning": said the same way, and fails nothing

    @property
    def path(self) -> str:
        return self.where.path

    @property
    def line(self) -> int:
        return self.where.line

    @property
    def column(self) -> int:
        return self.where.column

    def __str__(self) -> str:
        message = f"warning: {self.message}" if self.severity == "warning" else self.message
        if self.line == 0:  # about the file as a whole
            return escaped(f"{self.path}: {message}")
        return escaped(f"{self.path}:{self.line}:{self.column}: {message}")


class RoutineError(VoiceguideError):
    """The routine is invalid. Carries every problem found, each with its position."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem):
        listed = [problems] if isinstance(problems, Problem) else problems
        self.problems = list(dict.fromkeys(listed))  # one repeated problem is said once
        lines = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"({len(self.problems) - MAX_PROBLEMS_SHOWN} more problems not shown)")
        super().__init__("\n".join(lines))


class SpeechError(VoiceguideError):
    """The speech engine is missing, refused a setting, or failed."""

    exit_code = 3


class PlaybackError(VoiceguideError):
    """No audio output, or the output went away."""

    exit_code = 4


class OutputError(VoiceguideError):
    """A file could not be written: it exists, the place is read-only, the disk is full."""

    exit_code = 5


class ParamError(VoiceguideError):
    """A value given for a routine's param (`--set`, an include's `with:`) that the routine
    does not declare or allow: a usage error."""

    exit_code = 2

    def __init__(self, message: str, name: str = ""):
        super().__init__(message)
        self.name = name  # the param's, so that an include can point at its 'with' entry


class StartError(VoiceguideError):
    """Where to start is not in the session (play's --start-at)."""

    exit_code = 2


class FormatError(VoiceguideError):
    """An output format voiceguide does not write (a usage error)."""

    exit_code = 2


class EncoderMissing(VoiceguideError):
    """The encoder a format needs is not installed; the message says how to install it."""

    exit_code = 3


class ConfigError(VoiceguideError):
    """A bad value in the config file or a VOICEGUIDE_* variable (a usage error)."""

    exit_code = 2

    def __init__(self, message: str, variable: str = ""):
        super().__init__(message)
        self.variable = variable  # the VOICEGUIDE_* variable at fault; empty for the file
