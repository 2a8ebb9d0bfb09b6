"""The exceptions voiceguide raises. The CLI turns each into one line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass


class VoiceguideError(Exception):
    """Base of everything voiceguide raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a routine, at a place in a file."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line == 0:  # about the file as a whole
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class RoutineError(VoiceguideError):
    """The routine is invalid. Carries every problem found, each with its position."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SpeechError(VoiceguideError):
    """The speech engine is missing, refused a setting, or failed."""

    exit_code = 3


class PlaybackError(VoiceguideError):
    """No audio output, or the output went away."""

    exit_code = 4


class OutputError(VoiceguideError):
    """A file could not be written: it exists, the place is read-only, the disk is full."""

    exit_code = 5


class FormatError(VoiceguideError):
    """An output format voiceguide does not write (a usage error)."""

    exit_code = 2


class EncoderMissing(VoiceguideError):
    """The encoder a format needs is not installed; the message says how to install it."""

    exit_code = 3
