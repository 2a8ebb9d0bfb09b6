"""The command line at its edges: told to stop by a signal, a closed output, odd values."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import voiceguide


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)")
@pytest.mark.parametrize("name", ["TERM", "HUP"])
def test_a_signal_while_writing_leaves_nothing_behind(tmp_path: Path, name: str):
    # The signal arrives at the first sync: the WAV is written, its sidecars not yet.
    command = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=fsync"]
    command += ["-e", f"inject=fsync:signal={name}:when=1", sys.executable, "-m", "voiceguide"]
    command += ["export", "back-massage-ball", "-o", str(tmp_path / "out" / "balls.wav")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (130, "interrupted\n")
    assert list(tmp_path.iterdir()) == []  # no file, no temporary, not the folder it made


def test_a_reader_that_stops_reading_is_not_an_error():
    voices = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "voices"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    voices.stdout.close()  # like `voiceguide voices | head -0`
    stderr = voices.stderr.read()
    voices.stderr.close()
    assert (voices.wait(timeout=60), stderr) == (141, "")


def test_volume_nan_is_a_command_line_mistake():
    result = voiceguide("show", "back-hands", "--volume", "nan")
    assert result.returncode == 2
    assert result.stderr == (
        "error: Invalid value for '--volume': 'nan' is not a number from 0 to 1."
        " (see 'voiceguide show --help')\n"
    )
