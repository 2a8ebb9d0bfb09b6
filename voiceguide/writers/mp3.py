"""MP3: VBR MPEG Layer III through libsndfile's LAME (the soundfile wheel carries both), with
an ID3v2.3 tag before it holding the tags, the chapters (CTOC + CHAP) and the synced words.

Gapless timing: in VBR mode LAME writes a Xing/LAME header frame that records its encoder
delay and padding, so decoders that read it (ffmpeg, mpv, Android, iOS) give back exactly the
session's samples; lameenc writes none (decoders then start 50 ms late).

Silence: most of a session is digital silence, and LAME spends as long on it as on speech.
Once LAME's output has settled into one repeated silent frame, the rest of a long silence is
written as copies of that frame (the encoder, fed nothing but zeros, would write frames that
decode the same: silent ones; the bytes its bit reservoir leaves in them may differ), LAME is
fed only what is left, and the Xing header is amended to count them.

Parts at once: LAME keeps one core busy, and the soundfile wheel's LAME takes twice as long
as ffmpeg's for the same speech. So a long session is encoded in up to PARTS parts, split in
long silences, each by its own LAME in its own thread (libsndfile lets go of the GIL while it
encodes). A later part is fed from a sample on the whole's frame grid inside the silence, and
its frames are taken from SETTLE seconds on; the earlier part is fed TAIL seconds past that
join. On both sides of a join the frames are silent ones that take nothing from the bit
reservoir (`xing.silent`, checked), so each side decodes exactly as it would alone: the whole
decodes sample for sample in time. One Xing header, amended, counts every frame and records
the last part's padding. Should a join not be as expected, the session is encoded whole."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from voiceguide.writers import Program, WriteProgress, encoded, id3, xing

# LAME's VBR quality as libsndfile's compression level: 0.8 is LAME's -V 8. Speech at 22 kHz
# stays clear, and a session of spoken steps and holds comes to about 1.45 MB per 10 minutes.
QUALITY = 0.8
SETTLED = 8  # identical frames in a row that show LAME's output has settled
WARM_UP = 1.0  # seconds of a silence LAME encodes before its frames may be copied
BLOCK = 4096  # samples of silence fed at a time, while waiting for it to settle
PARTS = 4  # at most, encoded at once
PART_SOUND = 15.0  # seconds of sound at least in each part
LEAD = 1.0  # seconds from a silence's start to the next part's first sample
SETTLE = 2.0  # seconds of silence the next part encodes before its first frame taken
TAIL = 1.0  # seconds the earlier part is fed past the join


def check() -> None:
    encoded.soundfile("MP3", "MP3")


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    sf = encoded.soundfile("MP3", "MP3")
    tag = id3.tag(audio.tags, audio.chapters, audio.words, audio.sample_rate)
    f.write(tag)
    parts = plan(audio)
    if len(parts) > 1:
        try:
            _write_parts(sf, f, audio, parts, progress)
            return
        except _UnexpectedJoin:  # never seen: encoded whole (progress was told already)
            f.seek(len(tag))
            f.truncate()
            progress = None
    stream = LameStream(f, len(tag))
    encoded.encode(
        stream,
        lambda: _lame(sf, stream, audio.sample_rate),
        lambda out: _feed(out, stream, encoded.counted(audio.pieces, progress), audio),
    )


def _lame(sf: Any, stream: LameStream, rate: int) -> Any:
    return sf.SoundFile(
        stream,
        "w",
        rate,
        1,
        format="MP3",
        subtype="MPEG_LAYER_III",
        bitrate_mode="VARIABLE",
        compression_level=QUALITY,
    )


def _feed(
    out: Any,
    stream: LameStream,
    pieces: Iterable[bytes | int],
    audio: Program,
    stop: threading.Event | None = None,
) -> None:
    import numpy as np

    zeros = np.zeros(BLOCK, dtype="<i2")
    warm_up = round(WARM_UP * audio.sample_rate)
    for piece in pieces:
        if isinstance(piece, bytes):
            out.write(np.frombuffer(piece, dtype="<i2"))
        else:
            _silence(out, stream, piece, zeros, warm_up)
        if stream.error or (stop and stop.is_set()):
            return


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


# -- parts at once


@dataclass(frozen=True)
class Part:
    start: int  # the first sample fed: on the whole's frame grid
    stop: int  # the sample after the last fed
    first: int  # the whole's first frame taken from this part
    last: int | None  # the whole's frame after the last taken; None: to the part's end


def frame_samples(rate: int) -> int:
    return 1152 if rate >= 32000 else 576  # MPEG-1 above, MPEG-2 and 2.5 below


def plan(audio: Program) -> list[Part]:
    """The parts to encode at once: joined in the longest-enough silences nearest to equal
    shares of the sound; one part, the whole, when it is short or has no such silence."""
    whole = [Part(0, audio.length, 0, None)]
    if audio.render is None or not audio.sounding:
        return whole
    rate, g = audio.sample_rate, frame_samples(audio.sample_rate)
    lead, settle, tail = (round(seconds * rate) for seconds in (LEAD, SETTLE, TAIL))
    least = round(PART_SOUND * rate)
    spans = sorted(audio.sounding)
    total = sum(end - start for start, end in spans)
    gaps = []  # (sound before it, its first sample, the sample after it)
    before = 0
    for (start, end), (following, _) in itertools.pairwise(spans):
        before += end - start
        if following - end >= lead + settle + tail + 2 * g:
            gaps.append((before, end, following))
    count = min(PARTS, total // least)
    chosen: list[tuple[int, int, int]] = []
    for k in range(1, count):
        best = min(gaps, key=lambda gap: abs(gap[0] - total * k // count), default=None)
        done = chosen[-1][0] if chosen else 0
        if best is not None and best[0] - done >= least and total - best[0] >= least:
            chosen.append(best)
    parts, start, first = [], 0, 0
    for _, silence, _ in chosen:
        fed_from = -(-(silence + lead) // g) * g
        join = fed_from // g + -(-settle // g)
        parts.append(Part(start, join * g + tail, first, join))
        start, first = fed_from, join
    return [*parts, Part(start, audio.length, first, None)] if parts else whole


class _UnexpectedJoin(Exception):
    """The frames at a join are not silent ones, or the parts disagree on the timing."""


def _write_parts(
    sf: Any, f: BinaryIO, audio: Program, parts: list[Part], progress: WriteProgress | None
) -> None:
    assert audio.render is not None
    owned = [p.start for p in parts[1:]] + [audio.length]  # each part's progress: up to there
    tell = _locked(progress)
    with contextlib.ExitStack() as files:
        streams = [
            LameStream(files.enter_context(tempfile.TemporaryFile()), 0, False) for _ in parts
        ]

        def job(i: int) -> Callable[[threading.Event], None]:
            part, stream = parts[i], streams[i]
            mine = (parts[i].start if i else 0, owned[i])

            def encode(stop: threading.Event) -> None:
                pieces = _progress_in(audio.render(part.start, part.stop), part.start, mine, tell)
                encoded.encode(
                    stream,
                    lambda: _lame(sf, stream, audio.sample_rate),
                    lambda out: _feed(out, stream, pieces, audio, stop),
                )

            return encode

        _in_threads([job(i) for i in range(len(parts))])
        _join(f, audio, parts, streams)


def _join(f: BinaryIO, audio: Program, parts: list[Part], streams: list[LameStream]) -> None:
    """Write the parts' frames after the tag, under one Xing header counting them all."""
    g = frame_samples(audio.sample_rate)
    taken = []  # (stream, its first frame taken, its frame after the last taken)
    for part, stream in zip(parts, streams, strict=True):
        if stream.pending or stream.frame_samples != g:
            raise _UnexpectedJoin(f"a part ends in half a frame, or in frames of {g} samples")
        own = part.start // g
        last = len(stream.offsets) if part.last is None else part.last - own
        taken.append((stream, part.first - own, last))
    for (before, _, end), (after, begin, _) in itertools.pairwise(taken):
        silent = _silent(before, end - SETTLED, end) and _silent(after, begin - SETTLED, begin)
        if not (silent and _independent(after, begin)):
            raise _UnexpectedJoin("the frames at a join are not silent ones")
    heads = [s.written(0, s.header) for s in streams]
    delay, _ = xing.delay_padding(heads[0])
    offsets, position = array("q"), len(heads[0])
    ranges = []
    for stream, begin, end in taken:
        at = stream.offsets[begin]
        stop = stream.offsets[end] if end < len(stream.offsets) else stream.scanned
        offsets.extend(position + o - at for o in stream.offsets[begin:end])
        ranges.append((stream, at, stop))
        position += stop - at
    padding = len(offsets) * g - delay - audio.length
    if {xing.delay_padding(h)[0] for h in heads} != {delay} or xing.delay_padding(heads[-1])[
        1
    ] != padding:
        raise _UnexpectedJoin("the parts do not add up to the session's length")
    frames, size = xing.counts(heads[0])
    f.write(xing.amended(heads[0], len(offsets) - frames, position - size, offsets, padding))
    for stream, at, stop in ranges:
        stream.copy(f, at, stop)


