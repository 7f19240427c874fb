"""Voice activity detection: Silero VAD (ONNX, run with onnxruntime) and a hysteresis speech segmenter.

The model file is read from the installed ``silero-vad`` package without importing it (its ``__init__`` imports
torch, which costs seconds and hundreds of MB). Silero takes 512-sample windows at 16 kHz (32 ms) plus the last
64 samples of the previous window as context, and carries a recurrent state between windows.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 512  # samples per Silero window at 16 kHz
WINDOW_S = WINDOW / SAMPLE_RATE
CONTEXT = 64  # samples of the previous window that Silero v5+ expects in front of each window


def silero_onnx_path() -> Path:
    """Path of ``silero_vad.onnx`` inside the installed silero-vad package (raises FileNotFoundError if absent)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package silero-vad is not installed")
    p = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing from the silero-vad package")
    return p


class SileroVad:
    """Streaming Silero VAD: feed any amount of 16 kHz audio, get one speech probability per 32 ms window."""

    def __init__(self, model_path: Path | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one 32 ms window is far too small to split across threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path or silero_onnx_path()), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the recurrent state, context and any partial window."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.windows_done = 0

    def window_prob(self, window: np.ndarray) -> float:
        """Speech probability (0..1) of one 512-sample window, advancing the stream state."""
        x = np.concatenate([self._context, np.asarray(window, dtype=np.float32).reshape(1, WINDOW)], axis=1)
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[:, -CONTEXT:]
        self.windows_done += 1
        return float(out[0, 0])

    def process(self, audio_16k: np.ndarray) -> np.ndarray:
        """Probabilities for every complete window in the stream so far not yet scored (remainder kept)."""
        buf = np.concatenate([self._pending, np.asarray(audio_16k, dtype=np.float32).ravel()])
        n = len(buf) // WINDOW
        probs = np.array([self.window_prob(buf[i * WINDOW:(i + 1) * WINDOW]) for i in range(n)], dtype=np.float32)
        self._pending = buf[n * WINDOW:]
        return probs


@dataclass(frozen=True)
class VadConfig:
    """Segmenter thresholds: enter speech at ``threshold``, leave below ``neg_threshold`` (hysteresis); speech
    must last ``min_speech_s`` s to count, silence ``min_silence_s`` s to end it."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.15
    min_silence_s: float = 0.6


@dataclass(frozen=True)
class VadEvent:
    """``kind`` "start" or "end" of speech at stream time ``time_s`` s (end = where the silence began)."""

    kind: str
    time_s: float


class VadSegmenter:
    """Hysteresis over window probabilities; emits speech start/end events with stream times in s."""

    def __init__(self, config: VadConfig = VadConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Back to silence at stream time 0."""
        self.in_speech = False
        self.windows = 0
        self._candidate: float | None = None  # where a possible speech start began
        self._silence_from: float | None = None  # where the current silence inside speech began

    @property
    def time_s(self) -> float:
        """Stream time in s at the end of the last window seen."""
        return self.windows * WINDOW_S

    def feed(self, probs: np.ndarray) -> list[VadEvent]:
        """Advance by one window per probability; returns the events those windows caused, in order."""
        c = self.config
        events = []
        for p in probs:
            t0 = self.windows * WINDOW_S
            self.windows += 1
            t1 = self.windows * WINDOW_S
            if not self.in_speech:
                if p >= c.threshold:
                    if self._candidate is None:
                        self._candidate = t0
                    if t1 - self._candidate >= c.min_speech_s:
                        self.in_speech = True
                        self._silence_from = None
                        events.append(VadEvent("start", self._candidate))
                elif p < c.neg_threshold:
                    self._candidate = None
            else:
                if p < c.neg_threshold:
                    if self._silence_from is None:
                        self._silence_from = t0
                    if t1 - self._silence_from >= c.min_silence_s:
                        self.in_speech = False
                        self._candidate = None
                        events.append(VadEvent("end", self._silence_from))
                elif p >= c.threshold:
                    self._silence_from = None
        return events

    @property
    def silence_s(self) -> float:
        """How long the current in-speech silence has lasted in s (0 when not inside one)."""
        if not self.in_speech or self._silence_from is None:
            return 0.0
        return self.time_s - self._silence_from


def speech_regions(audio_16k: np.ndarray, config: VadConfig = VadConfig(), pad_s: float = 0.2,
                   vad: SileroVad | None = None) -> list[tuple[float, float]]:
    """Speech (start, end) pairs in s over a whole recording, each padded by ``pad_s`` s, overlaps merged."""
    vad = vad or SileroVad()
    vad.reset()
    seg = VadSegmenter(config)
    events = seg.feed(vad.process(np.concatenate([audio_16k, np.zeros(WINDOW, np.float32)])))
    if seg.in_speech:
        events.append(VadEvent("end", seg.time_s))
    dur = len(audio_16k) / SAMPLE_RATE
    regions: list[tuple[float, float]] = []
    start = None
    for e in events:
        if e.kind == "start":
            start = e.time_s
        elif start is not None:
            s, t = max(0.0, start - pad_s), min(dur, e.time_s + pad_s)
            if regions and s <= regions[-1][1]:
                regions[-1] = (regions[-1][0], t)
            else:
                regions.append((s, t))
            start = None
    return regions
