"""MP3: VBR MPEG Layer III through libsndfile's LAME (the soundfile wheel carries both), with
an ID3v2.3 tag before it holding the tags, the chapters (CTOC + CHAP) and the synced words.

Gapless timing: in VBR mode LAME writes a Xing/LAME header frame that records its encoder
delay and padding, so decoders that read it (ffmpeg, mpv, Android, iOS) give back exactly the
session's samples; lameenc writes none (decoders then start 50 ms late)."""

from __future__ import annotations

from typing import BinaryIO

from voiceguide.writers import Program, WriteProgress, encoded, id3

# LAME's VBR quality as libsndfile's compression level: 0.8 is LAME's -V 8. Speech at 22 kHz
# stays clear, and a session of spoken steps and holds comes to about 1.45 MB per 10 minutes.
QUALITY = 0.8


def check() -> None:
    encoded.soundfile("MP3", "MP3")


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    sf = encoded.soundfile("MP3", "MP3")
    tag = id3.tag(audio.tags, audio.chapters, audio.words, audio.sample_rate)
    f.write(tag)
    stream = encoded.Shifted(f, len(tag))
    encoded.encode(
        stream,
        lambda: sf.SoundFile(
            stream,
            "w",
            audio.sample_rate,
            1,
            format="MP3",
            subtype="MPEG_LAYER_III",
            bitrate_mode="VARIABLE",
            compression_level=QUALITY,
        ),
        encoded.blocks(encoded.counted(audio.pieces, progress)),
    )
