"""A private D-Bus session bus for tests: a real `dbus-daemon`, started here and stopped by its
process id, and `playerctl`, a real MPRIS client, to drive players on it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SessionBus:
    address: str
    pid: int

    @property
    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def playerctl(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["playerctl", *args],
            env={**(env or os.environ), **self.env},
            capture_output=True,
            text=True,
            timeout=10,
        )

    def stop(self) -> None:
        for sig in (signal.SIGTERM, *[0] * 100, signal.SIGKILL):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return
            if sig == 0:
                time.sleep(0.02)


def available() -> str | None:
    """Why a session bus cannot be made here, or None."""
    for tool in ("dbus-daemon", "playerctl"):
        if not shutil.which(tool):
            return f"{tool} is not installed (.ci/run installs it)"
    return None


def start(folder: Path) -> SessionBus:
    folder.mkdir(parents=True, exist_ok=True)
    started = subprocess.run(
        [
            "dbus-daemon",
            "--session",
            "--fork",
            f"--address=unix:path={folder / 'bus'}",
            "--print-address=1",
            "--print-pid=1",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    address, pid = started.stdout.split()
    return SessionBus(address, int(pid))


def wait_for_player(bus: SessionBus, name: str = "voiceguide", timeout: float = 30) -> str:
    """The MPRIS name of the first player whose name starts with `name`, once it appears."""
    return wait_for_players(bus, 1, name, timeout)[0]


def wait_for_players(
    bus: SessionBus, count: int, name: str = "voiceguide", timeout: float = 30
) -> list[str]:
    """The sorted MPRIS names of players whose names start with `name`, once `count` are on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        players = bus.playerctl("--list-all").stdout.split()
        found = sorted(p for p in players if p.startswith(name))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} MPRIS players named {name}* never appeared")
