"""`check` warns about what sounds wrong when spoken: digits and ranges, parentheses, long
sentences. A warning names its place like an error does, and fails nothing."""

from __future__ import annotations

from pathlib import Path

from conftest import voiceguide

from voiceguide.aloud import text_warnings

ROUTINE = """\
title: Spoken
steps:
  - say: Press for 10 seconds, then repeat 3-4 times.
  - say: 'Breathe (slowly) in.'
    hold: 5s
  - repeat: 2
    steps:
      - say: >
          This sentence goes on and on, one word after another, with no full stop
          anywhere near where a listener would want one. Then 1 more.
  - say: "Fine as it is?"
"""


def test_each_warning_names_its_line_and_column_and_check_still_passes(tmp_path: Path):
    path = tmp_path / "spoken.yaml"
    path.write_text(ROUTINE)
    result = voiceguide("check", path.name, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("ok: spoken.yaml (Spoken, ")
    assert result.stderr.splitlines() == [
        "spoken.yaml:3:20: warning: '10' in say: write numbers in words,"
        ' as they are to be heard ("ten")',
        "spoken.yaml:3:44: warning: '3-4' in say is read with a dash;"
        ' write it as it is said: "three to four"',
        "spoken.yaml:4:19: warning: parentheses in say are not heard;"
        " use commas, or a sentence of its own",
        "spoken.yaml:9:11: warning: a sentence of 22 words in say ('This sentence goes on ...');"
        " a listener follows at most 20: split it",
        "spoken.yaml:10:63: warning: '1' in say: write numbers in words,"
        ' as they are to be heard ("one")',
    ]


def test_errors_come_without_warnings_and_fail(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("title: Bad\nsteps:\n  - say: Press 3-4 times.\n    hold: 0s\n")
    result = voiceguide("check", path.name, cwd=tmp_path)
    assert result.returncode == 1
    assert "warning" not in result.stderr
    assert result.stderr.startswith("bad.yaml:4:11: ")


def test_an_included_files_warnings_name_that_file_once(tmp_path: Path):
    (tmp_path / "part.yaml").write_text("title: Part\nsteps:\n  - say: Hold (gently).\n")
    (tmp_path / "top.yaml").write_text(
        "title: Top\nsteps:\n  - include: part\n  - include: part.yaml\n"
    )
    result = voiceguide("check", "top.yaml", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == (
        "part.yaml:3:15: warning: parentheses in say are not heard;"
        " use commas, or a sentence of its own\n"
    )


def test_a_range_is_one_warning_with_its_words():
    en_dash = "\u2013"
    assert text_warnings(f"Hold for 2 {en_dash} 3 minutes.") == [
        (9, f"'2 {en_dash} 3' in say is read with a dash; write it as it is said: \"two to three\"")
    ]


def test_a_time_and_a_decimal_are_one_number_each():
    found = text_warnings("At 1:30, breathe 2.5 times.")
    assert [offset for offset, _ in found] == [3, 17]
    assert "'1:30' in say" in found[0][1] and '("' not in found[0][1]


def test_twenty_words_are_fine_and_twenty_one_are_not():
    twenty = " ".join(["word"] * 20) + "."
    assert text_warnings(twenty) == []
    assert text_warnings(f"Short one. {twenty[:-1]} more!") == [
        (
            11,
            "a sentence of 21 words in say ('word word word word ...');"
            " a listener follows at most 20: split it",
        )
    ]


def test_words_alone_warn_nothing():
    assert text_warnings("Press firmly, for ten seconds: three to four times, {side} side.") == []


def test_a_closing_parenthesis_alone_is_one_warning_a_pair_is_one_too():
    assert [o for o, _ in text_warnings("One) two.")] == [3]
    assert [o for o, _ in text_warnings("One (two) three.")] == [4]
    assert [o for o, _ in text_warnings("One (two) and (three).")] == [4, 14]


def test_a_warning_on_the_first_word_of_a_quoted_say_points_past_the_quote(tmp_path: Path):
    path = tmp_path / "quoted.yaml"
    path.write_text("title: Q\nsteps:\n  - say: \"3 times.\"\n  - say: '(Quietly.)'\n")
    result = voiceguide("check", path.name, cwd=tmp_path)
    assert [line.split(": warning")[0] for line in result.stderr.splitlines()] == [
        "quoted.yaml:3:11",
        "quoted.yaml:4:11",
    ]


def test_the_starter_routine_warns_nothing(tmp_path: Path):
    assert voiceguide("new", "mine.yaml", cwd=tmp_path).returncode == 0
    result = voiceguide("check", "mine.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "At the chime, press gently" in (tmp_path / "mine.yaml").read_text()


def test_a_reminders_words_are_checked_like_a_steps(tmp_path: Path):
    path = tmp_path / "remind.yaml"
    path.write_text(
        "title: R\nsteps:\n  - say: At the chime, press.\n    hold: 30s\n    remind:\n"
        "      - left: 10s\n        say: 10 seconds left.\n"
    )
    result = voiceguide("check", path.name, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == (
        "remind.yaml:7:14: warning: '10' in say: write numbers in words,"
        ' as they are to be heard ("ten")\n'
    )


def test_check_json_lists_warnings_as_warnings_and_the_routine_as_ok(tmp_path: Path):
    import json

    (tmp_path / "spoken.yaml").write_text(ROUTINE)
    result = voiceguide("check", "--json", "spoken.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    [report] = json.loads(result.stdout)
    assert report["ok"] is True
    assert {p["severity"] for p in report["problems"]} == {"warning"}
    first = report["problems"][0]
    assert (first["file"], first["line"], first["column"]) == ("spoken.yaml", 3, 20)
    assert first["message"].startswith("'10' in say: write numbers in words")


STDIN_ROUTINE = "title: x\nsteps:\n  - say: Press for 3-4 seconds (gently).\n    pause: 2s\n"
STDIN_WARNINGS = [
    "<stdin>:3:20: warning: '3-4' in say is read with a dash;"
    ' write it as it is said: "three to four"',
    "<stdin>:3:32: warning: parentheses in say are not heard; use commas, or a sentence of its own",
]


def test_a_routine_from_stdin_is_warned_about_like_a_file(tmp_path: Path):
    import json
    import subprocess
    import sys

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voiceguide", "check", *args, "-"],
            cwd=tmp_path,
            input=STDIN_ROUTINE,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = check()
    assert result.returncode == 0
    assert result.stderr.splitlines() == STDIN_WARNINGS
    result = check("--json")
    assert (result.returncode, result.stderr) == (0, "")
    [report] = json.loads(result.stdout)
    assert [(p["file"], p["line"], p["column"], p["severity"]) for p in report["problems"]] == [
        ("<stdin>", 3, 20, "warning"),
        ("<stdin>", 3, 32, "warning"),
    ]
