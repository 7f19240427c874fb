"""Streaming commit policy with a scripted engine (recorded hypothesis sequences) and the real Silero VAD.

The scripted engine stands in for Whisper so the policy can be checked exactly; the same paths run with the real
engine in test_asr_streaming_e2e.py.
"""

import numpy as np
import pytest

from hearing_assist.asr.streaming import StreamingConfig, StreamingRecognizer
from hearing_assist.asr.transcript import Segment, Transcript, Word
from hearing_assist.bench import corpus

from .helpers import level, need_synth, silence

SPEECH_START = 0.5
WORD_S = 0.3


class ScriptedEngine:
    """Returns the n-th scripted hypothesis on the n-th call (the last one repeats); word times are given on the
    stream clock and moved onto the recognizer's buffer clock, as Whisper would report them."""

    def __init__(self, script, probability=0.95, no_speech_prob=0.02):
        self.script = script
        self.p = probability
        self.no_speech_prob = no_speech_prob
        self.calls = []  # (audio seconds, prompt)
        self.beams = []  # beam_size asked for on each call (None: the engine's own)
        self.finals = []  # whether each call's words are committed as they come
        self.recognizer = None

    def transcribe(self, audio_16k, prompt="", beam_size=None, final=False):
        self.calls.append((len(audio_16k) / 16000, prompt))
        self.beams.append(beam_size)
        self.finals.append(final)
        text = self.script[min(len(self.calls), len(self.script)) - 1]
        origin = self.recognizer.buffer_start_s
        words = tuple(Word(t, SPEECH_START + i * WORD_S - origin, SPEECH_START + (i + 1) * WORD_S - 0.05 - origin,
                           self.p) for i, t in enumerate(text.split()))
        if not words:
            return Transcript(())
        return Transcript((Segment(text, words[0].start, words[-1].end, words, self.no_speech_prob, -0.3, 1.2),))


def speech_signal():
    need_synth()
    sp = level(corpus.synthesize("The cat sat on the mat and looked out of the window.", 16000), -24)
    return np.concatenate([silence(SPEECH_START), sp, silence(2.5)])


def stream(rec, audio, chunk_s=0.5, backlog_s=0.0):
    n = int(chunk_s * 16000)
    updates = [rec.accept(audio[i:i + n], backlog_s) for i in range(0, len(audio), n)]
    return [u for u in updates if u is not None]


# Scripted words have fixed times whatever audio the decode was given, so commits by one decode (which judge a
# word by its distance from the audio's end) are off here and tested on a timeline engine below.
AGREEMENT_ONLY = StreamingConfig(early_commit_margin_s=None)


def make(script, config=AGREEMENT_ONLY, vad=None, **kw):
    eng = ScriptedEngine(script, **kw)
    rec = StreamingRecognizer(eng, config, vad=vad)
    eng.recognizer = rec
    return eng, rec


SCRIPT = ["the", "the cat", "the cat sad", "the cat sat on", "the cat sat on the", "the cat sat on the mat"]


def test_local_agreement_commits_agreed_prefixes_and_never_changes_them(vad):
    eng, rec = make(SCRIPT, vad=vad)
    updates = stream(rec, speech_signal())
    assert len(eng.calls) >= len(SCRIPT), "continuous speech is re-decoded every step"
    committed, shown = [], []
    for u in updates:
        committed += [w.text for w in u.committed]
        shown.append(committed + [w.text for w in u.tentative])
    assert committed == "the cat sat on the mat".split()
    assert "sad" not in committed, "a word that changed between hypotheses is never committed"
    # The first decodes commit one word each once the next hypothesis agrees.
    assert [[w.text for w in u.committed] for u in updates[:3]] == [[], ["the"], ["cat"]]
    assert any(s[-1] == "sad" for s in shown), "the unstable word was shown as tentative"
    assert updates[-1].utterance_end and updates[-1].tentative == ()


def test_agreement_of_three_commits_later(vad):
    eng, rec = make(SCRIPT, StreamingConfig(agreement=3, early_commit_margin_s=None), vad=vad)
    updates = stream(rec, speech_signal())
    firsts = [i for i, u in enumerate(updates) if u.committed]
    assert [w.text for w in updates[firsts[0]].committed] == ["the"] and firsts[0] == 2
    assert [w.text for u in updates for w in u.committed] == "the cat sat on the mat".split()


