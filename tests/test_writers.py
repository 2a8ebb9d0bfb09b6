"""The byte-level helpers the writers use: ID3v2.3 frames, Ogg pages and OpusTags, the Xing
header, checked byte by byte against the specifications and against what LAME and libsndfile
themselves write. And the registry of formats."""

from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile

from voiceguide.errors import FormatError
from voiceguide.writers import (
    FORMATS,
    Chapter,
    Program,
    Tags,
    Words,
    format_for,
    id3,
    ogg,
    writer,
    xing,
)


def test_a_format_is_one_module_with_check_and_write():
    for name, extensions in FORMATS.items():
        module = writer(name)
        assert callable(module.check) and callable(module.write)
        assert all(format_for(e.upper()) == name for e in extensions)
    with pytest.raises(FormatError, match=r"cannot write '\.flac' files; use one of \.wav, "):
        format_for(".flac")


def test_id3_sizes_are_syncsafe():
    assert id3.syncsafe(0) == b"\0\0\0\0"
    assert id3.syncsafe(0x0FFFFFFF) == b"\x7f\x7f\x7f\x7f"
    assert id3.syncsafe(200) == b"\0\0\x01\x48"  # 200 = 1 * 128 + 72
    with pytest.raises(ValueError):
        id3.syncsafe(1 << 28)


def test_id3_text_is_latin_1_when_it_can_be_else_utf_16():
    assert id3.text_frame(b"TIT2", "Neck") == b"TIT2\0\0\0\x05\0\0\x00Neck"
    assert id3.text_frame(b"TIT2", "Naß") == b"TIT2\0\0\0\x04\0\0\x00Na\xdf"
    assert id3.text_frame(b"TIT2", "指") == b"TIT2\0\0\0\x05\0\0\x01\xff\xfe\x07\x63"


def test_id3_chapter_and_table_of_contents_frames():
    chap = id3.chapter_frame(b"ch1", 1500, 62000, "Hold")
    title = b"TIT2\0\0\0\x05\0\0\x00Hold"
    body = b"ch1\0" + bytes.fromhex("000005dc 0000f230 ffffffff ffffffff") + title
    assert chap == b"CHAP" + struct.pack(">I", len(body)) + b"\0\0" + body
    toc = id3.toc_frame([b"ch1", b"ch2"])
    assert toc == b"CTOC\0\0\0\x0e\0\0" + b"toc\0" + b"\x03\x02" + b"ch1\0ch2\0"


def test_id3_synced_words_are_text_then_milliseconds():
    frame = id3.synced_lyrics_frame([(0, "Breathe."), (6620, "Relax.")])
    body = b"\0eng\x02\x01\0" + b"Breathe.\0\0\0\0\0" + b"Relax.\0\0\0\x19\xdc"
    assert frame == b"SYLT" + struct.pack(">I", len(body)) + b"\0\0" + body


def test_an_id3_tag_has_chapters_in_time_order_rounded_down():
    tags = Tags("Neck", "voiceguide", "Neck", "routine 'neck', 01:00", (2, 3))
    chapters = [Chapter(0, 22050, "One"), Chapter(22050, 44101, "Two")]
    tag = id3.tag(tags, chapters, [Words(11, 100, "Hi.")], 22050)
    assert tag[:6] == b"ID3\x03\0\0" and tag[6:10] == id3.syncsafe(len(tag) - 10)
    one = tag.index(b"CHAP")
    two = tag.index(b"CHAP", one + 1)
    assert tag.index(b"CTOC") < one and tag[one + 10 : one + 14] == b"ch1\0"
    assert tag[two + 10 : two + 22] == b"ch2\0" + struct.pack(">II", 1000, 2000)  # 44101/22.05
    assert b"TRCK\0\0\0\x04\0\0\x002/3" in tag


def first_pages(path) -> bytes:
    return path.read_bytes()[:4096]