def _silent(stream: LameStream, first: int, end: int) -> bool:
    """Frames [first, end) take no bits: a decoder comes out of them with nothing in its
    filters, whatever came before."""
    if first < 0 or end > len(stream.offsets):
        return False
    return all(xing.side_info(stream.frame(i))[1] == 0 for i in range(first, end))


def _independent(stream: LameStream, begin: int) -> bool:
    """No frame from `begin` on reads main data from the bytes before it (the bit reservoir
    reaches back a few hundred bytes: into the silence before a join, never further)."""
    room, index = 0, begin
    while index < len(stream.offsets):
        frame = stream.frame(index)
        if room >= xing.reservoir(frame):
            return True
        back, takes, holds = xing.side_info(frame)
        if takes and back > room:
            return False
        room, index = room + holds, index + 1
    return True


def _progress_in(
    pieces: Iterable[bytes | int], start: int, mine: tuple[int, int], progress
) -> Iterator[bytes | int]:
    """The pieces, telling `progress` how many of their samples fall in `mine`, from a part
    starting at `start`: the parts overlap in silence, and each sample counts once."""
    at = start
    for piece in pieces:
        yield piece
        n = piece if isinstance(piece, int) else len(piece) // 2
        counted = min(at + n, mine[1]) - max(at, mine[0])
        if progress and counted > 0:
            progress(counted)
        at += n


