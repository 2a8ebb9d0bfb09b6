"""The sound device is never suspended mid-session: a virtual card with PulseAudio's
module-suspend-on-idle at a one-second timeout, nothing else keeping it awake, and a session
with a one-minute hold of silence."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import soundcard

HOLD = """\
title: Long hold
steps:
  - say: Press, and stay there.
    hold: {hold}
  - say: Release now.
"""


@pytest.fixture
def idle_card(tmp_path):
    missing = soundcard.available()
    if missing:
        pytest.skip(missing)
    card = soundcard.start(tmp_path / "card")
    # Nothing may keep the sink running but the player: no zeros, no reader on the monitor.
    for process in card.keep_alive:
        process.terminate()
        process.wait()
    card.keep_alive = []
    loaded = subprocess.run(
        ["pactl", "load-module", "module-suspend-on-idle", "timeout=1"],
        env=card.env,
        capture_output=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    yield card
    card.stop()


def sink_state(card) -> str:
    listed = subprocess.run(
        ["pactl", "list", "short", "sinks"], env=card.env, capture_output=True, text=True
    ).stdout
    return next(line.split("\t")[-1] for line in listed.splitlines() if "\tvsink\t" in line)


def states_while_playing(card, tmp_path, hold: str, output: str) -> list[str]:
    """The sink's state, polled every 0.2 s from the first step to the end of the session."""
    routine = tmp_path / "hold.yaml"
    routine.write_text(HOLD.format(hold=hold))
    deadline = time.monotonic() + 5
    while sink_state(card) != "SUSPENDED":  # the module works: idle, the sink suspends
        assert time.monotonic() < deadline, "the idle sink never suspended"
        time.sleep(0.1)
    play = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(routine), "--output", output],
        env={**card.env, "XDG_DATA_HOME": str(tmp_path / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Step 1 of 2" in play.stdout.readline()
        states = []
        while play.poll() is None:
            states.append(sink_state(card))
            time.sleep(0.2)
        assert play.returncode == 0, play.stderr.read()
    finally:
        if play.poll() is None:
            play.kill()
    return states[:-3]  # the last half second: the session is closing its stream


def test_one_stream_keeps_the_sink_awake_through_a_minute_of_silence(idle_card, tmp_path):
    states = states_while_playing(idle_card, tmp_path, "60s", "stream")
    assert len(states) >= 250  # a minute and more, polled
    assert set(states) == {"RUNNING"}


def test_a_stream_a_cue_lets_the_sink_suspend_in_a_hold(idle_card, tmp_path):
    # What the test above guards against: with simpleaudio the sink suspends within seconds.
    states = states_while_playing(idle_card, tmp_path, "5s", "simpleaudio")
    assert "SUSPENDED" in states
