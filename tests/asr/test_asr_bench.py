"""The captions benchmark's signal construction and scoring helpers (the full run is the benchmark itself)."""

import numpy as np

from hearing_assist.asr.transcript import Word
from hearing_assist.asr.wer import normalize
from hearing_assist.bench import corpus
from hearing_assist.bench.captions import build_streams, invented_words

from .helpers import need_shared_data


def test_streams_have_pauses_long_silences_and_a_noise_stretch():
    need_shared_data()
    clean, noisy = build_streams(quick=True)
    assert len(clean.audio) == len(noisy.audio) and clean.reference == noisy.reference
    kinds = [k for _, _, k in clean.quiet]
    assert kinds.count("silence") >= 2 and kinds.count("noise") == 1
    for s, e, k in clean.quiet:
        seg = clean.audio[int(s * 16000):int(e * 16000)]
        assert (e - s) >= 4.0 - 1e-6
        assert corpus.rms_db(seg) < (-40 if k == "silence" else -30), (k, corpus.rms_db(seg))
    # The noisy variant adds noise about 10 dB below the speech (speech = 20 ms frames above -45 dBFS).
    added = noisy.audio - clean.audio
    frames = clean.audio[: len(clean.audio) // 320 * 320].reshape(-1, 320)
    speech = frames[10 * np.log10(np.mean(frames**2, axis=1) + 1e-20) > -45].ravel()
    assert 8.0 < corpus.rms_db(speech) - corpus.rms_db(added) < 13.0
    assert len(normalize(clean.reference).split()) > 50


def test_invented_words_counts_only_inside_quiet_stretches():
    quiet = ((10.0, 14.0, "silence"), (20.0, 25.0, "noise"))
    words = [Word("a", 9.8, 10.3), Word("b", 11.0, 11.3), Word("c", 21.0, 21.2), Word("d", 24.7, 24.9),
             Word("e", 30.0, 30.2)]
    assert invented_words(words, quiet, "silence") == 1
    assert invented_words(words, quiet, "noise") == 1
    assert np.isclose(invented_words(words, quiet, "silence", margin_s=0.0), 2)