def _locked(progress: WriteProgress | None) -> WriteProgress | None:
    if progress is None:
        return None
    lock = threading.Lock()

    def tell(samples: int) -> None:
        with lock:
            progress(samples)

    return tell


def _in_threads(jobs: list[Callable[[threading.Event], None]]) -> None:
    """Run the jobs at once; the first error (a Ctrl-C included) stops the others and is raised
    once they have stopped."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(job: Callable[[threading.Event], None]) -> None:
        try:
            job(stop)
        except BaseException as e:  # raised again below, in the caller's thread
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=run, args=(job,), name="voiceguide-mp3") for job in jobs]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


class LameStream(encoded.Shifted):
    """The file LAME writes through libsndfile, seen after the ID3 tag. It notes where each
    frame starts and the last few frames, adds copies of a settled frame when asked, and
    amends the Xing header when libsndfile rewrites it at the end."""

    def __init__(self, f: BinaryIO, base: int, amend: bool = True) -> None:
        super().__init__(f, base)
        self.amend = amend  # the Xing header counts the copies (else the caller amends it)
        self.offsets = array("q")  # each audio frame's start, from the Xing frame's
        self.recent: deque[bytes] = deque(maxlen=SETTLED)
        self.pending = b""  # the start of a frame not yet whole
        self.scanned = 0  # where `pending` starts
        self.header = 0  # the Xing frame's length, once written
        self.frame_samples = 0
        self.added_frames = self.added_bytes = 0

    def put(self, data: bytes) -> None:
        at = self.where()
        if at == 0 and self.header and self.amend:  # libsndfile's last word: the Xing frame
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

    def written(self, start: int, end: int) -> bytes:
        """Bytes written, from where the Xing frame starts (a stream on a readable file)."""
        self.f.seek(self.base + start)
        return self.f.read(end - start)

    def frame(self, index: int) -> bytes:
        start = self.offsets[index]
        end = self.offsets[index + 1] if index + 1 < len(self.offsets) else self.scanned
        return self.written(start, end)

    def copy(self, out: BinaryIO, start: int, end: int) -> None:
        self.f.seek(self.base + start)
        left = end - start
        while left:
            chunk = self.f.read(min(left, 1 << 20))
            if not chunk:
                raise OSError("a part of the MP3 was cut short")
            out.write(chunk)
            left -= len(chunk)
