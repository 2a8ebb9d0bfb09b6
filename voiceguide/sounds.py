"""Chimes: the bundled ones in sounds/, or a routine's own WAV files, ready to join to speech.

Every chime is converted to the session's rate, faded so it cannot click, and set to the
speech's loudness at the session's volume.
"""

from __future__ import annotations

from pathlib import Path

from voiceguide import bundled
from voiceguide.audio import (
    AudioFormatError,
    Clip,
    fade,
    loudness_dbfs,
    read_sound,
    resample,
    scale,
)
from voiceguide.errors import Problem, RoutineError, VoiceguideError
from voiceguide.routine import CHIME_ROLES, Routine

MAX_CHIME_SECONDS = 30.0
SPEECH_LOUDNESS = -20.0  # dBFS (gated) of espeak-ng speech at volume 1.0; the bundled chimes match


def chime_names(routine: Routine) -> dict[str, str]:
    """The sound used for each role: the routine's choice, else the bundled chime of that name."""
    names = {role: role for role in CHIME_ROLES}
    names.update({choice.role: choice.sound for choice in routine.chimes})
    return names


def load_chimes(routine: Routine, sample_rate: int, volume: float) -> dict[str, Clip]:
    """Each role's chime as a clip at `sample_rate`. Raises RoutineError for a bad file."""
    chimes = {}
    for role in CHIME_ROLES:
        choice = next((c for c in routine.chimes if c.role == role), None)
        if choice is None:
            chimes[role] = _bundled(role, sample_rate, volume)
            continue
        try:
            chimes[role] = _prepared(read_sound(choice.path), sample_rate, volume, own=True)
        except AudioFormatError as e:
            pos = choice.pos
            message = f"chime '{choice.sound}' cannot be used: {e}"
            raise RoutineError(Problem(pos.path, pos.line, pos.column, message)) from None
    return chimes


def _bundled(name: str, sample_rate: int, volume: float) -> Clip:
    path = bundled.sound_path(name)
    if path is None:
        raise VoiceguideError(f"the bundled chime '{name}' is missing from {bundled.sounds_dir()}")
    try:
        return _prepared(read_sound(Path(path)), sample_rate, volume, own=False)
    except AudioFormatError as e:
        raise VoiceguideError(f"the bundled chime {path} is damaged: {e}") from None


def _prepared(clip: Clip, sample_rate: int, volume: float, own: bool) -> Clip:
    if clip.length == 0:
        raise AudioFormatError("it holds no sound")
    if clip.seconds > MAX_CHIME_SECONDS:
        raise AudioFormatError(
            f"it lasts {clip.seconds:.0f} s; a chime may last {MAX_CHIME_SECONDS:.0f} s"
        )
    clip = resample(clip, sample_rate)
    gain = volume
    if own:
        loudness = loudness_dbfs(clip.pcm, sample_rate)
        if loudness == float("-inf"):
            raise AudioFormatError("it is silent")
        gain *= 10 ** ((SPEECH_LOUDNESS - loudness) / 20)
    return fade(scale(clip, gain))
