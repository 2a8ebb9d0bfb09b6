"""The command line: a thin click layer over the library.

Library errors become one line on stderr and an exit code here, and nowhere else. The library
and the engine are imported inside the commands, so `voiceguide --help` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
from pathlib import Path

import click

from voiceguide import __version__
from voiceguide.errors import VoiceguideError, escaped
from voiceguide.speech import SpeechSettings
from voiceguide.writers import FORMATS

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
        click.echo(self.message, err=True)


class _ClosedOutput(click.ClickException):
    """Whoever read the output stopped reading (`voiceguide voices | head`): not an error to
    report, and nothing left to flush at exit."""

    exit_code = EXIT_CLOSED_OUTPUT

    def __init__(self) -> None:
        super().__init__("")

    def show(self, file=None) -> None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _Commands(click.Group):
    def invoke(self, ctx: click.Context):
        from voiceguide.errors import RoutineError

        try:
            return super().invoke(ctx)
        except RoutineError as e:
            raise _Failure(str(e), e.exit_code) from None
        except VoiceguideError as e:  # escaped: a file name may hold a newline or an escape
            raise _Failure(f"error: {escaped(str(e))}", e.exit_code) from None
        except KeyboardInterrupt:
            raise _Failure("interrupted", EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            raise _ClosedOutput() from None
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as e:  # a bug: still one line, and a way to tell us
            message = f"error: internal error ({type(e).__name__}: {e}); please report it"
            raise _Failure(message, EXIT_BUG) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they are defined, which is the order of use


class _Volume(click.FloatRange):
    """Above 0 and at most 1: NaN compares false with both bounds, so it is refused by name."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number from 0 to 1.", param, ctx)
        return number


