"""An ID3v2.3 tag, built byte by byte: title, artist, album, track, comment, chapters and
synced words. Version 2.3 rather than 2.4 because more players read it (Windows, older phones).

The layout (id3.org "ID3v2.3.0" and "ID3v2 Chapter Frame Addendum 1.0"):

  tag header   "ID3" | version 03 00 | flags 00 | size: 4 bytes, 7 bits each ("syncsafe"),
               the size of everything after this 10-byte header
  frame        id: 4 ASCII letters | size: 4 bytes big-endian, of the body | flags: 00 00 | body

No unsynchronisation, no extended header, no padding.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from voiceguide.writers import Chapter, Tags, Words

TOC_ID = b"toc"
MAX_CHAPTERS = 255  # a CTOC frame counts its entries in one byte


def tag(tags: Tags, chapters: Sequence[Chapter], words: Sequence[Words], rate: int) -> bytes:
    """The whole tag, to go before the first MPEG frame. Times in milliseconds, rounded down,
    so that a chapter or a line never starts late."""
    frames = [
        text_frame(b"TIT2", tags.title),
        text_frame(b"TPE1", tags.artist),
        text_frame(b"TALB", tags.album),
        comment_frame(tags.comment),
    ]
    if tags.track:
        frames.append(text_frame(b"TRCK", f"{tags.track[0]}/{tags.track[1]}"))
    chapters = list(chapters)[:MAX_CHAPTERS]
    if chapters:
        ids = [f"ch{i}".encode("ascii") for i in range(1, len(chapters) + 1)]
        frames.append(toc_frame(ids))
        for element, chapter in zip(ids, chapters, strict=True):
            frames.append(
                chapter_frame(
                    element, _ms(chapter.start, rate), _ms(chapter.end, rate), chapter.title
                )
            )
    if words:
        frames.append(synced_lyrics_frame([(_ms(w.start, rate), w.text) for w in words]))
    body = b"".join(frames)
    return b"ID3" + bytes([3, 0, 0]) + syncsafe(len(body)) + body


def _ms(samples: int, rate: int) -> int:
    return samples * 1000 // rate


def syncsafe(n: int) -> bytes:
    """28 bits as four bytes of 7 bits, high first: no byte of the size looks like a sync."""
    if not 0 <= n < 1 << 28:
        raise ValueError(f"an ID3 tag cannot be {n} bytes")
    return bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))


def frame(frame_id: bytes, body: bytes) -> bytes:
    return frame_id + struct.pack(">I", len(body)) + b"\0\0" + body


def _encoded(text: str) -> tuple[int, bytes, bytes]:
    """(encoding byte, the text encoded, its terminator): ISO-8859-1 when it can, else UTF-16
    with a byte-order mark (2.3 has no UTF-8)."""
    try:
        return 0, text.encode("latin-1"), b"\0"
    except UnicodeEncodeError:
        return 1, text.encode("utf-16"), b"\0\0"


def text_frame(frame_id: bytes, text: str) -> bytes:
    """T???: encoding | text (no terminator needed)."""
    encoding, encoded, _ = _encoded(text)
    return frame(frame_id, bytes([encoding]) + encoded)


def comment_frame(text: str, language: bytes = b"eng") -> bytes:
    """COMM: encoding | language, 3 bytes | short description, terminated (empty) | text."""
    encoding, encoded, end = _encoded(text)
    empty = b"\xff\xfe" + end if encoding == 1 else end  # UTF-16 strings each carry a BOM
    return frame(b"COMM", bytes([encoding]) + language + empty + encoded)


def chapter_frame(element: bytes, start_ms: int, end_ms: int, title: str) -> bytes:
    """CHAP: element id, terminated | start time, end time: 4 bytes each, milliseconds |
    start offset, end offset: 4 bytes each, FF FF FF FF = "use the times" | sub-frames: TIT2."""
    times = struct.pack(">IIII", start_ms, end_ms, 0xFFFFFFFF, 0xFFFFFFFF)
    return frame(b"CHAP", element + b"\0" + times + text_frame(b"TIT2", title))


def toc_frame(children: Sequence[bytes]) -> bytes:
    """CTOC: element id, terminated | flags: 0x02 top-level, 0x01 ordered | entry count, 1 byte |
    the child element ids, each terminated. BookPlayer and Overcast need it to see chapters."""
    if len(children) > MAX_CHAPTERS:
        raise ValueError("a table of contents holds at most 255 chapters")
    entries = b"".join(child + b"\0" for child in children)
    return frame(b"CTOC", TOC_ID + b"\0" + bytes([0x03, len(children)]) + entries)


def synced_lyrics_frame(lines: Sequence[tuple[int, str]], language: bytes = b"eng") -> bytes:
    """SYLT: encoding | language | time stamp format: 2 = milliseconds | content type:
    1 = lyrics | content descriptor, terminated (empty) | then for each line: its text,
    terminated, and its time, 4 bytes."""
    encoding = 0 if all(_encoded(text)[0] == 0 for _, text in lines) else 1
    codec = "latin-1" if encoding == 0 else "utf-16"
    end = b"\0" if encoding == 0 else b"\0\0"
    descriptor = end if encoding == 0 else b"\xff\xfe" + end
    body = bytes([encoding]) + language + bytes([2, 1]) + descriptor
    for ms, text in lines:
        body += text.encode(codec) + end + struct.pack(">I", ms)
    return frame(b"SYLT", body)
