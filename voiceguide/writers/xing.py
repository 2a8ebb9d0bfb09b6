"""MPEG audio frame headers, and the Xing/LAME header frame that makes MP3 gapless, read and
amended byte by byte. Used to write long digital silences as copies of one silent frame.

A frame header (ISO 11172-3 / 13818-3), 4 bytes, big-endian bits:
  11 bits sync (all ones) | 2 version: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5 | 2 layer: 1 = III |
  1 no-CRC | 4 bitrate index | 2 sample-rate index | 1 padding | 1 private | 2 channel mode:
  3 = mono | 6 more bits we do not need.
The Xing header sits in the first frame's data, after the side information (17 or 32 bytes
for MPEG-1, 9 or 17 for MPEG-2; the smaller for mono):
  "Xing" or "Info" | flags: 4 bytes, 0x0F = frames, bytes, TOC and quality present |
  frames: 4 bytes, the audio frames after this one | bytes: 4 bytes, from this frame to the
  end | TOC: 100 bytes, byte position (of 256) of each percent of the time | quality: 4 bytes
then LAME's 36-byte extension ("LAME3.100" ...), holding:
  +21 encoder delay and padding: 12 bits each, in samples: what decoders drop at either end |
  +28 music length: 4 bytes, as `bytes` | +32 music CRC: 2 bytes | +34 tag CRC: 2 bytes,
  CRC-16 (polynomial 0xA001, reflected) of the frame up to that field.
The music CRC stays as LAME computed it over its own frames: no decoder we know checks it.

A mono frame's side information begins (MPEG-1) main_data_begin: 9 bits | private: 5 | scfsi:
4 | then per granule (2) part2_3_length: 12 and 47 more bits; (MPEG-2) main_data_begin: 8 |
private: 1 | then its one granule's part2_3_length: 12 | ... A frame whose granules take no
bits of main data decodes to silence (LAME's silent frames still point main_data_begin back
into the reservoir: they read nothing from it).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

BITRATES = {  # kbit/s by bitrate index, layer III
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 and 2.5
}
RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_length(header: bytes) -> tuple[int, int]:
    """(bytes, samples) of the layer III frame starting with these 4 bytes."""
    bits = int.from_bytes(header[:4], "big")
    version = (bits >> 19) & 3
    if bits >> 21 != 0x7FF or version == 1 or (bits >> 17) & 3 != 1:
        raise ValueError("not an MPEG layer III frame header")
    rate = RATES[version][(bits >> 10) & 3]
    bitrate = BITRATES[1 if version == 3 else 2][(bits >> 12) & 15] * 1000
    samples = 1152 if version == 3 else 576
    return samples // 8 * bitrate // rate + ((bits >> 9) & 1), samples


def side_info(frame: bytes) -> tuple[int, int, int]:
    """(main_data_begin, bits of main data its granules take, bytes of main data it holds) of
    a mono frame without CRC: where its main data begins, in bytes back into the main data of
    the frames before it (the bit reservoir), how much it reads, and how much room it has."""
    bits = int.from_bytes(frame[:4], "big")
    if (bits >> 6) & 3 != 3 or not (bits >> 16) & 1:
        raise ValueError("not a mono MPEG frame without CRC")
    x = _xing_offset(frame)
    side, width = int.from_bytes(frame[4:x], "big"), 8 * (x - 4)
    mpeg1 = (bits >> 19) & 3 == 3
    # MPEG-1: 9 + 5 + 4 bits, then two granules of 59; MPEG-2 and 2.5: 8 + 1, then one.
    begin, granules = ((0, 9), (18, 18 + 59)) if mpeg1 else ((0, 8), (9,))
    field = lambda at, size: (side >> (width - at - size)) & ((1 << size) - 1)  # noqa: E731
    return field(*begin), sum(field(at, 12) for at in granules), len(frame) - x


def reservoir(frame: bytes) -> int:
    """How far back (bytes) a frame's main data may begin: 511 for MPEG-1, else 255."""
    return 511 if (int.from_bytes(frame[:4], "big") >> 19) & 3 == 3 else 255


def counts(frame: bytes) -> tuple[int, int]:
    """(audio frames, bytes) that the Xing frame says the stream holds."""
    x = _xing_offset(frame)
    return struct.unpack_from(">II", frame, x + 8)


def delay_padding(frame: bytes) -> tuple[int, int]:
    """The encoder delay and padding, in samples, that the LAME tag records."""
    lame = _xing_offset(frame) + 120
    if frame[lame : lame + 4] != b"LAME":
        raise ValueError("the first frame holds no LAME tag")
    packed = int.from_bytes(frame[lame + 21 : lame + 24], "big")
    return packed >> 12, packed & 0xFFF


def _xing_offset(frame: bytes) -> int:
    bits = int.from_bytes(frame[:4], "big")
    mpeg1, mono = (bits >> 19) & 3 == 3, (bits >> 6) & 3 == 3
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return 4 + side


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def amended(
    frame: bytes,
    added_frames: int,
    added_bytes: int,
    offsets: Sequence[int],
    padding: int | None = None,
) -> bytes:
    """The Xing/LAME frame, counting `added_frames` more frames and `added_bytes` more bytes
    (or fewer, if negative), with its TOC rebuilt from every audio frame's offset (from this
    frame's start), and the padding at the end (samples) set to `padding` if given."""
    x = _xing_offset(frame)
    if frame[x : x + 4] not in (b"Xing", b"Info") or frame[x + 4 : x + 8] != b"\0\0\0\x0f":
        raise ValueError("the first frame holds no Xing header with frames, bytes and TOC")
    frames, total = struct.unpack_from(">II", frame, x + 8)
    frames, total = frames + added_frames, total + added_bytes
    if frames != len(offsets):
        raise ValueError(f"the header counts {frames} frames, {len(offsets)} were written")
    # Percent 0 is the start of the file (as LAME writes it); the others, where the frame
    # holding that moment starts.
    toc = bytes(
        min(255, offsets[percent * frames // 100] * 256 // total) if percent else 0
        for percent in range(100)
    )
    out = bytearray(frame)
    out[x + 8 : x + 16] = struct.pack(">II", frames, total)
    out[x + 16 : x + 116] = toc
    lame = x + 120
    if out[lame : lame + 4] == b"LAME":
        length = struct.unpack_from(">I", out, lame + 28)[0]
        struct.pack_into(">I", out, lame + 28, length + added_bytes)
        if padding is not None:
            if not 0 <= padding < 1 << 12:
                raise ValueError(f"a LAME tag cannot record {padding} samples of padding")
            delay = int.from_bytes(out[lame + 21 : lame + 24], "big") >> 12
            out[lame + 21 : lame + 24] = (delay << 12 | padding).to_bytes(3, "big")
        struct.pack_into(">H", out, lame + 34, crc16(bytes(out[: lame + 34])))
    elif padding is not None:
        raise ValueError("the first frame holds no LAME tag to record the padding in")
    return bytes(out)
