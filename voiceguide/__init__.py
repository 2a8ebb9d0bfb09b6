"""voiceguide: voice-guided acupressure and self-massage sessions.

The pipeline, one module a stage:

    loader   routine YAML -> Routine (validated, positions kept for errors)
    compiler Routine + phrase lengths -> Timeline (sample-exact cues)
    speech   text -> cached clips (engines by name: espeak-ng, Piper; in worker processes)
    render   Timeline + clips -> PCM, streamed
    export   PCM -> WAV file(s) with JSON, SRT, VTT, CUE and M3U beside them
    player   Timeline + clips -> a sound card, on an absolute clock
"""

import os

__version__ = "0.1.0"

# numpy's OpenBLAS starts a thread a core as it loads: 60 ms of numpy's 130 ms import here, in
# every process that synthesizes. voiceguide does no linear algebra; one thread is plenty. Set
# before numpy can be imported (the workers inherit it); a value the user chose stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
