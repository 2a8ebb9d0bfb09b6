"""Speech workers: fresh interpreters that each own one engine and synthesize into the cache.

The engine synthesizes only here. A worker is a fresh, isolated interpreter (`python -I`),
spawned, never forked (forking after a speech library initialises can hang), given the caller's
own import path with the caller's voiceguide first: code in the current folder is never
imported (`python -m` would put that folder first). It ignores Ctrl-C (the caller handles it)
and sends its stdout nowhere. It leads a process group of its own: ending it ends whatever it
started. Its scratch files go in a folder the caller makes and removes,
however the worker ends. Separate processes synthesize safely in parallel; threads would not.

A worker may be started before anyone knows whether a phrase is missing (`early_worker`:
`export` and `play` start one as they begin); it waits for its first line, and one not needed
is ended. Told its engine and voice ahead (`ready_early`: play, before it opens the sound
card), it loads the voice while it waits for its phrases.
Workers that have made everything are waited for by a thread, while the caller goes on.

The worker's side is `voiceguide.worker` (which imports none of this module's machinery).
The protocol is JSON lines: the first line on the worker's stdin carries the engine (pickled,
base64), and the voice to load at once if it is told ahead; each further line is a batch of
phrases, answered by a line for each phrase as it is made, then one saying the batch is done
(or the error that ended it). The answers go to a duplicate of the original stdout, because
stdout itself is sent to nowhere: an engine's library may print there from its own threads.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from voiceguide.errors import OutputError, SpeechError
from voiceguide.files import process_alive
from voiceguide.speech import SpeechEngine, SpeechSettings
from voiceguide.worker import synthesized

__all__ = ["early_worker", "ready_early", "synthesize_in_workers", "synthesized", "worker_count"]

PHRASES_PER_TASK = 4
ANSWER_SECONDS = 24  # a worker silent this long is hung: with the 5 s to stop it, within 30 s
SCRATCH_PREFIX = "voiceguide-workers-"
# The worker's first lines, run by an isolated interpreter: the caller's path, then the worker.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]);"
    " import voiceguide.worker as w; w.main()"
)
MAX_WORKERS = 8
WAKE_SECONDS = 0.1  # how often a caller that may be told to stop looks whether it is
Arrived = Callable[[list[dict]], None]  # entries described as the workers make them


class Stopped(Exception):
    """The caller no longer wants the phrases (the session it was making them for ended)."""


_RAISED_IN_WORKERS = {error.__name__: error for error in (SpeechError, OutputError)}


def worker_count(missing: int) -> int:
    """Processes worth starting for this many phrases: each costs an interpreter's start-up."""
    tasks = -(-missing // PHRASES_PER_TASK)
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 1) + 1, (tasks + 1) // 2))


def synthesize_in_workers(
    engine: SpeechEngine,
    speaking: SpeechSettings,
    cache_root: Path,
    missing: list,
    progress: Callable[[int, int], None] | None,
    arrived: Arrived | None = None,
    stop: threading.Event | None = None,
    gain: float = 1.0,
    first_soon: bool = False,
    meanwhile: Callable[[], frozenset[Path]] | None = None,
) -> frozenset[Path]:
    """Every missing phrase made (at `gain` below 1, its copy at that volume). Phrases are
    handed out in the order given, so the first ones arrive first; `arrived` hears of each
    answer, described, as it comes. With `first_soon` (someone waits for the first ones:
    play) the first come sooner: the other workers start once the first has answered; else
    (export) all start at once. `meanwhile` is called once the workers have their phrases:
    this process's own work, done while they speak; what it returns is returned. Setting
    `stop` ends the workers and raises Stopped."""
    pickled = _pickled(engine)
    hello = _hello_line(pickled)
    batch = {"speaking": asdict(speaking), "cache": str(cache_root), "gain": gain}
    # An engine may want fewer: one that loads a large model, or forks for every phrase.
    count = min(worker_count(len(missing)), getattr(engine, "max_workers", MAX_WORKERS))
    # Several workers share the phrases a few at a time; one is given them all at once, so
    # that its engine never runs out of phrases to say at once (espeak's forks).
    size = PHRASES_PER_TASK if count > 1 else len(missing)
    tasks = [missing[i : i + size] for i in range(0, len(missing), size)]
    workers: list[subprocess.Popen] = []
    made = 0
    done = False
    spared: frozenset[Path] = frozenset()
    spare = _take_spare()  # started early: past its start-up by now
    if spare and spare.engine not in (None, pickled):  # readied for another engine
        _end_spare(spare)
        spare = None
    scratch = spare.scratch if spare else _scratch_folder()
    try:
        if spare:
            workers.append(spare.worker)
            if spare.engine is None:
                _hello(spare.worker, hello)
        # Someone waiting for the first phrases: one worker starts alone, the others once it
        # answers (on 2 cores, two voices loading side by side took 3.4 s, one alone 2.1 s).
        while len(workers) < (1 if first_soon else count):
            workers.append(_start_worker(hello, scratch))
        with selectors.DefaultSelector() as selector:
            for worker in workers:
                _give(worker, tasks, batch, selector)
            if meanwhile is not None:
                spared = meanwhile()
            heard = time.monotonic()
            while selector.get_map():
                ready = selector.select(timeout=WAKE_SECONDS if stop else ANSWER_SECONDS)
                if stop is not None and stop.is_set():
                    raise Stopped
                if ready:
                    heard = time.monotonic()
                elif time.monotonic() - heard >= ANSWER_SECONDS:
                    raise SpeechError(
                        f"the speech engine ({engine.name}) stopped answering; try again"
                    )
                for key, _ in ready:
                    for answer in _answers(key.data, engine):
                        if answer is None:  # its task is done
                            _give(key.data, tasks, batch, selector, key.fileobj)
                            break
                        made += len(answer)
                        if len(workers) < count and tasks:
                            workers.append(_start_worker(hello, scratch))
                            _give(workers[-1], tasks, batch, selector)
                        if arrived:
                            arrived(answer)
                        if progress:
                            progress(made, len(missing))
        done = True
    except BrokenPipeError:  # a worker died: the same as one that stops answering
        raise SpeechError(f"the speech engine ({engine.name}) crashed; try again") from None
    finally:
        if done:  # each has answered all and been told there is no more: it is ending
            _end_meanwhile(workers, scratch)
        else:
            _stop(workers)
            shutil.rmtree(scratch, ignore_errors=True)
    return spared


