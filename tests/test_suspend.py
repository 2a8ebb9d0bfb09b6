"""The sound device is never suspended mid-session: a virtual card with PulseAudio's
module-suspend-on-idle at a one-second timeout, nothing else keeping it awake, and a session
with a long hold of silence; the cues after the hold are then heard whole.

The hold here is 12 s: the sink would suspend after 1 s of idleness (a stream a cue lets it
suspend within a 5 s hold, the second test), and the one stream plays the same digital silence,
block after block, whatever the hold's length. The issue's one-minute hold is measured by
`tools/benchmark.py --only suspend`, which plays a 60 s hold the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave

import numpy as np
import pytest
import soundcard
from conftest import voiceguide

HOLD = """\
title: Long hold
chimes: {{session-end: wood}}  # short: the session's end is not what this tests
steps:
  - say: Press, and stay there.
    hold: {hold}
  - say: Release now.
"""
RATE = 22050
RECORD_BEFORE = 4.0  # seconds before the hold ends that the recorder starts: a wide margin


@pytest.fixture
def idle_card(tmp_path):
    missing = soundcard.available()
    if missing:
        pytest.skip(missing)
    card = soundcard.start_idle(tmp_path / "card")
    yield card
    card.stop()


def start_playing(card, tmp_path, hold: str, output: str) -> subprocess.Popen:
    """A session with a hold of `hold`, started once the idle sink has suspended; returns
    when its first step is shown."""
    routine = tmp_path / "hold.yaml"
    routine.write_text(HOLD.format(hold=hold))
    soundcard.wait_until_suspended(card)
    play = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(routine), "--output", output],
        env={**card.env, "XDG_DATA_HOME": str(tmp_path / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = play.stdout.readline()
    if "Step 1 of 2" not in line:
        play.kill()
        raise AssertionError(f"the session did not start: {line!r} {play.stderr.read()!r}")
    return play


def states_until(card, play: subprocess.Popen, until: float) -> list[tuple[float, str]]:
    """The sink's state and when it was seen, polled every 0.2 s or so (each poll is a pactl
    process: slower on a busy machine) until clock time `until` or the session's end."""
    states = []
    while play.poll() is None and time.monotonic() < until:
        states.append((time.monotonic(), soundcard.sink_state(card)))
        time.sleep(0.2)
    return states


def finished(play: subprocess.Popen) -> None:
    try:
        _, stderr = play.communicate(timeout=60)
    finally:
        if play.poll() is None:
            play.kill()
    assert (play.returncode, stderr) == (0, "")


def heard_whole(recording: np.ndarray, clip: np.ndarray) -> int | None:
    """Where `clip` is in the recording, every sample of it from its first; None if it is not.
    (The one stream starts no new stream for a cue, so no first milliseconds are missing.)"""
    first = int(np.flatnonzero(clip)[0])  # its silent start, if any, is checked after
    found = soundcard.onset(recording, clip, len(recording) // 2, len(recording), skip=first)
    if found is None or found < 0 or recording[found : found + first].any():
        return None
    return found


def test_one_stream_keeps_the_sink_awake_through_a_hold_and_the_cues_after_it_are_whole(
    idle_card, tmp_path
):
    (tmp_path / "export.yaml").write_text(HOLD.format(hold="12s"))
    exported = voiceguide("export", tmp_path / "export.yaml", "-o", tmp_path / "hold.wav")
    assert exported.returncode == 0, exported.stderr
    with wave.open(str(tmp_path / "hold.wav")) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    cues = json.loads((tmp_path / "hold.json").read_text())["cues"]
    chime = next(c for c in cues if c.get("sound") == "hold-end")  # the first after the hold
    words = next(c for c in cues if c.get("text") == "Release now.")

    play = start_playing(idle_card, tmp_path, "12s", "stream")
    # Shown at the latest when the session starts: the hold ends no sooner than this.
    record_at = time.monotonic() + chime["start"] - RECORD_BEFORE
    states = states_until(idle_card, play, record_at)
    # A reader on the monitor keeps the sink awake: the recorder starts only now, near the
    # hold's end, after more than six seconds of the hold's silence polled without it.
    assert play.poll() is None, "the session ended before the hold did"
    recorder = soundcard.Recorder(idle_card)
    finished(play)
    recording = recorder.stop()
    # Six seconds and more of the hold polled (six suspend timeouts), however slow each poll.
    assert len(states) >= 5 and states[-1][0] - states[0][0] >= 6
    assert {state for _, state in states} == {"RUNNING"}

    onsets = []
    for cue in (chime, words):
        start, end = round(cue["start"] * RATE), round(cue["end"] * RATE)
        found = heard_whole(recording, audio[start:end])
        assert found is not None, f"{cue.get('text') or cue['sound']} was not heard whole"
        onsets.append(found - start)
    assert abs(onsets[1] - onsets[0]) <= 22  # and on time, to a millisecond of the card's clock


def test_a_stream_a_cue_lets_the_sink_suspend_in_a_hold(idle_card, tmp_path):
    # What the test above guards against: with simpleaudio the sink suspends within seconds.
    play = start_playing(idle_card, tmp_path, "5s", "simpleaudio")
    states = states_until(idle_card, play, time.monotonic() + 60)
    finished(play)
    end = states[-1][0]  # not in the last half second: the session's end
    assert "SUSPENDED" in [state for seen, state in states if seen < end - 0.5]
