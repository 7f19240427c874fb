"""Hallucination guards and LocalAgreement maths (pure functions)."""

from hearing_assist.asr.agreement import after_committed, agreed_prefix
from hearing_assist.asr.guards import (filter_segments, is_phantom, looping, overlaps_speech, repeats_long_phrase,
                                       segment_rejected, truncate_repeats)
from hearing_assist.asr.transcript import Segment, Word


def ws(text, start=0.0, step=0.3, p=0.9):
    return [Word(t, start + i * step, start + i * step + 0.25, p) for i, t in enumerate(text.split())]


def seg(text, start=0.0, step=0.3, p=0.9, **kw):
    w = ws(text, start, step, p)
    return Segment(text, w[0].start, w[-1].end, tuple(w), **kw)


def test_segment_rules():
    assert segment_rejected(seg("hello there", no_speech_prob=0.1, avg_logprob=-0.3)) is None
    assert segment_rejected(seg("thank you", no_speech_prob=0.8, avg_logprob=-1.2)) == "no_speech"
    assert segment_rejected(seg("a b", avg_logprob=-1.8)) == "low_logprob"
    assert segment_rejected(seg("the the the", compression_ratio=3.1)) == "compression"
    assert segment_rejected(seg("we will see you", p=0.3, avg_logprob=-1.3)) == "doubtful"
    assert segment_rejected(seg("we will see you", p=0.9, avg_logprob=-1.3, no_speech_prob=0.05)) is None
    assert segment_rejected(seg("so let's go ahead and see", step=0.01)) == "word_rate"


def test_phantoms_need_confidence():
    assert is_phantom(ws("Thank you."), no_speech_prob=0.5)
    assert is_phantom(ws("Thanks for watching!", p=0.5), no_speech_prob=0.0)
    assert is_phantom(ws("you", p=0.4), 0.0)
    assert not is_phantom(ws("Thank you.", p=0.95), no_speech_prob=0.05), "a clearly spoken thank-you stays"
    assert not is_phantom(ws("Thank you for coming", p=0.3), 0.5)


def test_truncate_repeats():
    keys = lambda w: [x.text for x in w]  # noqa: E731
    assert keys(truncate_repeats(ws("no no no"))) == ["no", "no", "no"]
    assert keys(truncate_repeats(ws("go on go on go on go on go on and"))) == ["go", "on"] * 3
    assert keys(truncate_repeats(ws("a b c a b c"))) == "a b c a b c".split()


def test_words_outside_speech_are_dropped():
    regions = [(0.0, 1.0)]
    assert overlaps_speech(Word("x", 1.2, 1.4), regions, pad_s=0.3)
    assert not overlaps_speech(Word("x", 1.4, 1.6), regions, pad_s=0.3)
    words, dropped = filter_segments([seg("one two three four five six seven eight", step=0.3)], regions)
    assert [w.text for w in words] == ["one", "two", "three", "four", "five"]
    assert any(d.startswith("outside_speech") for d in dropped)


def test_agreed_prefix():
    assert agreed_prefix([ws("the cat sat"), ws("The cat, sad on")]) == 2
    assert agreed_prefix([ws("a b"), ws("a b c"), ws("a x c")]) == 1
    assert agreed_prefix([ws("a b")]) == 0
    assert agreed_prefix([[], ws("a")]) == 0


def test_after_committed_drops_time_and_text_overlap():
    committed = ws("and so my fellow")  # ends at 1.15 s
    hyp = ws("and so my fellow Americans ask", start=0.0)
    assert [w.text for w in after_committed(hyp, committed, committed[-1].end)] == ["Americans", "ask"]
    # Re-recognised words with shifted timestamps are removed by text overlap with the committed tail.
    late = [Word("fellow", 1.2, 1.4), Word("Americans", 1.4, 1.9)]
    assert [w.text for w in after_committed(late, committed, committed[-1].end)] == ["Americans"]


def test_looping_phrases_are_cut_after_two_copies_in_segments():
    words, dropped = filter_segments([seg("seven of clubs seven of clubs seven of clubs go")], regions=None)
    assert [w.text for w in words] == "seven of clubs seven of clubs".split()
    assert any(d.startswith("repeats") for d in dropped)
    words, _ = filter_segments([seg("no no no")], regions=None)
    assert [w.text for w in words] == ["no", "no", "no"], "a word said three times is kept"


def test_words_written_differently_still_agree():
    assert agreed_prefix([ws("one 2 three"), ws("One two, three.")]) == 3
    assert [w.text for w in after_committed(ws("2 three", start=1.0), ws("one two"), 0.55)] == ["three"]
    assert is_phantom(ws("Um."), no_speech_prob=0.0), "fillers alone are not captioned"


def test_looping_segments_are_recognised():
    w = [Word(f"w{i}", 0.1 * i, 0.1 * i + 0.08, 0.9) for i in range(12)]  # 12 words in 1.2 s: 10 words/s
    assert looping(Segment("x", 0.0, 1.2, tuple(w), 0.01, -0.2, 1.3))
    slow = tuple(Word(x.text, 3 * x.start, 3 * x.end, 0.9) for x in w)  # 3.3 words/s: a talker
    assert not looping(Segment("x", 0.0, 3.6, slow, 0.01, -0.2, 1.3))
    assert looping(Segment("x", 0.0, 3.6, slow, 0.01, -0.2, 3.1)), "gzip-compressible text is a loop"


def test_a_long_phrase_said_twice_is_a_loop_and_is_cut():
    # Whisper in noise: a clause repeated in place of the words it could not read
    loop = ws("he knew what to lose he was violating he knew what to lose he was violating and")
    assert repeats_long_phrase(loop)
    kept, dropped = filter_segments([Segment("x", 0.0, 9.0, tuple(loop), 0.01, -0.3, 1.6)], regions=None)
    assert [w.text for w in kept] == "he knew what to lose he was violating".split() and dropped
    # short phrases and single words may repeat as people do
    for said in ("a b c a b c", "no no no", "I think, I think it works", "go on go on"):
        assert not repeats_long_phrase(ws(said)), said
        assert len(filter_segments([Segment("x", 0.0, 9.0, tuple(ws(said)), 0.01, -0.3, 1.2)])[0]) == len(ws(said))


def test_a_long_phrase_heard_again_after_the_commit_is_not_committed_twice():
    committed = ws("the press yard was full of people")
    again = ws("the press yard was full of people today", start=committed[-1].end + 0.2)
    assert [w.text for w in after_committed(again, committed, committed[-1].end)] == ["today"]
