"""Media keys, for real: a private `dbus-daemon --session`, `playerctl` (and `dbus-send`) as the
clients, and `voiceguide play` playing into the virtual sound card while they drive it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import sessionbus
import soundcard
from conftest import voiceguide

from voiceguide.loader import load_routine
from voiceguide.player import reorientation, status_at
from voiceguide.session import build_session

RATE = 22050
PLAYER = "org.mpris.MediaPlayer2.Player"
ROUTINE = """\
title: Keys
chimes: {session-end: wood}  # short (0.35 s): the sessions played to the end end sooner
steps:
  - say: Find the spot.
  - title: Press and breathe
    say: Press firmly on the spot, and breathe out slowly, all the way.
    hold: 3s
  - title: Sides
    sides: [left, right]
    steps:
      - say: The {side} point.
        hold: 2s
  - say: Rest.
"""


@pytest.fixture
def bus(tmp_path):
    missing = sessionbus.available()
    if missing:
        pytest.skip(missing)
    bus = sessionbus.start(tmp_path / "bus")
    yield bus
    bus.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "keys.yaml").write_text(ROUTINE)
    result = voiceguide("export", folder / "keys.yaml", "-o", folder / "keys.wav")
    assert result.returncode == 0, result.stderr
    return folder


class Session:
    """voiceguide play in a child process, its plain display read line by line."""

    def __init__(self, routine: Path, env: dict, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", str(routine), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, text: str) -> float:
        while True:
            line = self.process.stdout.readline()
            if not line:
                error = self.process.stderr.read()
                raise AssertionError(f"{text!r} never came; got {self.lines}, then {error!r}")
            self.lines.append(line)
            if text in line:
                return time.monotonic()

    def finish(self) -> tuple[int, str]:
        out, err = self.process.communicate(timeout=60)
        self.lines += out.splitlines(keepends=True)
        return self.process.returncode, err


def sample_at(recorder: soundcard.Recorder, moment: float) -> int:
    zero, second = recorder.time_of(0), recorder.time_of(RATE)
    return round((moment - zero) / (second - zero) * RATE)


def heard_after(recorder, recording, clip: np.ndarray, moment: float, within: float) -> float:
    """Seconds from `moment` to where `clip` starts in the recording, searched up to `within`
    seconds after it; fails if it is not there sample for sample."""
    start = sample_at(recorder, moment)
    half = round(within * RATE / 2)
    found = soundcard.onset(recording, clip, start + half, window=half + 2205)
    assert found is not None, "not heard"
    return (found - start) / RATE


def test_playerctl_drives_a_whole_session(card, bus, keys, tmp_path):
    with wave.open(str(keys / "keys.wav")) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    timeline = json.loads((keys / "keys.json").read_text())
    step_cues = {s["index"]: [c for c in timeline["cues"] if c["step"] == s["index"]]
                 for s in timeline["steps"]}  # fmt: skip

    def clip(cue, seconds: float = 1.0) -> np.ndarray:  # its start: the next key may cut it
        start = round(cue["start"] * RATE)
        return audio[start : min(round(cue["end"] * RATE), start + round(seconds * RATE))]

    length = round(timeline["duration"] * 22050) * 1_000_000 // 22050  # microseconds
    # The words said on resuming, made now (so the player finds them in the phrase cache).
    said = build_session(load_routine(keys / "keys.yaml"))
    step2 = said.timeline.steps[1]
    words = said.speak(reorientation(status_at(said.timeline, step2.start)))
    words = np.frombuffer(words, dtype="<i2")[:RATE]
    env = {**card.env, **bus.env, "XDG_DATA_HOME": str(tmp_path / "data")}
    recorder = soundcard.Recorder(card)
    session = Session(keys / "keys.yaml", env)
    following = None
    try:
        name = sessionbus.wait_for_player(bus)
        assert name == "voiceguide"
        # Signals: a client that only listens sees each change of status and of step.
        following = subprocess.Popen(
            ["playerctl", "--follow", "metadata", "--format", "{{status}} {{xesam:trackNumber}}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        # When the Pause call crossed the bus, as the bus's own monitor saw it.
        monitor = subprocess.Popen(
            ["dbus-monitor", "--session", f"interface='{PLAYER}',member='Pause'"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        session.wait_for("Step 2 of 4")
        time.sleep(0.6)  # inside its long instruction
        assert bus.playerctl("status").stdout == "Playing\n"
        shown = bus.playerctl("metadata", "--format", "{{album}}|{{title}}|{{mpris:length}}")
        assert shown.stdout == f"Keys|{timeline['steps'][1]['title']}|{length}\n"
        paused = time.monotonic()
        assert bus.playerctl("pause").returncode == 0
        session.wait_for("paused")
        assert bus.playerctl("status").stdout == "Paused\n"
        time.sleep(1.0)
        resumed = time.monotonic()
        assert bus.playerctl("play").returncode == 0
        time.sleep(6.0)  # the resume words (made now), then the instruction from its start
        skipped = time.monotonic()
        assert bus.playerctl("next").returncode == 0
        session.wait_for("Step 3 of 4")
        assert bus.playerctl("metadata", "title").stdout == "Sides\n"
        time.sleep(1.6)  # its first cue, whole
        back = time.monotonic()
        assert bus.playerctl("previous").returncode == 0  # in its first 2 s: the step before
        session.wait_for("Step 2 of 4")
        time.sleep(2.0)  # the first second of its instruction, again
        position = float(bus.playerctl("position").stdout)
        assert bus.playerctl("stop").returncode == 0
        code, stderr = session.finish()
    finally:
        if session.process.poll() is None:
            session.process.kill()
        if following is not None:
            following.terminate()
            monitor.terminate()
    recording = recorder.stop()
    seen = re.search(r"method call time=([0-9.]+) .*member=Pause", monitor.communicate()[0])
    called = float(seen.group(1)) - (time.time() - time.monotonic())  # on the monotonic clock
    assert paused <= called <= paused + 2.0
    followed = [line for line in following.communicate()[0].splitlines() if line]
    changes = [b for a, b in zip(["", *followed], followed, strict=False) if a != b]
    changes = changes[1:] if changes[0] == "Playing 1" else changes  # it may start late
    assert changes[:5] == ["Playing 2", "Paused 2", "Playing 2", "Playing 3", "Playing 2"]
    assert (code, stderr) == (0, "")
    assert session.lines[-1] == "stopped at step 2 of 4 (" + session.lines[-1][24:]

    # Pause: the instruction was sounding, and all is silent within 150 ms of the call.
    start = sample_at(recorder, called)
    assert recording[start - RATE // 4 : start - RATE // 8].any()
    loud = np.flatnonzero(recording[start : start + RATE])
    assert len(loud) == 0 or loud[-1] / RATE <= 0.15, loud[-1] / RATE
    # Play: the resume words, then the cut-off instruction from its start.
    said_at = heard_after(recorder, recording, words, resumed, within=3.0)
    instruction = heard_after(recorder, recording, clip(step_cues[2][0]), resumed, within=6.0)
    assert said_at + 1.0 < instruction < said_at + 3.5
    # Next: step 3's first cue; previous (early in step 3): step 2's first cue again.
    assert heard_after(recorder, recording, clip(step_cues[3][0], 0.5), skipped, within=1.5)
    assert heard_after(recorder, recording, clip(step_cues[2][0]), back, within=1.5)
    assert 1.0 <= position - step2.start / RATE <= 2.5

    journal = json.loads(voiceguide("journal", "--json", env=env).stdout)
    assert [(e["routine"], e["outcome"], e["step"]) for e in journal] == [
        (str(keys / "keys.yaml"), "stopped", 2)
    ]


def test_two_sessions_each_own_a_name_and_odd_calls_change_nothing(card, bus, keys, tmp_path):
    env = {**card.env, **bus.env, "XDG_DATA_HOME": str(tmp_path / "data")}
    first = Session(keys / "keys.yaml", env, "--start-at", "3")
    second = Session(keys / "keys.yaml", env, "--start-at", "3")
    try:
        first.wait_for("Step 3 of 4")
        second.wait_for("Step 3 of 4")
        names = sessionbus.wait_for_players(bus, 2)
        assert names == ["voiceguide", f"voiceguide.instance{names[1].rsplit('instance')[-1]}"]
        assert int(names[1].rsplit("instance")[-1]) in (first.process.pid, second.process.pid)
        for call, error in [
            ("org.mpris.MediaPlayer2.Player.Frobnicate", "UnknownMethod"),
            ("org.mpris.MediaPlayer2.Player.Pause string:now", "InvalidArgs"),
            ("org.freedesktop.DBus.Properties.Get string:nope", "InvalidArgs"),
            ("org.freedesktop.DBus.Properties.Set string:org.mpris.MediaPlayer2.Player "
             "string:Rate variant:double:2", "PropertyReadOnly"),
        ]:  # fmt: skip
            sent = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.mpris.MediaPlayer2."
                 + names[0], "/org/mpris/MediaPlayer2", *call.split()],
                env={**env}, capture_output=True, text=True, timeout=10,
            )  # fmt: skip
            assert sent.returncode == 1 and f"org.freedesktop.DBus.Error.{error}" in sent.stderr
        assert bus.playerctl("-p", names[0], "status").stdout == "Playing\n"
        # The bus goes away: both sessions play on to the end, saying one line at most.
        bus.stop()
        results = [first.finish(), second.finish()]
    finally:
        for s in (first, second):
            if s.process.poll() is None:
                s.process.kill()
    for code, stderr in results:
        assert code == 0 and stderr.count("\n") <= 1
    for s in (first, second):
        assert s.lines[-1].endswith(" done\n")
    journal = json.loads(voiceguide("journal", "--json", env=env).stdout)
    assert [e["outcome"] for e in journal] == ["completed", "completed"]


def test_sigkill_mid_session_leaves_it_in_the_journal(card, keys, tmp_path):
    env = {**card.env, "XDG_DATA_HOME": str(tmp_path / "data")}
    session = Session(keys / "keys.yaml", env)
    session.wait_for("Step 2 of 4")
    time.sleep(0.6)  # the step's progress note is written by a thread: let it land
    session.process.send_signal(signal.SIGKILL)
    session.process.wait(timeout=10)
    listed = voiceguide("journal", env=env)
    assert listed.returncode == 0
    row = listed.stdout.splitlines()[1].split()
    assert row[2:7] == [str(keys / "keys.yaml"), "unfinished", "step", "2", "of"]
