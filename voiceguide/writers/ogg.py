"""Ogg pages, and the Opus comment header (OpusTags) with chapters, built byte by byte.

libsndfile writes its own OpusTags packet with only the tags it knows; `TagsSwap` replaces that
packet, which is alone on the stream's second page, with ours as the bytes go to the file.

An Ogg page (RFC 3533):
  "OggS" | version 0 | header type: 1 continued, 2 first page, 4 last page |
  granule position: 8 bytes LE | serial number: 4 LE | page sequence number: 4 LE |
  CRC-32: 4 LE, of the page with this field zero (polynomial 0x04C11DB7, not reflected) |
  segment count: 1 byte | segment table: that many lengths, 255 means "the packet goes on" |
  the packets' bytes
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import BinaryIO

from voiceguide.writers.encoded import Guarded

HEADER = struct.Struct("<4sBBqIIIB")  # up to and including the segment count: 27 bytes
MAX_PACKET = 255 * 255 - 1  # what one page can hold whole (its lacing ends below 255)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def crc32(data: bytes) -> int:
    """Ogg's CRC: zlib's polynomial, but shifted left (not reflected), starting from 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[(crc >> 24) ^ byte]
    return crc


def page(packet: bytes, serial: int, sequence: int, granule: int = 0, kind: int = 0) -> bytes:
    """One page holding exactly one whole packet."""
    if len(packet) > MAX_PACKET:
        raise ValueError(f"a packet of {len(packet)} bytes does not fit one page")
    full, rest = divmod(len(packet), 255)
    lacing = bytes([255] * full + [rest])
    head = HEADER.pack(b"OggS", 0, kind, granule, serial, sequence, 0, len(lacing)) + lacing
    crc = crc32(head + packet)
    return head[:22] + struct.pack("<I", crc) + head[26:] + packet


def parse_page(data: bytes) -> tuple[int, int, int, bytes] | None:
    """(page length, serial, sequence, the page's body) of the page at the start of `data`,
    or None if `data` does not hold a whole page yet."""
    if len(data) < HEADER.size:
        return None
    magic, _, _, _, serial, sequence, _, segments = HEADER.unpack_from(data)
    if magic != b"OggS":
        raise ValueError("not an Ogg page")
    if len(data) < HEADER.size + segments:
        return None
    body_length = sum(data[HEADER.size : HEADER.size + segments])
    length = HEADER.size + segments + body_length
    if len(data) < length:
        return None
    return length, serial, sequence, data[HEADER.size + segments : length]


def opus_tags(vendor: str, comments: Sequence[tuple[str, str]]) -> bytes:
    """OpusTags (RFC 7845 5.2): "OpusTags" | vendor length: 4 LE | vendor, UTF-8 |
    comment count: 4 LE | each comment: length: 4 LE | "NAME=value", UTF-8."""
    encoded = [f"{name}={value}".encode() for name, value in comments]
    packet = b"OpusTags" + _counted(vendor.encode()) + struct.pack("<I", len(encoded))
    return packet + b"".join(_counted(c) for c in encoded)


def _counted(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


def chapter_comments(chapters: Sequence[tuple[int, str]]) -> list[tuple[str, str]]:
    """CHAPTER001=00:00:00.000 and CHAPTER001NAME=title (the Vorbis chapter extension), times
    in milliseconds, rounded down by the caller."""
    comments = []
    for n, (ms, title) in enumerate(chapters, 1):
        hours, rest = divmod(ms, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        seconds, millis = divmod(rest, 1000)
        clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
        comments += [(f"CHAPTER{n:03d}", clock), (f"CHAPTER{n:03d}NAME", title)]
    return comments


class TagsSwap(Guarded):
    """A file libsndfile writes Ogg Opus into, that swaps the second page (OpusTags) for ours.

    Bytes are held until the first two pages are whole; then the first page and our tags page
    go out, and everything after passes straight through. Write, seek and tell only."""

    def __init__(self, f: BinaryIO, tags_packet: bytes) -> None:
        super().__init__()
        self.f = f
        self.tags = tags_packet
        self.held = b""
        self.passing = False
        self.shift = 0  # our page's length minus theirs: file position minus libsndfile's

    def put(self, data: bytes) -> None:
        if self.passing:
            self.f.write(data)
            return
        self.held += data
        first = parse_page(self.held)
        second = first and parse_page(self.held[first[0] :])
        if first and second:
            length, serial, sequence, body = second
            if sequence != 1 or not body.startswith(b"OpusTags"):
                raise ValueError("libsndfile's second Ogg page is not the OpusTags header")
            ours = page(self.tags, serial, sequence)
            self.f.write(self.held[: first[0]] + ours + self.held[first[0] + length :])
            self.shift = len(ours) - length
            self.held, self.passing = b"", True

    def move(self, offset: int, whence: int) -> int:
        if not self.passing and offset == 0 and whence in (0, 2):
            return 0  # libsndfile looks at the (empty) file's size when it opens it
        if whence == 0:
            offset += self.shift
        return self.f.seek(offset, whence) - self.shift

    def where(self) -> int:
        return self.f.tell() - self.shift if self.passing else len(self.held)
