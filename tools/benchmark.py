"""Performance figures, as ratios measured in one run: python tools/benchmark.py [--only GROUP]

Uses the voiceguide on this Python's path and espeak-ng. Everything it writes goes to a
temporary folder (its own phrase cache included), removed at the end.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the virtual sound card the tests use

from voiceguide.compiler import expand, phrases  # noqa: E402
from voiceguide.loader import load_routine  # noqa: E402
from voiceguide.session import speaking_for  # noqa: E402
from voiceguide.speech import SpeechSettings  # noqa: E402

VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
PARTS = ["upper back", "lower back", "left shoulder", "right shoulder", "neck", "mid back"]
MOVES = ["press firmly", "circle slowly", "lean gently", "breathe into", "roll across"]


def sixty_minute_routine(folder: Path, rounds: int = 1) -> Path:
    """30 steps, each with two distinct instructions (60 in all), a 100 s hold and a pause."""
    lines = ["title: Benchmark", "steps:"]
    indent = "  "
    if rounds > 1:
        lines += [f"  - repeat: {rounds}", "    steps:"]
        indent = "      "
    for i in range(30):
        part, move = PARTS[i % len(PARTS)], MOVES[i % len(MOVES)]
        lines += [
            f"{indent}- say: Step {i + 1}. Find the {part}, and {move} on the tender spot there.",
            f"{indent}  hold: 100s",
            f"{indent}  countdown: 3",
            f"{indent}  halfway: true",
            f"{indent}- say: Release the {part} slowly, number {i + 1}, and let your breath go.",
            f"{indent}  pause: 6s",
        ]
    path = folder / f"bench-{rounds}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(command: list[str], env: dict | None = None, expect_ok: bool = True, **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=expect_ok, env=env, **kwargs)
    return time.perf_counter() - start


def dd_seconds(path: Path, size: int) -> float:
    megabytes = -(-size // (1 << 20))
    seconds = timed(
        ["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={megabytes}"],
        stderr=subprocess.DEVNULL,
    )
    path.unlink()
    return seconds


SERIAL = """
import sys, time
from voiceguide.engines import get_engine
from voiceguide.finishing import finish
from voiceguide.speech import SpeechSettings
texts = sys.argv[5:]
start = time.perf_counter()
engine = get_engine(sys.argv[1])
speaking = SpeechSettings(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
engine.synthesize("warm up", speaking)  # initialisation is not synthesis
loaded = time.perf_counter()
for text in texts:
    finish(engine.synthesize(text, speaking), speaking.volume)
sys.stderr.write(f"{loaded - start} {time.perf_counter() - loaded}")
"""


def engine_serial_seconds(texts: list[str], speaking, engine: str = "espeak") -> float:
    """Seconds one process takes to synthesize (and finish) the texts, one after another."""
    return engine_serial(texts, speaking, engine)[1]


def engine_serial(texts: list[str], speaking, engine: str) -> tuple[float, float]:
    """(seconds to load the engine, seconds to synthesize the texts) in one process."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SERIAL,
            engine,
            speaking.voice,
            str(speaking.rate),
            str(speaking.volume),
            *texts,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    load, synthesis = map(float, result.stderr.split())
    return load, synthesis


def espeak_loop_seconds(texts: list[str], speaking, folder: Path) -> float:
    script = folder / "loop.sh"
    amplitude = round(speaking.volume * 100)
    body = "\n".join(
        f"espeak-ng -v {speaking.voice} -s {speaking.rate} -a {amplitude} -w {folder}/p{i}.wav "
        + _quote(text)
        for i, text in enumerate(texts)
    )
    script.write_text(body + "\n")
    return timed(["sh", str(script)])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def peak_memory_mb(command: list[str], env: dict) -> float:
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


def tree_peak_mb(command: list[str], env: dict) -> float:
    """The peak of the summed resident memory of a command and its children (the workers run
    at the same time: the largest one alone would understate it), sampled every 20 ms."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.02)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return peak / 1024


def _tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending += children.get(pid, [])
    return total


def piper_figures(folder: Path, env: dict) -> list[str]:
    """A cold Piper export of back-full against one process synthesizing its phrases one after
    another; that export's peak memory; and, on the virtual sound card, the seconds from
    `play --engine piper` on a cold cache to the first sound."""
    try:
        import piper  # noqa: F401
    except ImportError:
        return ["piper: not measured, the piper extra is not installed"]
    routine = load_routine("back-full")
    speaking = SpeechSettings("en_US-joe-medium", 135, 0.9)
    texts = phrases(expand(routine))
    load, serial = engine_serial(texts, speaking, "piper")
    out = folder / "piper-full.wav"
    command = [*VOICEGUIDE, "export", "back-full", "--engine", "piper", "-o", str(out), "--force"]
    cold_env = {**env, "VOICEGUIDE_CACHE": str(folder / "piper-cold")}
    cold = timed(command, cold_env, stdout=subprocess.DEVNULL)
    peak = tree_peak_mb(command, {**env, "VOICEGUIDE_CACHE": str(folder / "piper-cold-2")})
    lines = [
        f"piper, back-full: {len(texts)} distinct phrases",
        f"  cold export                {cold:7.3f} s",
        f"  one process, serially      {load + serial:7.3f} s  (load {load:.2f} s included)",
        f"  ratio                      {cold / (load + serial):7.2f}x   (goal: at most 0.65x)",
        f"  peak memory of the export  {peak:7.1f} MB (all its processes together)",
    ]
    return lines + piper_first_sound(folder, env)


def piper_first_sound(folder: Path, env: dict) -> list[str]:
    import numpy as np
    import soundcard

    missing = soundcard.available()
    if missing:
        return [f"  play: not measured, {missing}"]
    card = soundcard.start(folder / "piper-card")
    waits = []
    try:
        for name in ("back-foam-roller", "back-hands"):
            recorder = soundcard.Recorder(card)
            cold = {**card.env, **env, "VOICEGUIDE_CACHE": str(folder / f"piper-play-{name}")}
            launched = time.monotonic()
            player = subprocess.Popen(
                [*VOICEGUIDE, "play", name, "--engine", "piper"],
                env=cold,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            heard = None
            while heard is None and time.monotonic() - launched < 120:
                time.sleep(0.1)
                loud = np.flatnonzero(
                    np.frombuffer(bytes(recorder.data[: len(recorder.data) // 2 * 2]), dtype="<i2")
                )
                heard = int(loud[0]) if len(loud) else None
            player.send_signal(2)  # Ctrl-C: it stops at once
            player.wait(timeout=10)
            recorder.stop()
            waits.append((name, None if heard is None else recorder.time_of(heard) - launched))
    finally:
        card.stop()
    return [
        f"  play --engine piper, cold cache, {name}: first sound after {wait:.2f} s"
        + "   (goal: at most 2 s)"
        if wait is not None
        else f"  play --engine piper, {name}: no sound within 120 s"
        for name, wait in waits
    ]


def median_of(runs: int, measure) -> float:
    """The median of a few runs, each started with nothing waiting to be written to disk."""
    times = []
    for i in range(runs):
        os.sync()
        times.append(measure(i))
    return statistics.median(times)


PLAYED = """\
title: Timing
steps:
  - say: Find the spot, and settle.
  - repeat: 3
    steps:
      - say: Press firmly.
        hold: 8s
        countdown: 3
        halfway: true
  - sides: [left, right]
    steps:
      - say: Now the {side} side.
        hold: 4s
        countdown: 2
"""


def play_figures(folder: Path, env: dict, runs: int = 2) -> list[str]:
    """Onset errors and first-sound latency of 'voiceguide play', with and without two
    CPU-bound processes beside it, and how long sound goes on after a pause, for each sound
    output, all on a real-time virtual sound card."""
    import soundcard

    missing = soundcard.available()
    if missing:
        return [f"play: not measured, {missing}"]
    routine = folder / "timing.yaml"
    routine.write_text(PLAYED)
    wav = folder / "timing.wav"
    subprocess.run(
        [*VOICEGUIDE, "export", str(routine), "-o", str(wav)],
        env=env,
        check=True,
        capture_output=True,
    )
    timeline = json.loads(wav.with_suffix(".json").read_text())
    import wave

    import numpy as np

    with wave.open(str(wav)) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    lines = []
    card = soundcard.start(folder / "card")
    try:
        for output in ("stream", "simpleaudio"):
            for busy in (0, 2):
                errors, latencies, missed, on_device = [], [], 0, []
                with busy_processes(busy):
                    for _ in range(runs):
                        recorder = soundcard.Recorder(card)
                        launched = time.monotonic()
                        command = [*VOICEGUIDE, "play", str(routine), "--output", output]
                        subprocess.run(
                            command, env={**card.env, **env}, check=True, capture_output=True
                        )
                        recording = recorder.stop()
                        heard = heard_onsets(recorder, recording, audio, timeline)
                        start0, time0 = next(h for h in heard if h[1] is not None)
                        errors += [
                            abs((t - time0) - (s - start0) / 22050) * 1000
                            for s, t in heard
                            if t is not None
                        ]
                        latencies.append(time0 - launched)
                        missed += sum(1 for _, t in heard if t is None)
                        on_device += device_errors(recording, audio, timeline)
                lines += [
                    f"play --output {output}, {busy} busy processes beside it: {len(errors)} "
                    f"onsets over {runs} runs, error from schedule, relative to the first cue:",
                    f"  median {np.median(errors):6.2f} ms, worst {max(errors):6.2f} ms"
                    "   (goal: 5 ms, 20 ms)"
                    + (f"; {missed} cues not heard exactly" if missed else ""),
                    f"  on the card's own clock (samples apart in the recording): median "
                    f"{np.median(on_device):.2f} ms, worst {max(on_device):.2f} ms",
                    f"  first sound after launch: median "
                    f"{statistics.median(latencies) * 1000:.0f} ms, "
                    f"worst {max(latencies) * 1000:.0f} ms   (goal: 500 ms)",
                ]
            tails = pause_tails(card, env, output)
            lines.append(
                f"  --output {output}: sound after a pause: median "
                f"{statistics.median(tails) * 1000:.0f} ms, worst {max(tails) * 1000:.0f} ms"
                "   (goal: 150 ms)"
            )
    finally:
        card.stop()
    return lines


def heard_onsets(recorder, recording, audio, timeline) -> list[tuple[int, float | None]]:
    """Each cue's first sample in the export, and when the recording heard it (None: not
    found exactly)."""
    import numpy as np
    import soundcard

    first = int(np.flatnonzero(recording)[0])
    heard = []
    for cue in timeline["cues"]:
        start, end = round(cue["start"] * 22050), round(cue["end"] * 22050)
        near = first + start - round(timeline["cues"][0]["start"] * 22050)
        found = soundcard.onset(recording, audio[start:end], near, 4410)
        heard.append((start, None if found is None else recorder.time_of(found)))
    return heard


def device_errors(recording, audio, timeline) -> list[float]:
    """Each cue's error in milliseconds, counted in the recording's samples from the first cue
    heard: the timing as the sound card's clock keeps it (the card's clock drifts against the
    system's, by 150 to 250 ppm for the virtual card here)."""
    import numpy as np
    import soundcard

    first = int(np.flatnonzero(recording)[0])
    errors, reference = [], None
    for cue in timeline["cues"]:
        start, end = round(cue["start"] * 22050), round(cue["end"] * 22050)
        near = first + start - round(timeline["cues"][0]["start"] * 22050)
        found = soundcard.onset(recording, audio[start:end], near, 4410)
        if found is None:
            continue
        reference = reference or (found, start)
        errors.append(abs((found - reference[0]) - (start - reference[1])) / 22.05)
    return errors


