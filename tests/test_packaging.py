"""What ships: the wheel carries the bundled routines and chimes, and a user who installs it
(not a checkout) gets them."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_the_package_routines_and_chimes(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for routine in (ROOT / "scripts").glob("*.yaml"):
        assert f"voiceguide/scripts/{routine.name}" in names
    for sound in (ROOT / "sounds").glob("*.wav"):
        assert f"voiceguide/sounds/{sound.name}" in names
    modules = {p.name for p in (ROOT / "voiceguide").glob("*.py")}
    assert {
        n.removeprefix("voiceguide/") for n in names if n.count("/") == 1 and n.endswith(".py")
    } == modules
    assert not any(n.startswith(("tests/", "tools/")) for n in names)


def test_an_installed_wheel_lists_its_bundled_routines(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True
    )
    # From an empty folder, so nothing can come from the checkout.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [
            python,
            "-c",
            "import voiceguide.bundled as b; print(b.scripts_dir()); print(b.sounds_dir())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(env_dir) for p in where)
    listed = subprocess.run(
        [env_dir / "bin" / "voiceguide", "list"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert names == sorted(p.stem for p in (ROOT / "scripts").glob("*.yaml"))
