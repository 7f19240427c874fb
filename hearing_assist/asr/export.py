"""Caption export as SubRip (SRT), WebVTT and plain text."""

from __future__ import annotations

from typing import Sequence

from hearing_assist.asr.captions import CaptionLine

MIN_CUE_S = 0.5  # a cue shorter than this flashes by unread


def format_timestamp(t_s: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT; ``sep="."`` gives WebVTT) for ``t_s`` s."""
    ms = max(0, int(round(t_s * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def cue_times(lines: Sequence[CaptionLine]) -> list[tuple[float, float]]:
    """(start, end) in s per line, on a 1 ms grid: starts strictly increasing, at least ``MIN_CUE_S`` long where
    the next cue leaves room, never overlapping (players drop or stack overlapping cues)."""
    starts: list[float] = []
    for ln in lines:
        s = round(ln.start, 3)
        starts.append(s if not starts else max(s, round(starts[-1] + 0.001, 3)))
    out = []
    for i, (ln, s) in enumerate(zip(lines, starts)):
        end = max(round(ln.end, 3), s + MIN_CUE_S)
        if i + 1 < len(lines):
            end = min(end, starts[i + 1])
        out.append((s, round(max(end, s + 0.001), 3)))
    return out


def _cue_text(line: CaptionLine) -> str:
    # A blank line ends a cue in both formats, and "-->" would confuse parsers; captions never contain them.
    return line.text.replace("\n", " ").replace("-->", "->").strip()


def to_srt(lines: Sequence[CaptionLine]) -> str:
    """SubRip text: numbered cues ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    blocks = []
    for n, (ln, (s, e)) in enumerate(zip(lines, cue_times(lines)), start=1):
        blocks.append(f"{n}\n{format_timestamp(s)} --> {format_timestamp(e)}\n{_cue_text(ln)}\n")
    return "\n".join(blocks)


def to_vtt(lines: Sequence[CaptionLine]) -> str:
    """WebVTT text: ``WEBVTT`` header then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``."""
    blocks = ["WEBVTT\n"]
    for ln, (s, e) in zip(lines, cue_times(lines)):
        blocks.append(f"{format_timestamp(s, '.')} --> {format_timestamp(e, '.')}\n{_cue_text(ln)}\n")
    return "\n".join(blocks)


def to_txt(lines: Sequence[CaptionLine], timestamps: bool = False) -> str:
    """Plain text, one caption line per line, optionally prefixed with ``[HH:MM:SS]``."""
    out = []
    for ln in lines:
        prefix = f"[{format_timestamp(ln.start)[:8]}] " if timestamps else ""
        out.append(prefix + _cue_text(ln))
    return "\n".join(out) + ("\n" if out else "")


FORMATS = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt}


def export(lines: Sequence[CaptionLine], fmt: str) -> str:
    """Export in ``fmt`` ("srt", "vtt" or "txt")."""
    try:
        return FORMATS[fmt](lines)
    except KeyError:
        raise ValueError(f"unknown caption format {fmt!r}; choose one of {sorted(FORMATS)}") from None
