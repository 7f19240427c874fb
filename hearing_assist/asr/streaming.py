"""Live captioning: a VAD-gated streaming recognizer with a LocalAgreement commit policy.

Feed 16 kHz audio chunks with :meth:`StreamingRecognizer.accept` from one worker thread. Policy, in order of
importance for people who rely on the text:

1. Nothing is decoded while the VAD hears silence (the main guard against invented text), so nothing is shown.
2. Committed words never change. A word is committed when ``agreement`` consecutive decodes of the growing
   utterance buffer agree on it and everything before it (LocalAgreement-n, Machacek et al. 2023); the rest of
   the latest hypothesis is shown as a tentative tail that may still change. A word Whisper is sure of, well behind
   the audio's end, that the previous decode heard cut off or not at all is committed by one decode, a step sooner.
3. When the VAD hears a pause of ``vad.min_silence_s`` s the utterance ends and everything heard is committed; the
   words not yet agreed on come from one beam-search decode (``final_beam_size``), the rest stay as they were.
4. The buffer is trimmed at committed sentence ends when it grows long; committed text before the buffer is the
   decoder's prompt so context survives trimming.
5. Real time beats completeness of tentative text: when the caller reports a backlog the tentative re-decode is
   skipped (the worker should pass all queued audio in one call, which coalesces decodes by itself).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from hearing_assist.asr.agreement import after_committed, agreed_prefix
from hearing_assist.asr.engine import Engine
from hearing_assist.asr.guards import GuardConfig, filter_segments
from hearing_assist.asr.transcript import CaptionUpdate, Word
from hearing_assist.asr.vad import SAMPLE_RATE, SileroVad, VadConfig, VadSegmenter

SENTENCE_END = (".", "?", "!")
# Times are float s: 12.3 - 11.8 < 0.5. Without a tolerance most 0.5 s steps fed in 0.1 s chunks became 0.6 s.
STEP_TOLERANCE_S = 1e-6
LIVE_CHUNK_S = 0.1  # audio the app's caption worker hands over at a time (s); the step decides when to decode
_TRAILING_PUNCT = ".,?!;:-… "


def displayable_tail(words: list[Word], min_probability: float) -> tuple[Word, ...]:
    """The tentative words worth showing: up to the first doubtful one (likely invented or cut off), and without
    trailing punctuation, which Whisper flips between decodes ("so..." / "so,") and would make the line flicker;
    punctuation appears when the word is committed."""
    out = []
    for w in words:
        if w.probability < min_probability:
            break
        text = w.text.rstrip(_TRAILING_PUNCT)
        if text:
            out.append(Word(text, w.start, w.end, w.probability))
    return tuple(out)


@dataclass(frozen=True)
class StreamingConfig:
    """Live policy settings; times in s."""

    step_s: float = 0.5  # new audio needed before the next tentative decode
    agreement: int = 2  # consecutive agreeing hypotheses needed to commit (LocalAgreement-n)
    preroll_s: float = 0.3  # audio kept before the VAD's speech start (onsets are soft)
    end_pad_s: float = 0.25  # audio kept after the VAD's speech end for the final decode
    max_buffer_s: float = 10.0  # trim at a committed sentence end beyond this
    hard_buffer_s: float = 20.0  # beyond this, trim at any committed word or force-commit (endless speech)
    max_backlog_s: float = 2.0  # queued audio beyond this skips tentative decodes
    # once the VAD has heard this much silence the utterance is probably ending: the tentative decode is skipped,
    # since the decode at the pause (min_silence_s) hears the same audio with a wider search. Saves ~1 decode in 6.
    skip_in_silence_s: float = 0.3
    prompt_chars: int = 200  # committed text passed as the decoder prompt
    # beam for the one decode at a pause that commits the utterance's tail (None: reuse the last greedy decode)
    final_beam_size: int | None = 5
    # words the pause commits without agreement are dropped from the utterance's end while Whisper rates them below
    # this: at the start of noise it tacks on a word it is sure is not there ("Cool." at p = 0.05)
    final_min_probability: float = 0.1
    tentative_min_probability: float = 0.3  # the tentative tail is shown up to its first word below this
    # A word is committed by one decode, one step (step_s) sooner, when it ended at least this long before the
    # audio's end, Whisper is this sure of it (and of every uncommitted word before it) and the previous decode had
    # no word there or one that its audio's end cut off. None: LocalAgreement only.
    early_commit_margin_s: float | None = 0.3
    early_commit_min_probability: float = 0.9
    vad: VadConfig = VadConfig(min_silence_s=0.6)
    guards: GuardConfig = GuardConfig()


@dataclass
class StreamStats:
    """Counters for tests and benchmarks."""

    decodes: int = 0
    final_decodes: int = 0
    reused_finals: int = 0
    skipped_for_backlog: int = 0
    skipped_in_silence: int = 0
    forced_commits: int = 0
    early_commits: int = 0  # words committed by one decode (early_commit_margin_s)
    compute_s: float = 0.0
    decoded_until_s: list[float] = field(default_factory=list)  # stream time each decode's audio ended at
    dropped: list[str] = field(default_factory=list)


class StreamingRecognizer:
    """Turns a stream of 16 kHz chunks into :class:`CaptionUpdate` s (committed words appended, tentative replaced)."""

    def __init__(self, engine: Engine, config: StreamingConfig = StreamingConfig(), vad: SileroVad | None = None):
        self.engine = engine
        self.config = config
        self.vad = vad or SileroVad()
        self.reset()

    def reset(self) -> None:
        """Start a new stream at time 0 (keeps the engine and VAD model)."""
        self.vad.reset()
        self.segmenter = VadSegmenter(self.config.vad)
        self.stats = StreamStats()
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start_s = 0.0  # stream time of _buf[0]
        self._received_n = 0  # samples: time is derived from a count, since sums of 0.1 s chunks drift
        self._regions: list[list[float | None]] = []  # VAD speech [start, end or None] in stream s, in buffer
        self.committed: list[Word] = []
        self._committed_end_s = 0.0
        self._hyps: list[list[Word]] = []  # uncommitted remainders of the last hypotheses (for agreement)
        self._last_decode_end_s = -1.0  # stream time the last decode's audio reached
        self._prev_decode_end_s = -1.0  # and the one before
        self._last_hyp_all: list[Word] = []  # full guarded hypothesis of the last decode (absolute s)
        self.tentative: tuple[Word, ...] = ()

    # ------------------------------------------------------------------ public
    @property
    def buffer_start_s(self) -> float:
        """Stream time in s of the first sample in the utterance buffer."""
        return self._buf_start_s

    @property
    def received_s(self) -> float:
        """Stream time in s up to which audio has been received."""
        return self._received_n / SAMPLE_RATE

    @property
    def in_speech(self) -> bool:
        """Whether the VAD currently considers the stream to be in an utterance."""
        return self.segmenter.in_speech

    def accept(self, chunk_16k: np.ndarray, backlog_s: float = 0.0) -> CaptionUpdate | None:
        """Consume a chunk (16 kHz mono float32); ``backlog_s`` = audio s still queued behind it. None = no change."""
        chunk = np.asarray(chunk_16k, dtype=np.float32).ravel()
        self._buf = np.concatenate([self._buf, chunk])
        self._received_n += len(chunk)
        old_tentative = self.tentative
        committed: list[Word] = []
        ended = False
        for ev in self.segmenter.feed(self.vad.process(chunk)):
            if ev.kind == "start":
                self._regions.append([ev.time_s, None])
            elif self._regions:
                self._regions[-1][1] = ev.time_s
                committed += self._finish_utterance(ev.time_s)
                ended = True
        if not self.segmenter.in_speech:
            self._trim_silence()
        elif self.received_s - self._last_decode_end_s >= self.config.step_s - STEP_TOLERANCE_S:
            if backlog_s > self.config.max_backlog_s:
                self.stats.skipped_for_backlog += 1
            elif self.segmenter.silence_s >= self.config.skip_in_silence_s:
                self.stats.skipped_in_silence += 1
            else:
                committed += self._decode_and_commit()
        if committed or self.tentative != old_tentative:
            return CaptionUpdate(tuple(committed), self.tentative, self.received_s, ended)
        return None

    def flush(self) -> CaptionUpdate | None:
        """End of stream: commit whatever the open utterance holds."""
        if not self._regions or self._regions[-1][1] is not None:
            if not self.tentative:
                return None
        end = self.received_s
        if self._regions and self._regions[-1][1] is None:
            self._regions[-1][1] = end
        committed = self._finish_utterance(end)
        return CaptionUpdate(tuple(committed), (), self.received_s, True)

    # ------------------------------------------------------------------ policy
    def _prompt(self) -> str:
        # Only text before the buffer: words inside it will be recognised again from the audio. Walk back from
        # the newest word so the cost stays flat however long the session gets.
        picked: list[str] = []
        size = 0
        for w in reversed(self.committed):
            if w.end > self._buf_start_s + 0.05:
                continue
            if size + len(w.text) + 1 > self.config.prompt_chars:
                break
            picked.append(w.text)
            size += len(w.text) + 1
        return " ".join(reversed(picked))

    def _regions_rel(self, until_s: float) -> list[tuple[float, float]]:
        return [(s - self._buf_start_s, (e if e is not None else until_s) - self._buf_start_s)
                for s, e in self._regions]

    def _decode(self, end_s: float, beam_size: int | None = None, final: bool = False) -> list[Word]:
        """Guarded words (absolute s) of the buffer up to stream time ``end_s``; ``beam_size`` None: the engine's;
        ``final``: the words are committed as they come (see :meth:`Engine.transcribe`)."""
        n = int(round((end_s - self._buf_start_s) * SAMPLE_RATE))
        audio = self._buf[:max(0, n)]
        t0 = time.perf_counter()
        tr = self.engine.transcribe(audio, self._prompt(), beam_size=beam_size, final=final)
        self.stats.compute_s += time.perf_counter() - t0
        self.stats.decodes += 1
        self.stats.decoded_until_s.append(end_s)
        words, dropped = filter_segments(tr.segments, self._regions_rel(end_s), self.config.guards)
        self.stats.dropped += dropped
        self._prev_decode_end_s, self._last_decode_end_s = self._last_decode_end_s, end_s
        return [w.shifted(self._buf_start_s) for w in words]

    def _commit(self, words: list[Word]) -> list[Word]:
        if words:
            self.committed.extend(words)
            self._committed_end_s = max(self._committed_end_s, words[-1].end)
        return words

    def _decode_and_commit(self) -> list[Word]:
        hyp = self._decode(self.received_s)
        self._last_hyp_all = hyp
        new = after_committed(hyp, self.committed, self._committed_end_s)
        n = self.config.agreement
        if n <= 1:
            k = len(new)
        elif len(self._hyps) >= n - 1:
            k = agreed_prefix(self._hyps[-(n - 1):] + [new])
        else:
            k = 0
        agreed, k = k, self._early_commits(new, k)
        self.stats.early_commits += k - agreed
        done = self._commit(new[:k])
        # Earlier hypotheses lose the committed prefix so all remainders start right after the committed end.
        self._hyps = [h[k:] for h in (self._hyps + [new])[-max(1, n - 1):]]
        self.tentative = displayable_tail(new[k:], self.config.tentative_min_probability)
        done += self._trim_long_buffer()
        return done

    def _early_commits(self, new: list[Word], k: int) -> int:
        """``k`` (words agreed) extended over words well behind the decoded audio's end that Whisper is sure of
        (see ``early_commit_margin_s``), where the previous decode had no word or one it heard cut off by the end
        of its audio. A word the previous decode read differently with all of it heard waits for agreement: that
        disagreement is the sign of a doubtful word."""
        c = self.config
        if c.early_commit_margin_s is None:
            return k
        prev = self._hyps[-1] if self._hyps else []
        cut_off = self._prev_decode_end_s - c.early_commit_margin_s
        edge = self._last_decode_end_s - c.early_commit_margin_s
        while (k < len(new) and new[k].end <= edge and new[k].probability >= c.early_commit_min_probability
               and (k >= len(prev) or prev[k].end > cut_off)):
            k += 1
        return k

    def _finish_utterance(self, speech_end_s: float) -> list[Word]:
        """Commit everything up to ``speech_end_s`` (s) and drop that audio."""
        end = min(self.received_s, speech_end_s + self.config.end_pad_s)
        beam = self.config.final_beam_size
        if beam and end - max(self._committed_end_s, self._buf_start_s) >= 0.1:
            # One wider search per utterance for the words not yet agreed on: they are committed now without a
            # second opinion, and greedy decoding errs most on them. Cheap: once per pause, not per step.
            hyp = self._decode(end, beam_size=beam, final=True)
            self.stats.final_decodes += 1
        elif self._last_decode_end_s >= end and self._last_hyp_all:
            hyp = self._last_hyp_all  # the last tentative decode already heard all of it: no extra compute
            self.stats.reused_finals += 1
        else:
            hyp = self._decode(end, final=True)
            self.stats.final_decodes += 1
        new = [w for w in after_committed(hyp, self.committed, self._committed_end_s) if w.start < end]
        while new and new[-1].probability < self.config.final_min_probability:
            self.stats.dropped.append(f"doubtful_tail: {new.pop().text}")
        done = self._commit(new)
        self._hyps, self._last_hyp_all, self.tentative = [], [], ()
        open_starts = [s for s, e in self._regions if e is None]
        cut = speech_end_s if not open_starts else max(speech_end_s, open_starts[0] - self.config.preroll_s)
        # Whisper often places the last word's end after the VAD's speech end; audio already committed must not be
        # heard again by the next utterance's decodes, or its tail comes back as a duplicated word.
        cut = max(cut, min(self._committed_end_s, open_starts[0] if open_starts else self.received_s))
        self._drop_before(min(cut, self.received_s))
        return done

    def _trim_silence(self) -> None:
        # Keep enough audio for the VAD's late speech start (min_speech_s) plus the pre-roll.
        keep = self.config.preroll_s + self.config.vad.min_speech_s + 0.1
        self._drop_before(max(self._buf_start_s, self.received_s - keep))
        self._hyps, self._last_hyp_all = [], []

    def _trim_long_buffer(self) -> list[Word]:
        c = self.config
        length = self.received_s - self._buf_start_s
        if length <= c.max_buffer_s:
            return []
        in_buf = []  # committed words still inside the buffer, oldest first (walk back: sessions get long)
        for w in reversed(self.committed):
            if w.end <= self._buf_start_s:
                break
            in_buf.append(w)
        in_buf.reverse()
        cut = next((w.end for w in reversed(in_buf) if w.text.endswith(SENTENCE_END)), None)
        if cut is None and length > c.hard_buffer_s:
            if in_buf:
                cut = in_buf[-1].end
            else:
                # Nothing agreed for hard_buffer_s: commit the tentative words that are well behind the edge.
                pending = self._hyps[-1] if self._hyps else []
                forced = [w for w in pending if w.end < self.received_s - 1.0]
                self.stats.forced_commits += 1
                self._commit(forced)
                self._hyps = [pending[len(forced):]]
                self.tentative = displayable_tail(self._hyps[0], self.config.tentative_min_probability)
                if forced:
                    self._drop_before(forced[-1].end)
                return forced
        if cut is not None:
            self._drop_before(cut)
        return []

    def _drop_before(self, t_s: float) -> None:
        n = int(round((t_s - self._buf_start_s) * SAMPLE_RATE))
        if n <= 0:
            return
        self._buf = self._buf[n:]
        self._buf_start_s += n / SAMPLE_RATE
        self._regions = [[max(s, self._buf_start_s), e] for s, e in self._regions
                         if e is None or e > self._buf_start_s]
