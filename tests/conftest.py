"""Shared fixtures. The phrase cache is shared by the whole run, every xdist worker included
(each phrase is synthesized once); tests about a cold cache make their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTINES = Path(__file__).resolve().parent / "routines"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config) -> None:
    """Ctrl-C reaches the commands the tests start even when the suite runs as a background
    job: a shell starts those with SIGINT ignored, every child inherits that, and a Python
    started so leaves it ignored (the Ctrl-C tests then saw sessions play on to the end)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# The test files that take longest (measured with --durations=0; most of it is waiting on
# real-time playback, or Piper synthesizing), longest first. They run first, so under
# pytest-xdist (`--dist loadfile --no-loadscope-reorder`, pyproject.toml) the short files fill
# in around them at the end instead of one long file starting last on one worker alone.
LONGEST_FIRST = (
    "test_play.py",
    "test_piper.py",
    "test_mpris.py",
    "test_suspend.py",
    "test_formats.py",
    "test_edges.py",
    "test_commit.py",
    "test_packaging.py",
    "test_journal.py",
    "test_faults.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest test files first, each file's tests still together and in their order."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other file keeps its place


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory) -> Path:
    """One phrase cache for the whole run. Under pytest-xdist every worker has a base temp of
    its own inside the run's: the cache goes beside them, so each phrase is still synthesized
    once a run. Safe with several writers: an entry is published whole with a hard link (see
    voiceguide/cache.py), and a run stays far below the cache's size limit, so none is pruned."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "phrase-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("phrase-cache")
    previous = os.environ.get("VOICEGUIDE_CACHE")
    os.environ["VOICEGUIDE_CACHE"] = str(path)
    yield path
    if previous is None:
        del os.environ["VOICEGUIDE_CACHE"]
    else:
        os.environ["VOICEGUIDE_CACHE"] = previous


@pytest.fixture(scope="session", autouse=True)
def journal_home(tmp_path_factory) -> Path:
    """Sessions played by the tests go to a journal of their own, never the user's."""
    path = tmp_path_factory.mktemp("data-home")
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(path)
    yield path
    if previous is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = previous


@pytest.fixture(scope="session", autouse=True)
def config_home(tmp_path_factory) -> Path:
    """No user's config file or VOICEGUIDE_* defaults reach the tests: an empty config home.
    Tests of the config write their own file there (and remove it)."""
    path = tmp_path_factory.mktemp("config-home")
    saved = {k: v for k, v in os.environ.items() if k == "XDG_CONFIG_HOME" or _is_default(k)}
    for name in saved:
        del os.environ[name]
    os.environ["XDG_CONFIG_HOME"] = str(path)
    yield path
    del os.environ["XDG_CONFIG_HOME"]
    os.environ.update(saved)


def _is_default(name: str) -> bool:
    settings = ("ENGINE", "VOICE", "RATE", "VOLUME", "FORMAT", "CACHE_MAX_SIZE", "DEBUG")
    return name in {f"VOICEGUIDE_{s}" for s in settings}


def voiceguide(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120):
    """Run the real command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def processes_with_env_starting(start: str) -> list[int]:
    """The processes (anyone's that may be read) with an environment entry starting so: a
    worker, and whatever it started, carries TMPDIR=its scratch folder."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0") if proc.name.isdigit() else []
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if any(entry.startswith(start.encode()) for entry in environ):
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A real-time virtual sound card (tests/soundcard.py), one a test module."""
    import soundcard

    missing = soundcard.available()
    if missing:
        pytest.skip(missing)
    card = soundcard.start(tmp_path_factory.mktemp("card"))
    yield card
    card.stop()
