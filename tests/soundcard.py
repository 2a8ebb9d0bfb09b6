"""A real-time virtual sound card for tests: a PulseAudio null sink, and a recorder of its
monitor whose reads are stamped on time.monotonic().

The sink runs at 22050 Hz, mono, 16-bit: the format voiceguide plays, so nothing is resampled
and what is recorded is, sample for sample, what was played. ALSA's 'default' device goes to
PulseAudio as soon as the server runs (the pulseaudio package's own ALSA configuration).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 22050


@dataclass
class SoundCard:
    folder: Path
    env: dict[str, str]
    server: int  # pid
    keep_alive: list[subprocess.Popen]

    def stop(self) -> None:
        for process in self.keep_alive:
            process.terminate()
            process.wait()
        for sig in (signal.SIGTERM, *[0] * 100, signal.SIGKILL):
            try:
                os.kill(self.server, sig)
            except ProcessLookupError:
                return
            if sig == 0:
                time.sleep(0.02)


def available() -> str | None:
    """Why a sound card cannot be made here, or None."""
    for tool in ("pulseaudio", "pactl", "parec"):
        if not shutil.which(tool):
            return f"{tool} is not installed (.ci/run installs it)"
    return None


def start(folder: Path) -> SoundCard:
    runtime = folder / "runtime"
    (runtime / "pulse").mkdir(parents=True, exist_ok=True)
    (folder / "home").mkdir(exist_ok=True)
    socket = runtime / "pulse" / "native"
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(folder / "home"),
        "PULSE_SERVER": f"unix:{socket}",
    }
    env.pop("PULSE_LATENCY_MSEC", None)
    subprocess.run(
        [
            "pulseaudio",
            "--daemonize=yes",
            "--exit-idle-time=-1",
            "-n",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}",
            f"--load=module-null-sink sink_name=vsink rate={RATE} channels=1 format=s16le",
            "--log-target=stderr",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the PulseAudio server did not start")
        time.sleep(0.05)
    subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True, capture_output=True)
    server = int((runtime / "pulse" / "pid").read_text().split()[0])
    raw = ["--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
    keep_alive = [
        # Without a low-latency reader on its monitor, the null sink idles at 2 s of latency.
        subprocess.Popen(
            ["parec", "-d", "vsink.monitor", *raw], env=env, stdout=subprocess.DEVNULL
        ),
        # Zeros, all the time: the sink keeps running, so its monitor is one unbroken recording.
        subprocess.Popen(
            ["pacat", "--playback", "-d", "vsink", *raw],
            env=env,
            stdin=open("/dev/zero", "rb"),  # noqa: SIM115 - pacat reads it until it ends
        ),
    ]
    card = SoundCard(folder, env, server, keep_alive)
    _wait_for_the_monitor(card)
    return card


def start_idle(folder: Path, timeout: int = 1) -> SoundCard:
    """A card whose sink suspends after `timeout` seconds without a stream: PulseAudio's
    module-suspend-on-idle, and nothing else keeping the sink running (no zeros, no reader on
    its monitor: a reader there keeps it awake too)."""
    card = start(folder)
    for process in card.keep_alive:
        process.terminate()
        process.wait()
    card.keep_alive = []
    loaded = subprocess.run(
        ["pactl", "load-module", "module-suspend-on-idle", f"timeout={timeout}"],
        env=card.env,
        capture_output=True,
    )
    if loaded.returncode != 0:
        card.stop()
        raise RuntimeError(f"module-suspend-on-idle did not load: {loaded.stderr!r}")
    return card


def sink_state(card: SoundCard) -> str:
    """The virtual sink's state as PulseAudio lists it: RUNNING, IDLE or SUSPENDED."""
    listed = subprocess.run(
        ["pactl", "list", "short", "sinks"], env=card.env, capture_output=True, text=True
    ).stdout
    return next(line.split("\t")[-1] for line in listed.splitlines() if "\tvsink\t" in line)


def wait_until_suspended(card: SoundCard, timeout: float = 10) -> None:
    """Idle, the sink suspends: the module works (a generous bound for a busy machine)."""
    deadline = time.monotonic() + timeout
    while sink_state(card) != "SUSPENDED":
        if time.monotonic() > deadline:
            raise AssertionError("the idle sink never suspended")
        time.sleep(0.1)


def _wait_for_the_monitor(card: SoundCard) -> None:
    """The first recording after the server starts can stay empty; start recordings until one
    delivers, so that tests never get the empty one."""
    raw = ["--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
    for _ in range(5):
        reader = subprocess.Popen(
            ["parec", "-d", "vsink.monitor", *raw], env=card.env, stdout=subprocess.PIPE
        )
        ready, _, _ = select.select([reader.stdout], [], [], 1.0)
        reader.terminate()
        reader.wait()
        if ready:
            return
    raise RuntimeError("the virtual sound card's monitor delivers nothing")


@dataclass
class Recorder:
    """Records the sink's monitor; each read is stamped with time.monotonic()."""

    card: SoundCard
    data: bytearray = field(default_factory=bytearray)
    stamps: list[tuple[float, int]] = field(default_factory=list)  # (time, samples so far)

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            [
                "parec",
                "-d",
                "vsink.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=1",
                "--latency-msec=20",
            ],
            env=self.card.env,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.3)  # past the stream's start-up burst

    def _read(self) -> None:
        fd = self.process.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            self.data += chunk
            self.stamps.append((time.monotonic(), len(self.data) // 2))

    def stop(self) -> np.ndarray:
        self.process.terminate()
        self.process.wait()
        self.thread.join(timeout=2)
        return np.frombuffer(bytes(self.data[: len(self.data) // 2 * 2]), dtype="<i2")

    def time_of(self, sample: int) -> float:
        """When a recorded sample sounded, on time.monotonic().

        A read returns at the earliest when its last sample has sounded, so the earliest read
        of each second bounds the sink's clock; a line through those bounds maps samples to
        time, drift included (a sound card's clock is not the system's: this one ran 150 ppm
        fast here)."""
        stamps = np.array(self.stamps[10:], dtype=float)
        times, counts = stamps[:, 0], stamps[:, 1]
        window = np.floor((times - times[0]) / 1.0)
        tightest = [
            np.argmin(times[window == w] - counts[window == w] / RATE) for w in np.unique(window)
        ]
        chosen = [
            np.flatnonzero(window == w)[i] for w, i in zip(np.unique(window), tightest, strict=True)
        ]
        slope, intercept = np.polyfit(counts[chosen], times[chosen], 1)
        return float(intercept + slope * sample)


def onset(
    recording: np.ndarray, clip: np.ndarray, near: int, window: int, skip: int = 512
) -> int | None:
    """Where `clip` starts in `recording`, searching `window` samples either side of `near`.

    Exact: the sink neither resamples nor scales. Only the first milliseconds of a sound may be
    missing from the monitor (PulseAudio rewinds a running sink to start a new stream at once,
    and its monitor has already handed those samples out), so the clip is matched from `skip`
    samples in, and its onset is where its first sample falls.
    """
    tail = clip[skip:]
    lo, hi = max(0, near - window + skip), min(len(recording) - len(tail), near + window + skip)
    candidates = np.flatnonzero(recording[lo : hi + 1] == tail[0]) + lo
    for start in candidates:
        if np.array_equal(recording[start : start + len(tail)], tail):
            return int(start) - skip
    return None
