"""The speech-recognition engine: Whisper through CTranslate2 (faster-whisper), int8 on CPU, offline only.

:class:`Engine` is the interface the streaming recognizer and file captioning use; :class:`WhisperEngine` is the
embedded default. Times in the returned :class:`Transcript` are seconds from the start of the given audio.
"""

from __future__ import annotations

import os
import time
from typing import Protocol

import numpy as np

from hearing_assist.asr.models import CTRANSLATE2, ModelError, ModelRegistry
from hearing_assist.asr.transcript import Segment, Transcript, Word

SAMPLE_RATE = 16000

# Never reach the network for a model: the app ships its weights, and a hub lookup would stall offline machines.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Engine(Protocol):
    """Anything that turns 16 kHz mono float32 audio into a :class:`Transcript`."""

    def transcribe(self, audio_16k: np.ndarray, prompt: str = "") -> Transcript:
        """Decode ``audio_16k`` (16 kHz mono float32), conditioned on ``prompt`` (previous text)."""
        ...


def default_threads() -> int:
    """CTranslate2 threads: ``$HEARING_ASSIST_ASR_THREADS`` or 2 (the target machine has 2 cores to share)."""
    return max(1, int(os.environ.get("HEARING_ASSIST_ASR_THREADS", "2")))


class WhisperEngine:
    """faster-whisper on a registered CTranslate2 model; English, word timestamps, raw quality figures kept.

    ``temperatures`` is Whisper's fallback ladder: one value (greedy/beam at 0) keeps live decoding cheap and
    deterministic; offline use may pass more for robustness.
    """

    def __init__(self, model_id: str | None = None, registry: ModelRegistry | None = None, beam_size: int = 1,
                 cpu_threads: int | None = None, compute_type: str = "int8",
                 temperatures: tuple[float, ...] = (0.0,)) -> None:
        self.registry = registry or ModelRegistry()
        self.entry = self.registry.resolve(model_id)
        if self.entry.format != CTRANSLATE2:
            raise ModelError(f"{self.entry.id}: {self.entry.format} models are registered but not supported yet by "
                             f"the engine; convert the folder to CTranslate2 (ct2-transformers-converter) meanwhile")
        from faster_whisper import WhisperModel

        self.beam_size = beam_size
        self.temperatures = temperatures
        self.model = WhisperModel(str(self.entry.path), device="cpu", compute_type=compute_type,
                                  cpu_threads=cpu_threads or default_threads(), num_workers=1,
                                  local_files_only=True)

    def transcribe(self, audio_16k: np.ndarray, prompt: str = "", beam_size: int | None = None) -> Transcript:
        """Decode ``audio_16k`` (16 kHz mono float32) with ``prompt`` as previous text; times in s from its start."""
        t0 = time.perf_counter()
        audio = np.ascontiguousarray(audio_16k, dtype=np.float32)
        if audio.size < SAMPLE_RATE // 10:  # under 0.1 s: nothing Whisper can read, and it pads to 30 s anyway
            return Transcript((), time.perf_counter() - t0)
        segments, _info = self.model.transcribe(
            audio, language="en", task="transcribe", beam_size=beam_size or self.beam_size,
            temperature=list(self.temperatures), initial_prompt=prompt or None,
            condition_on_previous_text=False, word_timestamps=True, vad_filter=False,
            # Keep every segment: the guards in hearing_assist.asr.guards decide with all figures in one place.
            no_speech_threshold=None, log_prob_threshold=None, compression_ratio_threshold=2.4,
        )
        out = []
        for s in segments:
            words = tuple(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                          for w in (s.words or []) if w.word.strip())
            out.append(Segment(s.text.strip(), float(s.start), float(s.end), words, float(s.no_speech_prob),
                               float(s.avg_logprob), float(s.compression_ratio)))
        return Transcript(tuple(out), time.perf_counter() - t0)


_shared: dict[tuple, WhisperEngine] = {}


def shared_engine(model_id: str | None = None, beam_size: int = 1, cpu_threads: int | None = None) -> WhisperEngine:
    """A process-wide engine per (model, beam, threads), so the 75 MB model loads once."""
    key = (model_id, beam_size, cpu_threads)
    if key not in _shared:
        _shared[key] = WhisperEngine(model_id, beam_size=beam_size, cpu_threads=cpu_threads)
    return _shared[key]
