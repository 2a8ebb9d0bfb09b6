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


def test_our_xing_lame_header_frame_is_lames_own_but_for_what_it_counts(tmp_path):
    theirs = lame_mp3(tmp_path)
    theirs = theirs[: xing.frame_length(theirs)[0]]
    ours = xing.header_frame(22050)
    # MPEG-2 layer III, 22050 Hz, mono, an original; 56 kbit/s (ours: the smallest that holds
    # the header) or 64 (LAME's)
    assert (ours[:2], ours[2] & 0x0F, ours[3]) == (theirs[:2], theirs[2] & 0x0F, theirs[3])
    assert ours[13:21] == theirs[13:21] == b"Xing\0\0\0\x0f"
    assert ours[133:143] == theirs[133:143]  # "LAME3.100", VBR method 4
    assert xing.delay_padding(ours) == (xing.delay_padding(theirs)[0], 0)
    assert xing.crc16(ours[:167]) == struct.unpack_from(">H", ours, 167)[0]
    for rate in (8000, 11025, 16000, 24000, 32000, 44100, 48000):
        frame = xing.header_frame(rate)
        assert xing.frame_length(frame)[0] == len(frame) >= (21 if rate >= 32000 else 13) + 156


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_an_mp3_decodes_to_exactly_the_programs_samples_each_sound_at_its_sample(tmp_path, rate):
    bursts = [(round(rate * s), round(rate * (s + 0.7))) for s in (0.3, 2.1, 9.4, 10.5)]
    samples = np.zeros(round(rate * 14.2), dtype="<i2")
    t = np.arange(round(rate * 0.7))
    for start, end in bursts:
        samples[start:end] = (np.sin(t / 6 + np.sin(t / 700) * 9) * 9000).astype("<i2")

    def pieces():  # sounds as bytes, silences as counts (long ones are copied frames)
        at = 0
        for start, end in bursts:
            yield start - at
            yield samples[start:end].tobytes()
            at = end
        yield len(samples) - at

    tags = Tags("Bursts", "voiceguide", "Bursts", "a test")
    audio = Program(rate, len(samples), pieces(), (), (), tags)
    told: list[int] = []
    with open(tmp_path / "bursts.mp3", "wb") as f:
        writer("mp3").write(f, audio, told.append)
    assert sum(told) == len(samples)
    command = ["ffmpeg", "-v", "error", "-i", str(tmp_path / "bursts.mp3"), "-f", "s16le", "-"]
    heard = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, "<i2")
    assert len(heard) == len(samples)
    for start, end in bursts:  # where it belongs, to the sample
        reference = samples[start : start + 4000].astype(float)
        window = heard[start - 1200 : start + 4000 + 1200].astype(float)
        assert np.argmax(np.correlate(window, reference, mode="valid")) == 1200
        assert np.corrcoef(heard[start:end], samples[start:end])[0, 1] > 0.99
    quiet = np.ones(len(samples), bool)
    for start, end in bursts:
        quiet[max(0, start - 2400) : end + 2400] = False
    assert not heard[quiet].any()  # silence, copied or not, decodes to digital silence


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize("length", [0, 1, 22, 46, 47, 48, 575, 576, 577, 1200])
def test_a_tiny_mp3_decodes_to_exactly_its_samples_even_none(tmp_path, rate, length):
    # A step shorter than one sample is a track of none: LAME's flush refused an encoder
    # never fed, and under 47 samples ffmpeg gave back 529 too many (see mp3.lead_in).
    sound = (np.sin(np.arange(length) / 5) * 9000).astype("<i2")
    for pieces in ([sound.tobytes()], [length]):  # sound, then silence
        audio = Program(rate, length, pieces, (), (), Tags("Tiny", "voiceguide", "Tiny", ""))
        path = tmp_path / f"tiny-{len(pieces)}-{isinstance(pieces[0], int)}.mp3"
        with open(path, "wb") as f:
            writer("mp3").write(f, audio)
        command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"]
        run = subprocess.run(command, capture_output=True)
        assert (run.returncode, run.stderr, len(run.stdout) // 2) == (0, b"", length)
