"""The command line's edges, through the installed `voiceguide` program: a bare command, one
error prefix and the README's exit codes, TERM=dumb and NO_COLOR, -q, VOICEGUIDE_DEBUG,
--lang with a region, --json, and hints that name the program as it was started."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, ROUTINES

PROGRAM = Path(sys.executable).parent / "voiceguide"  # the console script the install made


def run(*args, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None):
    return subprocess.run(
        [str(PROGRAM), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bare_command_shows_the_help_on_stdout():
    result = run()
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: voiceguide [OPTIONS] [COMMAND] [ARGS]...\n")
    assert "Commands:\n  list " in result.stdout
    cache = run("cache")
    assert (cache.returncode, cache.stderr) == (0, "")
    assert cache.stdout.startswith("Usage: voiceguide cache [OPTIONS] [COMMAND] [ARGS]...\n")


def exit_codes_in_readme() -> set[int]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Exit codes")[1].split("\n\n")[1]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}


def test_every_error_has_the_prefix_and_the_documented_code(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text("title: Mine\n")
    cases = [
        (["check", "nope.yaml"], 1),
        (["show", "back-hands", "--rate", "1"], 2),
        (["export", "back-hands", "-o", "x.flac"], 2),
        (["show", "back-hands", "--voice", "elvish"], 3),
        (["show", "back-hands", "--engine", "festival"], 3),
        (["new", "mine.yaml"], 5),
    ]
    for args, code in cases:
        result = run(*args, cwd=tmp_path)
        assert result.returncode == code, args
        assert result.stdout == "", args
        [line] = result.stderr.splitlines()
        assert line.startswith("error: "), line
    assert {code for _, code in cases} | {0, 4, 6, 70, 130, 141} == exit_codes_in_readme()


def test_a_routine_problem_keeps_its_place_and_a_missing_file_gets_the_prefix(tmp_path: Path):
    result = run("check", ROUTINES / "bad-volume.yaml", "nope.yaml", cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert re.match(r"^\S+bad-volume\.yaml:\d+:\d+: volume: ", lines[0])
    assert lines[1].startswith("error: nope.yaml: no such file, and no bundled routine of that")
    assert result.returncode == 1


def on_a_terminal(args: list[str], env: dict, cwd: Path) -> bytes:
    """What the program writes to a terminal (stdout and stderr both)."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [str(PROGRAM), *args],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        cwd=cwd,
        env={**os.environ, **env},
    )
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the program ended
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=120) == 0, output
    os.close(main)
    return output


def test_term_dumb_gets_no_cursor_movement_and_no_colour(tmp_path: Path):
    args = ["export", "back-hands", "-o", "x.wav", "--force"]
    fancy = on_a_terminal(args, {"TERM": "xterm"}, tmp_path)
    assert b"Exporting" in fancy and b"\r" in fancy.replace(b"\r\n", b"")  # the bar redraws
    dumb = on_a_terminal(args, {"TERM": "dumb"}, tmp_path)
    assert b"Exporting" not in dumb and b"\x1b" not in dumb
    assert b"\r" not in dumb.replace(b"\r\n", b"")
    assert dumb.replace(b"\r\n", b"\n").decode().startswith("wrote x.wav\n")
    plain = on_a_terminal(args, {"TERM": "xterm", "NO_COLOR": "1"}, tmp_path)
    assert b"\x1b[" not in plain.replace(b"\x1b[?25l", b"").replace(b"\x1b[?25h", b"")


def test_quiet_prints_only_results_and_errors(tmp_path: Path):
    for args in (["export", "back-hands", "-q"], ["-q", "export", "back-hands", "--force"]):
        result = run(*args, "-o", "x.wav", cwd=tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert (tmp_path / "x.wav").stat().st_size > 1000
    assert run("check", "back-hands", "-q").stdout == ""
    assert run("check", "back-hands").stdout.startswith("ok: ")
    assert run("show", "back-hands", "-q").stdout.startswith("Upper back release")  # a result
    failed = run("check", "nope.yaml", "-q", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stderr.startswith("error: nope.yaml: no such file")


BUGGY = """
import sys
import voiceguide.describe
def broken(*args):
    return 1 / 0
voiceguide.describe.timeline_table = broken  # a bug, as the CLI meets one
from voiceguide.cli import main
sys.argv = ["voiceguide", "show", "back-hands"]
main()
"""


def test_an_internal_error_is_one_line_and_its_traceback_on_request():
    def buggy(env):
        command = [sys.executable, "-c", BUGGY]
        return subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, **env}, timeout=120
        )

    result = buggy({})
    assert (result.returncode, result.stderr) == (
        70,
        "error: internal error (ZeroDivisionError: division by zero); please report it "
        "(VOICEGUIDE_DEBUG=1 shows where)\n",
    )
    debug = buggy({"VOICEGUIDE_DEBUG": "1"})
    assert debug.returncode == 70
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert ", in broken\nZeroDivisionError: division by zero\n" in debug.stderr
    assert debug.stderr.splitlines()[-1] == (
        "error: internal error (ZeroDivisionError: division by zero); please report it"
    )


