"""The main window: start/stop listening, source and output pickers, volume, meters, spectrogram, status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QSlider,
    QSplitter, QStatusBar, QVBoxLayout, QWidget,
)

from hearing_assist.audio.devices import AudioDeviceError, list_devices
from hearing_assist.audio.sources import DeviceSource, FileSource, SourceError, system_audio_source
from hearing_assist.gui.engine_bridge import EngineBridge
from hearing_assist.gui.widgets import LevelMeters, SpectrogramView
from hearing_assist.pipeline.audio_process import AudioProcess
from hearing_assist.pipeline.engine import NO_OUTPUT, EngineConfig, EngineState
from hearing_assist.profiles.user import ProfileCorrupt, ProfileError, ProfileStore, UserProfile

DISPLAY_FPS = 30
SOURCES = [("microphone", "Microphone"), ("system", "Computer audio (calls, videos)"), ("file", "Audio file…")]


class MainWindow(QMainWindow):
    """Listen, see levels and spectrum; status bar with latency, xruns and CPU load."""

    def __init__(self, store: ProfileStore | None = None, profile_name: str = "default"):
        super().__init__()
        self.setWindowTitle("Hearing Assist")
        self.resize(1000, 640)
        self.store = store or ProfileStore()
        self.profile = self._load_profile(profile_name)
        self.bridge = EngineBridge(self)
        self.bridge.started.connect(self._on_started)
        self.bridge.failed.connect(self._on_failed)
        self.bridge.stopped.connect(self._on_stopped)
        self.file_path: Path | None = None
        self._build()
        self._fill_devices()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / DISPLAY_FPS))
        self.timer.timeout.connect(self._refresh)
        self.timer.start()

    # ---- construction --------------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        root = QVBoxLayout(central)
        controls = QGridLayout()

        self.listen_button = QPushButton("Start listening")
        self.listen_button.setCheckable(True)
        self.listen_button.setMinimumHeight(48)
        self.listen_button.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.listen_button.setAccessibleName("Start or stop listening")
        self.listen_button.setShortcut(QKeySequence("Space"))
        self.listen_button.clicked.connect(self.toggle_listening)
        controls.addWidget(self.listen_button, 0, 0, 2, 1)

        self.source_combo = QComboBox()
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        self.source_combo.setAccessibleName("Listen to")
        self.source_combo.activated.connect(self._on_source_chosen)
        controls.addWidget(QLabel("Listen to:"), 0, 1)
        controls.addWidget(self.source_combo, 0, 2)

        self.input_combo = QComboBox()
        self.input_combo.setAccessibleName("Microphone device")
        controls.addWidget(QLabel("Microphone:"), 1, 1)
        controls.addWidget(self.input_combo, 1, 2)

        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName("Headphones device")
        controls.addWidget(QLabel("Headphones:"), 0, 3)
        controls.addWidget(self.output_combo, 0, 4)

        vol_row = QHBoxLayout()
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(-40, 20)
        self.volume_slider.setValue(int(round(self.profile.settings.volume_db)))
        self.volume_slider.setAccessibleName("Volume")
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.volume_label = QLabel()
        self.volume_label.setMinimumWidth(60)
        vol_row.addWidget(self.volume_slider)
        vol_row.addWidget(self.volume_label)
        controls.addWidget(QLabel("Volume:"), 1, 3)
        controls.addLayout(vol_row, 1, 4)
        controls.setColumnStretch(2, 1)
        controls.setColumnStretch(4, 1)
        root.addLayout(controls)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.meters = LevelMeters(["In", "Left", "Right"])
        self.meters.setMinimumWidth(180)
        self.spectrogram = SpectrogramView(self.profile.settings.sample_rate)
        splitter.addWidget(self.meters)
        splitter.addWidget(self.spectrogram)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([240, 760])
        root.addWidget(splitter, 1)
        self.setCentralWidget(central)

        status = QStatusBar()
        self.state_label = QLabel("Stopped")
        self.latency_label = QLabel("Latency: –")
        self.xrun_label = QLabel("Dropouts: 0")
        self.cpu_label = QLabel("CPU: –")
        for w in (self.state_label, self.latency_label, self.xrun_label, self.cpu_label):
            w.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(w)
        self.setStatusBar(status)
        self._on_volume(self.volume_slider.value())

        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

    def _fill_devices(self) -> None:
        self.input_combo.clear()
        self.output_combo.clear()
        self.input_combo.addItem("System default", "")
        self.output_combo.addItem("System default", "")
        self.output_combo.addItem("None (captions only, no sound)", NO_OUTPUT)
        try:
            devices = list_devices()
        except AudioDeviceError as exc:
            self.statusBar().showMessage(str(exc))
            devices = []
        for d in devices:
            if d.max_input_channels > 0:
                self.input_combo.addItem(f"{d.name} ({d.host_api})", d.name)
            if d.max_output_channels > 0:
                self.output_combo.addItem(f"{d.name} ({d.host_api})", d.name)
        s = self.profile.settings
        for combo, value in ((self.input_combo, s.input_device), (self.output_combo, s.output_device)):
            i = combo.findData(value)
            combo.setCurrentIndex(max(i, 0))
        i = self.source_combo.findData(s.input_source if s.input_source != "file" else "microphone")
        self.source_combo.setCurrentIndex(max(i, 0))

    def _load_profile(self, name: str) -> UserProfile:
        try:
            return self.store.load_or_create(name)
        except ProfileCorrupt as exc:
            if exc.has_backup:
                answer = QMessageBox.question(
                    self, "Profile damaged", f"{exc}\n\nRestore the backup now?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
                if answer == QMessageBox.StandardButton.Yes:
                    return self.store.restore_backup(name)
            QMessageBox.warning(self, "Profile damaged",
                                f"{exc}\n\nStarting with default settings. The damaged file is left as it is "
                                f"and will not be overwritten until you save.")
            self._profile_readonly = True
            return UserProfile(name=name)
        except ProfileError as exc:
            QMessageBox.warning(self, "Profile", str(exc))
            return UserProfile(name=name)

    # ---- actions -------------------------------------------------------------------------------------------

    def set_file_source(self, path: str | Path) -> None:
        """Listen to an audio file (looped) instead of a device."""
        self.file_path = Path(path)
        self.source_combo.setCurrentIndex(self.source_combo.findData("file"))

    def _on_source_chosen(self, index: int) -> None:
        if self.source_combo.itemData(index) == "file":
            path, _ = QFileDialog.getOpenFileName(self, "Choose an audio file", "",
                                                  "Audio (*.wav *.flac *.ogg *.mp3);;All files (*)")
            if path:
                self.file_path = Path(path)
            else:
                self.source_combo.setCurrentIndex(0)

    def _make_source(self):
        key = self.source_combo.currentData()
        rate = self.profile.settings.sample_rate
        if key == "file":
            if self.file_path is None:
                raise SourceError("Choose an audio file first")
            return FileSource(self.file_path, sample_rate=rate, loop=True)
        if key == "system":
            return system_audio_source()
        return DeviceSource(device=self.input_combo.currentData() or None)

    def toggle_listening(self) -> None:
        """Start or stop the audio engine."""
        if self.bridge.running:
            self.bridge.stop()
            return
        s = self.profile.settings
        try:
            source = self._make_source()
        except (SourceError, AudioDeviceError) as exc:
            self._on_failed(str(exc))
            return
        output = self.output_combo.currentData()
        config = EngineConfig(sample_rate=s.sample_rate, block_size=s.block_size, output_device=output or None)
        engine = AudioProcess(source, config=config)
        engine.volume_db = float(self.volume_slider.value())
        self.listen_button.setEnabled(False)
        self.state_label.setText("Starting…")
        self.spectrogram.clear()
        self.bridge.start(engine)

    def _on_started(self) -> None:
        self.listen_button.setEnabled(True)
        self.listen_button.setChecked(True)
        self.listen_button.setText("Stop listening")
        self.statusBar().clearMessage()

    def _on_failed(self, message: str) -> None:
        self.listen_button.setEnabled(True)
        self.listen_button.setChecked(False)
        self.listen_button.setText("Start listening")
        self.state_label.setText("Stopped")
        self.statusBar().showMessage(message)

    def _on_stopped(self) -> None:
        self.listen_button.setChecked(False)
        self.listen_button.setText("Start listening")
        self.state_label.setText("Stopped")
        self.meters.set_levels(np.full(3, -120.0))

    def _on_volume(self, value: int) -> None:
        self.volume_label.setText(f"{value:+d} dB")
        engine = self.bridge.engine
        if engine is not None and engine.state == EngineState.RUNNING:
            try:
                engine.set_volume_db(float(value))
            except RuntimeError as exc:
                self.statusBar().showMessage(str(exc))

    # ---- display refresh (GUI thread, ~30 fps, reads snapshots only) ---------------------------------------

    def _refresh(self) -> None:
        engine = self.bridge.engine
        if engine is None:
            return
        tap = self.bridge.display_tap
        if tap is not None and tap.available():
            self.spectrogram.feed(tap.read()[:, 0])
        in_db, out_db = engine.levels_dbfs()
        self.meters.set_levels(np.array([in_db, *out_db[:2]]))
        st = engine.stats()
        if st.state == EngineState.RUNNING:
            self.state_label.setText("Listening" + (" (file ended)" if st.source_finished else ""))
        elif st.state == EngineState.ERROR:
            self.state_label.setText("Audio device lost – retrying")
        if st.error:
            self.statusBar().showMessage(st.error)
        jitter_ms = 0.0
        if st.input_latency_ms and st.output_latency_ms:
            jitter_ms = engine.config.jitter_blocks * engine.config.block_size / engine.config.sample_rate * 1e3
        total = st.input_latency_ms + st.output_latency_ms + jitter_ms
        self.latency_label.setText(f"Latency: {total:.0f} ms" if st.output_latency_ms else "Latency: no playback")
        self.xrun_label.setText(f"Dropouts: {st.xruns}")
        self.cpu_label.setText(f"CPU: {st.cpu_load * 100:.0f}% (peak {st.cpu_load_peak * 100:.0f}%)")

    # ---- shutdown ------------------------------------------------------------------------------------------

    def save_settings(self) -> None:
        """Store the chosen devices, source and volume in the profile (skipped for a damaged profile)."""
        if getattr(self, "_profile_readonly", False):
            return
        s = self.profile.settings
        s.volume_db = float(self.volume_slider.value())
        s.input_device = self.input_combo.currentData() or ""
        s.output_device = self.output_combo.currentData() or ""
        s.input_source = self.source_combo.currentData() or "microphone"
        try:
            self.store.save(self.profile)
        except ProfileError as exc:
            self.statusBar().showMessage(str(exc))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Stop audio and timers, save settings, then close."""
        self.timer.stop()
        self.bridge.stop()
        self.save_settings()
        super().closeEvent(event)
