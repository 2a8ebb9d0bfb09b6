"""The command line: a thin click layer over the library.

Library errors become one line on stderr and an exit code here, and nowhere else. The library
and the engine are imported inside the commands, so `voiceguide --help` starts fast.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import re
import shutil
import signal
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voiceguide import __version__, completion
from voiceguide.errors import MAX_PROBLEMS_SHOWN, Problem, VoiceguideError, escaped
from voiceguide.speech import SpeechSettings
from voiceguide.writers import FORMATS

if TYPE_CHECKING:  # imported by the commands that use them, for a fast start
    from voiceguide.export import ExportPlan
    from voiceguide.session import Session

EXIT_INTERRUPTED = 130
EXIT_BUG = 70  # sysexits' EX_SOFTWARE
EXIT_CLOSED_OUTPUT = 141  # as for a command killed by SIGPIPE: `voiceguide voices | head`


class _Failure(click.ClickException):
    """A library error as the CLI reports it: its own line(s), no 'Error:' prefix for routine
    problems (they start with FILE:LINE:COL), 'error:' for the rest."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(hinted(self.message), err=True)


class _ClosedOutput(click.ClickException):
    """Whoever read the output stopped reading (`voiceguide voices | head`): not an error to
    report, and nothing left to flush at exit."""

    exit_code = EXIT_CLOSED_OUTPUT

    def __init__(self) -> None:
        super().__init__("")

    def show(self, file=None) -> None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _InOrder(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they are defined, which is the order of use


class _Commands(_InOrder):
    def invoke(self, ctx: click.Context):
        from voiceguide.errors import RoutineError

        try:
            return super().invoke(ctx)
        except RoutineError as e:
            raise _Failure(problem_lines(e.problems), e.exit_code) from None
        except VoiceguideError as e:  # escaped: a file name may hold a newline or an escape
            raise _Failure(f"error: {escaped(str(e))}", e.exit_code) from None
        except KeyboardInterrupt:
            raise _Failure("interrupted", EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            raise _ClosedOutput() from None
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as e:  # a bug: still one line, and a way to tell us
            debug = os.environ.get("VOICEGUIDE_DEBUG") == "1"
            if debug:
                traceback.print_exc(file=sys.stderr)
            message = f"error: internal error ({type(e).__name__}: {e}); please report it"
            if not debug:
                message += " (VOICEGUIDE_DEBUG=1 shows where)"
            raise _Failure(message, EXIT_BUG) from None


def problem_lines(problems: list[Problem]) -> str:
    """A routine's problems, a line each: FILE:LINE:COL: message where there is a place in the
    file, else `error: FILE: message` (no such file, not readable), like every other error."""
    lines = [_problem_line(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"({len(problems) - MAX_PROBLEMS_SHOWN} more problems not shown)")
    return "\n".join(lines)


def _problem_line(problem: Problem) -> str:
    return str(problem) if problem.line else f"error: {problem}"


def program() -> str:
    """How to name voiceguide in a hint: 'voiceguide' when that runs this program, else the
    path it was started by (`.venv/bin/voiceguide`, before the venv is activated)."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) != "voiceguide":  # python -m voiceguide, tests
        return "voiceguide"
    found = shutil.which("voiceguide")
    with contextlib.suppress(OSError):
        if found and os.path.samefile(found, invoked):
            return "voiceguide"
    return invoked


def hinted(message: str) -> str:
    """The message with each command it suggests ("see 'voiceguide voices'", "export
    instead: voiceguide export ...") naming the program as it can be run here."""
    name = program()
    if name == "voiceguide":
        return message
    return re.sub(r"(?<=[\s'])voiceguide(?= [a-z-])", lambda m: name, message)


def _quiet(ctx: click.Context, param, value: bool) -> None:
    if value:
        ctx.find_root().meta["quiet"] = True


def quiet_option(command):
    """-q/--quiet: only what was asked for (data, errors); no progress, no 'wrote ...' lines."""
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_quiet,
        is_eager=True,
        help="Print only results and errors: no progress, no 'wrote' or 'ok' lines.",
    )(command)


def _is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get("quiet"))


def say(message: str) -> None:
    """A line about what was done, on stdout; left out with -q."""
    if not _is_quiet():
        click.echo(message)


def fancy_terminal(stream) -> bool:
    """A terminal that can redraw a line: not a pipe, not TERM=dumb."""
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def settings_from(engine, voice, rate, volume) -> SpeechSettings:
    """The command line's speech options over the environment's and the config file's (which
    come over the routine's own, in `session.settings_for`)."""
    from voiceguide.config import load_config
    from voiceguide.engines import default_engine

    configured = load_config().speech()
    if engine and voice is None and engine != (configured.engine or default_engine()):
        configured = replace(configured, voice=None)  # a voice belongs to one engine
    return configured.merged(SpeechSettings(voice, rate, volume, engine))


def json_option(command):
    return click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")(command)


class _Volume(click.FloatRange):
    """Above 0 and at most 1: NaN compares false with both bounds, so it is refused by name."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number from 0 to 1.", param, ctx)
        return number


def speech_options(command):
    """--engine, --voice, --rate and --volume: the same meaning on every command that speaks;
    and -q/--quiet."""
    command = quiet_option(command)
    command = click.option(
        "--volume",
        type=_Volume(0, 1, min_open=True),
        help="Speech and chime loudness, above 0 and at most 1 (default 0.9).",
    )(command)
    command = click.option(
        "--rate",
        type=click.IntRange(80, 400),
        help="Speaking pace in words a minute, 80 to 400 (default 135).",
    )(command)
    command = click.option(
        "--voice",
        metavar="VOICE",
        shell_complete=completion.voices,
        help="Voice id, name or language, like en-us (see 'voices').",
    )(command)
    command = click.option(
        "--engine",
        metavar="NAME",
        shell_complete=completion.engines,
        is_eager=True,  # completion of --voice looks at it
        help="Speech engine: espeak (the default) or piper (an extra; see 'voices').",
    )(command)
    return command


def _parse_set(ctx, param, given: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise click.BadParameter(f"'{item}' is not NAME=VALUE, like rounds=4", param=param)
        values[name.strip()] = value.strip()  # the last of one name wins, as options do
    return values


set_option = click.option(
    "--set",
    "values",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_parse_set,
    help="A value for one of the routine's params (see 'show'); may be given again.",
)


def routine_argument(command):
    """ROUTINE: a YAML file, a bundled routine's name, or - for standard input."""
    return click.argument("routine", metavar="ROUTINE", shell_complete=completion.routines)(command)


@click.group(
    cls=_Commands,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="voiceguide")
@quiet_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Voice-guided acupressure and self-massage sessions.

    A routine (YAML) says what to do and for how long; voiceguide speaks it with an offline
    voice, marks each hold with chimes, and plays it live or exports it to audio files.

    ROUTINE is a path to a YAML file, the name of a bundled routine (see 'list'), or - to read
    it from standard input.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command("list")
@speech_options
@json_option
def list_command(engine, voice, rate, volume, as_json) -> None:
    """Bundled routines: name, length, title. Nothing is synthesized: a length whose phrases
    are not in the cache yet is estimated, and marked ~."""
    from voiceguide import bundled
    from voiceguide.durations import format_clock
    from voiceguide.estimate import session_length
    from voiceguide.loader import load_routine

    settings = settings_from(engine, voice, rate, volume)
    rows = []
    for name in bundled.routine_names():
        routine = load_routine(name)
        length = session_length(routine, settings)
        rows.append((name, routine.title, length))
    if as_json:
        listed = [
            {"name": n, "title": t, "duration": round(x.seconds, 3), "estimated": x.estimated}
            for n, t, x in rows
        ]
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    width = max((len(r[0]) for r in rows), default=4)
    click.echo(f"{'name':{width}}  length  title")
    for name, title, length in rows:
        shown = ("~" if length.estimated else "") + format_clock(length.seconds)
        click.echo(f"{name:{width}}  {shown:>6}  {title}")


@cli.command()
@click.argument(
    "routines",
    nargs=-1,
    required=True,
    metavar="ROUTINE...",
    shell_complete=completion.routines,
)
@speech_options
@json_option
def check(routines, engine, voice, rate, volume, as_json) -> None:
    """Validate routines: one line per problem, FILE:LINE:COL: message. A routine with params
    is compiled with each allowed value (each choice, a range's ends), not only the default.
    Warnings (what sounds wrong when spoken) are said the same way, and fail nothing."""
    from voiceguide.aloud import aloud_warnings
    from voiceguide.durations import format_clock
    from voiceguide.errors import RoutineError
    from voiceguide.loader import display_path
    from voiceguide.session import check_session

    if routines.count("-") > 1:  # standard input is read once; the second would be empty
        raise click.UsageError("'-' (standard input) can be given only once")
    settings = settings_from(engine, voice, rate, volume)
    failed = False
    reports = []
    for ref in routines:
        try:
            session = check_session(ref, settings)
        except RoutineError as e:
            failed = True
            reports.append(_check_report(ref, None, e.problems))
            if not as_json:
                click.echo(problem_lines(e.problems), err=True)
            continue
        routine = session.routine
        warnings = aloud_warnings(routine)
        reports.append(_check_report(ref, session, warnings))
        if not as_json:
            for warning in warnings:
                click.echo(str(warning), err=True)
        length = format_clock(session.timeline.duration)
        if not as_json:
            say(f"ok: {display_path(routine.path)} ({routine.title}, {length})")
    if as_json:
        click.echo(json.dumps(reports, indent=2, ensure_ascii=False))
    if failed:
        sys.exit(1)


def _check_report(ref: str, session, problems: list[Problem]) -> dict:
    """One routine's result for `check --json`, named as it was given (its problems name the
    files): ok unless a problem is an error (warnings, about what sounds wrong when spoken,
    fail nothing)."""
    return {
        "routine": "<stdin>" if ref == "-" else ref,
        "ok": all(p.severity != "error" for p in problems),
        "title": session.routine.title if session else None,
        "duration": round(session.timeline.duration, 3) if session else None,
        "problems": [
            {
                "file": p.path,
                "line": p.line,
                "column": p.column,
                "severity": p.severity,
                "message": p.message,
            }
            for p in problems
        ],
    }


@cli.command()
@routine_argument
@click.option(
    "--json", "as_json", is_flag=True, help="The timeline as JSON (the documented format)."
)
@set_option
@speech_options
def show(routine, as_json, values, engine, voice, rate, volume) -> None:
    """The session's timeline, second by second (mm:ss), or as JSON."""
    from voiceguide.describe import timeline_table
    from voiceguide.loader import load_routine
    from voiceguide.session import build_session
    from voiceguide.sidecars import timeline_json

    settings = settings_from(engine, voice, rate, volume)
    session = build_session(load_routine(routine, values), settings)
    if as_json:
        click.echo(timeline_json(session.timeline), nl=False)
    else:
        loaded = session.routine
        table = timeline_table(session.timeline, loaded.description, loaded.params, loaded.values)
        click.echo(table, nl=False)


@cli.command()
@routine_argument
@click.option(
    "--start-at",
    type=click.IntRange(min=1),
    default=1,
    metavar="STEP",
    help="Start at this step (its number in 'show').",
)
@click.option(
    "--output",
    "output",
    type=click.Choice(["auto", "stream", "simpleaudio"]),
    default="auto",
    help="Sound output: one stream for the session (PortAudio), or simpleaudio (default: "
    "stream where PortAudio is installed).",
)
@click.option("--no-journal", is_flag=True, help="Do not record this session in the journal.")
@click.option("--anyway", is_flag=True, help="Play even past the routine's per_day sessions.")
@set_option
@speech_options
def play(
    routine, start_at, output, no_journal, anyway, values, engine, voice, rate, volume
) -> None:
    """Play the session live, hands-free: media keys and headset buttons (MPRIS), or keys
    when in reach: space pause, n next, p back, w where am I, q quit."""
    from voiceguide import workers
    from voiceguide.live import Live

    # A worker starts now, and loads the voice once the routine names it; not needed (a warm
    # cache), it is ended once the session is ready to play.
    with workers.early_worker():
        settings = settings_from(engine, voice, rate, volume)
        live = Live(
            routine, settings, output, not no_journal, anyway, start_step=start_at, values=values
        )
    try:
        outcome = live.play(start_at)
    except KeyboardInterrupt:
        raise _Failure(f"interrupted {_where(live.status())}", EXIT_INTERRUPTED) from None
    if not outcome.finished:
        say(f"stopped {_where(live.status(outcome.position))}")


def _where(status) -> str:
    from voiceguide.durations import format_clock

    at = format_clock(status.position / status.sample_rate)
    total = format_clock(status.length / status.sample_rate)
    total = total if status.length_known else f"at least {total}"
    return f"at step {status.step.index} of {status.steps} ({at} of {total})"


@cli.command()
@routine_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="The file to write; its extension picks the format: .wav, .mp3, .opus, .m4b or .m4a "
    "(default: ROUTINE's name .wav, here). - writes the audio to standard output.",
)
@click.option(
    "--tracks",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also (or only, without -o) write one file a step into this folder, with an M3U8 "
    "playlist.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(list(FORMATS)),
    shell_complete=completion.formats,
    help="The format when -o does not name one: for --tracks, and for -o - (default: wav, or "
    "the config's).",
)
@click.option(
    "--no-sidecars", is_flag=True, help="Write no .json, .srt, .vtt, .lrc or .cue beside the file."
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@set_option
@speech_options
def export(
    routine, output, tracks, format_, no_sidecars, force, values, engine, voice, rate, volume
) -> None:
    """Write the session to an audio file (or one a step), with chapters and subtitles."""
    from voiceguide import workers

    # Phrases to make or not, a worker starts now, while the rest is imported and the routine
    # loaded and compiled; not needed (a warm cache), it is ended once the session is built.
    with workers.early_worker():
        made = _export_session(
            routine, output, tracks, format_, no_sidecars, force, values, engine, voice, rate,
            volume,
        )  # fmt: skip
    if made is None:  # written to standard output
        return
    from voiceguide.export import write_export

    session, plan = made
    total = session.timeline.length * ((plan.audio is not None) + (plan.tracks_dir is not None))
    with _progress_bar(total, "Exporting") as bar:
        written = write_export(session.timeline, session.cue_pcm, plan, bar.update if bar else None)
    for path in written:
        say(f"wrote {path}")


def _export_session(
    routine, output, tracks, format_, no_sidecars, force, values, engine, voice, rate, volume
) -> tuple[Session, ExportPlan] | None:
    """The session to export and the plan of its files; None once it is written to standard
    output."""
    from voiceguide.config import load_config
    from voiceguide.export import plan_export
    from voiceguide.loader import load_routine
    from voiceguide.session import build_session, step_titles

    to_stdout = output is not None and str(output) == "-"
    if to_stdout:
        _check_stdout_export(tracks)
    named = _format_of(output) if output is not None and not to_stdout else None
    if format_ and named and format_ != named:
        message = f"--format {format_} does not match the output's name ({output.name})"
        raise click.UsageError(message)
    if routine == "-" and output is None and tracks is None:
        raise click.UsageError("a routine from standard input needs -o or --tracks")
    if not format_ and output is None:
        format_ = load_config().value("format")
    settings = settings_from(engine, voice, rate, volume)
    loaded = load_routine(routine, values)
    if to_stdout:
        _export_to_stdout(loaded, settings, format_ or load_config().value("format"))
        return None
    titles = step_titles(loaded, settings)  # in the routine's language, before any synthesis
    plan = plan_export(loaded.name, titles, output, tracks, format_, not no_sidecars, force)
    return build_session(loaded, settings), plan


def _check_stdout_export(tracks) -> None:
    if tracks is not None:
        raise click.UsageError("-o - (standard output) cannot go with --tracks")
    if sys.stdout.isatty():
        raise click.UsageError("-o - would write audio to the terminal; pipe it or redirect it")


def _export_to_stdout(loaded, settings, format_: str) -> None:
    """The session in `format_`, written to standard output (no sidecars)."""
    from voiceguide import writers
    from voiceguide.export import write_stream
    from voiceguide.session import build_session

    writers.writer(format_).check()  # a missing encoder is said before any synthesis
    session = build_session(loaded, settings)
    with _progress_bar(session.timeline.length, "Exporting") as bar:
        progress = bar.update if bar else None
        stdout = sys.stdout.buffer
        write_stream(session.timeline, session.cue_pcm, loaded.name, format_, stdout, progress)
        stdout.flush()


def _format_of(output: Path) -> str | None:
    suffix = output.suffix.lower()
    return next((name for name, suffixes in FORMATS.items() if suffix in suffixes), None)


def _progress_bar(total: int, label: str):
    """A bar on stderr when stderr is a terminal that can redraw a line; nothing otherwise."""
    if not fancy_terminal(sys.stderr) or _is_quiet():
        return contextlib.nullcontext()
    return click.progressbar(length=total, label=label, file=sys.stderr, show_eta=False)


@cli.command()
@click.option(
    "--lang",
    metavar="XX",
    shell_complete=completion.languages,
    help="Only voices for this language, like en, de or de-DE.",
)
@click.option(
    "--engine",
    metavar="NAME",
    is_eager=True,
    shell_complete=completion.engines,
    help="The engine: espeak (the default) or piper.",
)
@json_option
@quiet_option
def voices(lang, engine, as_json) -> None:
    """The voices a speech engine offers."""
    from voiceguide.config import load_config
    from voiceguide.engines import get_engine

    found = get_engine(engine or load_config().value("engine")).voices()
    if lang:
        found = voices_for(found, lang)
    if not found:
        raise click.BadParameter(f"no voices for language '{lang}'", param_hint="'--lang'")
    found = sorted(found, key=lambda v: v.id)
    if as_json:
        described = [
            {"id": v.id, "name": v.name, "languages": list(v.languages), "gender": v.gender}
            for v in found
        ]
        click.echo(json.dumps(described, indent=2, ensure_ascii=False))
        return
    width = max(len(v.id) for v in found)
    for v in found:
        click.echo(f"{v.id:{width}}  {', '.join(v.languages):16}  {v.name}")


def voices_for(found: list, wanted: str) -> list:
    """The voices for a language ('en': en, en-us, en-gb...), or a language and region
    ('en-US': en-us voices; 'de-DE', where no voice is for Germany only: the German voices)."""
    wanted = wanted.lower().replace("_", "-")
    while wanted:
        matching = [v for v in found if any(_speaks(lang, wanted) for lang in v.languages)]
        if matching:
            return matching
        wanted = wanted.rpartition("-")[0]  # de-DE -> de
    return []


def _speaks(language: str, wanted: str) -> bool:
    language = language.lower().replace("_", "-")
    return language == wanted or language.startswith(wanted + "-")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@quiet_option
def new(file, force) -> None:
    """Write a commented starter routine to FILE (- for standard output)."""
    from voiceguide.starter import starter_text, write_starter

    if str(file) == "-":
        click.echo(starter_text("my-routine.yaml"), nl=False)
        return
    write_starter(file, force)
    say(f"wrote {file}; try: voiceguide show {file}")


@cli.command()
@click.option(
    "--since",
    metavar="DATE",
    help="Only sessions started from this day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM), or "
    "the last N days (7d).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--stats", is_flag=True, help="Sessions per routine per day and per week.")
@quiet_option
def journal(since, as_json, stats) -> None:
    """The sessions played: when, which routine, how they ended."""
    from voiceguide.journal import Journal, parse_since, render_stats, render_table, stats_of

    start = parse_since(since) if since else None
    if since and start is None:
        message = f"'{since}' is not a date (YYYY-MM-DD), a time (YYYY-MM-DDTHH:MM) or Nd"
        raise click.BadParameter(message, param_hint="'--since'")
    entries = Journal(create=False).entries(start)
    if stats:
        numbers = stats_of(entries)
        click.echo(json.dumps(numbers, indent=2) if as_json else render_stats(numbers))
    elif as_json:
        click.echo(json.dumps([e.as_json() for e in entries], indent=2))
    else:
        click.echo(render_table(entries))


@cli.group(cls=_InOrder, invoke_without_command=True)
@quiet_option
@click.pass_context
def cache(ctx: click.Context) -> None:
    """The phrase cache: path, size, clear, prune."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cache.command("path")
@quiet_option
def cache_path() -> None:
    """Where the phrase cache is ($VOICEGUIDE_CACHE, else $XDG_CACHE_HOME/voiceguide)."""
    from voiceguide.cache import default_cache_dir

    click.echo(default_cache_dir())


@cache.command("size")
@json_option
@quiet_option
def cache_size(as_json) -> None:
    """Entries and bytes, in all and by engine and voice."""
    from voiceguide.cache import PhraseCache, stored_entries
    from voiceguide.config import format_size

    cache = PhraseCache()
    groups: dict[tuple[str, str], list[int]] = {}
    entries = stored_entries(cache.root)
    for entry in entries:
        group = groups.setdefault((entry.engine, entry.voice), [0, 0])
        group[0] += 1
        group[1] += entry.size
    total = sum(e.size for e in entries)
    if as_json:
        by = [
            {"engine": e, "voice": v, "entries": n, "bytes": b} for (e, v), (n, b) in groups.items()
        ]
        document = {
            "path": str(cache.root),
            "entries": len(entries),
            "bytes": total,
            "limit": cache.max_bytes,
            "by": by,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    limit = format_size(cache.max_bytes) if cache.max_bytes else "no limit"
    click.echo(f"{cache.root}: {len(entries)} entries, {format_size(total)} (limit {limit})")
    for (engine, voice), (count, size) in sorted(groups.items()):
        click.echo(f"  {engine:15}  {voice or '-':24}  {count:6} entries  {format_size(size):>9}")


@cache.command("clear")
@quiet_option
def cache_clear() -> None:
    """Remove every entry (each phrase is made again when next needed)."""
    from voiceguide.cache import PhraseCache, clear
    from voiceguide.config import format_size

    cache = PhraseCache()
    count, size = clear(cache.root)
    say(f"removed {count} entries ({format_size(size)}) from {cache.root}")


@cache.command("prune")
@click.option(
    "--max-size",
    metavar="SIZE",
    help="Keep at most this much, like 200MB (default: the config's cache_max_size).",
)
@quiet_option
def cache_prune(max_size) -> None:
    """Remove the least recently used entries until the cache fits its size limit."""
    from voiceguide.cache import PhraseCache, prune
    from voiceguide.config import format_size, parse_size

    cache = PhraseCache()
    try:
        limit = parse_size(max_size) if max_size is not None else cache.max_bytes
    except ValueError as e:
        raise click.BadParameter(f"'{max_size}' is not {e}", param_hint="'--max-size'") from None
    count, size = prune(cache.root, limit) if limit else (0, 0)
    say(f"removed {count} entries ({format_size(size)}); the limit is {format_size(limit)}")


@cli.command("config")
@json_option
@quiet_option
def config_command(as_json) -> None:
    """Your defaults in effect, and where each came from: VOICEGUIDE_* variables, the config
    file, or built in. (Options on the command line win over all; a routine's speech block
    over the built-in ones.)"""
    from voiceguide.config import SETTINGS, load_config

    config = load_config()
    rows = [(name, _shown(config.value(name), name), config.source(name)) for name in SETTINGS]
    if as_json:
        values = {n: {"value": config.value(n), "source": src} for n, _, src in rows}
        click.echo(json.dumps({"file": str(config.path), "settings": values}, indent=2))
        return
    state = "" if config.path.exists() else " (not there: none of its values are set)"
    click.echo(f"config file: {config.path}{state}")
    for name, value, source in rows:
        click.echo(f"{name:15} {value:12} {source}")


def _shown(value, name: str) -> str:
    from voiceguide.config import format_size

    if value is None and name == "engine":
        from voiceguide.engines import default_engine

        return default_engine()  # espeak, or pyttsx3 where libespeak-ng does not load
    if value is None:
        return "(engine's)"  # the voice: the routine's, else the engine's default
    return format_size(value) if name == "cache_max_size" and value else str(value)


@cli.command()
@quiet_option
def doctor() -> None:
    """What is installed and working, and for each problem the one line that fixes it
    (with -q: the problems only)."""
    from voiceguide.doctor import findings

    problems = 0
    for finding in findings():
        problems += finding.state == "problem"
        if finding.state != "problem" and _is_quiet():
            continue
        click.echo(f"{finding.state:8}  {finding.what:24}  {hinted(escaped(finding.detail))}")
        if finding.fix:
            label = "fix:" if finding.state == "problem" else "to add it:"
            click.echo(f"{'':8}  {'':24}  {label} {hinted(finding.fix)}")
    if problems:
        raise _Failure(f"error: {problems} problem(s) found; see the fix lines above", 1)


def main() -> None:
    """The console script. A usage error is one line too, like every other error."""
    _standard_streams()
    # numpy's OpenBLAS starts a thread a core as it loads: 60 ms of numpy's 130 ms import, in
    # every process that synthesizes (the workers inherit this). voiceguide does no linear
    # algebra. Here, in the program, not on importing the package: a program that imports
    # voiceguide keeps its own threads. A value the user chose stays.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Told to stop (kill, a closed terminal): like Ctrl-C, so temporaries and workers go too.
    for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            signal.signal(number, _interrupt)
    try:
        code = cli.main(prog_name="voiceguide", standalone_mode=False)
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx else "voiceguide"
        message = f"error: {escaped(e.format_message())} (see '{where} --help')"
        click.echo(hinted(message), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            e.show()
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        with contextlib.suppress(OSError):  # the terminal may be gone
            click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    # What is left is freed as the interpreter ends; its last collections, looking through
    # every object for cycles first, took 10 ms of a warm export's 0.2 s.
    gc.freeze()
    sys.exit(code or 0)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _standard_streams() -> None:
    """A closed stdin, stdout or stderr becomes /dev/null: nothing voiceguide opens later may
    take its number, and reading keys or printing progress just finds nothing there."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            nothing = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if nothing != fd:
                os.dup2(nothing, fd)
                os.close(nothing)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - lives as long as we do