@contextlib.contextmanager
def busy_processes(count: int):
    """`count` processes spinning on the CPU while inside."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


PAUSING = """
import sys, threading, time
from voiceguide.audio_out import open_sink
from voiceguide.console import Controls
from voiceguide.loader import load_routine
from voiceguide.player import PAUSE, QUIT, Player
from voiceguide.session import build_session
session = build_session(load_routine("back-hands"))
sink = open_sink("back-hands", 22050, sys.argv[2])
clock = getattr(sink, "clock", time.monotonic)
controls = Controls(clock)
player = Player(session.timeline, session.cue_pcm, sink, clock, controls.wait_until)
first = session.timeline.cues[0]  # a long first sentence
at = time.monotonic() + 0.15 + float(sys.argv[1])  # well inside it
threading.Timer(at - time.monotonic(), controls.put, [PAUSE]).start()
threading.Timer(at - time.monotonic() + 1.0, controls.put, [QUIT]).start()
player.run()
sink.close()
print(at)
"""


def pause_tails(card, env: dict, output: str) -> list[float]:
    import numpy as np
    import soundcard

    tails = []
    for offset in (1.0, 1.37, 1.73, 2.11, 2.49):
        recorder = soundcard.Recorder(card)
        done = subprocess.run(
            [sys.executable, "-c", PAUSING, str(offset), output],
            env={**card.env, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        recording = recorder.stop()
        paused = float(done.stdout.split()[-1])
        start = round((paused - recorder.time_of(0)) * 22050)
        loud = np.flatnonzero(recording[start : start + 22050])
        tails.append(loud[-1] / 22050 if len(loud) else 0.0)
    return tails


def interleaved(runs: int, ours, theirs) -> tuple[float, float, float]:
    """(median seconds of ours, of theirs, median ratio): each run times both, one after the
    other, so that a load that comes and goes weighs on both alike."""
    pairs = []
    for _ in range(runs):
        os.sync()
        mine = ours()
        os.sync()
        pairs.append((mine, theirs()))
    return (
        statistics.median(p[0] for p in pairs),
        statistics.median(p[1] for p in pairs),
        statistics.median(p[0] / p[1] for p in pairs),
    )


def format_figures(
    folder: Path, routine: Path, two_hours: Path, env: dict, opus: bool = True
) -> list[str]:
    """MP3 and Opus exports against ffmpeg encoding the same session's WAV, and the peak memory
    of 2-hour exports. The cache is warm; each export writes its sidecars too. Without
    `opus`, only the MP3 figures."""
    if shutil.which("ffmpeg") is None:
        return ["formats: not measured, ffmpeg is not installed"]
    wav = folder / "same.wav"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        [*VOICEGUIDE, "export", str(routine), "-o", str(wav), "--force"], env=env, **quiet
    )

    def ours(extension: str) -> float:
        out = folder / f"ours.{extension}"
        return timed([*VOICEGUIDE, "export", str(routine), "-o", str(out), "--force"], env, **quiet)

    def ffmpeg(*encoder: str, extension: str) -> float:
        out = str(folder / f"theirs.{extension}")
        return timed(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *encoder, out], **quiet)

    runs = 5
    mp3, ffmpeg_mp3, mp3_ratio = interleaved(
        runs, lambda: ours("mp3"), lambda: ffmpeg("-q:a", "6", extension="mp3")
    )
    peak = peak_memory_mb(
        [*VOICEGUIDE, "export", str(two_hours), "-o", str(folder / "two.mp3"), "--force"], env
    )
    minutes = wav.stat().st_size / 2 / 22050 / 60
    size = (folder / "ours.mp3").stat().st_size / 1e6
    lines = [
        f"MP3 export                  {mp3:7.3f} s  ({size * 10 / minutes:.2f} MB per "
        f"10 minutes); ffmpeg -q:a 6 on the WAV {ffmpeg_mp3:.3f} s",
        f"  ratio to ffmpeg           {mp3_ratio:7.2f}x   (goal: at most 1.0x; the median of "
        f"{runs} ratios, each of one run of both, one after the other)",
        f"2-hour MP3 export peak memory {peak:5.1f} MB  (goal: 100 MB)",
    ]
    if not opus:
        return lines
    opus_seconds, ffmpeg_opus, opus_ratio = interleaved(
        runs, lambda: ours("opus"), lambda: ffmpeg("-c:a", "libopus", extension="opus")
    )
    opus_peak = peak_memory_mb(
        [*VOICEGUIDE, "export", str(two_hours), "-o", str(folder / "two.opus"), "--force"], env
    )
    size = (folder / "ours.opus").stat().st_size / 1e6
    return [
        *lines,
        f"Opus export                 {opus_seconds:7.3f} s  ({size * 10 / minutes:.2f} MB per "
        f"10 minutes); ffmpeg -c:a libopus on the WAV {ffmpeg_opus:.3f} s",
        f"  ratio to ffmpeg           {opus_ratio:7.2f}x",
        f"2-hour Opus export peak memory {opus_peak:5.1f} MB  (goal: 100 MB)",
    ]


SUSPENDING = """\
title: Long hold
steps:
  - say: Press, and stay there.
    hold: 60s
  - say: Release now.
