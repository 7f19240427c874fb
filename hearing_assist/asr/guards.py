"""Hallucination guards: pure rules that reject text Whisper invents from silence, noise or its own loops.

The first guard is upstream (the VAD gate: no decoding without speech). These catch what gets past it: segments
Whisper itself rates as non-speech or degenerate, words placed where the VAD heard no speech, looping n-grams,
and the phrases Whisper is known to produce from nothing ("Thank you.", "Thanks for watching!", "you").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from hearing_assist.asr.transcript import Segment, Word
from hearing_assist.asr.wer import normalize

# Phrases Whisper emits from silence/noise (learned from subtitle credits in its training data).
PHANTOM_PHRASES = frozenset({
    "you", "thank you", "thank you very much", "thanks", "thanks for watching", "thank you for watching",
    "thanks for listening", "thank you for listening", "please subscribe", "subscribe", "bye", "bye bye",
    "so", "okay", "oh", "uh", "um", "hmm", "the end", "subtitles by the amara org community",
    "please like and subscribe", "see you next time", "i will see you next time", "see you in the next one",
    "we will see you in the next one", "i am sorry", "music", "applause", "silence", "cheers", "here we go",
    "",  # fillers only ("Um.", "Hmm..."): normalisation leaves nothing
})


@dataclass(frozen=True)
class GuardConfig:
    """Thresholds for rejecting text (Whisper's own defaults where it has them)."""

    no_speech_prob: float = 0.6  # with avg_logprob below logprob_with_no_speech: Whisper's silence rule
    logprob_with_no_speech: float = -1.0
    min_avg_logprob: float = -1.5  # below this the segment is mostly guessing
    doubtful_logprob: float = -1.0  # below this, a segment must also look like speech in other ways ...
    doubtful_min_probability: float = 0.5  # ... mean word probability at least this
    doubtful_max_no_speech: float = 0.15  # ... and no_speech_prob at most this
    max_words_per_s: float = 8.0  # faster than any talker: text invented into a sliver of audio
    max_compression_ratio: float = 2.4  # gzip ratio of a looping segment
    max_ngram_repeats: int = 3  # consecutive repeats of one word kept before the loop is cut ("no no no")
    max_phrase_repeats: int = 2  # consecutive repeats of a 2-3 word phrase kept (decoder loops repeat phrases)
    # A phrase this long said twice in a row is almost always Whisper looping over audio it cannot read (in noise
    # it repeats a whole clause in place of the next words); talkers repeat short phrases, rarely long ones.
    long_phrase_words: int = 4
    max_long_phrase_repeats: int = 1
    max_phrase_words: int = 12  # longest phrase checked for repeats
    speech_pad_s: float = 0.3  # tolerance on word times vs. VAD speech regions
    phantom_min_probability: float = 0.75  # a phantom phrase survives only if this sure ...
    phantom_max_no_speech: float = 0.2  # ... and this sure it is speech


def normalize_key(text: str) -> str:
    """The form used to compare words and phrases: WER normalisation (case, punctuation, "2" = "two",
    contractions), so decodes that differ only in how they write a word still agree."""
    return normalize(text)


def looping(seg: Segment, cfg: GuardConfig = GuardConfig()) -> bool:
    """Whether ``seg`` looks like a decoder loop: gzip-compressible text or more words than a talker can say."""
    if seg.compression_ratio > cfg.max_compression_ratio:
        return True
    if len(seg.words) >= 3:
        span = seg.words[-1].end - seg.words[0].start
        return len(seg.words) > cfg.max_words_per_s * max(span, 1e-3)
    return False


def segment_rejected(seg: Segment, cfg: GuardConfig = GuardConfig()) -> str | None:
    """Why ``seg`` is rejected ("no_speech", "low_logprob", "doubtful", "word_rate", "compression"), or None."""
    if seg.no_speech_prob > cfg.no_speech_prob and seg.avg_logprob < cfg.logprob_with_no_speech:
        return "no_speech"
    if seg.avg_logprob < cfg.min_avg_logprob:
        return "low_logprob"
    if seg.avg_logprob < cfg.doubtful_logprob and seg.words:
        mean_p = sum(w.probability for w in seg.words) / len(seg.words)
        if mean_p < cfg.doubtful_min_probability or seg.no_speech_prob > cfg.doubtful_max_no_speech:
            return "doubtful"
    if looping(seg, cfg):
        return "compression" if seg.compression_ratio > cfg.max_compression_ratio else "word_rate"
    return None


def is_phantom(words: Sequence[Word], no_speech_prob: float, cfg: GuardConfig = GuardConfig()) -> bool:
    """True when ``words`` form a known phantom phrase and are not confidently speech."""
    phrase = " ".join(normalize_key(w.text) for w in words).strip()
    phrase = re.sub(r"\s+", " ", phrase)
    if phrase not in PHANTOM_PHRASES:
        return False
    if not phrase:
        return True  # only fillers: nothing worth a caption line
    mean_p = sum(w.probability for w in words) / max(1, len(words))
    return mean_p < cfg.phantom_min_probability or no_speech_prob > cfg.phantom_max_no_speech


def truncate_repeats(words: Sequence[Word], max_repeats: int = 3, max_n: int = 4,
                     max_phrase_repeats: int | None = None, long_phrase_words: int | None = None,
                     max_long_phrase_repeats: int = 1) -> list[Word]:
    """``words`` cut before the first n-gram (n <= ``max_n``) repeated more than allowed in a row: ``max_repeats``
    for single words, ``max_phrase_repeats`` (default: the same) for phrases of 2 or more words, and
    ``max_long_phrase_repeats`` for phrases of ``long_phrase_words`` or more (None: no separate limit)."""
    keys = [normalize_key(w.text) for w in words]
    for i in range(len(keys)):
        for n in range(1, max_n + 1):
            if i + 2 * n > len(keys):
                break
            if n == 1 or max_phrase_repeats is None:
                limit = max_repeats
            elif long_phrase_words is not None and n >= long_phrase_words:
                limit = max_long_phrase_repeats
            else:
                limit = max_phrase_repeats
            reps = 1
            while keys[i + reps * n: i + (reps + 1) * n] == keys[i: i + n] and i + (reps + 1) * n <= len(keys):
                reps += 1
            if reps > limit:
                return list(words[: i + limit * n])
    return list(words)


def repeats_long_phrase(words: Sequence[Word], cfg: GuardConfig = GuardConfig()) -> bool:
    """Whether ``words`` say a phrase of ``cfg.long_phrase_words`` or more words twice in a row (a decoder loop)."""
    cut = truncate_repeats(words, max_repeats=len(words) + 1, max_n=cfg.max_phrase_words,
                           max_phrase_repeats=len(words) + 1, long_phrase_words=cfg.long_phrase_words,
                           max_long_phrase_repeats=cfg.max_long_phrase_repeats)
    return len(cut) < len(words)


def overlaps_speech(word: Word, regions: Sequence[tuple[float, float]], pad_s: float) -> bool:
    """Whether ``word`` (s) overlaps any speech region (s, s) widened by ``pad_s`` s."""
    return any(word.start < e + pad_s and word.end > s - pad_s for s, e in regions)


def filter_segments(segments: Sequence[Segment], regions: Sequence[tuple[float, float]] | None = None,
                    cfg: GuardConfig = GuardConfig()) -> tuple[list[Word], list[str]]:
    """Words that pass every guard, plus the reasons for what was dropped; ``regions`` (s) on the same clock."""
    kept: list[Word] = []
    dropped: list[str] = []
    for seg in segments:
        reason = segment_rejected(seg, cfg)
        if reason:
            dropped.append(f"{reason}: {seg.text}")
            continue
        words = list(seg.words)
        if regions is not None:
            inside = [w for w in words if overlaps_speech(w, regions, cfg.speech_pad_s)]
            if len(inside) < len(words):
                dropped.append(f"outside_speech: {' '.join(w.text for w in words if w not in inside)}")
            words = inside
        if words and is_phantom(words, seg.no_speech_prob, cfg):
            dropped.append(f"phantom: {seg.text}")
            continue
        kept.extend(words)
    loop_free = truncate_repeats(kept, cfg.max_ngram_repeats, cfg.max_phrase_words, cfg.max_phrase_repeats,
                                 cfg.long_phrase_words, cfg.max_long_phrase_repeats)
    if len(loop_free) < len(kept):
        dropped.append(f"repeats: {' '.join(w.text for w in kept[len(loop_free):])}")
    return loop_free, dropped