def test_lang_takes_a_region_too():
    def ids(lang):
        listed = json.loads(run("voices", "--lang", lang, "--json").stdout)
        return {voice["id"] for voice in listed}

    german = ids("de")
    assert german and ids("de-DE") == ids("DE") == german
    american = ids("en-US")
    assert "gmw/en-us" in american and "gmw/en-gb-x-rp" not in american
    assert "gmw/en-gb-x-rp" in ids("en")


def test_voices_json_describes_each_voice():
    result = run("voices", "--lang", "en-us", "--json")
    voices = json.loads(result.stdout)
    us = next(v for v in voices if v["id"] == "gmw/en-us")
    assert set(us) == {"id", "name", "languages", "gender"}
    assert "en-us" in us["languages"]


def test_check_json_is_one_object_a_routine_with_its_problems(tmp_path: Path):
    bad = tmp_path / "two.yaml"
    bad.write_text("title: Two\nsteps:\n  - say: hi\n    hlod: 3\n")
    result = run("check", "back-hands", bad.name, "--json", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    good, broken = json.loads(result.stdout)
    assert good["routine"] == "back-hands" and good["ok"]  # as it was given
    assert good["title"] == "Upper back release with your hands" and good["problems"] == []
    assert broken == {
        "routine": "two.yaml",
        "ok": False,
        "title": None,
        "duration": None,
        "problems": [
            {
                "file": "two.yaml",
                "line": 4,
                "column": 5,
                "severity": "error",
                "message": "unknown key 'hlod' in a step (did you mean 'hold'?)",
            }
        ],
    }


@pytest.mark.parametrize("on_path", [False, True])
def test_hints_name_the_program_as_it_was_started(on_path: bool):
    bin_dir = str(PROGRAM.parent)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != bin_dir]
    if on_path:
        path.insert(0, bin_dir)
    relative = os.path.relpath(PROGRAM, ROOT)  # .venv/bin/voiceguide, as the README has it
    result = subprocess.run(
        [relative, "show", "back-hands", "--voice", "elvish"],
        cwd=ROOT,
        env={**os.environ, "PATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    name = "voiceguide" if on_path else relative
    assert result.stderr == f"error: unknown voice 'elvish' (see '{name} voices')\n"


def test_a_voice_the_routine_names_that_the_engine_lacks_is_a_routine_problem(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text(
        "title: Mine\nspeech: {voice: en-uss}\nsteps:\n  - say: hi\n"
    )
    result = run("check", "mine.yaml", "back-hands", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "mine.yaml:2:17: unknown voice 'en-uss' (closest: en-us, en-us-nyc)\n"
    assert result.stdout.startswith("ok: ")  # and check goes on to the next routine
    flag = run("show", "mine.yaml", "--voice", "en-us", cwd=tmp_path)
    assert flag.returncode == 0  # the command line's voice wins: the routine's is not used


def played_on_a_terminal(routine: Path, env: dict) -> bytes:
    """`play` with a terminal for its input and output, as from a shell."""
    import fcntl
    import termios

    main, child = pty.openpty()
    process = subprocess.Popen(
        [str(PROGRAM), "play", str(routine), "--no-journal"],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env},
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(child)
    screen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    assert process.wait(timeout=60) == 0, screen
    os.close(main)
    return screen


# The sessions played below end with the short bundled chime (0.35 s, not 3 s): their end is
# not what these tests are about, and each saves the suite that much real time.
SHORT_END = "chimes: {session-end: wood}\n"


def test_play_on_a_dumb_terminal_prints_plain_lines(card, tmp_path: Path):
    routine = tmp_path / "short.yaml"
    steps = "steps:\n  - say: Breathe in.\n  - say: Breathe out.\n"
    routine.write_text(f"title: Short\n{SHORT_END}{steps}")
    fancy = played_on_a_terminal(routine, {**card.env, "TERM": "xterm"})
    assert b"\x1b[" in fancy  # the status is redrawn in place
    dumb = played_on_a_terminal(routine, {**card.env, "TERM": "dumb"})
    assert b"\x1b" not in dumb
    assert dumb.replace(b"\r\n", b"\n").endswith(b"Step 2 of 2: Breathe out\n00:03 done\n")


def test_play_reads_the_routine_from_standard_input(card, tmp_path: Path):
    routine = f"title: Piped\n{SHORT_END}steps:\n  - say: Breathe in.\n"
    result = subprocess.run(
        [str(PROGRAM), "play", "-", "--no-journal"],
        input=routine,
        env={**os.environ, **card.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["00:00 Step 1 of 1: Breathe in", "00:02 done"]
