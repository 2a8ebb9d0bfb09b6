"""Synthesis workers: they run only the caller's code, leave no scratch folder however they end,
and a machine out of file descriptors is one line."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).parent / "voiceguide"


def run(*args: str, cwd: Path, env: dict, preexec_fn=None, timeout: float = 120):
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def test_workers_never_import_code_from_the_current_folder(tmp_path: Path, private_tmp: Path):
    if not CONSOLE_SCRIPT.exists():
        pytest.skip("needs the installed console script")
    here = tmp_path / "checkout"
    (here / "voiceguide").mkdir(parents=True)
    marker = tmp_path / "foreign code ran"
    (here / "voiceguide" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (here / "voiceguide" / "workers.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (here / "voiceguide" / "worker.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = {"VOICEGUIDE_CACHE": str(tmp_path / "cache"), "TMPDIR": str(private_tmp)}
    result = run("show", "back-massage-ball", cwd=here, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert not marker.exists()
    assert list(private_tmp.iterdir()) == []  # and their scratch folder is gone


def test_a_killed_worker_leaves_no_scratch_folder(tmp_path: Path, private_tmp: Path):
    stale = private_tmp / "voiceguide-workers-999999999-x1" / "voiceguide-y2"  # a dead process's
    stale.mkdir(parents=True)
    env = {"VOICEGUIDE_CACHE": str(tmp_path / "cache"), "TMPDIR": str(private_tmp)}
    command = [str(CONSOLE_SCRIPT), "show", "back-full"]
    parent = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and parent.poll() is None:
        for pid in _children(parent.pid):
            if b"voiceguide.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)  # the worst end: no cleanup of its own
                killed = pid
                break
        time.sleep(0.01)
    _, stderr = parent.communicate(timeout=120)
    assert killed is not None, "no worker was seen"
    assert (parent.returncode, stderr) == (
        3,
        "error: the speech engine (espeak) crashed; try again\n",
    )
    assert list(private_tmp.iterdir()) == []


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def test_too_few_file_descriptors_is_one_line(tmp_path: Path, private_tmp: Path):
    def few() -> None:
        # Too few for the workers' pipes (espeak starts one worker: 10 are enough for it).
        resource.setrlimit(resource.RLIMIT_NOFILE, (7, 7))

    env = {"VOICEGUIDE_CACHE": str(tmp_path / "cache"), "TMPDIR": str(private_tmp)}
    result = run("show", "back-massage-ball", cwd=tmp_path, env=env, preexec_fn=few)
    expected = "error: cannot start the speech engine's workers: Too many open files\n"
    assert (result.returncode, result.stderr) == (3, expected)
    assert list(private_tmp.iterdir()) == []


def test_a_worker_given_many_phrases_at_once_is_alive_while_it_answers_each(
    tmp_path: Path, monkeypatch
):
    from voiceguide import engines, workers
    from voiceguide.cache import PhraseCache
    from voiceguide.loader import load_routine
    from voiceguide.routine import SpeechSettings
    from voiceguide.session import build_session

    monkeypatch.setitem(engines.ENGINES, "slow", "fakes:SlowEngine")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    # Its one task holds every phrase (several seconds of them); each answer comes within 1 s.
    monkeypatch.setattr(workers, "ANSWER_SECONDS", 1.0)
    made = []
    session = build_session(
        load_routine("back-hands"),
        SpeechSettings(engine="slow"),
        cache=PhraseCache(tmp_path),
        progress=lambda done, of: made.append((done, of)),
    )
    count = session.phrases.synthesized
    assert count * 0.25 > 2 * workers.ANSWER_SECONDS
    assert made == [(n, count) for n in range(1, count + 1)]  # progress for each phrase


@pytest.mark.parametrize("first_soon", [False, True])
def test_export_starts_its_workers_at_once_and_play_its_first_one_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_soon: bool
):
    # Export (nobody waits for the first phrases) starts every worker before any answers;
    # play starts one, and the others once it has answered, so the first phrases come sooner.
    from fakes import WorkerEngine

    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    events: list[str] = []
    start = workers._start_worker

    def starting(hello: str, scratch: str):
        events.append("start")
        return start(hello, scratch)

    answers = workers._answers

    def answering(worker, engine):
        for answer in answers(worker, engine):
            if answer is not None:
                events.append("answer")
            yield answer

    monkeypatch.setattr(workers, "_start_worker", starting)
    monkeypatch.setattr(workers, "_answers", answering)
    texts = [f"Phrase number {n}." for n in range(5 * workers.PHRASES_PER_TASK)]
    count = min(workers.worker_count(len(texts)), workers.MAX_WORKERS)
    assert count > 1
    speaking = SpeechSettings("en-fake", 150, 1.0, "workers")
    prepare_phrases(
        texts, speaking, WorkerEngine(), PhraseCache(tmp_path / "cache"),
        arrived=(lambda entries: None) if first_soon else None,
    )  # fmt: skip
    assert events.count("start") == count
    assert events.index("answer") == (1 if first_soon else count)


def test_an_early_worker_not_needed_ends_and_leaves_nothing(tmp_path: Path, monkeypatch):
    import tempfile

    from voiceguide import workers

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its scratch folder goes
    before = set(_children(os.getpid()))  # (earlier tests' workers may still be ending)
    with workers.early_worker():
        [started] = set(_children(os.getpid())) - before
        assert len(list(tmp_path.iterdir())) == 1  # its scratch folder
    assert started not in _children(os.getpid())  # ended and reaped
    assert list(tmp_path.iterdir()) == []


def test_the_early_worker_is_the_one_that_makes_the_phrases(tmp_path: Path, monkeypatch):
    from fakes import WorkerEngine

    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    started = []
    start = workers._start_worker
    monkeypatch.setattr(workers, "_start_worker", lambda *args: started.append(1) or start(*args))
    speaking = SpeechSettings("en-fake", 150, 0.8, "workers")
    texts = ["One phrase.", "Another phrase."]  # one worker's worth
    with workers.early_worker():  # started before the engine is even known
        made = prepare_phrases(texts, speaking, WorkerEngine(), PhraseCache(tmp_path))
    assert started == [] and made.synthesized == 2
    assert all(made.pcm(text) for text in texts)


@pytest.mark.parametrize("same_engine", [True, False])
def test_an_early_worker_told_its_voice_loads_it_before_any_phrase_and_then_makes_them(
    tmp_path: Path, monkeypatch, same_engine: bool
):
    from fakes import LoadingEngine, WorkerEngine

    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    loaded = tmp_path / "loaded"
    loaded.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setenv("VOICEGUIDE_TEST_LOADED", str(loaded))
    started = []
    start = workers._start_worker
    monkeypatch.setattr(workers, "_start_worker", lambda *args: started.append(1) or start(*args))
    cache = tmp_path / "cache"
    before = set(_children(os.getpid()))  # (earlier tests' workers may still be ending)
    with workers.early_worker():
        [early] = set(_children(os.getpid())) - before
        workers.ready_early(LoadingEngine(), "en-fake")  # play: before it opens the sound card
        deadline = time.monotonic() + 60
        while not (loaded / "en-fake").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        # Loaded by the early worker, which has made and written nothing yet.
        assert (loaded / "en-fake").read_text() == str(early)
        assert not cache.exists()
        engine = LoadingEngine() if same_engine else WorkerEngine()
        speaking = SpeechSettings("en-fake", 150, 1.0, engine.name)
        made = prepare_phrases(["One phrase.", "Another."], speaking, engine, PhraseCache(cache))
    assert made.synthesized == 2
    # The phrases of the engine it was told of are its own; another engine's are a new
    # worker's, and it is ended unused.
    assert started == ([] if same_engine else [1])
    if not same_engine:
        assert early not in _children(os.getpid())


def test_an_early_worker_dead_before_it_is_told_its_voice_is_replaced(tmp_path: Path, monkeypatch):
    from fakes import LoadingEngine

    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setenv("VOICEGUIDE_TEST_LOADED", str(tmp_path))
    started = []
    start = workers._start_worker
    monkeypatch.setattr(workers, "_start_worker", lambda *args: started.append(1) or start(*args))
    speaking = SpeechSettings("en-fake", 150, 1.0, "loading")
    with workers.early_worker():
        [spare] = workers._SPARES
        spare.worker.kill()  # out of memory, say
        spare.worker.wait()
        workers.ready_early(LoadingEngine(), "en-fake")
        made = prepare_phrases(["One.", "Two."], speaking, LoadingEngine(), PhraseCache(tmp_path))
    assert made.synthesized == 2 and started == [1]  # by a worker started then, no error


def test_an_espeak_fork_that_hangs_is_one_error_and_leaves_no_process(tmp_path: Path, monkeypatch):
    # The worker is ended, and with it the relay and the fork it waits for: they are in the
    # worker's process group. (Each inherits the worker's TMPDIR, its scratch folder.)
    import tempfile

    from conftest import processes_with_env_starting
    from fakes import HangingEspeak

    from voiceguide import workers
    from voiceguide.cache import PhraseCache
    from voiceguide.errors import SpeechError
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setattr(workers, "ANSWER_SECONDS", 1.5)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the scratch folder goes
    speaking = SpeechSettings("en-us", 150, 1.0, "espeak")
    texts = ["First, sit down.", "Then it hangs."]
    with pytest.raises(SpeechError, match=r"^the speech engine \(espeak\) stopped answering"):
        prepare_phrases(texts, speaking, HangingEspeak(), PhraseCache(tmp_path / "cache"))
    assert processes_with_env_starting(f"TMPDIR={tmp_path}") == []
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # no scratch folder left


def test_the_callers_own_work_is_done_while_the_workers_speak(tmp_path: Path, monkeypatch):
    from fakes import SlowEngine

    from voiceguide.cache import PhraseCache
    from voiceguide.phrases import prepare_phrases
    from voiceguide.speech import SpeechSettings

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    speaking = SpeechSettings("en-fake", 150, 1.0, "slow")
    texts = ["One.", "Two.", "Three."]
    heard: list = []
    prepare_phrases(
        texts, speaking, SlowEngine(), PhraseCache(tmp_path),
        progress=lambda done, of: heard.append(done),
        meanwhile=lambda: heard.append("mine") or frozenset(),
    )  # fmt: skip
    assert heard == ["mine", 1, 2, 3]  # before any phrase arrived
    heard.clear()
    prepare_phrases(texts, speaking, SlowEngine(), PhraseCache(tmp_path), meanwhile=heard.clear)
    assert heard == []  # nothing to make, nothing done meanwhile: nobody is waiting


def test_the_chimes_are_made_while_an_engine_that_knows_its_rate_speaks(
    tmp_path: Path, monkeypatch
):
    from voiceguide import engines, session, sounds
    from voiceguide.cache import PhraseCache
    from voiceguide.loader import load_routine
    from voiceguide.speech import SpeechSettings

    monkeypatch.setitem(engines.ENGINES, "slow-rate-known", "fakes:SlowRateKnownEngine")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    made: list = []
    load_chimes = sounds.load_chimes
    monkeypatch.setattr(
        sounds, "load_chimes", lambda *args: made.append(("chimes", args[1])) or load_chimes(*args)
    )
    built = session.build_session(
        load_routine("back-hands"),
        SpeechSettings(engine="slow-rate-known"),
        cache=PhraseCache(tmp_path),
        progress=lambda done, of: made.append(done),
    )
    assert made[0] == ("chimes", 16000) and made.count(("chimes", 16000)) == 1  # once, first
    assert built.chimes == sounds.load_chimes(built.routine, 16000, 0.9, PhraseCache(tmp_path))
