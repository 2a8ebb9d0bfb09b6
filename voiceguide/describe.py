"""A timeline as a readable table, second by second: what `voiceguide show` prints."""

from __future__ import annotations

from voiceguide.durations import format_clock, format_short
from voiceguide.params import Param
from voiceguide.timeline import Cue, Timeline


def timeline_table(
    timeline: Timeline, description: str = "", params: tuple[Param, ...] = (), values=None
) -> str:
    s = timeline.seconds
    speech = timeline.speech
    lines = [
        timeline.title,
        f"{format_clock(timeline.duration)} long; {speech.engine} voice {speech.voice}, "
        f"{speech.rate} words a minute, volume {speech.volume:g}",
        *([description] if description else []),
        *([params_line(params, values or {})] if params else []),
        "",
        "step  start    end      what",
    ]
    holds = {hold.start: hold for hold in timeline.holds}
    cues_by_step: dict[int, list[Cue]] = {}
    for cue in timeline.cues:
        cues_by_step.setdefault(cue.step, []).append(cue)
    for step in timeline.steps:
        span = f"{format_clock(s(step.start), 1)}  {format_clock(s(step.end), 1)}"
        lines.append(f"{step.index:4d}  {span}  {step.title}")
        for cue in cues_by_step.get(step.index, []):
            start = format_clock(s(cue.start), 1)
            lines.append(f"      {start}           {_describe(cue, holds, timeline)}")
    return "\n".join(lines) + "\n"


def _describe(cue: Cue, holds: dict, timeline: Timeline) -> str:
    if cue.kind == "speech":
        return f"say    {cue.text}"
    what = f"chime  {cue.sound}"
    hold = holds.get(cue.start) if cue.role == "hold-start" else None
    if hold is not None:
        what += f"  (hold {format_short(round(hold.length / timeline.sample_rate, 3))})"
    return what


def params_line(params: tuple[Param, ...], values: dict[str, str]) -> str:
    """'params: rounds=4 (3 or 4), minutes=2m (from 1m to 3m); choose with --set NAME=VALUE'."""
    each = [f"{p.name}={values.get(p.name, p.default)} ({p.allowed()})" for p in params]
    return f"params: {', '.join(each)}; choose with --set NAME=VALUE"
