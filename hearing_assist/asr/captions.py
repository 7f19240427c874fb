"""The caption model: committed words in lines, a tentative tail, history search, pause/resume, snapshots.

The ASR worker thread calls :meth:`CaptionModel.apply`; the GUI thread calls :meth:`CaptionModel.snapshot` and
renders the returned frozen :class:`CaptionSnapshot` without holding any lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from hearing_assist.asr.transcript import CaptionUpdate, Word
from hearing_assist.asr.wer import normalize

SENTENCE_END = (".", "?", "!")


@dataclass(frozen=True)
class CaptionLine:
    """One caption line: committed words that belong together (no long pause, no sentence end inside)."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The words joined by spaces."""
        return " ".join(w.text for w in self.words)

    @property
    def start(self) -> float:
        """Start of the first word in s."""
        return self.words[0].start if self.words else 0.0

    @property
    def end(self) -> float:
        """End of the last word in s."""
        return self.words[-1].end if self.words else 0.0

    @property
    def min_probability(self) -> float:
        """The least confident word's probability (0..1), for highlighting doubtful lines."""
        return min((w.probability for w in self.words), default=1.0)


@dataclass(frozen=True)
class CaptionSnapshot:
    """An immutable view for rendering: all committed lines, the tentative tail, and the model's state."""

    lines: tuple[CaptionLine, ...] = ()
    tentative: tuple[Word, ...] = ()
    paused: bool = False
    version: int = 0

    @property
    def committed_text(self) -> str:
        """All committed words joined by spaces."""
        return " ".join(line.text for line in self.lines)

    @property
    def tentative_text(self) -> str:
        """The tentative tail joined by spaces."""
        return " ".join(w.text for w in self.tentative)

    @property
    def display_text(self) -> str:
        """Committed words followed by the tentative tail, as shown on screen."""
        return " ".join(t for t in (self.committed_text, self.tentative_text) if t)

    def recent(self, n: int) -> tuple[CaptionLine, ...]:
        """The last ``n`` committed lines."""
        return self.lines[-n:] if n > 0 else ()


def starts_new_line(prev: Word | None, word: Word, line_chars: int, pause_gap_s: float, max_line_chars: int) -> bool:
    """Whether ``word`` opens a new line after ``prev``: a pause >= ``pause_gap_s`` s, a sentence end, or a full line."""
    if prev is None:
        return True
    if word.start - prev.end >= pause_gap_s:
        return True
    if prev.text.endswith(SENTENCE_END):
        return True
    return line_chars + 1 + len(word.text) > max_line_chars


class CaptionModel:
    """Committed caption lines plus a tentative tail; thread-safe; every change bumps the snapshot version."""

    def __init__(self, pause_gap_s: float = 1.5, max_line_chars: int = 84) -> None:
        self.pause_gap_s = pause_gap_s
        self.max_line_chars = max_line_chars
        self._lock = threading.Lock()
        self._lines: list[CaptionLine] = []
        self._tentative: tuple[Word, ...] = ()
        self._paused = False
        self._version = 0
        self._snapshot = CaptionSnapshot()

    def apply(self, update: CaptionUpdate) -> CaptionSnapshot:
        """Append ``update.committed`` and replace the tentative tail; ignored while paused. Returns the snapshot."""
        with self._lock:
            if self._paused:
                return self._snapshot
            for w in update.committed:
                self._append_word(w)
            self._tentative = tuple(update.tentative)
            return self._publish()

    def _append_word(self, w: Word) -> None:
        last = self._lines[-1] if self._lines else None
        prev = last.words[-1] if last and last.words else None
        chars = len(last.text) if last else 0
        if starts_new_line(prev, w, chars, self.pause_gap_s, self.max_line_chars):
            self._lines.append(CaptionLine((w,)))
        else:
            self._lines[-1] = CaptionLine(last.words + (w,))

    def _publish(self) -> CaptionSnapshot:
        self._version += 1
        self._snapshot = CaptionSnapshot(tuple(self._lines), self._tentative, self._paused, self._version)
        return self._snapshot

    def snapshot(self) -> CaptionSnapshot:
        """The latest immutable snapshot (cheap; safe from any thread)."""
        return self._snapshot

    def clear(self) -> None:
        """Forget all lines and the tentative tail."""
        with self._lock:
            self._lines.clear()
            self._tentative = ()
            self._publish()

    def pause(self) -> None:
        """Freeze the captions: updates are dropped until :meth:`resume` (the tentative tail is hidden)."""
        with self._lock:
            self._paused = True
            self._tentative = ()
            self._publish()

    def resume(self) -> None:
        """Accept updates again."""
        with self._lock:
            self._paused = False
            self._publish()

    def search(self, query: str) -> list[tuple[int, CaptionLine]]:
        """Committed lines containing ``query`` (normalised: case, punctuation, numbers), as (index, line)."""
        q = normalize(query)
        if not q:
            return []
        lines = self._snapshot.lines
        padded = f" {q} "
        return [(i, ln) for i, ln in enumerate(lines) if padded in f" {normalize(ln.text)} "]