def test_nothing_is_decoded_or_shown_in_silence_or_noise(vad):
    eng, rec = make(["Thank you."], probability=0.99)
    rng = np.random.default_rng(3)
    quiet = np.concatenate([silence(8.0), level(rng.standard_normal(8 * 16000).astype(np.float32), -45),
                            silence(2.0)])
    assert stream(rec, quiet) == []
    assert eng.calls == [] and rec.flush() is None


def test_guards_drop_segments_whisper_marks_as_non_speech(vad):
    eng, rec = make(["Thanks for watching!"], probability=0.4, no_speech_prob=0.9)
    updates = stream(rec, speech_signal())
    assert eng.calls, "speech was heard"
    assert all(not u.committed and not u.tentative for u in updates)
    assert rec.stats.dropped


def test_backlog_skips_tentative_decodes_but_still_commits_at_the_pause(vad):
    eng, rec = make(["the cat sat on the mat"], vad=vad)
    updates = stream(rec, speech_signal(), backlog_s=5.0)
    assert rec.stats.skipped_for_backlog > 0 and rec.stats.decodes == rec.stats.final_decodes == 1
    assert [w.text for u in updates for w in u.committed] == "the cat sat on the mat".split()
    assert all(u.tentative == () for u in updates)


def test_committed_text_is_the_next_utterances_prompt(vad):
    audio = speech_signal()
    eng, rec = make(SCRIPT, vad=vad)
    stream(rec, audio)
    first_calls = len(eng.calls)
    eng.script = ["and"]
    rec.accept(audio)  # the same sentence again, all at once
    assert len(eng.calls) > first_calls
    assert eng.calls[-1][1].endswith("the cat sat on the mat")
    assert eng.calls[0][1] == ""


def test_reset_starts_a_new_stream(vad):
    eng, rec = make(SCRIPT, vad=vad)
    stream(rec, speech_signal())
    rec.reset()
    assert rec.committed == [] and rec.received_s == 0.0 and rec.tentative == ()


@pytest.mark.parametrize("chunk_s", [0.25, 1.0])
def test_chunk_size_does_not_change_committed_text(vad, chunk_s):
    eng, rec = make(["the cat sat on the mat"], vad=vad)
    updates = stream(rec, speech_signal(), chunk_s=chunk_s)
    assert [w.text for u in updates for w in u.committed] == "the cat sat on the mat".split()


def long_speech_signal():
    need_synth()
    text = ("the cat sat on the mat and looked out of the window at the birds in the garden "
            "while the rain fell softly on the roof of the old house by the river")
    sp = level(corpus.synthesize(text, 16000), -24)
    assert len(sp) / 16000 > 7.0
    return np.concatenate([silence(SPEECH_START), sp, silence(2.0)])


def test_long_utterances_are_trimmed_at_committed_sentence_ends(vad):
    sentence = "one two three. four five six. seven eight nine. ten eleven twelve. " * 2
    eng, rec = make([sentence.strip()], StreamingConfig(max_buffer_s=3.0, early_commit_margin_s=None), vad=vad)
    audio = long_speech_signal()
    starts = []
    n = 8000
    updates = []
    for i in range(0, len(audio), n):
        u = rec.accept(audio[i:i + n])
        starts.append(rec.buffer_start_s)
        if u:
            updates.append(u)
    committed = [w.text for u in updates for w in u.committed]
    assert committed == sentence.split()[:len(committed)] and len(committed) >= 18
    assert max(starts) > 3.0, "the buffer was trimmed while the utterance went on"
    assert any("three." in prompt for _, prompt in eng.calls), "trimmed text became the prompt"


def test_endless_disagreement_is_force_committed_at_the_hard_limit(vad):
    a = " ".join(f"a{i}" for i in range(30))
    b = " ".join(f"b{i}" for i in range(30))
    eng, rec = make([a, b] * 50, StreamingConfig(max_buffer_s=3.0, hard_buffer_s=4.0, early_commit_margin_s=None),
                    vad=vad)
    audio = long_speech_signal()
    n = 8000
    before_end = []
    for i in range(0, int((SPEECH_START + 6.5) * 16000), n):  # stop while still speaking
        u = rec.accept(audio[i:i + n])
        if u:
            before_end += list(u.committed)
    assert rec.stats.forced_commits >= 1 and before_end, "captions must not stall behind an endless utterance"
    assert all(y.start > x.start for x, y in zip(before_end, before_end[1:]))
    assert all(w.end < rec.received_s - 0.9 for w in before_end)


