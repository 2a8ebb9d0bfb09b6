"""Chimes: the bundled ones in sounds/, or a routine's own WAV files, ready to join to speech.

Every chime is converted to the session's rate, faded so it cannot click, and set to the
speech's loudness at the session's volume. That takes pure-Python sample arithmetic, so the
result is kept in the phrase cache, keyed by the file's contents, the rate and the gain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from voiceguide import bundled
from voiceguide.audio import (
    AudioFormatError,
    Clip,
    decode_sound,
    fade,
    loudness_dbfs,
    read_sound_bytes,
    resample,
    scale,
)
from voiceguide.cache import FORMAT, PhraseCache
from voiceguide.errors import OutputError, Problem, RoutineError, VoiceguideError
from voiceguide.routine import CHIME_ROLES, Routine

MAX_CHIME_SECONDS = 30.0
SPEECH_LOUDNESS = -20.0  # dBFS (gated) of espeak-ng speech at volume 1.0; the bundled chimes match


def chime_names(routine: Routine) -> dict[str, str]:
    """The sound used for each role: the routine's choice, else the bundled chime of that name."""
    names = {role: role for role in CHIME_ROLES}
    names.update({choice.role: choice.sound for choice in routine.chimes})
    return names


def load_chimes(
    routine: Routine,
    sample_rate: int,
    volume: float,
    cache: PhraseCache | None = None,
    used: set[Path] | None = None,
) -> dict[str, Clip]:
    """Each role's chime as a clip at `sample_rate`; the cache files they are kept in are
    added to `used`. Raises RoutineError for a bad file."""
    chimes = {}
    for role in CHIME_ROLES:
        choice = next((c for c in routine.chimes if c.role == role), None)
        if choice is None:
            path = bundled.sound_path(role)
            if path is None:
                raise VoiceguideError(
                    f"the bundled chime '{role}' is missing from {bundled.sounds_dir()}"
                )
            try:
                chimes[role] = _prepared(path, sample_rate, volume, False, cache, used)
            except AudioFormatError as e:
                raise VoiceguideError(f"the bundled chime {path} is damaged: {e}") from None
            continue
        try:
            chimes[role] = _prepared(choice.path, sample_rate, volume, True, cache, used)
        except AudioFormatError as e:
            pos = choice.pos
            message = f"chime '{choice.sound}' cannot be used: {e}"
            raise RoutineError(Problem(pos, message)) from None
    return chimes


def _prepared(
    path: Path,
    rate: int,
    volume: float,
    own: bool,
    cache: PhraseCache | None,
    used: set[Path] | None,
) -> Clip:
    """The chime converted at full volume, then `volume` as a gain. Both are kept in the
    cache, like a phrase and its copy at a volume: the copy is read as it is."""
    data = read_sound_bytes(path)
    fields = [FORMAT, "chime", hashlib.sha256(data).hexdigest(), rate, own]
    key = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
    if cache is not None and used is not None:
        used.update({cache.path(key), cache.path(cache.copy_key(key, volume))})
    copy = cache.get(cache.copy_key(key, volume)) if cache is not None and volume != 1.0 else None
    if copy is not None:
        return Clip(copy.read(), rate)
    entry = cache.get(key) if cache is not None else None
    full = Clip(entry.read(), rate) if entry else _converted(decode_sound(data), rate, 1.0, own)
    if cache is not None and entry is None:
        cache.put(key, full, voice="", engine="chimes")
    # In Python, not numpy (whose import alone takes longer): a gain of at most 1 never clips,
    # so `scale` rounds each sample exactly as the speech's gain does (`cache.gained`).
    at_volume = scale(full, volume)
    if cache is not None and volume != 1.0:
        with contextlib.suppress(OutputError):  # a read-only cache: made each time, then
            cache.put(cache.copy_key(key, volume), at_volume, "", "chimes", volume)
    return at_volume


def _converted(clip: Clip, sample_rate: int, volume: float, own: bool) -> Clip:
    if clip.length == 0:
        raise AudioFormatError("it holds no sound")
    if clip.seconds > MAX_CHIME_SECONDS:
        limit = f"{MAX_CHIME_SECONDS:.0f} s"
        raise AudioFormatError(f"it lasts {clip.seconds:.0f} s; a chime may last {limit}")
    clip = resample(clip, sample_rate)
    gain = volume
    if own:
        loudness = loudness_dbfs(clip.pcm, sample_rate)
        if loudness == float("-inf"):
            raise AudioFormatError("it is silent")
        gain *= 10 ** ((SPEECH_LOUDNESS - loudness) / 20)
    return fade(scale(clip, gain))
