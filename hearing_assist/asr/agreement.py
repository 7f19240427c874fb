"""LocalAgreement commit maths (Machacek et al. 2023, whisper_streaming): pure functions on word lists.

A word is committed once consecutive hypotheses over a growing buffer agree on it (and on everything before it).
Words are compared by a normalised key so "so," and "So" agree.
"""

from __future__ import annotations

from typing import Sequence

from hearing_assist.asr.guards import normalize_key
from hearing_assist.asr.transcript import Word


def agreed_prefix(hypotheses: Sequence[Sequence[Word]]) -> int:
    """Length of the longest prefix on which all ``hypotheses`` agree (0 with fewer than two)."""
    if len(hypotheses) < 2:
        return 0
    n = min(len(h) for h in hypotheses)
    for i in range(n):
        k = normalize_key(hypotheses[0][i].text)
        if any(normalize_key(h[i].text) != k for h in hypotheses[1:]):
            return i
    return n


def after_committed(hyp: Sequence[Word], committed: Sequence[Word], committed_end_s: float,
                    tolerance_s: float = 0.1, max_overlap: int = 12) -> list[Word]:
    """The part of ``hyp`` (absolute s) that is new: words starting after the committed end, minus a re-recognised
    overlap (the first k words equal to the last k committed words, k <= ``max_overlap``)."""
    new = [w for w in hyp if w.start > committed_end_s - tolerance_s]
    if not new or not committed:
        return new
    for k in range(min(max_overlap, len(new), len(committed)), 0, -1):
        tail = [normalize_key(w.text) for w in committed[-k:]]
        head = [normalize_key(w.text) for w in new[:k]]
        if tail == head:
            return new[k:]
    return new
