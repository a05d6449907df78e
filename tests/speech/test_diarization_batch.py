"""Diarization embeds the partials of every piece in batches: the d-vectors must be resemblyzer's own
per-utterance ones (float rounding aside), whatever the batch size."""

from __future__ import annotations

import numpy as np
import pytest

from clipdex.analyzers import diarization

pytestmark = pytest.mark.slow


def test_batched_embeddings_equal_per_utterance(dialogue_wav):
    from resemblyzer.audio import normalize_volume

    from clipdex.speech.audio import read_wav

    audio = read_wav(dialogue_wav)
    # pieces of several lengths, a short one (one partial) and a long one (many)
    spans = [(0, 8000), (8000, 40000), (40000, 41000 + 16000 * 5), (int(1.5 * 16000), int(3.7 * 16000))]
    enc = diarization.encoder()
    expected = np.stack([enc.embed_utterance(normalize_volume(audio[a:b], -30, increase_only=True))
                         for a, b in spans])
    for batch in (1, 3, 64):
        got = diarization.embed(audio, spans, batch=batch)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4, batch
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_no_spans_gives_no_vectors():
    assert diarization.embed(np.zeros(16000, np.float32), []).shape == (0, 256)
