"""Voice activity over audio of any length, in bounded memory.

faster-whisper's Silero VAD scores its whole input in one batch: its transient memory grows with the
audio, about 1.4 GB per 10 minutes here, so diarization and language routing of a two-hour film
peaked at 10.5 GB. ``speech_timestamps`` runs it on blocks of ``BLOCK_S`` and joins what a block
edge split: a region reaching the end of one block and one starting at the next are one region when
the pause between them is shorter than the options' minimum silence (as the VAD itself would have it).
"""

from __future__ import annotations

import numpy as np

from clipdex.speech.audio import SR

BLOCK_S = 300.0


def speech_timestamps(audio: np.ndarray, options, block_s: float = BLOCK_S) -> list[dict]:
    """``[{"start", "end"}]`` in samples, as ``faster_whisper.vad.get_speech_timestamps`` gives them."""
    from faster_whisper.vad import get_speech_timestamps

    step = max(SR, int(block_s * SR))
    if len(audio) <= step:
        return get_speech_timestamps(audio, options)
    join = int(options.min_silence_duration_ms * SR / 1000) + 2 * int(options.speech_pad_ms * SR / 1000)
    out: list[dict] = []
    for a in range(0, len(audio), step):
        for i, t in enumerate(get_speech_timestamps(audio[a:a + step], options)):
            start, end = t["start"] + a, t["end"] + a
            if i == 0 and out and start - a <= join and a - out[-1]["end"] <= join:
                out[-1]["end"] = end  # one region, cut by the block edge
            else:
                out.append({"start": start, "end": end})
    return out
