"""Shell completion, in real shells with the line the README gives: bash (its completion
function called as Tab would), fish (`complete -C`), zsh (the script loads under compinit, and
answers as its widget asks)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from voiceguide import bundled

PROGRAM = Path(sys.executable).parent / "voiceguide"
README = (ROOT / "README.md").read_text()


def enable_line(shell: str) -> str:
    """The README's line for this shell."""
    return next(
        line.split("  #")[0].strip()
        for line in README.splitlines()
        if f"_VOICEGUIDE_COMPLETE={shell}_source" in line
    )


def in_shell(shell: str, script: str, cwd: Path) -> list[str]:
    path = f"{PROGRAM.parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        [shell, "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.splitlines()


def bash_words(typed: str, cwd: Path) -> list[str]:
    """What Tab offers in bash after `typed` (a trailing space: a new word)."""
    words = shlex.split(typed) + ([""] if typed.endswith(" ") else [])
    array = " ".join(shlex.quote(w) for w in words)
    script = (
        f"{enable_line('bash')}\n"
        f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}\n"
        "_voiceguide_completion voiceguide\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    return in_shell("bash", script, cwd)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "mine.yaml").write_text("title: Mine\nsteps:\n  - say: hi\n")
    (tmp_path / "notes.txt").write_text("not a routine")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "other.yml").write_text("title: Other\nsteps:\n  - say: hi\n")
    return tmp_path


def test_bash_completes_commands_and_routine_names(folder: Path):
    assert bash_words("voiceguide ch", folder) == ["check"]
    assert bash_words("voiceguide cache ", folder) == ["path", "size", "clear", "prune"]
    assert bash_words("voiceguide show back-", folder) == [
        n for n in bundled.routine_names() if n.startswith("back-")
    ]
    assert bash_words("voiceguide play ", folder) == [
        *bundled.routine_names(),
        "mine.yaml",
        "more/",
    ]
    assert bash_words("voiceguide check mine.yaml more/", folder) == ["more/other.yml"]


def test_bash_completes_voices_of_the_chosen_engine_and_formats(folder: Path):
    english = bash_words("voiceguide show back-hands --voice en-g", folder)
    assert "en-gb-scotland" in english and "en-gb-x-rp" in english
    assert all(w.startswith("en-g") for w in english)
    if shutil.which("piper") or _has_piper():
        piper = bash_words("voiceguide show back-hands --engine piper --voice ", folder)
        assert piper == ["en_US-joe-medium"]
    assert bash_words("voiceguide export back-hands --format ", folder) == [
        *("wav", "mp3", "opus", "m4b")
    ]
    assert bash_words("voiceguide show x --engine p", folder) == ["piper", "pyttsx3"]
    assert bash_words("voiceguide voices --lang de", folder)[:1] == ["de"]


def _has_piper() -> bool:
    try:
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_routine_names_and_voices(folder: Path):
    def fish_words(typed: str) -> list[str]:
        script = f"{enable_line('fish')}; complete -C {shlex.quote(typed)}"
        return [line.split("\t")[0] for line in in_shell("fish", script, folder)]

    assert fish_words("voiceguide show back-h") == ["back-hands"]
    assert "mine.yaml" in fish_words("voiceguide export ")
    assert "notes.txt" not in fish_words("voiceguide export ")
    assert "en-gb-x-rp" in fish_words("voiceguide play back-hands --voice en-gb")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_script_and_completes(folder: Path):
    # The script registers its function with compdef; then its widget asks the program.
    script = (
        "autoload -Uz compinit && compinit -u\n"
        f"{enable_line('zsh')}\n"
        "print -r -- ${_comps[voiceguide]}\n"
        "COMP_WORDS='voiceguide show back-h' COMP_CWORD=2 _VOICEGUIDE_COMPLETE=zsh_complete"
        " voiceguide\n"
    )
    lines = in_shell("zsh", script, folder)
    assert lines[0] == "_voiceguide_completion"
    assert lines[1:] == ["plain", "back-hands", "_"]