"""


def suspend_figures(folder: Path, env: dict) -> list[str]:
    """The issue's one-minute hold (the suite plays a 12 s one): the sink's state, polled
    through a session with a 60 s hold, on a virtual card whose sink suspends after 1 s idle."""
    import soundcard

    missing = soundcard.available()
    if missing:
        return [f"suspend: not measured, {missing}"]
    routine = folder / "suspending.yaml"
    routine.write_text(SUSPENDING)
    card = soundcard.start_idle(folder / "idle-card")
    try:
        soundcard.wait_until_suspended(card)
        command = [*VOICEGUIDE, "play", str(routine), "--output", "stream"]
        play = subprocess.Popen(command, env={**card.env, **env}, stdout=subprocess.PIPE)
        play.stdout.readline()  # the first step shown: the session has started
        began, states = time.monotonic(), []
        while play.poll() is None:
            states.append(soundcard.sink_state(card))
            time.sleep(0.2)
        seconds = time.monotonic() - began
    finally:
        card.stop()
    states = states[:-3]  # the last half second: the session closes its stream
    suspended = sum(1 for s in states if s != "RUNNING")
    return [
        f"suspend-on-idle at 1 s, a session with a 60 s hold ({seconds:.0f} s, --output stream): "
        f"{len(states)} polls of the sink, {suspended} not RUNNING   (goal: 0)"
    ]


GROUPS = ("export", "formats", "mp3", "play", "piper", "cli", "suspend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="measure only this group of figures (may be given more than once): export "
        "(cold, warm, peak memory), formats (MP3, Opus), mp3 (MP3 only), play, piper, cli "
        "(--help, check), suspend (a 60 s hold on a sink that suspends when idle)",
    )
    parser.add_argument("--play", action="store_true", help="the same as --only play")
    options = parser.parse_args()
    groups = set(options.only or ()) | ({"play"} if options.play else set()) or set(GROUPS)
    compileall.compile_dir(ROOT / "voiceguide", quiet=1)  # as an installed package would be
    runs = 3
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as name:
        folder = Path(name)
        # The sessions played here go in a journal of their own: not the user's, whose
        # per_day limits would refuse the second benchmark of a day.
        os.environ["XDG_DATA_HOME"] = str(folder / "data")
        routine_path = sixty_minute_routine(folder)
        warm_cache = str(folder / "cold-0")
        env = {**os.environ, "VOICEGUIDE_CACHE": warm_cache}
        lines = []
        if "export" in groups:
            lines += export_figures(folder, routine_path, runs)
        elif groups & {"formats", "mp3", "play"}:  # they need a warm cache
            subprocess.run(
                [*VOICEGUIDE, "show", str(routine_path)], env=env, check=True, capture_output=True
            )
        if groups & {"formats", "mp3"}:
            two_hours = sixty_minute_routine(folder, 2)
            opus = "formats" in groups
            lines += format_figures(folder, routine_path, two_hours, env, opus)
        if "cli" in groups:
            lines += cli_figures(env)
        if "play" in groups:
            lines += play_figures(folder, env)
        if "piper" in groups:
            lines += piper_figures(folder, env)
        if "suspend" in groups:
            lines += suspend_figures(folder, env)
    print("\n".join(lines))


def export_figures(folder: Path, routine_path: Path, runs: int) -> list[str]:
    """Cold and warm WAV exports of the 60-minute routine against their floors, and the peak
    memory of a 2-hour export. Leaves the warm cache in folder/cold-0."""
    routine = load_routine(routine_path)
    speaking = speaking_for(routine)
    texts = phrases(expand(routine))

    def export(i: int, cache: str) -> float:
        out = folder / f"out-{i}.wav"
        command = [*VOICEGUIDE, "export", str(routine_path), "-o", str(out)]
        seconds = timed(
            command, {**os.environ, "VOICEGUIDE_CACHE": cache}, stdout=subprocess.DEVNULL
        )
        for sidecar in out.parent.glob(f"out-{i}.*"):
            sidecar.unlink()
        return seconds

    cold = median_of(runs, lambda i: export(i, str(folder / f"cold-{i}")))
    warm_cache = str(folder / "cold-0")
    warm = median_of(runs, lambda i: export(i, warm_cache))
    export(0, warm_cache)
    size = 44 + 2 * round(load_json_duration(folder, routine_path, warm_cache) * 22050)
    dd = median_of(runs, lambda i: dd_seconds(folder / f"dd-{i}.bin", size))
    serial = median_of(runs, lambda i: engine_serial_seconds(texts, speaking))
    loop = median_of(runs, lambda i: espeak_loop_seconds(texts, speaking, folder))

    env = {**os.environ, "VOICEGUIDE_CACHE": warm_cache}
    two_hours = sixty_minute_routine(folder, rounds=2)
    big = [*VOICEGUIDE, "export", str(two_hours), "-o", str(folder / "two.wav"), "--force"]
    peak = peak_memory_mb(big, env)
    wav_mb = (folder / "two.wav").stat().st_size / 1e6
    return [
        f"60-minute routine: {len(texts)} distinct phrases, {size / 1e6:.1f} MB of WAV;",
        f"each figure the median of {runs} runs, each run after a sync",
        f"cold export                 {cold:7.3f} s",
        f"  floor: engine serial {serial:.3f} s + dd {dd:.3f} s",
        f"  ratio to the floor        {cold / (serial + dd):7.2f}x   (goal: at most 1.2x)",
        f"  espeak-ng loop {loop:.3f} s + dd {dd:.3f} s",
        f"  ratio to the espeak loop  {cold / (loop + dd):7.2f}x   (goal: below 1x)",
        f"warm export                 {warm:7.3f} s",
        f"  ratio to dd               {warm / dd:7.2f}x   (goal: at most 2x)",
        f"2-hour export peak memory   {peak:7.1f} MB  ({wav_mb:.0f} MB WAV; goal: 100 MB)",
    ]


def cli_figures(env: dict) -> list[str]:
    command = shutil.which("voiceguide") or "voiceguide"
    helps = [timed([command, "--help"], stdout=subprocess.DEVNULL) for _ in range(10)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    bad = [
        timed([*VOICEGUIDE, "check", p.name], env, expect_ok=False, cwd=p.parent, **quiet)
        for p in sorted((ROOT / "tests" / "routines").glob("bad-*.yaml"))
    ]
    help_ms = statistics.median(helps) * 1000
    return [
        f"voiceguide --help           {help_ms:7.1f} ms (median of 10; goal: 150 ms)",
        f"bad routines refused        {max(bad) * 1000:7.1f} ms at worst, of {len(bad)} "
        "(goal: 1 s)",
    ]


def load_json_duration(folder: Path, routine_path: Path, cache: str) -> float:
    env = {**os.environ, "VOICEGUIDE_CACHE": cache}
    shown = subprocess.run(
        [*VOICEGUIDE, "show", str(routine_path), "--json"], env=env, capture_output=True, check=True
    )
    return json.loads(shown.stdout)["duration"]


if __name__ == "__main__":
    main()