def test_ogg_pages_and_their_crc_match_libsndfiles(tmp_path):
    path = tmp_path / "tone.opus"
    tone = (np.sin(np.arange(4800) / 7) * 3000).astype("<i2")
    with soundfile.SoundFile(path, "w", 48000, 1, format="OGG", subtype="OPUS") as out:
        out.write(tone)
    data = path.read_bytes()
    length, serial, sequence, body = ogg.parse_page(data)
    assert (sequence, body[:8]) == (0, b"OpusHead")
    unsummed = data[:22] + b"\0\0\0\0" + data[26:length]
    assert ogg.crc32(unsummed) == struct.unpack_from("<I", data, 22)[0]
    assert ogg.page(body, serial, 0, kind=2) == data[:length]  # the same page, rebuilt


def test_opus_tags_and_chapter_comments():
    comments = ogg.chapter_comments([(0, "Start"), (3_723_004, "Later")])
    assert comments == [
        ("CHAPTER001", "00:00:00.000"),
        ("CHAPTER001NAME", "Start"),
        ("CHAPTER002", "01:02:03.004"),
        ("CHAPTER002NAME", "Later"),
    ]
    packet = ogg.opus_tags("v", [("TITLE", "Neck")])
    assert packet == b"OpusTags\x01\0\0\0v\x01\0\0\0\x0a\0\0\0TITLE=Neck"
    with pytest.raises(ValueError):
        ogg.page(bytes(ogg.MAX_PACKET + 1), 1, 1)


def test_mpeg_frame_lengths():
    assert xing.frame_length(bytes.fromhex("fff310c4")) == (26, 576)  # MPEG-2, 8 kbit/s, mono
    assert xing.frame_length(bytes.fromhex("fff380c4")) == (208, 576)  # 64 kbit/s
    assert xing.frame_length(bytes.fromhex("fffb9064")) == (417, 1152)  # MPEG-1, 128k, 44.1k
    assert xing.frame_length(bytes.fromhex("fffb9264")) == (418, 1152)  # padded
    with pytest.raises(ValueError):
        xing.frame_length(b"ID3\x03")


