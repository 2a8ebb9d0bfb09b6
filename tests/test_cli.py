"""The command line: exact output and exit codes (with the real speech engine)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import pairwise

from click.testing import CliRunner
from conftest import ROOT, voiceguide

from voiceguide import __version__, bundled
from voiceguide.cli import cli
from voiceguide.durations import format_clock


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version():
    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"voiceguide, version {__version__}\n")


def test_help_lists_every_command_in_order_of_use():
    result = run("--help")
    listed = re.findall(r"^  (\w+) ", result.stdout.split("Commands:")[1], re.M)
    assert listed == [
        *("list", "check", "show", "play", "export", "voices", "new", "journal"),
        *("cache", "config", "doctor"),
    ]


def test_show_json_is_the_documented_timeline():
    result = run("show", "back-hands", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert set(document) == {
        *("title", "duration", "sample_rate", "engine", "voice", "rate", "volume"),
        *("steps", "cues", "holds"),
    }
    assert document["title"] == "Upper back release with your hands"
    assert (document["sample_rate"], document["engine"], document["voice"]) == (
        22050,
        "espeak",
        "gmw/en-us",
    )
    assert (document["rate"], document["volume"]) == (135, 0.9)
    cues = document["cues"]
    assert (
        cues[0]["text"]
        == "If you have significant back pain of any kind, see a doctor as soon as you can."
    )
    assert [c["start"] for c in cues] == sorted(c["start"] for c in cues)
    steps = document["steps"]
    assert steps[0]["start"] == 0 and steps[-1]["end"] == document["duration"]
    assert all(a["end"] == b["start"] for a, b in pairwise(steps))
    hold_starts = [c["start"] for c in cues if c.get("sound") == "hold-start"]
    hold_ends = [c["start"] for c in cues if c.get("sound") == "hold-end"]
    lengths = [round(e - s, 6) for s, e in zip(hold_starts, hold_ends, strict=True)]
    assert lengths == [70.0] * 3  # ten seconds of pressure and a minute's hold, three rounds


def test_speech_options_change_the_timeline():
    slow = json.loads(
        run("show", "back-hands", "--json", "--rate", "100", "--volume", "0.5").stdout
    )
    fast = json.loads(run("show", "back-hands", "--json", "--rate", "200").stdout)
    assert (slow["rate"], slow["volume"], fast["rate"]) == (100, 0.5, 200)
    # The same instruction at half the pace takes about twice as long.
    slow_first, fast_first = slow["cues"][0], fast["cues"][0]
    ratio = (slow_first["end"] - slow_first["start"]) / (fast_first["end"] - fast_first["start"])
    assert 1.6 < ratio < 2.4


def test_show_table_reads_second_by_second():
    result = run("show", "back-massage-ball")
    lines = result.stdout.splitlines()
    assert lines[0] == "Lower back release with two massage balls"
    assert re.fullmatch(
        r"\d\d:\d\d long; espeak voice gmw/en-us, 135 words a minute, volume 0.9", lines[1]
    )
    assert lines[2].startswith("Two massage balls (a tennis or lacrosse ball works too)")
    assert lines[4] == "step  start    end      what"
    assert re.fullmatch(r"   1  00:00\.0  00:0\d\.\d  Before you start", lines[5])
    assert "      00:00.0           say    If you have significant back pain" in lines[6]
    assert any(re.search(r"chime  hold-start  \(hold 2 s\)$", line) for line in lines)


def test_list_shows_every_bundled_routine_with_its_length():
    duration = json.loads(run("show", "back-hands", "--json").stdout)["duration"]
    result = run("list")  # exact where the phrases are in the cache
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "length", "title"]
    assert [line.split()[0] for line in lines[1:]] == bundled.routine_names()
    hands = next(line for line in lines if line.startswith("back-hands "))
    assert hands.split()[1] == format_clock(duration)


def test_check_passes_the_bundled_routines():
    paths = sorted(str(p) for p in (ROOT / "scripts").glob("*.yaml"))
    result = run("check", *paths)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 5
    assert all(line.startswith("ok: ") for line in result.stdout.splitlines())


def test_new_writes_a_starter_that_passes_check_and_is_never_overwritten(tmp_path):
    path = tmp_path / "mine.yaml"
    assert run("new", str(path)).exit_code == 0
    text = path.read_text()
    assert text.startswith("# A voiceguide routine.")
    for key in (
        "title:",
        "speech:",
        "say:",
        "hold:",
        "countdown:",
        "halfway:",
        "pause:",
        "repeat:",
        "rest:",
        "sides:",
    ):
        assert key in text
    for more in ("remind:", "params:", "include:", "part: opening", "per_day:", "pronounce:"):
        assert f"#   {more}" in text or f", {more}" in text  # named, commented out
    checked = run("check", str(path))
    assert checked.exit_code == 0 and checked.stdout.startswith("ok: ")
    again = run("new", str(path))
    assert (again.exit_code, again.stderr) == (
        5,
        f"error: {path} exists; use --force to overwrite it\n",
    )
    assert run("new", str(path), "--force").exit_code == 0


def test_a_command_line_mistake_is_one_line_too():
    result = voiceguide("show", "back-hands", "--rate", "1000")
    assert result.returncode == 2
    assert result.stderr == (
        "error: Invalid value for '--rate': 1000 is not in the range 80<=x<=400."
        " (see 'voiceguide show --help')\n"
    )
    unknown = voiceguide("shwo")
    expected = "error: No such command 'shwo'. Did you mean 'show'? (see 'voiceguide --help')\n"
    assert (unknown.returncode, unknown.stderr) == (2, expected)


def test_an_unknown_voice_names_the_closest(tmp_path):
    result = run("show", "back-hands", "--voice", "en-uss")
    assert result.exit_code == 3
    assert result.stderr == "error: unknown voice 'en-uss' (closest: en-us, en-us-nyc)\n"


def test_voices_lists_the_engines_voices_for_a_language():
    result = run("voices", "--lang", "en")
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert "gmw/en-us" in ids and "gmw/en" in ids
    assert all("/en" in i for i in ids)
    none = voiceguide("voices", "--lang", "xx")
    assert none.returncode == 2
    assert none.stderr == (
        "error: Invalid value for '--lang': no voices for language 'xx'"
        " (see 'voiceguide voices --help')\n"
    )


WITHOUT_AUDIO = """
import sys
sys.modules["simpleaudio"] = None  # as on a machine with no audio stack: importing it fails
sys.modules["sounddevice"] = None
from voiceguide.cli import main
sys.argv = ["voiceguide", *sys.argv[1:]]
main()
"""


def test_only_play_needs_the_audio_stack(tmp_path):
    def run_without_audio(*args):
        command = [sys.executable, "-c", WITHOUT_AUDIO, *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    for args in (
        ["list"],
        ["check", "back-hands"],
        ["show", "back-hands", "--json"],
        ["export", "back-hands", "-o", tmp_path / "hands.wav"],
        ["voices", "--lang", "en"],
        ["new", tmp_path / "new.yaml"],
    ):
        result = run_without_audio(*args)
        assert (result.returncode, result.stderr) == (0, ""), args
    played = run_without_audio("play", "back-hands")
    assert played.returncode == 4
    assert (
        played.stderr
        == "error: simpleaudio is not installed; install it with 'pip install simpleaudio'\n"
    )


def test_check_json_names_each_routine_as_it_was_given(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "good.yaml").write_text("title: Good\nsteps:\n  - say: Hi.\n")
    (folder / "bad.yaml").write_text("title: Bad\nsteps:\n  - say: Hi.\n    hold: 0s\n")
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", "--json", "sub/good.yaml", "sub/bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    good, bad = json.loads(result.stdout)
    assert (good["routine"], good["ok"]) == ("sub/good.yaml", True)
    assert (bad["routine"], bad["ok"]) == ("sub/bad.yaml", False)
    assert [p["file"] for p in bad["problems"]] == ["sub/bad.yaml"]
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", "--json", str(folder / "good.yaml")],
        cwd=tmp_path / "sub",
        capture_output=True,
        text=True,
        timeout=120,
    )
    [report] = json.loads(result.stdout)  # passing, given by a path the check would shorten
    assert report["routine"] == str(folder / "good.yaml")  # as given, like a failing one