def test_audio_already_committed_is_not_heard_again_after_a_pause(vad):
    # Whisper's last word often ends after the VAD's speech end; the next utterance must not re-read that audio,
    # or the word's tail comes back as a duplicate ("... the press yard" + "yard").
    long_script = ["the cat sat on the mat and looked out of the window at the birds"]
    eng, rec = make(long_script, vad=vad)
    audio = speech_signal()
    n = 8000
    for i in range(0, len(audio), n):
        u = rec.accept(audio[i:i + n])
        if u is not None and u.utterance_end:
            break
    else:
        pytest.fail("the pause did not end the utterance")
    assert rec.buffer_start_s >= min(rec.committed[-1].end, rec.received_s) - 1e-3


def test_the_pause_commits_the_tail_from_one_wider_search(vad):
    # greedy decodes agree on "the cat sat" but flip on the tail until the pause; the one beam decode at the pause
    # decides the tail, without changing what was committed before
    class BeamEngine(ScriptedEngine):
        def transcribe(self, audio_16k, prompt="", beam_size=None, final=False):
            flip = ["the cat sat on a", "the cat sat in the"][len(self.calls) % 2]
            self.script = ["the cat", "the cat sat"] + [flip] * 20 if beam_size is None else ["the cat sat on the mat"]
            return super().transcribe(audio_16k, prompt, beam_size, final)

    eng = BeamEngine([])
    rec = StreamingRecognizer(eng, StreamingConfig(final_beam_size=5, early_commit_margin_s=None), vad=vad)
    eng.recognizer = rec
    updates = stream(rec, speech_signal())
    assert updates[-1].utterance_end
    assert eng.beams[-1] == 5 and all(b is None for b in eng.beams[:-1]), eng.beams
    assert eng.finals[-1] and not any(eng.finals[:-1]), "only the committing decode is final"
    assert rec.stats.final_decodes == 1
    before = [w.text for u in updates[:-1] for w in u.committed]
    assert before == "the cat sat".split(), "only what greedy decodes agreed on is committed before the pause"
    assert [w.text for w in rec.committed] == "the cat sat on the mat".split()


def test_without_a_final_beam_no_decode_asks_for_one(vad):
    eng, rec = make(SCRIPT, StreamingConfig(final_beam_size=None, early_commit_margin_s=None), vad=vad)
    stream(rec, speech_signal())
    assert set(eng.beams) == {None} and rec.stats.reused_finals + rec.stats.final_decodes == 1


def test_speech_fed_in_small_chunks_is_decoded_every_step(vad):
    # the app hands over 0.1 s at a time; float sums of 0.1 s once made most 0.5 s steps 0.6 s long
    eng, rec = make(SCRIPT, vad=vad)
    stream(rec, long_speech_signal(), chunk_s=0.1)
    tentative = [t for t, final in zip(rec.stats.decoded_until_s, eng.finals) if not final]
    assert len(tentative) >= 10
    np.testing.assert_allclose(np.diff(tentative), 0.5, atol=1e-6)


def test_no_tentative_decode_once_the_pause_has_begun(vad):
    audio = speech_signal()
    _, eager = make(SCRIPT, StreamingConfig(skip_in_silence_s=float("inf"), early_commit_margin_s=None), vad=vad)
    eng, rec = make(SCRIPT, vad=vad)
    stream(eager, audio, chunk_s=0.1)  # the app's captioner hands over 0.1 s at a time
    updates = stream(rec, audio, chunk_s=0.1)
    assert rec.stats.skipped_in_silence >= 1 and eager.stats.skipped_in_silence == 0
    assert rec.stats.decodes < eager.stats.decodes
    # the pause decode still hears everything: the same words end up committed
    assert [w.text for u in updates for w in u.committed] == [w.text for w in eager.committed]


def test_a_doubtful_word_at_the_end_of_an_utterance_is_not_committed(vad):
    # the pause decode tacks a word Whisper itself doubts onto the utterance (noise right after speech)
    class TailEngine(ScriptedEngine):
        def transcribe(self, audio_16k, prompt="", beam_size=None, final=False):
            tr = super().transcribe(audio_16k, prompt, beam_size, final)
            if not final:
                return tr
            seg = tr.segments[0]
            words = seg.words[:-1] + (Word("cool", seg.words[-1].start, seg.words[-1].end, 0.05),)
            return Transcript((Segment(seg.text, seg.start, seg.end, words, 0.02, -0.3, 1.2),))

    eng = TailEngine(["the cat", "the cat sat", "the cat sat on the mat", "the cat sat in the hat"] * 5)
    rec = StreamingRecognizer(eng, AGREEMENT_ONLY, vad=vad)
    eng.recognizer = rec
    stream(rec, speech_signal())
    assert eng.finals[-1]
    assert [w.text for w in rec.committed][-1] != "cool" and any("cool" in d for d in rec.stats.dropped)


