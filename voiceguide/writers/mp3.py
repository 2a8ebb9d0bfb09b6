"""MP3: VBR MPEG Layer III through libsndfile's LAME (the soundfile wheel carries both), with
an ID3v2.3 tag before it holding the tags, the chapters (CTOC + CHAP) and the synced words.

Gapless timing: in VBR mode LAME writes a Xing/LAME header frame that records its encoder
delay and padding, so decoders that read it (ffmpeg, mpv, Android, iOS) give back exactly the
session's samples; lameenc writes none (decoders then start 50 ms late).

Silence: most of a session is digital silence, and LAME spends as long on it as on speech.
Once LAME's output has settled into one repeated silent frame, the rest of a long silence is
written as copies of that frame (the encoder, fed nothing but zeros, would write exactly
those), LAME is fed only what is left, and the Xing header is amended to count them."""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any, BinaryIO

from voiceguide.writers import Program, WriteProgress, encoded, id3, xing

# LAME's VBR quality as libsndfile's compression level: 0.8 is LAME's -V 8. Speech at 22 kHz
# stays clear, and a session of spoken steps and holds comes to about 1.45 MB per 10 minutes.
QUALITY = 0.8
SETTLED = 8  # identical frames in a row that show LAME's output has settled
WARM_UP = 1.0  # seconds of a silence LAME encodes before its frames may be copied
BLOCK = 4096  # samples of silence fed at a time, while waiting for it to settle


def check() -> None:
    encoded.soundfile("MP3", "MP3")


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    sf = encoded.soundfile("MP3", "MP3")
    tag = id3.tag(audio.tags, audio.chapters, audio.words, audio.sample_rate)
    f.write(tag)
    stream = LameStream(f, len(tag))
    pieces = encoded.counted(audio.pieces, progress)
    warm_up = round(WARM_UP * audio.sample_rate)

    def feed(out: Any) -> None:
        import numpy as np

        zeros = np.zeros(BLOCK, dtype="<i2")
        for piece in pieces:
            if isinstance(piece, bytes):
                out.write(np.frombuffer(piece, dtype="<i2"))
            else:
                _silence(out, stream, piece, zeros, warm_up)
            if stream.error:
                return

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
        feed,
    )


def _silence(out: Any, stream: LameStream, count: int, zeros: Any, warm_up: int) -> None:
    """`count` samples of silence: encoded until LAME settles, then copies of its frame."""
    fed = 0
    while fed < count and not stream.error:
        settled = stream.settled() if fed >= warm_up else None
        if settled is not None:
            copies = (count - fed) // stream.frame_samples
            stream.add(settled, copies)
            fed += copies * stream.frame_samples
            warm_up = count  # LAME takes the rest, less than a frame
        n = min(BLOCK, count - fed)
        out.write(zeros[:n])
        fed += n


class LameStream(encoded.Shifted):
    """The file LAME writes through libsndfile, seen after the ID3 tag. It notes where each
    frame starts and the last few frames, adds copies of a settled frame when asked, and
    amends the Xing header when libsndfile rewrites it at the end."""

    def __init__(self, f: BinaryIO, base: int) -> None:
        super().__init__(f, base)
        self.offsets = array("q")  # each audio frame's start, from the Xing frame's
        self.recent: deque[bytes] = deque(maxlen=SETTLED)
        self.pending = b""  # the start of a frame not yet whole
        self.scanned = 0  # where `pending` starts
        self.header = 0  # the Xing frame's length, once written
        self.frame_samples = 0
        self.added_frames = self.added_bytes = 0

    def put(self, data: bytes) -> None:
        at = self.where()
        if at == 0 and self.header:  # libsndfile's last word: the finished Xing frame
            data = xing.amended(data, self.added_frames, self.added_bytes, self.offsets)
        self.f.write(data)
        if at == 0 and not self.header:
            self.header = xing.frame_length(data)[0]
            self.pending, self.scanned = data[self.header :], self.header
            self._scan()
        elif at != 0:
            self.pending += data
            self._scan()

    def _scan(self) -> None:
        while len(self.pending) >= 4:
            length, self.frame_samples = xing.frame_length(self.pending)
            if len(self.pending) < length:
                return
            self.offsets.append(self.scanned)
            self.recent.append(self.pending[:length])
            self.pending, self.scanned = self.pending[length:], self.scanned + length

    def settled(self) -> bytes | None:
        """The frame LAME has written the last SETTLED times running, if it has (and the bytes
        it has written since are the start of it once more)."""
        if len(self.recent) < SETTLED or len(set(self.recent)) != 1:
            return None
        frame = self.recent[-1]
        return frame if frame.startswith(self.pending) else None

    def add(self, frame: bytes, copies: int) -> None:
        """`copies` more of `frame` after what LAME has written. LAME's writes need not end on
        a frame's end: after the `pending` start of one, the copies go in rotated, so that the
        bytes read on as whole frames again."""
        cut = len(self.pending)
        rotated = frame[cut:] + frame[:cut]
        for start in range(0, copies, 4096):
            self.f.write(rotated * min(4096, copies - start))
        step = len(frame)
        self.offsets.extend(range(self.scanned, self.scanned + copies * step, step))
        self.scanned += copies * step  # the pending frame now starts here
        self.added_frames += copies
        self.added_bytes += copies * step
