"""Bad input gets one clear line on stderr and a non-zero exit: never a traceback, never
unbounded time or memory.

Each tests/routines/bad-*.yaml starts with '# error: ' and the exact line `check` must print.
Inputs that cannot live in the folder (20 MB, thousands deep, a directory) are made here.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROUTINES

BAD = sorted(ROUTINES.glob("bad-*.yaml"))
MEMORY_LIMIT = 1 << 30  # bytes of address space: a runaway parser would hit it


def expected_line(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# error: "), f"{path.name} must start with '# error: '"
    return first.removeprefix("# error: ")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def check(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # Bounded: a hang fails on the timeout, a memory blow-up on the address-space limit.
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limited,
    )


def test_the_folder_covers_enough_cases():
    assert len(BAD) >= 25


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_routine_prints_its_one_line(path: Path):
    result = check(path.name, cwd=ROUTINES)
    assert result.stderr == expected_line(path) + "\n"
    assert result.returncode == 1
    assert result.stdout == ""


@pytest.mark.parametrize("path", BAD[:3], ids=lambda p: p.stem)
def test_every_command_that_reads_a_routine_reports_the_same_line(path: Path, tmp_path: Path):
    for command in (["show"], ["show", "--json"], ["export", "-o", str(tmp_path / "x.wav")]):
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", *command, path.name],
            cwd=ROUTINES,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert (result.returncode, result.stderr, result.stdout) == (
            1,
            expected_line(path) + "\n",
            "",
        )
    assert list(tmp_path.iterdir()) == []


def test_a_20_megabyte_file(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"title: Big\nsteps:\n" + b"  - say: hello\n" * 1_400_000)
    result = check(big.name, cwd=tmp_path)
    assert (
        result.stderr
        == "error: big.yaml: file is too large (21.0 MB; a routine may be at most 1 MB)\n"
    )
    assert result.returncode == 1


def test_flow_nesting_thousands_deep(tmp_path: Path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("title: Deep\nsteps: " + "[" * 5000 + "]" * 5000 + "\n")
    result = check(deep.name, cwd=tmp_path)
    # The top mapping is level 1; the first '[' (column 8) level 2; the 64th (column 71) level 65.
    assert result.stderr == "deep.yaml:2:71: nesting is too deep (more than 64 levels)\n"
    assert result.returncode == 1


def test_block_nesting_hundreds_deep(tmp_path: Path):
    lines = ["title: Deep", "steps:"]
    for depth in range(400):
        indent = "  " * (depth + 1)
        lines += [f"{indent}- repeat: 2", f"{indent}  steps:"]
    lines.append("  " * 401 + "- say: hi")
    deep = tmp_path / "deep.yaml"
    deep.write_text("\n".join(lines) + "\n")
    result = check(deep.name, cwd=tmp_path)
    # Levels: the top mapping 1, 'steps' 2, the first step 3, ...: the 32nd step (line 65,
    # indented 64, its mapping at column 67) is level 65.
    assert result.stderr == "deep.yaml:65:67: nesting is too deep (more than 64 levels)\n"
    assert result.returncode == 1


def test_repeats_nested_to_an_astronomical_length_are_refused_before_expanding(tmp_path: Path):
    lines = ["title: Forever", "steps:"]
    for depth in range(9):
        indent = "  " * (depth + 1) + "  " * depth
        lines += [f"{indent}- repeat: 100", f"{indent}  steps:"]
    lines.append("  " * 19 + "- say: hi")
    routine = tmp_path / "forever.yaml"
    routine.write_text("\n".join(lines) + "\n")
    result = check(routine.name, cwd=tmp_path)
    expected = "the session would last more than 12 h (it passes 12 h in this step)"
    assert result.stderr == f"forever.yaml:3:5: {expected}\n"
    assert result.returncode == 1


def test_an_empty_file(tmp_path: Path):
    (tmp_path / "empty.yaml").write_bytes(b"")
    result = check("empty.yaml", cwd=tmp_path)
    expected = "empty.yaml:1:1: the routine is empty; it needs a 'title' and a list of 'steps'\n"
    assert result.stderr == expected
    assert result.returncode == 1


def test_a_directory_as_routine(tmp_path: Path):
    (tmp_path / "folder").mkdir()
    result = check("folder", cwd=tmp_path)
    assert result.stderr == "error: folder: is a directory, not a routine file\n"
    assert result.returncode == 1


def test_a_missing_path_as_routine(tmp_path: Path):
    result = check("back-hnads", cwd=tmp_path)
    message = "no such file, and no bundled routine of that name (did you mean 'back-hands'?)"
    assert result.stderr == f"error: back-hnads: {message}\n"
    assert result.returncode == 1


def test_a_device_as_routine(tmp_path: Path):
    result = check("/dev/zero", cwd=tmp_path)
    assert result.stderr == "error: /dev/zero: is not a regular file\n"
    assert result.returncode == 1


def test_several_files_report_each_problem_and_fail_once():
    good = Path("../../scripts/back-hands.yaml")
    result = check("bad-repeat-zero.yaml", str(good), "bad-volume.yaml", cwd=ROUTINES)
    assert result.stderr.splitlines() == [
        expected_line(ROUTINES / "bad-repeat-zero.yaml"),
        expected_line(ROUTINES / "bad-volume.yaml"),
    ]
    assert result.stdout.startswith("ok: ")
    assert "back-hands.yaml (Upper back release with your hands, " in result.stdout
    assert result.returncode == 1


def test_a_file_with_several_problems_gets_one_line_each(tmp_path: Path):
    routine = tmp_path / "two.yaml"
    routine.write_text(
        "title: Two\nsteps:\n  - say: hi\n    hlod: 3\n  - repeat: 0\n    steps: []\n"
    )
    result = check(routine.name, cwd=tmp_path)
    assert result.stderr.splitlines() == [
        "two.yaml:4:5: unknown key 'hlod' in a step (did you mean 'hold'?)",
        "two.yaml:5:13: repeat: 0 is out of range (1 to 100)",
        "two.yaml:6:12: steps is empty; give at least one step",
    ]


def test_a_name_too_long_for_the_file_system(tmp_path: Path):
    result = check("x" * 300, cwd=tmp_path)
    assert result.stderr == f"error: {'x' * 57}...: cannot be read: File name too long\n"
    assert result.returncode == 1


def test_includes_nested_too_deeply(tmp_path: Path):
    for n in range(15):
        (tmp_path / f"r{n}.yaml").write_text(f"title: R{n}\nsteps:\n  - include: r{n + 1}\n")
    (tmp_path / "r15.yaml").write_text("title: Last\nsteps:\n  - say: hi\n")
    result = check("r0.yaml", cwd=tmp_path)
    # r0's steps are in no block; r10's are in 10 (the includes); r11's would be in 11.
    assert result.stderr == "r10.yaml:3:14: steps are nested too deeply (more than 10 blocks)\n"
    assert result.returncode == 1


@pytest.mark.parametrize("blocks", [10, 11])
def test_at_most_10_blocks_nest_as_the_readme_says(tmp_path: Path, blocks: int):
    lines = ["title: Nested", "steps:"]
    for depth in range(blocks):
        indent = "    " * depth
        lines += [f"  {indent}- repeat: 1", f"  {indent}  steps:"]
    lines.append("  " + "    " * blocks + "- say: hi")
    (tmp_path / "nested.yaml").write_text("\n".join(lines) + "\n")
    result = check("nested.yaml", cwd=tmp_path)
    if blocks == 10:
        assert (result.returncode, result.stderr) == (0, "")
    else:
        at = f"{2 * blocks + 3}:{4 * blocks + 3}"  # the 11th block's list of steps
        expected = f"nested.yaml:{at}: steps are nested too deeply (more than 10 blocks)\n"
        assert (result.returncode, result.stderr) == (1, expected)


def test_thousands_of_phrases_are_refused_before_any_synthesis(tmp_path: Path):
    steps = "".join(f"  - say: Step number {n}.\n" for n in range(16_000))
    (tmp_path / "many.yaml").write_text("title: Many\nsteps:\n" + steps)
    cache = tmp_path / "cache"
    result = check("many.yaml", cwd=tmp_path, env={"VOICEGUIDE_CACHE": str(cache)})
    message = "the session says too many different things (more than 2000 phrases by this step)"
    assert result.stderr == f"many.yaml:2003:5: {message}\n"  # step 2001, after two lines
    assert result.returncode == 1
    assert not cache.exists()


def test_too_much_text_is_refused_before_any_synthesis(tmp_path: Path):
    steps = "".join(f"  - say: {n} {'and breathe ' * 80}\n" for n in range(200))
    (tmp_path / "wordy.yaml").write_text("title: Wordy\nsteps:\n" + steps)
    cache = tmp_path / "cache"
    result = check("wordy.yaml", cwd=tmp_path, env={"VOICEGUIDE_CACHE": str(cache)})
    message = "the session says too much (more than 100000 characters of different phrases"
    assert result.stderr == f"wordy.yaml:106:5: {message} by this step)\n"
    assert result.returncode == 1
    assert not cache.exists()


def test_a_long_side_repeated_in_a_say_is_refused_with_its_position(tmp_path: Path):
    side = " ".join(["very far left"] * 7)  # 97 characters: a side's name may have 100
    say = " ".join(["{side}"] * 11)
    (tmp_path / "sides.yaml").write_text(
        f"title: Sides\nsteps:\n  - sides: [{side}]\n    steps:\n      - say: '{say}'\n"
    )
    result = check("sides.yaml", cwd=tmp_path)
    shown = "very far left very far left very far lef…"
    message = f"say is too long with {{side}} as '{shown}' (1077 characters; at most 1000)"
    assert result.stderr == f"sides.yaml:5:14: {message}\n"
    assert result.returncode == 1


def test_only_routine_files_are_read(tmp_path: Path):
    result = check("/etc/passwd", cwd=tmp_path)
    expected = (
        "error: /etc/passwd: is not a routine file (a routine's name ends in .yaml or .yml)\n"
    )
    assert (result.returncode, result.stderr) == (1, expected)


def test_a_deleted_working_folder(tmp_path: Path):
    gone = tmp_path / "gone"
    script = (
        "import os, sys; from voiceguide.cli import main;"
        "os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); sys.argv[1:] = sys.argv[2:]; main()"
    )
    routine = ROUTINES / "ok-bom-crlf-accents.yaml"
    for args in (["check", routine], ["export", routine, "-o", "x.wav"]):
        gone.mkdir()
        result = subprocess.run(
            [sys.executable, "-c", script, gone, *args], capture_output=True, text=True, timeout=60
        )
        assert "Traceback" not in result.stderr and result.stderr.count("\n") <= 1
        if args[0] == "check":
            assert (result.returncode, result.stderr) == (0, "")
        else:
            expected = "error: cannot write x.wav: the current folder no longer exists\n"
            assert (result.returncode, result.stderr) == (5, expected)


def test_includes_that_fan_out_are_read_once_and_refused_by_the_limit(tmp_path: Path):
    (tmp_path / "leaf.yaml").write_text("title: Leaf\nsteps:\n" + "  - say: hi\n" * 40)
    for upper, lower in (("middle", "leaf"), ("upper", "middle"), ("top", "upper")):
        (tmp_path / f"{upper}.yaml").write_text(
            f"title: {upper}\nsteps:\n" + f"  - include: {lower}\n" * 40
        )
    result = check("top.yaml", cwd=tmp_path)  # 40 x 40 x 40 x 40 steps of at least a second
    assert result.stderr.startswith("top.yaml:3:5: the session would last more than 12 h")
    assert result.returncode == 1
