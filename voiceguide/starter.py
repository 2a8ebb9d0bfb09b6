"""`voiceguide new`: a commented starter routine that passes `voiceguide check`."""

from __future__ import annotations

from pathlib import Path

from voiceguide.errors import OutputError
from voiceguide.files import AtomicFiles, recover

STARTER = """\
# A voiceguide routine. Check it with: voiceguide check {name}
# See it second by second:             voiceguide show {name}
title: My first routine                 # required; shown by 'list' and 'show'
description: What this is for. Not spoken.

# How it sounds (the command line's --voice, --rate and --volume win over these).
speech:
  voice: en-us      # see: voiceguide voices --lang en
  rate: 135         # words a minute; calm is 120 to 150
  volume: 0.9       # above 0, at most 1

steps:               # done in order
  - say: Find a comfortable position, and breathe slowly.
    pause: 5s        # silence after the words: 10s, 1m, 1m30s, 2.5s or 1:30

  - say: At the chime, press gently on the spot with two fingers.
    hold: 30s        # a chime, 30 seconds, a chime: the chime, not the words, is the signal
    halfway: true    # "Halfway." at mid-hold
    countdown: 3     # "three", "two", "one" in the last seconds

  - repeat: 2        # the nested steps, twice, announced as rounds
    rest: 10s        # silence between rounds
    steps:
      - say: Press and hold.
        hold: 10s

  - sides: [left, right]   # the nested steps once a side; {{side}} becomes the side
    steps:
      - say: At the chime, press the point on your {{side}} side.
        hold: 20s
        countdown: 3

  - say: Slowly release, and rest your hands.
    pause: 5s

# More, when you need it (README, "Writing a routine"):
#   remind: [{{left: 10s, say: Ten seconds left.}}]   words inside a long hold (also every:, at:)
#   params: {{rounds: {{default: 2, choices: [2, 3]}}}}  a choice made with --set rounds=3
#   include: another-routine                        its steps here (with: its params)
#   part: opening / part: closing                   said once when routines are composed
#   per_day: 5                                      'play' asks for --anyway after 5 a day
#   language: de, wording:, pronounce:              another language, your own words, how a
#                                                   word is said (voiceguide voices --lang de)
"""


def starter_text(name: str) -> str:
    return STARTER.format(name=name)


def write_starter(path: Path, force: bool = False) -> None:
    """Write the starter routine to `path`, atomically. Raises OutputError."""
    try:
        recover([path])
        if path.exists() and not force:
            raise OutputError(f"{path} exists; use --force to overwrite it")
        with AtomicFiles(overwrite=force) as files:
            with files.open(path) as f:
                f.write(starter_text(str(path)).encode("utf-8"))
            files.commit()
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
