"""SRT / WebVTT / TXT export, checked by a strict parser written from the format specifications."""

import re

import pytest

from hearing_assist.asr.captions import CaptionLine, CaptionModel
from hearing_assist.asr.export import export, format_timestamp, to_srt, to_txt, to_vtt
from hearing_assist.asr.transcript import CaptionUpdate, Word

_TS = r"(\d{2}):([0-5]\d):([0-5]\d)[SEP](\d{3})"


def _secs(m, i):
    h, mi, s, ms = (int(m.group(i + k)) for k in range(4))
    return h * 3600 + mi * 60 + s + ms / 1000


def parse_cues(text: str, fmt: str) -> list[tuple[float, float, str]]:
    """Parse SRT or WebVTT strictly; raises AssertionError on any deviation. Returns (start, end, text) cues."""
    sep = "," if fmt == "srt" else "."
    ts = _TS.replace("SEP", sep)
    timing = re.compile(ts + " --> " + ts + "$")
    blocks = text.strip("\n").split("\n\n")
    if fmt == "vtt":
        assert blocks[0].startswith("WEBVTT") and "-->" not in blocks[0], "WebVTT must start with the WEBVTT header"
        blocks = blocks[1:]
    cues = []
    for n, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        if fmt == "srt":
            assert lines[0] == str(n), f"SRT cue {n} must be numbered {n}, got {lines[0]!r}"
            lines = lines[1:]
        m = timing.match(lines[0])
        assert m, f"bad timing line {lines[0]!r}"
        start, end = _secs(m, 1), _secs(m, 5)
        body = "\n".join(lines[1:])
        assert body.strip() and "-->" not in body, f"cue {n} text {body!r}"
        assert end > start, f"cue {n} ends before it starts"
        if cues:
            assert start >= cues[-1][0] and start >= cues[-1][1], f"cue {n} overlaps the previous one"
        cues.append((start, end, body))
    return cues


def sample_lines():
    m = CaptionModel()
    ws = [Word("Hello", 0.0, 0.4), Word("there.", 0.5, 0.9), Word("How", 1.0, 1.2), Word("are", 1.25, 1.4),
          Word("you?", 1.45, 1.7), Word("Fine", 3600 + 61.2, 3600 + 61.5)]
    m.apply(CaptionUpdate(tuple(ws)))
    return m.snapshot().lines


def test_timestamps():
    assert format_timestamp(3661.5) == "01:01:01,500"
    assert format_timestamp(0.0004, ".") == "00:00:00.000"
    assert format_timestamp(59.9996) == "00:01:00,000"


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_export_parses_back(fmt):
    lines = sample_lines()
    cues = parse_cues(export(lines, fmt), fmt)
    assert [c[2] for c in cues] == ["Hello there.", "How are you?", "Fine"]
    assert cues[0][0] == 0.0 and cues[2][0] == pytest.approx(3661.2)
    assert cues[2][1] - cues[2][0] >= 0.5, "short cues are stretched to be readable"


def test_cues_never_overlap_even_when_words_do():
    lines = (CaptionLine((Word("a.", 1.0, 1.05),)), CaptionLine((Word("b", 1.1, 1.2),)),
             CaptionLine((Word("c", 1.1, 1.3),)))
    for fmt in ("srt", "vtt"):
        parse_cues(export(lines, fmt), fmt)


def test_txt_and_empty():
    assert to_txt(sample_lines()).splitlines() == ["Hello there.", "How are you?", "Fine"]
    assert to_txt(sample_lines(), timestamps=True).splitlines()[2] == "[01:01:01] Fine"
    assert to_srt(()) == "" and to_vtt(()).strip() == "WEBVTT" and to_txt(()) == ""
    with pytest.raises(ValueError):
        export(sample_lines(), "docx")
