"""The main window offscreen: listening to a file drives the meters and the spectrogram; closing cleans up."""

import multiprocessing
import threading

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

from hearing_assist.gui.main_window import MainWindow  # noqa: E402
from hearing_assist.pipeline.engine import NO_OUTPUT  # noqa: E402
from hearing_assist.profiles.user import ProfileStore  # noqa: E402


@pytest.fixture
def tone_file(tmp_path):
    sr = 48000
    t = np.arange(2 * sr) / sr
    x = 0.25 * np.sin(2 * np.pi * 2000 * t)
    path = tmp_path / "tone.wav"
    sf.write(path, x.astype(np.float32), sr)
    return path


def _select_output(window, data):
    window.output_combo.setCurrentIndex(window.output_combo.findData(data))


def test_window_listens_to_a_file_and_updates_meters_and_spectrogram(qtbot, tmp_path, tone_file):
    threads_before = set(threading.enumerate())
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.show()
    window.set_file_source(tone_file)
    _select_output(window, NO_OUTPUT)  # no sound card needed: the file is paced in real time
    window.toggle_listening()
    qtbot.waitUntil(lambda: window.bridge.running, timeout=20000)
    qtbot.waitUntil(lambda: window.spectrogram.columns_drawn > 10, timeout=10000)
    qtbot.waitUntil(lambda: window.meters.levels_db[0] > -20, timeout=5000)
    assert window.meters.levels_db[0] == pytest.approx(-12.0, abs=1.0)  # 0.25 peak = -12 dBFS
    spectrum = window.spectrogram.analyzer.image[-1]
    peak_hz = window.spectrogram.analyzer.frequencies_hz[int(np.argmax(spectrum))]
    assert abs(peak_hz - 2000) < 100
    assert "Listening" in window.state_label.text()
    assert window.cpu_label.text().startswith("CPU:")

    window.volume_slider.setValue(-10)
    qtbot.waitUntil(lambda: window.meters.levels_db[1] < -20, timeout=5000)
    assert window.meters.levels_db[1] == pytest.approx(-22.0, abs=1.0)

    window.toggle_listening()  # stop
    assert not window.bridge.running
    assert window.listen_button.text() == "Start listening"
    window.close()
    assert not multiprocessing.active_children()
    leftover = {t for t in threading.enumerate() if t not in threads_before and t.is_alive()}
    assert not leftover, f"threads left running: {leftover}"
    # The chosen volume was saved in the profile.
    assert ProfileStore(tmp_path / "profiles").load("default").settings.volume_db == -10


def test_close_while_streaming_stops_audio(qtbot, tmp_path, tone_file):
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.set_file_source(tone_file)
    _select_output(window, NO_OUTPUT)
    window.toggle_listening()
    qtbot.waitUntil(lambda: window.bridge.running, timeout=20000)
    window.close()
    assert window.bridge.engine is None
    assert not multiprocessing.active_children()


def test_missing_file_is_reported_in_the_status_bar(qtbot, tmp_path):
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.set_file_source(tmp_path / "nope.wav")
    window.toggle_listening()
    assert "not found" in window.statusBar().currentMessage()
    assert not window.bridge.running


def test_damaged_profile_is_not_overwritten(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    store = ProfileStore(tmp_path / "profiles")
    store.root.mkdir(parents=True)
    store.path("default").write_text("{ not json")
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    window = MainWindow(store=store)
    qtbot.addWidget(window)
    window.close()
    assert store.path("default").read_text() == "{ not json"