def speech_options(command):
    """--engine, --voice, --rate and --volume: the same meaning on every command that speaks."""
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
        "--voice", metavar="VOICE", help="Voice id, name or language, like en-us (see 'voices')."
    )(command)
    command = click.option(
        "--engine",
        metavar="NAME",
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


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voiceguide")
def cli() -> None:
    """Voice-guided acupressure and self-massage sessions.

    A routine (YAML) says what to do and for how long; voiceguide speaks it with an offline
    voice, marks each hold with chimes, and plays it live or exports it to audio files.

    ROUTINE is a path to a YAML file or the name of a bundled routine (see 'list').
    """


@cli.command("list")
@speech_options
def list_command(engine, voice, rate, volume) -> None:
    """Bundled routines: name, length, title."""
    from voiceguide import bundled
    from voiceguide.durations import format_clock
    from voiceguide.loader import load_routine
    from voiceguide.session import build_session

    rows = []
    for name in bundled.routine_names():
        session = build_session(load_routine(name), SpeechSettings(voice, rate, volume, engine))
        rows.append((name, session.routine.title, format_clock(session.timeline.duration)))
    width = max((len(r[0]) for r in rows), default=4)
    click.echo(f"{'name':{width}}  length  title")
    for name, title, length in rows:
        click.echo(f"{name:{width}}  {length:>6}  {title}")


@cli.command()
@click.argument("routines", nargs=-1, required=True, metavar="ROUTINE...")
@speech_options
def check(routines, engine, voice, rate, volume) -> None:
    """Validate routines: one line per problem, FILE:LINE:COL: message. A routine with params
    is compiled with each allowed value (each choice, a range's ends), not only the default.
    Warnings (what sounds wrong when spoken) are said the same way, and fail nothing."""
    from voiceguide.aloud import aloud_warnings
    from voiceguide.durations import format_clock
    from voiceguide.errors import RoutineError
    from voiceguide.loader import display_path
    from voiceguide.session import check_session

    failed = False
    for ref in routines:
        try:
            session = check_session(ref, SpeechSettings(voice, rate, volume, engine))
        except RoutineError as e:
            click.echo(str(e), err=True)
            failed = True
            continue
        routine = session.routine
        for warning in aloud_warnings(routine):
            click.echo(str(warning), err=True)
        length = format_clock(session.timeline.duration)
        click.echo(f"ok: {display_path(routine.path)} ({routine.title}, {length})")
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("routine", metavar="ROUTINE")
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

    settings = SpeechSettings(voice, rate, volume, engine)
    session = build_session(load_routine(routine, values), settings)
    if as_json:
        click.echo(timeline_json(session.timeline), nl=False)
    else:
        loaded = session.routine
        table = timeline_table(session.timeline, loaded.description, loaded.params, loaded.values)
        click.echo(table, nl=False)


@cli.command()
@click.argument("routine", metavar="ROUTINE")
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
    from voiceguide.live import Live

    settings = SpeechSettings(voice, rate, volume, engine)
    live = Live(
        routine, settings, output, not no_journal, anyway, start_step=start_at, values=values
    )
    try:
        outcome = live.play(start_at)
    except KeyboardInterrupt:
        raise _Failure(f"interrupted {_where(live.status())}", EXIT_INTERRUPTED) from None
    if not outcome.finished:
        click.echo(f"stopped {_where(live.status(outcome.position))}")


def _where(status) -> str:
    from voiceguide.durations import format_clock

    at = format_clock(status.position / status.sample_rate)
    total = format_clock(status.length / status.sample_rate)
    return f"at step {status.step.index} of {status.steps} ({at} of {total})"


@cli.command()
@click.argument("routine", metavar="ROUTINE")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write; its extension picks the format: .wav, .mp3, .opus, .m4b or .m4a "
    "(default: ROUTINE's name .wav, here).",
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
    help="The tracks' format when there is no -o (default: wav).",
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
    from voiceguide.export import plan_export, write_export
    from voiceguide.loader import load_routine
    from voiceguide.session import build_session, step_titles

    named = _format_of(output) if output is not None else None
    if format_ and named and format_ != named:
        message = f"--format {format_} does not match the output's name ({output.name})"
        raise click.UsageError(message)
    loaded = load_routine(routine, values)
    settings = SpeechSettings(voice, rate, volume, engine)
    titles = step_titles(loaded, settings)  # in the routine's language, before any synthesis
    plan = plan_export(loaded.name, titles, output, tracks, format_, not no_sidecars, force)
    session = build_session(loaded, settings)
    total = session.timeline.length * ((plan.audio is not None) + (plan.tracks_dir is not None))
    with _progress_bar(total, "Exporting") as bar:
        written = write_export(session.timeline, session.cue_pcm, plan, bar.update if bar else None)
    for path in written:
        click.echo(f"wrote {path}")


def _format_of(output: Path) -> str | None:
    suffix = output.suffix.lower()
    return next((name for name, suffixes in FORMATS.items() if suffix in suffixes), None)


def _progress_bar(total: int, label: str):
    """A bar on stderr when stderr is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    return click.progressbar(length=total, label=label, file=sys.stderr, show_eta=False)


@cli.command()
@click.option("--lang", metavar="XX", help="Only voices for this language, like en or de.")
@click.option("--engine", metavar="NAME", help="The engine: espeak (the default) or piper.")
def voices(lang, engine) -> None:
    """The voices a speech engine offers."""
    from voiceguide.engines import get_engine

    found = get_engine(engine).voices()
    if lang:
        found = [v for v in found if any(_speaks(language, lang) for language in v.languages)]
    width = max((len(v.id) for v in found), default=2)
    for v in sorted(found, key=lambda v: v.id):
        click.echo(f"{v.id:{width}}  {', '.join(v.languages):16}  {v.name}")
    if not found:
        raise click.BadParameter(f"no voices for language '{lang}'", param_hint="'--lang'")


def _speaks(language: str, wanted: str) -> bool:
    language, wanted = language.lower(), wanted.lower()
    return language == wanted or language.startswith(wanted + "-")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def new(file, force) -> None:
    """Write a commented starter routine to FILE."""
    from voiceguide.starter import write_starter

    write_starter(file, force)
    click.echo(f"wrote {file}; try: voiceguide show {file}")


@cli.command()
@click.option(
    "--since",
    metavar="DATE",
    help="Only sessions started from this day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM), or "
    "the last N days (7d).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--stats", is_flag=True, help="Sessions per routine per day and per week.")
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


def main() -> None:
    """The console script. A usage error is one line too, like every other error."""
    _standard_streams()
    # Told to stop (kill, a closed terminal): like Ctrl-C, so temporaries and workers go too.
    for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            signal.signal(number, _interrupt)
    try:
        code = cli.main(prog_name="voiceguide", standalone_mode=False)
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx else "voiceguide"
        click.echo(f"error: {e.format_message()} (see '{where} --help')", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            e.show()
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        with contextlib.suppress(OSError):  # the terminal may be gone
            click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
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
