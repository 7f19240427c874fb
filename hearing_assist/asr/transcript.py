"""Recognition results shared by the engine, the streaming recognizer and the caption model."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One recognised word: text as displayed (leading space stripped), start/end in s, probability 0..1."""

    text: str
    start: float
    end: float
    probability: float = 1.0

    def shifted(self, offset_s: float) -> "Word":
        """The same word with its times moved by ``offset_s`` s."""
        return Word(self.text, self.start + offset_s, self.end + offset_s, self.probability)


@dataclass(frozen=True)
class Segment:
    """One decoder segment with Whisper's quality figures (used by the hallucination guards)."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...]
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """The result of decoding one stretch of audio; times in s from the start of that audio."""

    segments: tuple[Segment, ...] = field(default_factory=tuple)
    compute_s: float = 0.0

    @property
    def words(self) -> tuple[Word, ...]:
        """All words of all segments in order."""
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        """Words joined by single spaces."""
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class CaptionUpdate:
    """What the live recognizer emits: committed words to append (final) and the tentative tail to show instead
    of the previous one. ``time_s`` is the stream time in s up to which audio had been received."""

    committed: tuple[Word, ...] = ()
    tentative: tuple[Word, ...] = ()
    time_s: float = 0.0
    utterance_end: bool = False
