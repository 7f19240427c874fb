"""The speech-recognition engine: Whisper through CTranslate2 (faster-whisper), int8 on CPU, offline only.

:class:`Engine` is the interface the streaming recognizer and file captioning use; :class:`WhisperEngine` is the
embedded default. Times in the returned :class:`Transcript` are seconds from the start of the given audio.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Protocol

import numpy as np

from hearing_assist.asr.guards import looping, repeats_long_phrase
from hearing_assist.asr.models import CTRANSLATE2, ModelError, ModelRegistry
from hearing_assist.asr.transcript import Segment, Transcript, Word

SAMPLE_RATE = 16000

# Never reach the network for a model: the app ships its weights, and a hub lookup would stall offline machines.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Engine(Protocol):
    """Anything that turns 16 kHz mono float32 audio into a :class:`Transcript`."""

    def transcribe(self, audio_16k: np.ndarray, prompt: str = "", beam_size: int | None = None,
                   final: bool = False) -> Transcript:
        """Decode ``audio_16k`` (16 kHz mono float32), conditioned on ``prompt`` (previous text); ``beam_size``
        None: the engine's own; ``final``: the words will be committed as they are (worth extra effort)."""
        ...


def default_threads() -> int:
    """CTranslate2 threads: ``$HEARING_ASSIST_ASR_THREADS`` or 2 (the target machine has 2 cores to share)."""
    return max(1, int(os.environ.get("HEARING_ASSIST_ASR_THREADS", "2")))


FRAMES_PER_S = 100  # Whisper's log-mel hop is 10 ms
WINDOW_FRAMES = 3000  # the 30 s window Whisper was trained on


def silence_padded(features: np.ndarray, content_frames: int, frames: int) -> np.ndarray:
    """``features`` (…, n_mels, T) cut to ``content_frames`` and padded to ``frames`` with the log-mel of silence.

    Whisper was trained on audio zero-padded *before* the log-mel, so its padding sits at the clamped floor (the
    clip's maximum minus 8 in log10, i.e. ``max - 2`` after Whisper's (x + 4) / 4 scaling). faster-whisper pads the
    features with 0 instead (a steady hum to the model); the real floor reads better in noise.
    """
    content = features[..., :max(1, content_frames)]
    out = np.full(content.shape[:-1] + (frames,), content.max() - 2.0, dtype=content.dtype)
    n = min(frames, content.shape[-1])
    out[..., :n] = content[..., :n]
    return out


def content_frames(features: np.ndarray) -> int:
    """Frames of ``features`` (…, n_mels, T) before faster-whisper's zero padding (exact zeros in every mel bin)."""
    nonzero = np.flatnonzero(np.any(features.reshape(-1, features.shape[-1]) != 0.0, axis=0))
    return int(nonzero[-1]) + 1 if nonzero.size else 0


@functools.cache  # one subclass, however many engines are made
def _window_model_class():
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):
        """faster-whisper whose encoder reads the audio plus ``pad_frames`` of silence instead of always 30 s.

        The encoder's cost grows faster than linearly with its input (250 ms for 30 s vs 120 ms for 20 s here), and
        live captions decode a few seconds of audio twice a second. Too little padding makes Whisper loop (it never
        sees the end of the window), so the decode length is also bounded.
        """

        pad_frames: int | None = None  # None: the full 30 s window

        def encode(self, features: np.ndarray):
            content = content_frames(features)
            frames = WINDOW_FRAMES if self.pad_frames is None else min(WINDOW_FRAMES, content + self.pad_frames)
            return super().encode(silence_padded(features, content, frames))

        def _split_segments_by_timestamps(self, tokenizer, tokens, time_offset, segment_size, segment_duration,
                                          seek):
            """One window per decode when the window holds all the audio (the live buffer).

            faster-whisper decodes again from the last timestamp or word end when a window does not end on a
            lone timestamp: right for a long file, whose next window holds more audio. A live buffer has no more,
            and its end is mid-sentence nearly every step: the second window read the last 20-140 ms (or the
            unfinished sentence again, with less context) at the cost of a whole decode, and on those scraps
            Whisper invents text. So the unfinished tail is kept as a segment ending at the audio's end.
            """
            segments, next_seek, single_ending = super()._split_segments_by_timestamps(
                tokenizer, tokens, time_offset, segment_size, segment_duration, seek)
            if self.pad_frames is None or segment_size >= self.feature_extractor.nb_max_frames:
                return segments, next_seek, single_ending
            pairs = [i for i in range(1, len(tokens))
                     if tokens[i] >= tokenizer.timestamp_begin and tokens[i - 1] >= tokenizer.timestamp_begin]
            tail = tokens[pairs[-1]:] if pairs and not single_ending else []
            if any(t < tokenizer.eot for t in tail):  # words after the last segment boundary
                start = time_offset + (tail[0] - tokenizer.timestamp_begin) * self.time_precision
                segments.append(dict(seek=seek, start=start, end=time_offset + segment_duration, tokens=tail))
            return segments, seek + segment_size, True

    return WindowedWhisperModel