def _end_meanwhile(workers: list[subprocess.Popen], scratch: str) -> None:
    """Workers that have made everything end by themselves; a thread waits for them (and
    removes their scratch folder) while this process goes on: the exit of a worker that had
    loaded numpy took 0.03 s of a cold export. The interpreter waits for that thread before
    it ends, so no worker outlives the program."""

    def end() -> None:
        _stop(workers)
        shutil.rmtree(scratch, ignore_errors=True)

    threading.Thread(target=end, name="voiceguide-workers-ending").start()


def _scratch_folder() -> str:
    """A folder for the workers' scratch files, named after this process; the folders of
    processes that died before removing theirs go first."""
    base = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            match = re.fullmatch(re.escape(SCRATCH_PREFIX) + r"(\d+)-\w+", name)
            if match and not process_alive(int(match.group(1))):
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    try:
        return tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
    except OSError as e:
        raise SpeechError(
            f"cannot start the speech engine: no scratch folder ({e.strerror})"
        ) from None


def _stop(workers: list[subprocess.Popen]) -> None:
    """Let each worker end by itself (it cleans up its scratch folder); end it if it will not,
    and then whatever it started and left (espeak's relay and a fork that hangs)."""
    for worker in workers:
        if worker.stdin and not worker.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                worker.stdin.close()
            worker.terminate()  # it was cut short: a Ctrl-C or another worker's error
    for worker in workers:
        if not _ended(worker, timeout=5):
            worker.kill()
        _end_with_its_group(worker)


