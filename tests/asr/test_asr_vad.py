"""Silero VAD wrapper (real model) and the hysteresis segmenter."""

import numpy as np
import pytest

from hearing_assist.asr.vad import WINDOW, WINDOW_S, SileroVad, VadConfig, VadSegmenter, speech_regions
from hearing_assist.bench import corpus

from .helpers import level, need_synth, silence


def test_segmenter_hysteresis():
    seg = VadSegmenter(VadConfig(threshold=0.5, neg_threshold=0.35, min_speech_s=0.15, min_silence_s=0.6))
    assert seg.feed(np.array([0.1] * 10 + [0.9] * 3 + [0.1] * 10)) == [], "a 96 ms blip is not speech"
    ev = seg.feed(np.array([0.9] * 6))
    assert [e.kind for e in ev] == ["start"] and ev[0].time_s == pytest.approx(23 * WINDOW_S)
    # Values between the two thresholds keep speech going, and a short dip does not end it.
    assert seg.feed(np.array([0.4] * 30 + [0.1] * 10 + [0.9])) == []
    ev = seg.feed(np.array([0.1] * 19))
    assert [e.kind for e in ev] == ["end"]
    assert ev[0].time_s == pytest.approx((23 + 6 + 30 + 10 + 1) * WINDOW_S)
    assert not seg.in_speech


def test_streaming_probabilities_do_not_depend_on_chunking():
    need_synth()
    x = corpus.synthesize("Testing the voice detector.", 16000)
    a, b = SileroVad(), SileroVad()
    whole = a.process(x)
    parts = np.concatenate([b.process(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    assert len(whole) == len(x) // WINDOW == len(parts)
    np.testing.assert_allclose(whole, parts, atol=1e-5)


def test_regions_find_speech_and_ignore_silence_and_noise(vad):
    need_synth()
    sp = level(corpus.synthesize("The quick brown fox jumps over the lazy dog.", 16000), -24)
    noise = level(np.random.default_rng(1).standard_normal(3 * 16000).astype(np.float32), -40)
    x = np.concatenate([silence(2.0), sp, silence(2.0), noise, silence(1.0)])
    regions = speech_regions(x, pad_s=0.0, vad=vad)
    sp_start, sp_end = 2.0, 2.0 + len(sp) / 16000
    assert len(regions) == 1, regions
    assert abs(regions[0][0] - sp_start) < 0.3 and abs(regions[0][1] - sp_end) < 0.5
    assert speech_regions(silence(5.0), vad=vad) == []