def lame_mp3(tmp_path, seconds: float = 3.0) -> bytes:
    path = tmp_path / "tone.mp3"
    n = int(22050 * seconds)
    tone = (np.sin(np.arange(n) / 5) * 3000).astype("<i2")
    tone[n // 3 :] = 0
    with soundfile.SoundFile(
        path, "w", 22050, 1, format="MP3", subtype="MPEG_LAYER_III", bitrate_mode="VARIABLE"
    ) as out:
        out.write(tone)
    return path.read_bytes()


def test_the_xing_header_amended_counts_what_was_added_and_keeps_its_crc_right(tmp_path):
    data = lame_mp3(tmp_path)
    header, _ = xing.frame_length(data)
    first = data[:header]
    offsets, at = [], header
    while at < len(data):
        offsets.append(at)
        at += xing.frame_length(data[at : at + 4])[0]
    assert at == len(data)
    # LAME's own tag CRC is what ours computes.
    assert xing.crc16(first[:167]) == struct.unpack_from(">H", first, 167)[0]
    # Nothing added: the frame is LAME's, but for the TOC (LAME's is approximate, ours exact).
    same = xing.amended(first, 0, 0, offsets)
    assert same[:29] == first[:29] and same[129:167] == first[129:167]
    assert xing.crc16(same[:167]) == struct.unpack_from(">H", same, 167)[0]
    toc = same[29:129]
    n, total = len(offsets), len(data)
    assert toc[0] == 0 and all(
        toc[p] == offsets[p * n // 100] * 256 // total for p in range(1, 100)
    )
    assert list(toc) == sorted(toc)
    # Ten frames of 26 bytes added at the end.
    more = offsets + [len(data) + 26 * i for i in range(10)]
    amended = xing.amended(first, 10, 260, more)
    frames, total = struct.unpack_from(">II", amended, 21)
    assert (frames, total) == (len(offsets) + 10, len(data) + 260)
    assert struct.unpack_from(">I", amended, 161)[0] == len(data) + 260  # LAME's music length
    assert xing.crc16(amended[:167]) == struct.unpack_from(">H", amended, 167)[0]
    with pytest.raises(ValueError, match="counts"):
        xing.amended(first, 10, 260, offsets)


# -- MP3 in parts at once, joined in silences


def bursts(rate: int = 22050) -> tuple[Program, np.ndarray]:
    """Four 16 s bursts of a wavering tone, 7 s of digital silence before each and after the
    last, as a program that can be rendered in parts; and its samples."""
    burst, gap = 16 * rate, 7 * rate
    t = np.arange(burst)
    tone = np.sin(t / 7 + np.sin(t / 3000) * 20) * 8000 * (0.6 + 0.4 * np.sin(t / 900))
    samples = np.zeros(gap + 4 * (burst + gap), dtype="<i2")
    sounding = []
    for i in range(4):
        start = gap + i * (burst + gap) + 37 * i  # off the frame grid
        samples[start : start + burst] = tone.astype("<i2")
        sounding.append((start, start + burst))
    return program(samples, tuple(sounding), rate), samples


def program(samples: np.ndarray, sounding, rate: int = 22050, claimed=None) -> Program:
    """The samples as a program, silences as counts; `claimed`: where it says it sounds."""

    def render(start: int, end: int):
        at = start
        for s, e in [*sounding, (len(samples), len(samples))]:
            if e <= at or at >= end:
                continue
            if s > at:
                yield min(s, end) - at  # silence, as a count of samples
                at = min(s, end)
            if at < end and e > at:
                yield samples[at : min(e, end)].tobytes()
                at = min(e, end)
        if at < end:
            yield end - at

    tags = Tags("Bursts", "voiceguide", "Bursts", "a test")
    said = sounding if claimed is None else claimed
    return Program(rate, len(samples), render(0, len(samples)), (), (), tags, render, said)


def encode_mp3(path, audio: Program) -> list[int]:
    told: list[int] = []
    with open(path, "wb") as f:
        writer("mp3").write(f, audio, told.append)
    return told


def decode_mp3(path) -> np.ndarray:
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"]
    return np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, "<i2")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_mp3_parts_encoded_at_once_join_sample_exact_in_silence(tmp_path, monkeypatch):
    from voiceguide.writers import mp3

    audio, samples = bursts()
    assert len(mp3.plan(audio)) == 4  # split in the three silences between the bursts
    told = encode_mp3(tmp_path / "parts.mp3", audio)
    assert sum(told) == len(samples)  # progress counts each sample once
    heard = decode_mp3(tmp_path / "parts.mp3")
    assert len(heard) == len(samples)  # the Xing header counts all parts, padding the last's
    for start, _ in audio.sounding:  # each burst where it belongs, to the sample
        reference = samples[start : start + 4096].astype(float)
        window = heard[start - 1200 : start + 4096 + 1200].astype(float)
        assert np.argmax(np.correlate(window, reference, mode="valid")) == 1200
    silence = np.ones(len(samples), bool)
    for start, end in audio.sounding:
        silence[start - 2048 : end + 2048] = False
    assert not heard[silence].any()  # the joins decode to digital silence
    # And as the whole encoded by one LAME: the same samples, but for LAME's own history.
    monkeypatch.setattr(mp3, "PARTS", 1)
    audio, _ = bursts()
    assert len(mp3.plan(audio)) == 1
    encode_mp3(tmp_path / "whole.mp3", audio)
    assert np.mean(decode_mp3(tmp_path / "whole.mp3") == heard) > 0.99


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_mp3_joins_that_would_not_be_in_silence_are_not_made(tmp_path):
    from voiceguide.writers import mp3

    audio, samples = bursts()
    # The program says its second burst lasts 1 s (and the last 3 s longer, so that the split
    # nearest to half its sound is after the second): the join lands 4 s into that burst,
    # where the frames take bits, and the session is encoded whole, right.
    (s1, e1), (s2, _), _, (s4, e4) = audio.sounding
    said = ((s1, e1), (s2, s2 + 22050), (s4, e4 + 3 * 22050))
    audio = program(samples, audio.sounding, claimed=said)
    parts = mp3.plan(audio)
    assert len(parts) == 2 and s2 < parts[1].start < parts[1].first * 576 < s2 + 16 * 22050
    told = encode_mp3(tmp_path / "whole.mp3", audio)
    assert sum(told) == len(samples)
    heard = decode_mp3(tmp_path / "whole.mp3")
    assert len(heard) == len(samples)
    for start, end in bursts()[0].sounding:
        assert np.corrcoef(heard[start:end], samples[start:end])[0, 1] > 0.99