def _ended(worker: subprocess.Popen, timeout: float) -> bool:
    """Whether the worker ended within `timeout` seconds; it is not reaped (its number still
    names its process group, which no other process can take meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG):
                return True
        except ChildProcessError:  # reaped already
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _end_with_its_group(worker: subprocess.Popen) -> None:
    """Kill what is left in the worker's process group, then reap the worker: a process of
    the group may outlive the worker (a fork waiting for a phrase that never comes)."""
    with contextlib.suppress(OSError):  # nothing left in it
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@dataclass(eq=False)  # one spare is not another, whatever their fields
class _Spare:
    worker: subprocess.Popen
    scratch: str
    engine: str | None = None  # the engine it was told of ahead (`ready_early`), pickled


_SPARES: list[_Spare] = []


@contextmanager
def early_worker() -> Iterator[None]:
    """A worker started now, before anyone knows whether a phrase is missing: the first worker
    `synthesize_in_workers` needs inside this block is this one, already past its interpreter's
    start-up and imports, made while this process loads and compiles the routine (a cold
    export of the benchmark's hour: 0.05 s sooner). One not needed by the end of the block has
    done nothing yet, and is ended; one that cannot start is no error here (the worker
    started when needed says what is wrong)."""
    try:
        scratch = _scratch_folder()
    except SpeechError:
        yield
        return
    try:
        spare = _Spare(_spawn(scratch), scratch)
    except SpeechError:
        shutil.rmtree(scratch, ignore_errors=True)
        yield
        return
    _SPARES.append(spare)
    try:
        yield
    finally:
        try:  # (play's phrases are made in a thread of their own, which may take it now)
            _SPARES.remove(spare)
        except ValueError:
            pass  # taken: its phrases' making ends it
        else:  # not used: it has written nothing, and has nothing to finish
            _end_spare(spare)


def ready_early(engine: SpeechEngine, voice: str) -> None:
    """Tell the worker started early (if there is one) its engine, and the voice to load now:
    Piper's takes half a second, which `play` would otherwise wait for after opening the
    sound card. It makes and writes nothing before it is given phrases."""
    if not _SPARES or _SPARES[-1].engine is not None:
        return
    spare = _SPARES[-1]
    spare.engine = _pickled(engine)
    try:
        _hello(spare.worker, _hello_line(spare.engine, voice))
        spare.worker.stdin.flush()
    except OSError:  # it died: dropped, and a worker started when needed says what is wrong
        with contextlib.suppress(ValueError):
            _SPARES.remove(spare)
        _end_spare(spare)


def _take_spare() -> _Spare | None:
    """The worker started early, if it is still there: play makes its phrases in a thread of
    its own, and `early_worker`'s end may take it away at the same moment."""
    try:
        return _SPARES.pop()
    except IndexError:
        return None


def _end_spare(spare: _Spare) -> None:
    spare.worker.kill()
    _end_with_its_group(spare.worker)
    for pipe in (spare.worker.stdin, spare.worker.stdout):
        with contextlib.suppress(OSError):
            pipe.close()
    shutil.rmtree(spare.scratch, ignore_errors=True)


def _pickled(engine: SpeechEngine) -> str:
    return base64.b64encode(pickle.dumps(engine)).decode("ascii")


def _hello_line(pickled_engine: str, voice: str | None = None) -> str:
    """A worker's first line: its engine, and the voice to load at once, if told ahead."""
    hello = {"engine": pickled_engine, **({"voice": voice} if voice else {})}
    return json.dumps(hello) + "\n"


def _start_worker(hello: str, scratch: str) -> subprocess.Popen:
    worker = _spawn(scratch)
    _hello(worker, hello)
    return worker


def _hello(worker: subprocess.Popen, hello: str) -> None:
    worker.stdin.write(hello)


def _spawn(scratch: str) -> subprocess.Popen:
    """A worker, reading its first line (its engine) once it is given."""
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, json.dumps(_import_path())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env={**os.environ, "TMPDIR": scratch},
            # Its own process group, so that ending it ends what it started (espeak's relay
            # and forks), even a fork that hangs; Ctrl-C is the caller's to handle anyway.
            start_new_session=True,
        )
    except OSError as e:  # too few file descriptors or processes left, say
        raise SpeechError(f"cannot start the speech engine's workers: {e.strerror}") from None


def _import_path() -> list[str]:
    """This process's import path, with the folder its voiceguide came from first and no
    entry that means 'the current folder'."""
    import voiceguide

    ours = os.path.dirname(os.path.dirname(os.path.abspath(voiceguide.__file__)))
    return [ours, *(entry for entry in sys.path if entry and entry != ours)]


def _give(worker, tasks: list, batch: dict, selector, registered=None) -> None:
    """The worker's next task, or the end of its input when none is left."""
    if registered is not None:
        selector.unregister(registered)
    if not tasks:
        worker.stdin.close()
        return
    worker.stdin.write(json.dumps({**batch, "items": tasks.pop(0)}) + "\n")
    worker.stdin.flush()
    selector.register(worker.stdout, selectors.EVENT_READ, worker)


def _answers(worker, engine: SpeechEngine) -> list[list[dict] | None]:
    """What a worker that has something to say says now: for each whole line, the entries it
    describes, or None where it says its task is done. (Read from the pipe itself: a buffered
    reader could hold lines back that the selector would then never report.)"""
    data = os.read(worker.stdout.fileno(), 1 << 16)
    if not data:
        raise SpeechError(f"the speech engine ({engine.name}) crashed; try again")
    *lines, worker.rest = (getattr(worker, "rest", b"") + data).split(b"\n")
    answers = []
    for line in lines:
        answer = json.loads(line)
        if "error" in answer:
            raise _RAISED_IN_WORKERS.get(answer["type"], SpeechError)(answer["error"])
        answers.append(None if answer.get("done") else answer["made"])
    return answers
