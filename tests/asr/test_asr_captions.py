"""Caption model: lines, tentative tail, pause/resume, clear, search, immutable snapshots."""

import dataclasses
import threading

import pytest

from hearing_assist.asr.captions import CaptionModel, CaptionSnapshot
from hearing_assist.asr.transcript import CaptionUpdate, Word


def words(spec):
    """'text@start-end' items -> Words."""
    out = []
    for item in spec.split():
        text, times = item.split("@")
        s, e = times.split("-")
        out.append(Word(text, float(s), float(e), 0.9))
    return tuple(out)


def test_lines_break_on_long_pause_and_sentence_end_only():
    m = CaptionModel(pause_gap_s=1.5)
    m.apply(CaptionUpdate(words("hello@0.0-0.4 there@0.5-0.9 general@2.3-2.8")))  # 1.4 s gap: same line
    m.apply(CaptionUpdate(words("kenobi.@2.9-3.4 you@3.5-3.7 are@5.3-5.5")))  # sentence end, then 1.6 s gap
    lines = [ln.text for ln in m.snapshot().lines]
    assert lines == ["hello there general kenobi.", "you", "are"]
    assert m.snapshot().lines[0].start == 0.0 and m.snapshot().lines[0].end == 3.4


def test_long_lines_wrap():
    m = CaptionModel(max_line_chars=20)
    m.apply(CaptionUpdate(tuple(Word(f"word{i}", i * 0.3, i * 0.3 + 0.2) for i in range(12))))
    assert all(len(ln.text) <= 20 for ln in m.snapshot().lines)
    assert m.snapshot().committed_text == " ".join(f"word{i}" for i in range(12))


def test_tentative_is_replaced_committed_is_appended():
    m = CaptionModel()
    s1 = m.apply(CaptionUpdate((), words("the@0-0.2 cap@0.2-0.5")))
    s2 = m.apply(CaptionUpdate(words("the@0-0.2"), words("cat@0.2-0.5 sat@0.5-0.8")))
    assert s1.display_text == "the cap"
    assert s2.committed_text == "the" and s2.tentative_text == "cat sat" and s2.display_text == "the cat sat"
    assert s2.version > s1.version
    assert s1.display_text == "the cap", "an old snapshot must not change"


def test_snapshot_is_frozen():
    snap = CaptionModel().apply(CaptionUpdate(words("a@0-1")))
    assert isinstance(snap, CaptionSnapshot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.paused = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.lines[0].words = ()  # type: ignore[misc]


def test_pause_drops_updates_until_resume():
    m = CaptionModel()
    m.apply(CaptionUpdate(words("one.@0-0.5"), words("two@0.6-0.9")))
    m.pause()
    assert m.snapshot().paused and m.snapshot().tentative == ()
    m.apply(CaptionUpdate(words("two.@0.6-0.9")))
    assert m.snapshot().committed_text == "one."
    m.resume()
    m.apply(CaptionUpdate(words("three.@5-5.5")))
    assert m.snapshot().committed_text == "one. three." and not m.snapshot().paused


def test_clear_and_search():
    m = CaptionModel()
    m.apply(CaptionUpdate(words("Meet@0-0.3 at@0.3-0.4 10@0.4-0.6 o'clock.@0.6-1.0 "
                                "Bring@3-3.3 the@3.3-3.4 Report.@3.4-3.9")))
    assert [i for i, _ in m.search("ten")] == [0]
    assert [i for i, _ in m.search("the report")] == [1]
    assert m.search("repo") == [], "search matches whole words"
    assert m.search("...") == []
    m.clear()
    assert m.snapshot().lines == () and m.search("report") == []


def test_concurrent_apply_and_snapshot():
    m = CaptionModel()
    n = 2000

    def writer():
        for i in range(n):
            m.apply(CaptionUpdate((Word(f"w{i}", i * 0.1, i * 0.1 + 0.05),), ()))

    t = threading.Thread(target=writer)
    t.start()
    seen = 0
    while t.is_alive():
        snap = m.snapshot()
        assert snap.committed_text.split() == [f"w{i}" for i in range(len(snap.committed_text.split()))]
        seen += 1
    t.join()
    assert len(m.snapshot().committed_text.split()) == n and seen > 0
