"""The main window: listening controls, then tabs for captions, sound (noise reduction, meters, spectrograms),
amplification (caregiver) and fitting (audiologist); a status bar with latency, dropouts and CPU load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
    QPushButton, QSlider, QSplitter, QStatusBar, QTabWidget, QVBoxLayout, QWidget,
)

from hearing_assist.asr.captions import CaptionModel
from hearing_assist.asr.export import export
from hearing_assist.audio.devices import AudioDeviceError, list_devices
from hearing_assist.audio.sources import DeviceSource, FileSource, SourceError, system_audio_source
from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.gui.amplification_screen import AmplificationScreen
from hearing_assist.gui.caption_view import CaptionView
from hearing_assist.gui.engine_bridge import EngineBridge
from hearing_assist.gui.fitting_screen import FittingScreen
from hearing_assist.gui.widgets import LevelMeters, SpectrogramView
from hearing_assist.pipeline.audio_process import AudioProcess
from hearing_assist.pipeline.engine import NO_OUTPUT, EngineConfig, EngineState
from hearing_assist.pipeline.listening import ListeningSettings, chain_factory, output_ceiling_dbfs
from hearing_assist.profiles.amplification import AmplificationProfile, apply_caregiver_change
from hearing_assist.profiles.user import ProfileCorrupt, ProfileError, ProfileStore, UserProfile

DISPLAY_FPS = 30
# Until an audiologist enters a real audiogram: normal hearing (no prescribed gain), amplification off.
STARTER_AUDIOGRAM = {f: 0.0 for f in (250, 500, 1000, 2000, 4000)}
SOURCES = [("microphone", "Microphone"), ("system", "Computer audio (calls, videos)"), ("file", "Audio file…")]


def _structure(listening: ListeningSettings) -> tuple:
    """Which stages a chain has; a change here needs a new chain rather than live setter calls."""
    amp = listening.amplification
    return (listening.denoising and listening.denoise_backend, amp is not None and tuple(amp.band_centres_hz))


class MainWindow(QMainWindow):
    """Listen, read captions, see levels and spectrum; status bar with latency, xruns and CPU load."""

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
        self.captions = CaptionModel()  # kept across start/stop so the history stays until cleared
        self._running_structure: tuple | None = None
        self._build()
        self._fill_devices()
        if self._amplifying():
            self._show_volume(self.profile.amplification.volume_db)
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
        self.captions_check = QCheckBox("Captions")
        self.captions_check.setChecked(self.profile.settings.captions_enabled)
        self.captions_check.setAccessibleName("Show live captions")
        controls.addWidget(self.captions_check, 0, 5)
        controls.setColumnStretch(2, 1)
        controls.setColumnStretch(4, 1)
        root.addLayout(controls)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Views")
        self.caption_view = CaptionView(self.profile.caption_style)
        self.caption_view.pause_toggled.connect(lambda p: self.captions.pause() if p else self.captions.resume())
        self.caption_view.clear_requested.connect(self.captions.clear)
        self.caption_view.export_requested.connect(self.export_captions)
        self.caption_view.style_changed.connect(self._on_caption_style)
        self.tabs.addTab(self.caption_view, "Captions")

        sound_tab = QWidget()
        sound_layout = QVBoxLayout(sound_tab)
        sound_layout.addWidget(self._build_noise_reduction())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.meters = LevelMeters(["In", "Left", "Right"])
        self.meters.setMinimumWidth(180)
        spectra = QSplitter(Qt.Orientation.Vertical)
        self.input_spectrogram = SpectrogramView(self.profile.settings.sample_rate, "Before: what the microphone hears")
        self.spectrogram = SpectrogramView(self.profile.settings.sample_rate, "After: what you hear")
        spectra.addWidget(self.input_spectrogram)
        spectra.addWidget(self.spectrogram)
        splitter.addWidget(self.meters)
        splitter.addWidget(spectra)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([200, 800])
        sound_layout.addWidget(splitter, 1)
        self.tabs.addTab(sound_tab, "Sound")

        amp = self.profile.amplification or AmplificationProfile(
            Audiogram.from_thresholds(STARTER_AUDIOGRAM, STARTER_AUDIOGRAM))
        self.profile.amplification = amp
        amp_tab = QWidget()
        amp_layout = QVBoxLayout(amp_tab)
        self.amplify_check = QCheckBox("Amplify for my hearing (uses the fitting from the Fitting tab)")
        self.amplify_check.setChecked(self.profile.amplification_enabled)
        self.amplify_check.setStyleSheet("font-size: 14pt;")
        self.amplify_check.setAccessibleName("Amplify for my hearing")
        self.amplify_check.toggled.connect(self._on_amplify_toggled)
        amp_layout.addWidget(self.amplify_check)
        self.amplification_screen = AmplificationScreen(amp)
        self.amplification_screen.profile_changed.connect(self._on_amplification_changed)
        amp_layout.addWidget(self.amplification_screen, 1)
        self.tabs.addTab(amp_tab, "Amplification")
        self.fitting_screen = FittingScreen(amp)
        self.fitting_screen.profile_changed.connect(self._on_amplification_changed)
        self.tabs.addTab(self.fitting_screen, "Fitting")
        root.addWidget(self.tabs, 1)
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

    def _build_noise_reduction(self) -> QWidget:
        box = QGroupBox("Noise reduction")
        row = QHBoxLayout(box)
        st = self.profile.settings
        self.noise_slider = QSlider(Qt.Orientation.Horizontal)
        self.noise_slider.setRange(0, 30)
        self.noise_slider.setValue(int(round(st.noise_reduction_db)))
        self.noise_slider.setAccessibleName("Noise reduction strength")
        self.noise_slider.valueChanged.connect(self._on_noise_reduction)
        self.noise_label = QLabel()
        self.noise_label.setMinimumWidth(90)
        self.denoise_combo = QComboBox()
        self.denoise_combo.addItem("DeepFilterNet3 (best, +40 ms delay)", "dfn3")
        self.denoise_combo.addItem("Light (for slow computers, +16 ms)", "classical")
        self.denoise_combo.setCurrentIndex(max(0, self.denoise_combo.findData(st.denoise_backend)))
        self.denoise_combo.setAccessibleName("Noise reduction method")
        self.denoise_combo.currentIndexChanged.connect(self._on_denoise_backend)
        self.snr_label = QLabel("Speech-to-noise: –")
        self.caption_denoise_check = QCheckBox("Denoise what captions hear")
        self.caption_denoise_check.setChecked(st.caption_denoise)
        self.caption_denoise_check.setToolTip("Applies from the next start. DeepFilterNet3 lowers caption errors "
                                              "in noise (see docs/benchmarks.md).")
        for w in (QLabel("Strength:"), self.noise_slider, self.noise_label, self.denoise_combo, self.snr_label,
                  self.caption_denoise_check):
            row.addWidget(w)
        row.setStretch(1, 1)
        self._show_noise_label(self.noise_slider.value())
        return box

    def _show_noise_label(self, value: int) -> None:
        self.noise_label.setText("Off" if value == 0 else f"up to {value} dB")

    def _on_noise_reduction(self, value: int) -> None:
        self.profile.settings.noise_reduction_db = float(value)
        self._show_noise_label(value)
        self._apply_to_engine()

    def _on_denoise_backend(self, _index: int) -> None:
        self.profile.settings.denoise_backend = self.denoise_combo.currentData()
        self._apply_to_engine()

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
        listening = self.listening_settings()
        config = EngineConfig(sample_rate=s.sample_rate, block_size=s.block_size, output_device=output or None,
                              max_output_dbfs=output_ceiling_dbfs(listening))
        engine = AudioProcess(source, chain=chain_factory(listening), config=config)
        self._running_structure = _structure(listening)
        engine.volume_db = self._engine_volume_db()
        self.listen_button.setEnabled(False)
        self.state_label.setText("Starting…")
        self.spectrogram.clear()
        captions = self.captions if self.captions_check.isChecked() else None
        s.caption_denoise = self.caption_denoise_check.isChecked()
        self.input_spectrogram.clear()
        self.bridge.start(engine, captions, caption_point=s.caption_tap, caption_denoise=s.caption_denoise)

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

    # ---- amplification -------------------------------------------------------------------------------------

    def _amplifying(self) -> bool:
        return self.profile.amplification_enabled and self.profile.amplification is not None

    def listening_settings(self) -> ListeningSettings:
        """What shapes the chain now: the fitting when amplification is on, and noise reduction."""
        st = self.profile.settings
        return ListeningSettings(self.profile.amplification if self._amplifying() else None,
                                 st.noise_reduction_db, st.denoise_backend)

    def _engine_volume_db(self) -> float:
        """With amplification the fitting's own volume (within the audiologist's limits) applies instead."""
        return 0.0 if self._amplifying() else float(self.volume_slider.value())

    def _show_volume(self, db: float) -> None:
        """Move the volume slider without acting on it."""
        self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(int(round(db)))
        self.volume_slider.blockSignals(False)
        self.volume_label.setText(f"{db:+.0f} dB")

    def _on_amplify_toggled(self, on: bool) -> None:
        self.profile.amplification_enabled = on
        # The slider edits the fitting's volume (within its limits) when amplifying, the plain volume otherwise.
        self._show_volume(self.profile.amplification.volume_db if on else self.profile.settings.volume_db)
        self._apply_to_engine()

    def _on_amplification_changed(self, amp: AmplificationProfile) -> None:
        self.profile.amplification = amp
        for screen in (self.amplification_screen, self.fitting_screen):
            if screen is not self.sender():
                screen.set_profile(amp)
        if self._amplifying():
            self._show_volume(amp.volume_db)
        self._apply_to_engine()

    def _apply_to_engine(self, rebuild: bool = False) -> None:
        """Send the current settings to the running audio process: ramped live, or as a new chain when the set of
        stages changes (noise reduction or amplification switched on or off)."""
        engine = self.bridge.engine
        if engine is None or engine.state != EngineState.RUNNING:
            return
        listening = self.listening_settings()
        try:
            if rebuild or _structure(listening) != self._running_structure:
                engine.set_chain(chain_factory(listening))
                self._running_structure = _structure(listening)
            else:
                if listening.amplification is not None:
                    engine.call("chain.amplifier.set_profile", listening.amplification)
                if listening.denoising:
                    engine.call("chain.denoiser.set_strength", listening.noise_reduction_db)
            engine.call("ceiling.set_max_dbfs", output_ceiling_dbfs(listening))
            engine.set_volume_db(self._engine_volume_db())
        except RuntimeError as exc:
            self.statusBar().showMessage(f"Could not apply the settings: {exc}")

    def _on_caption_style(self) -> None:
        self.profile.caption_style = self.caption_view.style_settings()

    def export_captions(self, fmt: str) -> None:
        """Ask where to save the caption history as ``fmt`` (txt, srt, vtt) and write it."""
        path, _ = QFileDialog.getSaveFileName(self, "Save captions", f"captions.{fmt}", f"Captions (*.{fmt})")
        if path:
            self.save_captions(path, fmt)

    def save_captions(self, path: str | Path, fmt: str) -> None:
        """Write the caption history to ``path`` as ``fmt``; errors go to the status bar."""
        try:
            Path(path).write_text(export(self.captions.snapshot().lines, fmt), encoding="utf-8")
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save captions: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Captions saved to {path}", 5000)

    def _on_volume(self, value: int) -> None:
        if self._amplifying():
            amp, notes = apply_caregiver_change(self.profile.amplification, volume_db=float(value))
            if notes:  # over the audiologist's maximum: the slider snaps back
                self.statusBar().showMessage("Volume limited by your audiologist's settings", 4000)
            self._show_volume(amp.volume_db)
            self.profile.amplification = amp
            self.amplification_screen.set_profile(amp)
            self.fitting_screen.set_profile(amp)
            self._apply_to_engine()
            return
        self.profile.settings.volume_db = float(value)
        self.volume_label.setText(f"{value:+d} dB")
        engine = self.bridge.engine
        if engine is not None and engine.state == EngineState.RUNNING:
            try:
                engine.set_volume_db(float(value))
            except RuntimeError as exc:
                self.statusBar().showMessage(str(exc))

    # ---- display refresh (GUI thread, ~30 fps, reads snapshots only) ---------------------------------------

    def _refresh(self) -> None:
        self.caption_view.set_snapshot(self.captions.snapshot())  # cheap when nothing changed
        engine = self.bridge.engine
        if engine is None:
            return
        captioner = self.bridge.captioner
        if captioner is not None and captioner.error:
            self.statusBar().showMessage(captioner.error)
        for tap, view in ((self.bridge.display_tap, self.spectrogram),
                          (self.bridge.input_display_tap, self.input_spectrogram)):
            if tap is not None and tap.available():
                view.feed(tap.read()[:, 0])
        snr = engine.snr_db()
        self.snr_label.setText("Speech-to-noise: –" if np.isnan(snr) else f"Speech-to-noise: {snr:.0f} dB")
        notice = engine.notice()
        if notice:
            self.statusBar().showMessage(notice)
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
        self.amplification_screen.set_limiter_reduction_db(st.limiter_db if self._amplifying() else 0.0)
        self.cpu_label.setText(f"CPU: {st.cpu_load * 100:.0f}% (peak {st.cpu_load_peak * 100:.0f}%)")

    # ---- shutdown ------------------------------------------------------------------------------------------

    def save_settings(self) -> None:
        """Store the chosen devices, source and volume in the profile (skipped for a damaged profile)."""
        if getattr(self, "_profile_readonly", False):
            return
        s = self.profile.settings
        s.input_device = self.input_combo.currentData() or ""
        s.output_device = self.output_combo.currentData() or ""
        s.input_source = self.source_combo.currentData() or "microphone"
        s.captions_enabled = self.captions_check.isChecked()
        try:
            self.store.save(self.profile)
        except ProfileError as exc:
            self.statusBar().showMessage(str(exc))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Stop audio and timers, save settings, then close."""
        self.timer.stop()
        self.bridge.stop()
        if self.caption_view.strip is not None:
            self.caption_view.strip.close()  # the always-on-top strip must not outlive the window
        self.save_settings()
        super().closeEvent(event)
