"""`-` for standard input and `-o -` for standard output, in a real shell (bash) with the
installed program, and a pipe whose reader stops early."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

PROGRAM = Path(sys.executable).parent / "voiceguide"


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """A bash script with `voiceguide` on its path, as after `source .venv/bin/activate`."""
    path = f"{PROGRAM.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + script],
        cwd=cwd,
        env={**os.environ, "PATH": path},
        capture_output=True,
        timeout=180,
    )


ROUTINE = "title: Piped\nsteps:\n  - say: Breathe in.\n    hold: 2s\n  - include: part\n"
PART = "title: Part\nsteps:\n  - say: Breathe out.\n"


def test_a_routine_from_standard_input_includes_from_the_working_folder(tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "piped.yaml").write_text(ROUTINE)
    (tmp_path / "part.yaml").write_text(PART)  # beside where we are, not beside the file
    result = bash("cat elsewhere/piped.yaml | voiceguide check -", tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode().startswith("ok: <stdin> (Piped, 00:")
    shown = bash("voiceguide show - < elsewhere/piped.yaml", tmp_path)
    assert b"say    Breathe out." in shown.stdout
    wav = bash("voiceguide export - -o from-stdin.wav < elsewhere/piped.yaml", tmp_path)
    assert wav.returncode == 0 and (tmp_path / "from-stdin.wav").stat().st_size > 1000


def test_a_bad_routine_from_standard_input_is_named_stdin(tmp_path: Path):
    result = bash(
        "printf 'title: T\\nsteps:\\n  - say: hi\\n    hlod: 3\\n' | voiceguide check -", tmp_path
    )
    assert result.returncode == 1
    assert result.stderr == b"<stdin>:4:5: unknown key 'hlod' in a step (did you mean 'hold'?)\n"
    started = bash(
        "voiceguide new - | voiceguide check - -q && voiceguide new - | head -1", tmp_path
    )
    assert started.returncode == 0
    assert (
        started.stdout
        == b"# A voiceguide routine. Check it with: voiceguide check my-routine.yaml\n"
    )
    unnamed = bash("voiceguide export - < /dev/null", tmp_path)
    assert unnamed.returncode == 2
    assert unnamed.stderr == (
        b"error: a routine from standard input needs -o or --tracks "
        b"(see 'voiceguide export --help')\n"
    )


def test_export_to_standard_output_is_the_same_file(tmp_path: Path):
    result = bash(
        "voiceguide export back-massage-ball -o - > piped.wav"
        " && voiceguide export back-massage-ball -o named.wav -q"
        " && voiceguide export back-massage-ball -o - --format mp3 | cat > piped.mp3"
        " && voiceguide export back-massage-ball -o named.mp3 -q --no-sidecars",
        tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    for kind in ("wav", "mp3"):
        piped = (tmp_path / f"piped.{kind}").read_bytes()
        assert piped == (tmp_path / f"named.{kind}").read_bytes(), kind
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("piped")) == [
        "piped.mp3",
        "piped.wav",
    ]  # no sidecars for standard output


def test_export_refuses_to_write_audio_to_a_terminal(tmp_path: Path):
    main, child = pty.openpty()
    result = subprocess.run(
        [str(PROGRAM), "export", "back-hands", "-o", "-"],
        stdout=child,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        timeout=60,
    )
    os.close(child)
    os.close(main)
    assert result.returncode == 2
    assert result.stderr == (
        b"error: -o - would write audio to the terminal; pipe it or redirect it "
        b"(see '" + str(PROGRAM).encode() + b" export --help')\n"
    )


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path: Path):
    result = bash(
        "voiceguide export back-massage-ball -o - | head -c 100 > head.bin;"
        " echo ${PIPESTATUS[0]} > status; voiceguide voices | head -1 > /dev/null;"
        " echo ${PIPESTATUS[0]} >> status",
        tmp_path,
    )
    assert result.stderr == b""
    assert (tmp_path / "head.bin").read_bytes()[:4] == b"RIFF"
    export, voices = (tmp_path / "status").read_text().split()
    assert export == "141"  # megabytes into a pipe that closed after 100 bytes
    assert voices in ("0", "141")  # its few kilobytes may all fit the pipe before head ends


CHOICES = """\
title: Choices
params:
  length: {default: 10s, choices: [10s, 20s]}
steps:
  - say: Press.
    hold: "{length}"
    remind: [{at: 5s, say: Breathe.}]
"""


def test_check_of_standard_input_tries_every_allowed_value_reading_it_once(tmp_path: Path):
    (tmp_path / "choices.yaml").write_text(CHOICES)
    result = bash("voiceguide check - < choices.yaml", tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode().startswith("ok: <stdin> (Choices, 00:")
    # Only the value that is not the default is too short for the reminder: standard input
    # was read again for it (an empty second read would be a different problem).
    short = CHOICES.replace("[10s, 20s]", "[10s, 4s]")
    (tmp_path / "short.yaml").write_text(short)
    failed = bash("voiceguide check - < short.yaml", tmp_path)
    assert failed.returncode == 1
    lines = failed.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("<stdin>:7:19: at: 5s is not inside a hold of 4 s")
    assert lines[0].endswith("(with --set length=4s)")


def test_check_refuses_standard_input_named_twice(tmp_path: Path):
    result = bash("printf 'title: T\\nsteps:\\n  - say: Hi.\\n' | voiceguide check - -", tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == (
        b"error: '-' (standard input) can be given only once (see 'voiceguide check --help')\n"
    )
