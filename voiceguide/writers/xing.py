"""MPEG audio frame headers, and the Xing/LAME header frame that makes MP3 gapless, made,
read and amended byte by byte (lameenc writes none; long digital silences are written as
copies of one silent frame, which the header must count).

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
The music CRC is left 0 (it would be a CRC of every audio frame): no decoder we know checks it.
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


ENCODER_DELAY = 576  # samples LAME 3.100 puts before the first one (as its own tag says)
LAME_TAG = b"LAME3.100"
VBR_METHOD = 4  # in the tag: LAME's default VBR (mtrh); information only


def header_frame(rate: int, delay: int = ENCODER_DELAY) -> bytes:
    """A mono Xing/LAME header frame for a stream at `rate`, counting nothing yet (`amended`
    counts what follows): the smallest frame at that rate that holds the header, with empty
    side information, so that a decoder that does not read it plays a frame of silence."""
    version = 3 if rate >= 32000 else 2 if rate >= 16000 else 0
    side = 17 if version == 3 else 9
    bitrates = BITRATES[1 if version == 3 else 2]
    for index in range(1, len(bitrates)):
        bits = (0x7FF << 21) | (version << 19) | (1 << 17) | (1 << 16)  # layer III, no CRC
        bits |= (index << 12) | (RATES[version].index(rate) << 10) | (3 << 6) | (1 << 2)  # mono,
        # an original (as LAME marks its frames)
        head = bits.to_bytes(4, "big")
        length = frame_length(head)[0]
        if length >= 4 + side + 120 + 36:
            break
    out = bytearray(length)
    out[:4] = head
    x = 4 + side
    out[x : x + 8] = b"Xing\0\0\0\x0f"  # frames, bytes, TOC and quality present: all 0
    lame = x + 120
    out[lame : lame + 9] = LAME_TAG
    out[lame + 9] = VBR_METHOD  # tag revision 0
    out[lame + 21 : lame + 24] = (delay << 12).to_bytes(3, "big")
    struct.pack_into(">H", out, lame + 34, crc16(bytes(out[: lame + 34])))
    return bytes(out)


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
