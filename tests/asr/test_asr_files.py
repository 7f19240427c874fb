"""Captioning a file: offline (caption_file) and through the live path (caption_file_live)."""

import numpy as np
import pytest
import soundfile as sf

from hearing_assist.asr.files import caption_file, caption_file_live, group_regions
from hearing_assist.asr.wer import wer
from hearing_assist.bench import corpus

from .helpers import level, need_synth, silence
from .test_asr_export import parse_cues

TEXTS = ["Please pass me the salt and the pepper.", "Turn left at the second traffic light."]


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    need_synth()
    parts = [silence(0.5)]
    for t in TEXTS:
        parts += [level(corpus.synthesize(t, 22050, voice="en-us"), -24), silence(2.0 * 22050 / 16000)]
    path = tmp_path_factory.mktemp("audio") / "two.wav"
    sf.write(path, np.concatenate(parts), 22050)  # not 16 kHz: the loader must resample
    return path


def test_group_regions():
    assert group_regions([(0, 2), (2.5, 4), (6, 7)]) == [(0, 4), (6, 7)]
    assert group_regions([(0, 60)], max_chunk_s=25) == [(0, 20), (20, 40), (40, 60)]
    assert group_regions([(0, 20), (20.5, 30)], max_chunk_s=25) == [(0, 20), (20.5, 30)]


def test_caption_file_offline_formats(wav, engine, tmp_path):
    srt = caption_file(wav, "srt", out=tmp_path / "x.srt", engine=engine)
    assert (tmp_path / "x.srt").read_text() == srt
    cues = parse_cues(srt, "srt")
    assert len(cues) == 2, cues  # two sentences, 2 s apart
    assert wer(" ".join(TEXTS), " ".join(c[2] for c in cues)).wer < 0.2
    assert 0.1 < cues[0][0] < 1.0 and cues[1][0] > cues[0][1]  # speech starts at 0.5 s; Whisper times +-0.25 s
    assert [c[2] for c in parse_cues(caption_file(wav, "vtt", engine=engine), "vtt")] == [c[2] for c in cues]


def test_caption_file_rejects_unknown_format_before_decoding(wav):
    with pytest.raises(ValueError, match="unknown caption format"):
        caption_file(wav, "doc", engine=object())  # an engine that cannot decode: it must not be reached


def test_caption_file_live(wav, engine):
    snap, stats = caption_file_live(wav, engine=engine)
    assert wer(" ".join(TEXTS), snap.committed_text).wer < 0.3, snap.committed_text
    assert snap.tentative == () and stats.words == len(snap.committed_text.split())
    assert 0.0 < stats.display_latency_p50_s <= stats.commit_latency_p90_s + 1e-9
    assert 0.0 <= stats.erasure < 1.0 and stats.cpu_percent_of_2_cores > 0.0
