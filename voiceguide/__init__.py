"""voiceguide: voice-guided acupressure and self-massage sessions.

The pipeline, one module a stage:

    loader   routine YAML -> Routine (validated, positions kept for errors)
    compiler Routine + phrase lengths -> Timeline (sample-exact cues)
    speech   text -> cached clips (engines by name: espeak-ng, Piper; in worker processes)
    render   Timeline + clips -> PCM, streamed
    export   PCM -> WAV file(s) with JSON, SRT, VTT, CUE and M3U beside them
    player   Timeline + clips -> a sound card, on an absolute clock
"""

__version__ = "0.1.0"