class TimelineEngine:
    """Whisper on a fixed timeline of words (stream s): a decode returns the words its audio has reached; one the
    audio's end cuts off comes back misread (its first two letters) and ending there. ``misread`` maps a word's
    index to (text, probability) for the first decode that hears all of it with ``margin_s`` s of audio after."""

    def __init__(self, timeline, misread=None, margin_s=0.3):
        self.timeline, self.misread, self.margin_s = timeline, dict(misread or {}), margin_s
        self.recognizer = None

    def transcribe(self, audio_16k, prompt="", beam_size=None, final=False):
        origin = self.recognizer.buffer_start_s
        audio_end = origin + len(audio_16k) / 16000
        words = []
        for i, (text, start, end, p) in enumerate(self.timeline):
            if start >= audio_end or end <= origin:
                continue
            if end > audio_end:
                text, end = text[:2], audio_end
            elif i in self.misread and end <= audio_end - self.margin_s:
                text, p = self.misread.pop(i)
            words.append(Word(text, start - origin, end - origin, p))
        if not words:
            return Transcript(())
        return Transcript((Segment(" ".join(w.text for w in words), words[0].start, words[-1].end, tuple(words),
                                   0.02, -0.3, 1.2),))


TIMELINE_WORDS = "the cat sat on the mat and looked out of the window at the birds in the garden".split()


def _commits(config, vad, doubtful=(), misread=None):
    """Committed words and, for each, the index of the update that committed it (timeline words 0.4 s apart;
    those in ``doubtful`` at p = 0.5, the rest at 0.95)."""
    timeline = [(t, SPEECH_START + 0.4 * i, SPEECH_START + 0.4 * i + 0.35, 0.5 if i in doubtful else 0.95)
                for i, t in enumerate(TIMELINE_WORDS)]
    engine = TimelineEngine(timeline, misread)
    rec = StreamingRecognizer(engine, config, vad=vad)
    engine.recognizer = rec
    updates = stream(rec, long_speech_signal(), chunk_s=0.1)  # speech all along the timeline: no pause in it
    return [w.text for w in rec.committed], [i for i, u in enumerate(updates) for _ in u.committed]


def test_a_sure_word_well_behind_the_audio_end_is_committed_by_one_decode(vad):
    words, early = _commits(StreamingConfig(), vad)
    same, late = _commits(AGREEMENT_ONLY, vad)
    assert words == same and words[:-1] == TIMELINE_WORDS[:len(words) - 1]
    assert all(e <= a for e, a in zip(early, late)), "no word comes later"
    assert sum(e < a for e, a in zip(early, late)) >= 2, "some come one decode sooner"


def test_a_doubtful_word_waits_for_agreement(vad):
    _, early = _commits(StreamingConfig(), vad)
    _, late = _commits(AGREEMENT_ONLY, vad)
    sooner = [i for i, (e, a) in enumerate(zip(early, late)) if e < a]
    _, unsure = _commits(StreamingConfig(), vad, doubtful=sooner)
    assert [unsure[i] for i in sooner] == [late[i] for i in sooner]


def test_a_word_the_last_decode_read_differently_waits_for_agreement(vad):
    # "mat" comes at least one decode sooner when sure. Now the decode that first hears all of it reads "map" (unsure, so
    # not committed); the next reads "mat", sure and well behind the end, but the two disagree on a word both heard
    # whole: it is committed only when a third decode agrees.
    mat = TIMELINE_WORDS.index("mat")
    _, early = _commits(StreamingConfig(), vad)
    _, late = _commits(AGREEMENT_ONLY, vad)
    assert early[mat] < late[mat]
    words, misread = _commits(StreamingConfig(), vad, misread={mat: ("map", 0.5)})
    _, misread_agreed = _commits(AGREEMENT_ONLY, vad, misread={mat: ("map", 0.5)})
    assert words[mat] == "mat"
    # a third decode: later than "mat" agreed on without the misreading, as late as LocalAgreement alone
    assert misread[mat] == misread_agreed[mat] > late[mat]
