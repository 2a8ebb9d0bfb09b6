"""Opus in Ogg through libsndfile's libopus (the soundfile wheel carries both), with our own
comment header: tags, chapters (CHAPTERnnn) and the words as LRC (LYRICS).

Opus runs only at 8, 12, 16, 24 or 48 kHz, and libsndfile's encoder was measured 4x faster at
48 kHz than at 24 kHz (1.36 s against 0.31 s for a minute of speech), so the session is written
at 48 kHz, which is also what every Opus decoder gives back. Each distinct clip (a phrase, a
chime) is resampled once and placed at its own start, converted, so onsets stay within one
sample of the timeline. libsndfile records the encoder's pre-skip and the final granule
position, so decoders give back exactly the length."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from voiceguide.writers import Program, WriteProgress, encoded, ogg

RATE = 48000
MAX_KEPT = 24 << 20  # bytes of resampled clips kept for reuse
VENDOR = "voiceguide (libopus through libsndfile)"


def check() -> None:
    encoded.soundfile("OGG", "Opus")


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    sf = encoded.soundfile("OGG", "Opus")
    rate = RATE
    stream = ogg.TagsSwap(f, _tags_packet(audio))
    resampled = _resampled(audio, rate, encoded.counted(audio.pieces, progress))
    encoded.encode(
        stream,
        lambda: sf.SoundFile(stream, "w", rate, 1, format="OGG", subtype="OPUS"),
        lambda out: encoded.write_all(out, stream, encoded.blocks(resampled)),
    )


def _tags_packet(audio: Program) -> bytes:
    rate = audio.sample_rate
    tags = audio.tags
    comments = [("TITLE", tags.title), ("ARTIST", tags.artist), ("ALBUM", tags.album)]
    if tags.track:
        comments += [("TRACKNUMBER", str(tags.track[0])), ("TRACKTOTAL", str(tags.track[1]))]
    comments.append(("COMMENT", tags.comment))
    starts = [(c.start * 1000 // rate, c.title) for c in audio.chapters]
    comments += ogg.chapter_comments(starts)
    packet = ogg.opus_tags(VENDOR, comments)
    with_words = ogg.opus_tags(VENDOR, [*comments, ("LYRICS", audio.lrc())])
    return with_words if len(with_words) <= ogg.MAX_PACKET else packet  # one page, or no words


def _resampled(audio: Program, rate: int, pieces: Iterable[bytes | int]) -> Iterator[bytes | int]:
    """The program's pieces at `rate`: silence stretched, each clip resampled once."""
    if rate == audio.sample_rate:
        yield from pieces
        return
    done = Resampled(audio.sample_rate, rate)
    source = 0  # samples of the program read
    written = 0  # samples at `rate` handed on
    for piece in pieces:
        if isinstance(piece, int):
            source += piece
            continue
        start = _convert(source, audio.sample_rate, rate)
        if start > written:
            yield start - written
        clip = done.get(piece)
        clip = clip[2 * max(0, written - start) :]  # a neighbour's rounding: a sample at most
        yield clip
        written = max(start, written) + len(clip) // 2
        source += len(piece) // 2
    end = _convert(audio.length, audio.sample_rate, rate)
    if end > written:
        yield end - written


class Resampled:
    """Clips resampled once each, kept by their digest (a phrase recurs all through a
    session), up to MAX_KEPT bytes: a long session's many phrases then cost at most that."""

    def __init__(self, source: int, target: int) -> None:
        self.source, self.target = source, target
        self.kept: OrderedDict[bytes, bytes] = OrderedDict()
        self.size = 0

    def get(self, pcm: bytes) -> bytes:
        key = hashlib.blake2b(pcm, digest_size=16).digest()
        clip = self.kept.get(key)
        if clip is not None:
            self.kept.move_to_end(key)
            return clip
        clip = self.kept[key] = resample(pcm, self.source, self.target)
        self.size += len(clip)
        while self.size > MAX_KEPT:
            self.size -= len(self.kept.popitem(last=False)[1])
        return clip


def _convert(samples: int, source: int, target: int) -> int:
    return (samples * target + source // 2) // source


def resample(pcm: bytes, source: int, target: int) -> bytes:
    """16-bit PCM at another rate, by the Fourier transform: exact band-limited interpolation.

    The clip is padded with silence to a length whose transforms at both rates factor into
    small primes: numpy keeps a plan for each length it meets, and plans for awkward lengths
    were measured to hold 70 MB. The silence also keeps the clip's end from wrapping onto its
    start."""
    import numpy as np

    x: Any = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    g = math.gcd(source, target)
    p, q = source // g, target // g  # 147 and 320 for 22050 -> 48000
    m = _smooth(-(-len(x) // p) + 1)
    spectrum = np.fft.rfft(x, p * m)  # zero-padded to p * m
    fitted = np.zeros(q * m // 2 + 1, dtype=complex)
    kept = min(len(fitted), len(spectrum))
    fitted[:kept] = spectrum[:kept]
    y = np.fft.irfft(fitted, q * m)[: _convert(len(x), source, target)] * (q / p)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def _smooth(n: int) -> int:
    """The least 2^a 3^b 5^c at or above n."""
    best = 1 << max(0, n - 1).bit_length()
    threes = 1
    while threes < best:
        both = threes
        while both < best:
            twos = both
            while twos < n:
                twos *= 2
            best = min(best, twos)
            both *= 5
        threes *= 3
    return best
