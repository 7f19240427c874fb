"""Thin bridge between the Qt GUI and the audio process: start/stop off the GUI thread, results as signals."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from hearing_assist.asr.captions import CaptionModel
from hearing_assist.audio.devices import AudioDeviceError
from hearing_assist.audio.ring_buffer import RingBuffer
from hearing_assist.pipeline.audio_process import AudioProcess
from hearing_assist.pipeline.captioner import LiveCaptioner
from hearing_assist.pipeline.engine import EngineState


class EngineBridge(QObject):
    """Owns the running :class:`AudioProcess`; starting it takes about a second, so that runs on a helper thread."""

    started = Signal()
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine: AudioProcess | None = None
        self.display_tap: RingBuffer | None = None
        self.input_display_tap: RingBuffer | None = None
        self.captioner: LiveCaptioner | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while an engine is started (running or retrying after a device error)."""
        return self.engine is not None and self.engine.state != EngineState.STOPPED

    def start(self, engine: AudioProcess, captions: CaptionModel | None = None, caption_point: str = "input",
              caption_denoise: bool = False) -> None:
        """Start ``engine`` (and live captions into ``captions``) in the background; emits started or failed."""
        self.stop()
        self.engine = engine
        self.display_tap = engine.open_tap(seconds=2.0, point="output")
        self.input_display_tap = engine.open_tap(seconds=2.0, point="input")
        if captions is not None:
            # 30 s of room: the recogniser skips work when behind, so the ring only fills if it stalls.
            self.captioner = LiveCaptioner(engine.open_tap(seconds=30.0, point=caption_point), captions,
                                           denoise=caption_denoise)
            self.captioner.start()  # loads the model while the audio process starts

        def run():
            try:
                engine.start()
            except (AudioDeviceError, ValueError, OSError) as exc:
                self.engine = None
                if self.captioner is not None:
                    self.captioner.stop(flush=False)
                    self.captioner = None
                engine.close()
                self.failed.emit(str(exc))
                return
            self.started.emit()

        self._thread = threading.Thread(target=run, name="engine-start", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the engine and join its threads (PortAudio close is quick; start is what can be slow)."""
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        engine, self.engine = self.engine, None
        captioner, self.captioner = self.captioner, None
        if captioner is not None:
            captioner.stop()  # commits the open utterance from audio already captured
        if engine is not None:
            engine.close()
            self.stopped.emit()
