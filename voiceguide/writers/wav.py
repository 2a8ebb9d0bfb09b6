"""WAV: 16-bit mono PCM, sample-exact, with digital silence left as holes (a sparse file).

No tags or chapters inside: the CUE sheet and the other sidecars carry them."""

from __future__ import annotations

import os
from typing import BinaryIO

from voiceguide.audio import wav_header
from voiceguide.errors import OutputError
from voiceguide.writers import Program, WriteProgress

MAX_WAV_BYTES = 0xFFFFFFFF - 36  # a RIFF size field is 32 bits


def check() -> None:
    """Needs nothing beyond Python."""


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    if audio.length * 2 > MAX_WAV_BYTES:
        raise OutputError("the session is too long for a WAV file (4 GB)")
    f.write(wav_header(audio.length, audio.sample_rate))
    for piece in audio.pieces:
        if isinstance(piece, int):
            # Digital silence becomes a hole: it reads back as zeros and costs no writing.
            f.seek(2 * piece, os.SEEK_CUR)
        else:
            f.write(piece)
        if progress:
            progress(piece if isinstance(piece, int) else len(piece) // 2)
    f.truncate()  # the file ends here, even when it ends in a hole
