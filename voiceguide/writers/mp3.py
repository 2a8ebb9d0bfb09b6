"""MP3: VBR MPEG Layer III through LAME (the `lameenc` wheel carries it), with an ID3v2.3 tag
before it holding the tags, the chapters (CTOC + CHAP) and the synced words.

Gapless timing: the first frame is a Xing/LAME header frame, written here (lameenc writes
none), that records the frame count, a seek table, LAME's encoder delay and the padding at
the end, so decoders that read it (ffmpeg, mpv, Android, iOS) give back exactly the session's
samples. Without it they report a wrong length and start 50 ms late.

Why lameenc rather than libsndfile's LAME (which writes that header itself): the same LAME
settings gave frames of the same size, for a third of the CPU time (0.21 s against 0.62 s for
two minutes of speech): the soundfile wheel's LAME was built slow. MP3 export of the
benchmark's 60-minute session went from 1.11 times ffmpeg's time on the same WAV to 0.37.

Silence: most of a session is digital silence, and LAME spends as long on it as on speech.
Once LAME's output has settled into one repeated silent frame, the rest of a long silence is
written as copies of that frame (the encoder, fed nothing but zeros, would write frames that
decode the same: silent ones; the bytes its bit reservoir leaves in them may differ), LAME is
fed only what is left, and the Xing header counts them.

Tiny tracks (a step of a few samples, or of none): ffmpeg drops the encoder's delay plus its
own decoder's (529 samples) from the start, and the padding from the end; when the end's
padding begins inside the frame where that skip ends (a program under 47 samples), it forgets
the rest of the skip and gives back 529 samples too many. Such a program is put after a
lead-in of silence that ends that skip on a frame's edge, recorded as encoder delay, so that
even a track of no samples decodes to exactly its length."""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any, BinaryIO

from voiceguide.writers import Program, WriteProgress, encoded, id3, xing

# LAME's VBR quality: -V 8. Speech at 22 kHz stays clear, and a session of spoken steps and
# holds comes to about 1.45 MB per 10 minutes.
QUALITY = 8
VBR_DEFAULT = 4  # LAME's vbr_mtrh, its default VBR mode (lame -V)
SETTLED = 8  # identical frames in a row that show LAME's output has settled
WARM_UP = 1.0  # seconds of a silence LAME encodes before its frames may be copied
BLOCK = 4096  # samples of silence fed at a time, while waiting for it to settle
DECODER_DELAY = 529  # samples ffmpeg's MP3 decoder adds to the encoder delay it drops


def check() -> None:
    encoded.lameenc("MP3")


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    lame = _encoder(encoded.lameenc("MP3"), audio.sample_rate)
    f.write(id3.tag(audio.tags, audio.chapters, audio.words, audio.sample_rate))
    lead = lead_in(audio.sample_rate, audio.length)
    stream = LameStream(f, audio.sample_rate, xing.ENCODER_DELAY + lead)
    zeros = bytes(2 * BLOCK)
    # lameenc's flush refuses an encoder never given input (a program of no samples);
    # nothing in, nothing out, and LAME is started.
    stream.put(lame.encode(zeros[: 2 * lead]))
    warm_up = round(WARM_UP * audio.sample_rate)
    for piece in encoded.counted(audio.pieces, progress):
        if isinstance(piece, bytes):
            stream.put(lame.encode(piece))
        else:
            _silence(lame, stream, piece, zeros, warm_up)
    stream.put(lame.flush())
    stream.finish(audio.length)


def lead_in(rate: int, length: int) -> int:
    """Samples of silence to put before a program of `length` samples so that ffmpeg decodes
    it to exactly that length (see the module's docstring): none unless it is that short."""
    frame = xing.frame_length(xing.header_frame(rate))[1]
    lead = -(xing.ENCODER_DELAY + DECODER_DELAY) % frame
    return lead if length < lead else 0


def _encoder(lameenc: Any, rate: int) -> Any:
    lame = lameenc.Encoder()
    lame.set_channels(1)
    lame.set_in_sample_rate(rate)
    lame.set_out_sample_rate(rate)  # else LAME may pick another
    lame.set_vbr(VBR_DEFAULT)
    lame.set_vbr_quality(QUALITY)
    return lame


def _silence(lame: Any, stream: LameStream, count: int, zeros: bytes, warm_up: int) -> None:
    """`count` samples of silence: encoded until LAME settles, then copies of its frame."""
    fed = 0
    while fed < count:
        settled = stream.settled() if fed >= warm_up else None
        if settled is not None:
            copies = (count - fed) // stream.frame_samples
            stream.add(settled, copies)
            fed += copies * stream.frame_samples
            warm_up = count  # LAME takes the rest, less than a frame
        n = min(BLOCK, count - fed)
        if n:
            stream.put(lame.encode(zeros[: 2 * n]))
        fed += n


class LameStream:
    """The MPEG frames LAME writes, after a Xing/LAME header frame that `finish` fills in. It
    notes where each frame starts and the last few frames, and adds copies of a settled frame
    when asked."""

    def __init__(self, f: BinaryIO, rate: int, delay: int = xing.ENCODER_DELAY) -> None:
        self.f, self.base = f, f.tell()
        self.header = xing.header_frame(rate, delay)
        f.write(self.header)
        self.offsets = array("q")  # each audio frame's start, from the header frame's
        self.recent: deque[bytes] = deque(maxlen=SETTLED)
        self.pending = b""  # the start of a frame not yet whole
        self.scanned = len(self.header)  # where `pending` starts
        self.frame_samples = xing.frame_length(self.header)[1]

    def put(self, data: bytes) -> None:
        if not data:
            return
        self.f.write(data)
        self.pending += data
        while len(self.pending) >= 4:
            length, _ = xing.frame_length(self.pending)
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

    def finish(self, length: int) -> None:
        """The header frame, counting every frame and byte, and the padding at the end that
        makes the decoded length `length` samples."""
        if self.pending:
            raise ValueError("LAME's output ends inside a frame")
        delay, _ = xing.delay_padding(self.header)
        padding = len(self.offsets) * self.frame_samples - delay - length
        header = xing.amended(self.header, len(self.offsets), self.scanned, self.offsets, padding)
        end = self.f.tell()
        self.f.seek(self.base)
        self.f.write(header)
        self.f.seek(end)
