"""Your defaults: the config file and VOICEGUIDE_* variables, their precedence (flags >
environment > config > routine > built-in), `voiceguide config`, and bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(sys.executable).parent / "voiceguide"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A config home of this test's own; the file is written by the test."""
    (tmp_path / "config" / "voiceguide").mkdir(parents=True)
    return tmp_path


def run(home: Path, *args, env: dict | None = None):
    return subprocess.run(
        [str(PROGRAM), *map(str, args)],
        cwd=home,
        env={**os.environ, "XDG_CONFIG_HOME": str(home / "config"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def config_file(home: Path) -> Path:
    return home / "config" / "voiceguide" / "config.toml"


def rate_shown(home: Path, *args, env: dict | None = None) -> int:
    result = run(home, "show", "slow.yaml", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["rate"]


def test_precedence_flags_environment_config_routine_built_in(home: Path):
    (home / "plain.yaml").write_text("title: Plain\nsteps:\n  - say: Breathe in.\n")
    (home / "slow.yaml").write_text(
        "title: Slow\nspeech: {rate: 150}\nsteps:\n  - say: Breathe in.\n"
    )
    plain = json.loads(run(home, "show", "plain.yaml", "--json").stdout)
    assert plain["rate"] == 135  # built in
    assert rate_shown(home) == 150  # the routine's over the built-in
    config_file(home).write_text("rate = 100\n")
    assert rate_shown(home) == 100  # the config over the routine's
    environment = {"VOICEGUIDE_RATE": "110"}
    assert rate_shown(home, env=environment) == 110  # the environment over the config
    assert rate_shown(home, "--rate", "120", env=environment) == 120  # the flag over all


def test_config_shows_each_value_and_where_it_came_from(home: Path):
    path = config_file(home)
    path.write_text('voice = "en-gb"\nvolume = 0.5\ncache_max_size = "200MB"\n')
    result = run(home, "config", env={"VOICEGUIDE_VOLUME": "0.7", "VOICEGUIDE_FORMAT": "mp3"})
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"config file: {path}",
        "engine          espeak       built-in",
        f"voice           en-gb        config file ({path})",
        "rate            135          built-in",
        "volume          0.7          environment (VOICEGUIDE_VOLUME)",
        "format          mp3          environment (VOICEGUIDE_FORMAT)",
        f"cache_max_size  200.0 MB     config file ({path})",
    ]
    document = json.loads(run(home, "config", "--json").stdout)
    assert document["settings"]["volume"] == {"value": 0.5, "source": f"config file ({path})"}
    assert document["settings"]["cache_max_size"]["value"] == 200_000_000
    shown = json.loads(run(home, "show", "back-hands", "--json").stdout)
    assert (shown["voice"], shown["volume"]) == ("gmw/en", 0.5)  # espeak's en-gb
    limit = json.loads(run(home, "cache", "size", "--json").stdout)["limit"]
    assert limit == 200_000_000


def test_the_config_format_is_exports_default(home: Path):
    config_file(home).write_text('format = "opus"\n')
    result = run(home, "export", "back-massage-ball", "--no-sidecars")
    assert result.returncode == 0, result.stderr
    assert (home / "back-massage-ball.opus").read_bytes()[:4] == b"OggS"
    named = run(home, "export", "back-massage-ball", "-o", "x.wav", "--no-sidecars")
    assert named.returncode == 0 and (home / "x.wav").exists()  # -o's extension wins


def test_a_configured_voice_stays_with_its_engine(home: Path):
    config_file(home).write_text('voice = "en-gb-x-rp"\n')
    result = run(home, "show", "back-hands", "--json", "--engine", "espeak")
    assert json.loads(result.stdout)["voice"] == "gmw/en-gb-x-rp"  # the same engine: kept
    pytest.importorskip("piper")
    (home / "plain.yaml").write_text("title: Plain\nsteps:\n  - say: Breathe in.\n")
    other = run(home, "show", "plain.yaml", "--json", "--engine", "piper")
    assert other.returncode == 0, other.stderr  # not 'unknown voice en-gb-x-rp'
    assert json.loads(other.stdout)["voice"] == "en_US-joe-medium"  # piper's own default


@pytest.mark.parametrize(
    "text, env, message",
    [
        (
            "rate = 1000\n",
            {},
            "{path}: rate: '1000' is not words a minute, a whole number from 80 to 400",
        ),
        ("volum = 0.5\n", {}, "{path}: unknown setting 'volum' (did you mean 'volume'?)"),
        ("rate = \n", {}, "{path}: not valid TOML: Invalid value (at line 1, column 8)"),
        (
            "",
            {"VOICEGUIDE_VOLUME": "2"},
            "VOICEGUIDE_VOLUME: '2' is not a number above 0 and at most 1",
        ),
        (
            "",
            {"VOICEGUIDE_ENGINE": "festival"},
            "VOICEGUIDE_ENGINE: 'festival' is not one of espeak, piper, pyttsx3",
        ),
        (
            "",
            {"VOICEGUIDE_CACHE_MAX_SIZE": "big"},
            "VOICEGUIDE_CACHE_MAX_SIZE: 'big' is not a size like 500MB, 2GB or 0 (no limit)",
        ),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(home: Path, text: str, env: dict, message: str):
    config_file(home).write_text(text)
    for args in (["show", "back-hands"], ["config"]):
        result = run(home, *args, env=env)
        expected = "error: " + message.format(path=config_file(home)) + "\n"
        assert (result.returncode, result.stdout, result.stderr) == (2, "", expected)


def test_a_config_file_that_is_not_utf8_is_one_line_and_exit_2(home: Path):
    config_file(home).write_bytes(b'rate = 200\nvoice = "\xff"\n')
    for args in (["show", "back-hands"], ["config"]):
        result = run(home, *args)
        expected = (
            f"error: {config_file(home)}: not UTF-8 text (byte 0xff at line 2);"
            " save the file as UTF-8\n"
        )
        assert (result.returncode, result.stdout, result.stderr) == (2, "", expected)
