"""The live path end to end with the real engine and VAD: speech, long silences and noise-only stretches."""

import numpy as np
import pytest

from hearing_assist.asr.captions import CaptionModel
from hearing_assist.asr.files import display_history, simulate_live
from hearing_assist.asr.streaming import StreamingRecognizer
from hearing_assist.asr.wer import wer
from hearing_assist.bench import corpus

from .helpers import level, need_shared_data, need_synth, silence

SR = 16000


def speech_parts():
    """Two utterances (real recordings when shared/data is present, else synthesized) and their references."""
    clips = {c.id: c for c in corpus.speech_clips()}
    ids = ["cathy_arctic_a0224", "arctic_unkA_a0010"]
    if all(i in clips for i in ids):
        return [(level(corpus.load_audio(clips[i].path, SR), -24), clips[i].transcript) for i in ids]
    need_synth()
    texts = ["She nodded and her eyes grew soft.", "Turn left at the second traffic light."]
    return [(level(corpus.synthesize(t, SR), -24), t) for t in texts]


def noise_stretch(kind: str, seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    rng = np.random.default_rng(7)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "brown":
        x = np.cumsum(rng.standard_normal(n))
        x -= np.convolve(x, np.ones(801) / 801, mode="same")  # remove the drift, keep the rumble
    else:
        need_shared_data()
        x = np.tile(corpus.load_noise(kind, SR), 1 + n // 16000)[:n]
    return level(np.asarray(x, np.float32), -34)


def run_signal(engine, vad, noise_kinds, rec_out=None):
    (a, ra), (b, rb) = speech_parts()
    noises = [noise_stretch(k, 3.0) for k in noise_kinds]
    parts = [silence(0.5), a, silence(4.0, seed=1), *noises, b, silence(1.5, seed=2)]
    bounds = np.cumsum([0] + [len(p) / SR for p in parts])
    quiet = (bounds[2], bounds[3 + len(noises)])  # silence then noise: 10 s with no speech
    rec = StreamingRecognizer(engine, vad=vad)
    if rec_out is not None:
        rec_out.append(rec)
    return simulate_live(np.concatenate(parts), rec, 0.5), quiet, f"{ra} {rb}"


@pytest.mark.parametrize("noise_kinds", [("white", "brown"), ("dishes_speechcommands", "street_dcase")],
                         ids=["synthetic-noise", "real-noise"])
def test_live_captions_are_stable_and_silent_without_speech(engine, vad, noise_kinds):
    recs = []
    run, (q0, q1), reference = run_signal(engine, vad, noise_kinds, recs)
    committed = run.committed
    # Committed text never changes: every snapshot's committed text is a prefix of the final one.
    model = CaptionModel()
    snapshots = [model.apply(u) for _, u in run.events]
    final = snapshots[-1].committed_text
    assert all(final.startswith(s.committed_text) for s in snapshots)
    # No word is committed twice: committed timestamps never go back.
    assert all(b.start >= a.start - 0.05 for a, b in zip(committed, committed[1:]))
    assert wer(reference, final).wer < 0.3, final
    # No decoding of quiet audio: every decode's audio ends in speech or just after it (the end-of-utterance
    # decode reaches the VAD's speech end + padding). Stream times, so a slow shared CPU cannot change the outcome.
    assert [t for t in recs[0].stats.decoded_until_s if q0 + 1.5 < t < q1] == []
    for _, words in display_history(run):
        assert not [w.text for w in words if q0 + 0.5 < (w.start + w.end) / 2 < q1 - 0.5]
    assert snapshots[-1].tentative == ()