class WhisperEngine:
    """faster-whisper on a registered CTranslate2 model; English, word timestamps, raw quality figures kept.

    ``temperatures`` is Whisper's fallback ladder: one value (greedy/beam at 0) keeps live decoding cheap and
    deterministic; offline use may pass more for robustness. ``window_pad_s`` (s): the encoder reads the audio plus
    this much silence instead of the full 30 s window (None), which is much cheaper for the short live buffer.
    """

    def __init__(self, model_id: str | None = None, registry: ModelRegistry | None = None, beam_size: int = 1,
                 cpu_threads: int | None = None, compute_type: str = "int8",
                 temperatures: tuple[float, ...] = (0.0,), window_pad_s: float | None = None) -> None:
        self.registry = registry or ModelRegistry()
        self.entry = self.registry.resolve(model_id)
        if self.entry.format != CTRANSLATE2:
            raise ModelError(f"{self.entry.id}: {self.entry.format} models are registered but not supported yet by "
                             f"the engine; convert the folder to CTranslate2 (ct2-transformers-converter) meanwhile")
        self.beam_size = beam_size
        self.temperatures = temperatures
        self.window_pad_s = window_pad_s
        self.window_retries = 0  # decodes redone on the full window because the short one looped
        self.model = _window_model_class()(str(self.entry.path), device="cpu", compute_type=compute_type,
                                           cpu_threads=cpu_threads or default_threads(), num_workers=1,
                                           local_files_only=True)

    def transcribe(self, audio_16k: np.ndarray, prompt: str = "", beam_size: int | None = None,
                   final: bool = False) -> Transcript:
        """Decode ``audio_16k`` (16 kHz mono float32) with ``prompt`` as previous text; times in s from its start.

        ``final``: the words are committed without a second look, so a short-window decode that loops is redone on
        the full window. A tentative decode (``final=False``) is not: the guards drop the looping segment and the
        next step decodes the audio again anyway (the redo cost ~15 % of live captioning's CPU in noise).
        """
        t0 = time.perf_counter()
        audio = np.ascontiguousarray(audio_16k, dtype=np.float32)
        if audio.size < SAMPLE_RATE // 10:  # under 0.1 s: nothing Whisper can read, and it pads to 30 s anyway
            return Transcript((), time.perf_counter() - t0)
        segments = self._decode(audio, prompt, beam_size or self.beam_size, self.window_pad_s)
        if final and self.window_pad_s is not None and any(looping(s) or repeats_long_phrase(s.words)
                                                            for s in segments):
            # A window that ends too close to the speech can make Whisper repeat itself; the full 30 s one rarely
            # does. One extra decode on the few windows that loop keeps their words instead of dropping them.
            self.window_retries += 1
            segments = self._decode(audio, prompt, beam_size or self.beam_size, None)
        return Transcript(tuple(segments), time.perf_counter() - t0)

    def _decode(self, audio: np.ndarray, prompt: str, beam_size: int, window_pad_s: float | None) -> list[Segment]:
        seconds = audio.size / SAMPLE_RATE
        self.model.pad_frames = None if window_pad_s is None else int(window_pad_s * FRAMES_PER_S)
        # A talker says at most ~4 tokens/s; a decode far beyond that is a loop, cut short so it cannot eat the CPU.
        max_new_tokens = min(220, int(20 + 12 * seconds))  # + prompt (<= 223) stays under 448
        segments, _info = self.model.transcribe(
            audio, language="en", task="transcribe", beam_size=beam_size,
            temperature=list(self.temperatures), initial_prompt=prompt or None,
            condition_on_previous_text=False, word_timestamps=True, vad_filter=False,
            # Keep every segment: the guards in hearing_assist.asr.guards decide with all figures in one place.
            no_speech_threshold=None, log_prob_threshold=None, compression_ratio_threshold=2.4,
            max_new_tokens=max_new_tokens,
        )
        out = []
        for s in segments:
            words = tuple(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                          for w in (s.words or []) if w.word.strip())
            out.append(Segment(s.text.strip(), float(s.start), float(s.end), words, float(s.no_speech_prob),
                               float(s.avg_logprob), float(s.compression_ratio)))
        return out


# Live decodes read the buffer plus 10 s of silence instead of 30 s: about half the CPU of the full window with the
# same accuracy on the benchmark speech (docs/benchmarks.md); shorter pads make Whisper loop too often.
LIVE_WINDOW_PAD_S = 10.0
# Live tentative decodes: beam 3. Greedy's acoustic slips ("clubs" -> "clothes") are what LocalAgreement then
# commits; beam 3 cut live WER on the benchmark's clean stream from ~5.5 to ~4 % for ~2 points of CPU
# (of 2 cores), affordable since each step is one decode (see WindowedWhisperModel).
LIVE_BEAM_SIZE = 3

_shared: dict[tuple, WhisperEngine] = {}


def shared_engine(model_id: str | None = None, beam_size: int = LIVE_BEAM_SIZE, cpu_threads: int | None = None,
                  window_pad_s: float | None = LIVE_WINDOW_PAD_S) -> WhisperEngine:
    """A process-wide engine per settings, so the 75 MB model loads once; defaults are the live settings."""
    key = (model_id, beam_size, cpu_threads, window_pad_s)
    if key not in _shared:
        _shared[key] = WhisperEngine(model_id, beam_size=beam_size, cpu_threads=cpu_threads,
                                     window_pad_s=window_pad_s)
    return _shared[key]
