"""Measure how long the GUI event loop stalls while the main window shows live audio and a worker is busy."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def busy_python_worker(stop: threading.Event) -> None:
    """CPU-heavy pure-Python work (holds the GIL as much as a Python thread can), until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for i in range(10000):
            x = (x * 31 + i) % 1000003


def measure_event_loop_stalls(audio_file: str | Path, seconds: float = 10.0, tick_ms: float = 10.0) -> dict:
    """Open the main window on ``audio_file``, start listening, load a worker thread; return stall stats (ms).

    A timer asks for a tick every ``tick_ms``; the stall of each tick is how much later than asked it ran.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.main_window import MainWindow
    from hearing_assist.profiles.user import ProfileStore

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(store=ProfileStore(Path(tmp)))
        window.set_file_source(audio_file)
        window.show()
        window.toggle_listening()
        deadline = time.monotonic() + 10
        while not window.bridge.running and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        stop = threading.Event()
        worker = threading.Thread(target=busy_python_worker, args=(stop,), daemon=True)
        worker.start()
        stalls: list[float] = []
        last = [time.perf_counter()]

        def tick():
            now = time.perf_counter()
            stalls.append(max(0.0, (now - last[0]) * 1000 - tick_ms))
            last[0] = now

        timer = QTimer()
        timer.setInterval(int(tick_ms))
        timer.timeout.connect(tick)
        timer.start()
        QTimer.singleShot(int(seconds * 1000), app.quit)
        app.exec()  # the real event loop, with the window's 30 fps refresh running
        timer.stop()
        stop.set()
        worker.join()
        stats = window.bridge.engine.stats() if window.bridge.engine else None
        spectrogram_columns = window.spectrogram.columns_drawn
        window.close()
    s = np.asarray(stalls[1:])
    return {
        "ticks": int(s.size),
        "p50_ms": float(np.percentile(s, 50)),
        "p99_ms": float(np.percentile(s, 99)),
        "max_ms": float(s.max()),
        "audio_xruns": stats.xruns if stats else None,
        "spectrogram_updates": spectrogram_columns,
    }
