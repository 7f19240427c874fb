"""The ASR worker: audio tap (48 kHz) → 16 kHz → streaming recogniser → caption model, on its own thread.

It never blocks the audio (it only reads a ring buffer the audio side fills) nor the GUI (the GUI renders the
caption model's immutable snapshots). When decoding falls behind, the recogniser is told the backlog and skips
tentative decodes rather than queueing forever; if the ring overflows, the oldest unread audio is what is lost,
and the loss is counted.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from hearing_assist.asr.captions import CaptionModel
from hearing_assist.asr.streaming import LIVE_CHUNK_S, StreamingRecognizer
from hearing_assist.audio.ring_buffer import RingBuffer
from hearing_assist.denoise.streaming import StreamingResampler, design_lowpass

TAP_RATE = 48000
ASR_RATE = 16000
CHUNK_IN = int(round(LIVE_CHUNK_S * TAP_RATE))  # per resampler step and recognizer call: 100 ms at 48 kHz


class LiveCaptioner:
    """Runs a :class:`StreamingRecognizer` over a tap on a worker thread and feeds a :class:`CaptionModel`."""

    def __init__(self, tap: RingBuffer, model: CaptionModel,
                 make_recognizer: Callable[[], StreamingRecognizer] | None = None, denoise: bool = False):
        """``denoise`` runs DeepFilterNet3 on the 16 kHz captions audio (here, not in the audio process)."""
        self.tap = tap
        self.model = model
        self.denoise = denoise
        self._make_recognizer = make_recognizer or _default_recognizer
        self._resampler = StreamingResampler(1, 3, design_lowpass(121, 1, 3), CHUNK_IN)
        self._chunk_in = np.zeros(CHUNK_IN, dtype=np.float32)
        self._chunk_out = np.zeros(CHUNK_IN // 3, dtype=np.float32)
        self._stop = threading.Event()
        self._flush_on_stop = True
        self._thread: threading.Thread | None = None
        self.error = ""
        self.ready = threading.Event()  # set once the model is loaded
        self.audio_s = 0.0  # audio consumed so far
        self.busy_s = 0.0  # time spent in the recogniser

    def start(self) -> None:
        """Load the recogniser and start the worker thread (returns at once)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="asr-worker", daemon=True)
        self._thread.start()

    def stop(self, flush: bool = True) -> None:
        """Stop the worker; with ``flush`` the open utterance is committed first."""
        self._flush_on_stop = flush
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def backlog_s(self) -> float:
        """Audio waiting in the tap, in s."""
        return self.tap.available() / TAP_RATE

    def _run(self) -> None:
        try:
            recognizer = self._make_recognizer()
        except Exception as exc:  # a missing or damaged model must not take the app down
            self.error = f"Captions are unavailable: {exc}"
            self.ready.set()
            return
        denoiser = self._make_denoiser() if self.denoise else None
        self.ready.set()  # audio queued while the model loaded is decoded too: the backlog rule catches up
        while not self._stop.is_set():
            if self.tap.available() < CHUNK_IN:
                self._stop.wait(0.02)
                continue
            self.tap.read(CHUNK_IN, out=self._chunk_in.reshape(-1, 1))
            self._resampler.process(self._chunk_in, self._chunk_out)
            if denoiser is not None:
                denoiser.process(self._chunk_out.reshape(-1, 1))
            self.audio_s += CHUNK_IN / TAP_RATE
            t0 = time.perf_counter()
            try:
                update = recognizer.accept(self._chunk_out.copy(), backlog_s=self.backlog_s)
            except Exception as exc:  # keep captioning after a bad chunk; say what happened
                self.error = f"Captioning error: {type(exc).__name__}: {exc}"
                update = None
            self.busy_s += time.perf_counter() - t0
            if update is not None:
                self.model.apply(update)
        if self._flush_on_stop:
            update = recognizer.flush()
            if update is not None:
                self.model.apply(update)

    def _make_denoiser(self):
        try:
            den = caption_denoiser(CHUNK_IN // 3)
        except Exception as exc:
            self.error = f"Noise reduction for captions is unavailable ({exc}); captioning the raw audio"
            return None
        if den.notice:
            self.error = den.notice
        return den


def caption_denoiser(block_size: int):
    """DeepFilterNet3 at full strength on 16 kHz mono, as captions use it (light backend if libDF fails).

    Full strength because captions are read, not listened to: artefacts matter less than noise.
    """
    from hearing_assist.denoise.factory import create_denoiser

    den = create_denoiser("dfn3", strength_db=100.0, fallback_on_error=True)
    den.prepare(ASR_RATE, block_size, 1)
    return den


def _default_recognizer() -> StreamingRecognizer:
    from hearing_assist.asr.engine import shared_engine

    return StreamingRecognizer(shared_engine())
