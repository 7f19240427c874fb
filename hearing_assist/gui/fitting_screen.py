"""The audiologist's fitting screen: audiogram, prescription rule, insertion-gain targets, limits, verification, PIN.

Every accepted edit replaces the (immutable) profile and emits :attr:`FittingScreen.profile_changed`; refused edits
leave the profile alone and say why, naming ear and frequency. Verification runs the real DSP measurement
(:func:`measure_insertion_gain`) on a worker thread so the window stays responsive.
"""

from __future__ import annotations

import queue
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QButtonGroup, QComboBox, QFileDialog, QFrame, QGridLayout, QGroupBox,
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from hearing_assist.dsp.audiogram import EARS, STANDARD_HZ, Audiogram, AudiogramError
from hearing_assist.dsp.hearing_chain import HearingChain, measure_insertion_gain
from hearing_assist.dsp.prescription import INPUT_LEVELS_DB_SPL, RULES
from hearing_assist.gui.audiogram_chart import EAR_COLOURS, AudiogramChart, InsertionGainChart, hz_label
from hearing_assist.gui.pin_dialog import PinDialog
from hearing_assist.profiles.amplification import (
    VOLUME_RANGE_DB, AmplificationProfile, AudiologistLimits, ProfileError, apply_caregiver_change, hash_pin,
    verify_pin,
)

RULE_LABELS = {"nal-r": "NAL-R", "nal-rp": "NAL-RP", "half-gain": "Half-gain", "pogo2": "POGO II",
               "linear": "Linear (flat 20 dB)"}
EAR_LABELS = {"right": "Right ear (O)", "left": "Left ear (X)"}
EAR_ORDER = ("right", "left")  # audiologists list the right ear first
MAX_GAIN_RANGE_DB = (0, 80)
MPO_RANGE_DB_SPL = (60, 132)
PASS_COLOUR, FAIL_COLOUR, WARN_COLOUR = "#1a7f37", "#cf222e", "#9a6700"
ANALYSIS_RATE, ANALYSIS_BLOCK = 48000, 128


def rule_label(rule: str) -> str:
    """Display name of a prescription rule."""
    return RULE_LABELS.get(rule, rule.upper())


def insertion_gain_targets(profile: AmplificationProfile) -> dict[str, dict[float, np.ndarray]]:
    """Target insertion gain (dB per band) per ear and input level: what Verify compares against."""
    chain = HearingChain(profile)
    chain.prepare(ANALYSIS_RATE, ANALYSIS_BLOCK, 2)
    g = {lv: chain.target_gains_db(lv) for lv in INPUT_LEVELS_DB_SPL}
    return {ear: {lv: g[lv][:, c] for lv in INPUT_LEVELS_DB_SPL} for c, ear in enumerate(EARS)}


def _readable(exc: Exception) -> str:
    msg = str(exc)
    return msg[:1].upper() + msg[1:]


class _VerifySignals(QObject):
    """Tells the GUI thread a measurement ended; the result waits in ``results`` (no Python objects cross threads
    inside Qt signal arguments)."""

    done = Signal()

    def __init__(self):
        super().__init__()
        self.results: queue.SimpleQueue = queue.SimpleQueue()  # (profile, rows) or (None, error text)


class _VerifyJob(QRunnable):
    """Measure insertion gain of a profile on a pool thread (the profile is immutable, the chain private)."""

    def __init__(self, profile: AmplificationProfile, seconds: float, signals: _VerifySignals):
        super().__init__()
        self.profile, self.seconds, self.signals = profile, seconds, signals

    def run(self) -> None:
        try:
            rows = measure_insertion_gain(HearingChain(self.profile), INPUT_LEVELS_DB_SPL, seconds=self.seconds)
            self.signals.results.put((self.profile, rows))
        except Exception as exc:  # noqa: BLE001 - any failure must reach the GUI, not die in the pool
            self.signals.results.put((None, f"Verification failed: {exc}"))
        self.signals.done.emit()


def _item(text: str, editable: bool = False, colour: str | None = None) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    if not editable:
        it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if colour:
        it.setForeground(QColor(colour))
    return it


def _set_cell(table: QTableWidget, r: int, c: int, text: str, colour: str | None = None) -> None:
    """Set a cell's text, reusing its item: replacing items from inside itemChanged would delete the live one."""
    it = table.item(r, c)
    if it is None:
        table.setItem(r, c, _item(text, True, colour))
    elif it.text() != text:
        it.setText(text)


def _compact_table(rows: int, cols: int, name: str) -> QTableWidget:
    t = QTableWidget(rows, cols)
    t.setAccessibleName(name)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
    return t


class FittingScreen(QWidget):
    """Audiologist view of one amplification profile."""

    profile_changed = Signal(object)  # AmplificationProfile after every accepted edit

    def __init__(self, profile: AmplificationProfile, parent=None):
        super().__init__(parent)
        self._profile = profile
        self._unlocked = profile.pin is None
        self._syncing = False
        self.verify_seconds = 3.0  # of noise per input level; 0.5 s of it is settling
        self.verify_rows: list[dict] | None = None
        self._verified_profile: AmplificationProfile | None = None
        self.verifying = False
        self.pin_dialog: PinDialog | None = None
        # no Qt parent: the pool job keeps it alive even if this screen is closed mid-measurement
        self._verify_signals = _VerifySignals()
        self._verify_signals.done.connect(self._on_verify_done)
        self.setObjectName("FittingScreen")
        self.setStyleSheet("#FittingScreen, #FittingScreen QWidget { font-size: 11pt; }"
                           "QGroupBox { font-weight: bold; margin-top: 10px; }"
                           "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }")
        self._build()
        self._refresh()

    # ---- public API ----------------------------------------------------------------------------------
    def profile(self) -> AmplificationProfile:
        """The profile as currently edited."""
        return self._profile

    def set_profile(self, profile: AmplificationProfile) -> None:
        """Show ``profile`` (no signal); a profile with a different PIN locks the screen."""
        if profile.pin is None:
            self._unlocked = True
        elif profile.pin != self._profile.pin:
            self._unlocked = False
        self._profile = profile
        self._refresh()

    @property
    def locked(self) -> bool:
        """True while the audiologist settings need the PIN."""
        return not self._unlocked

    # ---- construction --------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.addWidget(self._build_lock_bar())
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Fitting message")
        self.message.setMinimumHeight(24)
        root.addWidget(self.message)
        body = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self._build_audiogram_box(), 3)
        left.addWidget(self._build_limits_box(), 0)
        right.addWidget(self._build_prescription_box(), 1)
        right.addWidget(self._build_verify_box(), 1)
        body.addLayout(left, 1)
        body.addLayout(right, 1)
        root.addLayout(body, 1)
        self.ear_radios["right"].setChecked(True)
        for b in self.findChildren(QAbstractButton):
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # some platforms leave buttons out of the Tab chain

    def _build_lock_bar(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("LockBar")
        bar.setStyleSheet("#LockBar { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }")
        row = QHBoxLayout(bar)
        self.lock_label = QLabel()
        self.lock_label.setAccessibleName("Lock state")
        font = QFont(self.lock_label.font())
        font.setBold(True)
        self.lock_label.setFont(font)
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText("PIN")
        self.pin_edit.setMaximumWidth(140)
        self.pin_edit.setAccessibleName("Audiologist PIN")
        self.pin_edit.returnPressed.connect(self._on_unlock)
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setAccessibleName("Unlock audiologist settings")
        self.unlock_button.clicked.connect(self._on_unlock)
        self.lock_button = QPushButton("&Lock")
        self.lock_button.setAccessibleName("Lock audiologist settings")
        self.lock_button.clicked.connect(self.lock)
        self.set_pin_button = QPushButton("Set &PIN…")
        self.set_pin_button.setAccessibleName("Set audiologist PIN")
        self.set_pin_button.clicked.connect(self._open_pin_dialog)
        row.addWidget(self.lock_label, 1)
        for w in (self.pin_edit, self.unlock_button, self.lock_button, self.set_pin_button):
            row.addWidget(w)
        return bar

    def _build_audiogram_box(self) -> QGroupBox:
        box = QGroupBox("Audiogram — air conduction")
        v = QVBoxLayout(box)
        top = QHBoxLayout()
        top.addWidget(QLabel("Edit:"))
        self.ear_buttons = QButtonGroup(self)
        self.ear_radios = {}
        for ear in EAR_ORDER:
            rb = QRadioButton(EAR_LABELS[ear])
            rb.setStyleSheet(f"color: {EAR_COLOURS[ear]}; font-weight: bold;")
            rb.setAccessibleName(f"Edit {ear} ear")
            rb.toggled.connect(lambda on, e=ear: self._on_ear_toggled(e, on))
            self.ear_buttons.addButton(rb)
            self.ear_radios[ear] = rb
            top.addWidget(rb)
        top.addStretch(1)
        self.import_button = QPushButton("&Import…")
        self.import_button.setAccessibleName("Import audiogram from JSON or CSV")
        self.import_button.clicked.connect(self._on_import)
        self.export_button = QPushButton("&Export…")
        self.export_button.setAccessibleName("Export audiogram to JSON or CSV")
        self.export_button.clicked.connect(self._on_export)
        top.addWidget(self.import_button)
        top.addWidget(self.export_button)
        v.addLayout(top)
        self.chart = AudiogramChart(self._profile.audiogram)
        self.chart.edit_requested.connect(self._on_chart_edit)
        v.addWidget(self.chart, 1)
        self.grade_label = QLabel()
        self.grade_label.setAccessibleName("Pure-tone average and grade")
        v.addWidget(self.grade_label)
        self.threshold_table = _compact_table(2, len(STANDARD_HZ), "Thresholds in dB HL")
        self.threshold_table.setHorizontalHeaderLabels([hz_label(f) for f in STANDARD_HZ])
        self.threshold_table.setVerticalHeaderLabels([EAR_LABELS[e] for e in EAR_ORDER])
        for r, ear in enumerate(EAR_ORDER):
            self.threshold_table.verticalHeaderItem(r).setForeground(QColor(EAR_COLOURS[ear]))
        self.threshold_table.setToolTip("Thresholds in dB HL; leave a cell empty for a frequency not measured.")
        self.threshold_table.itemChanged.connect(self._on_threshold_cell)
        v.addWidget(self.threshold_table)
        return box

    def _build_limits_box(self) -> QGroupBox:
        box = QGroupBox("Audiologist limits")
        self.limits_box = box
        g = QGridLayout(box)
        n = len(self._profile.band_centres_hz)
        self.max_gain_table = _compact_table(2, n, "Maximum insertion gain per band in dB")
        self.max_gain_table.setToolTip("Maximum insertion gain (dB) per band; caregiver settings never exceed it.")
        self.max_gain_table.itemChanged.connect(self._on_max_gain_cell)
        g.addWidget(QLabel("Max gain (dB) per band:"), 0, 0, 1, 4)
        g.addWidget(self.max_gain_table, 1, 0, 1, 4)
        self.mpo_spin = QSpinBox()
        self.mpo_spin.setRange(*MPO_RANGE_DB_SPL)
        self.mpo_spin.setSuffix(" dB SPL")
        self.mpo_spin.setAccessibleName("Maximum output in dB SPL")
        self.mpo_spin.valueChanged.connect(self._on_limit_spin)
        self.max_volume_spin = QSpinBox()
        self.max_volume_spin.setRange(int(VOLUME_RANGE_DB[0]), int(VOLUME_RANGE_DB[1]))
        self.max_volume_spin.setSuffix(" dB")
        self.max_volume_spin.setAccessibleName("Maximum volume in dB")
        self.max_volume_spin.valueChanged.connect(self._on_limit_spin)
        g.addWidget(QLabel("Max output (MPO):"), 2, 0)
        g.addWidget(self.mpo_spin, 2, 1)
        g.addWidget(QLabel("Max volume:"), 2, 2)
        g.addWidget(self.max_volume_spin, 2, 3)
        return box

    def _build_prescription_box(self) -> QGroupBox:
        box = QGroupBox("Prescription and insertion gain")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rule:"))
        self.rule_combo = QComboBox()
        for r in RULES:
            self.rule_combo.addItem(rule_label(r), r)
        self.rule_combo.setAccessibleName("Prescription rule")
        self.rule_combo.currentIndexChanged.connect(self._on_rule)
        row.addWidget(self.rule_combo)
        row.addSpacing(16)
        row.addWidget(QLabel("Show:"))
        self.gain_ear_combo = QComboBox()
        for ear in EAR_ORDER:
            self.gain_ear_combo.addItem(EAR_LABELS[ear], ear)
        self.gain_ear_combo.setAccessibleName("Ear shown in the insertion gain chart and results")
        self.gain_ear_combo.currentIndexChanged.connect(lambda _: self._refresh_gain_views())
        row.addWidget(self.gain_ear_combo)
        row.addStretch(1)
        v.addLayout(row)
        self.gain_chart = InsertionGainChart()
        v.addWidget(self.gain_chart, 1)
        note = QLabel("Targets for speech at 50, 65 and 80 dB SPL, including the preset, fine-tuning and limits.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #57606a;")
        v.addWidget(note)
        return box

    def _build_verify_box(self) -> QGroupBox:
        box = QGroupBox("Verification — measured insertion gain")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.verify_button = QPushButton("&Verify fitting")
        self.verify_button.setAccessibleName("Verify fitting: measure insertion gain")
        self.verify_button.setMinimumHeight(34)
        self.verify_button.clicked.connect(self.start_verify)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the measurement reports no progress
        self.busy.setMaximumWidth(160)
        self.busy.setAccessibleName("Measuring")
        self.busy.setVisible(False)
        self.verify_summary = QLabel("Not verified yet: press Verify to measure the chain with speech-shaped noise.")
        self.verify_summary.setWordWrap(True)
        self.verify_summary.setAccessibleName("Verification summary")
        row.addWidget(self.verify_button)
        row.addWidget(self.busy)
        row.addWidget(self.verify_summary, 1)
        v.addLayout(row)
        self.results = QTableWidget(0, 7)
        self.results.setHorizontalHeaderLabels(["Band", "Input", "Target", "Achieved", "Difference", "Tolerance",
                                                "Result"])
        self.results.setAccessibleName("Verification results per band")
        self.results.setToolTip("Measured with steady speech-shaped noise. A compressor gives steady noise more gain "
                                "than speech (whose loud moments carry its power), so Achieved is the measured gain "
                                "less that known difference: the gain speech gets, compared with the speech target.")
        self.results.verticalHeader().setVisible(False)
        self.results.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setAlternatingRowColors(True)
        self.results.verticalHeader().setDefaultSectionSize(self.results.fontMetrics().height() + 6)
        v.addWidget(self.results, 1)
        return box

    # ---- refresh from the profile --------------------------------------------------------------------
    def _refresh(self) -> None:
        """Show the current profile everywhere without re-entering the edit handlers."""
        self._syncing = True
        try:
            p = self._profile
            self.chart.set_audiogram(p.audiogram)
            for r, ear in enumerate(EAR_ORDER):
                th = p.audiogram.ear(ear).thresholds
                for c, hz in enumerate(STANDARD_HZ):
                    _set_cell(self.threshold_table, r, c, f"{th[hz]:g}" if hz in th else "", EAR_COLOURS[ear])
            aud = p.audiogram
            self.grade_label.setText(
                f"PTA (0.5–4 kHz): right {aud.right.pta():.1f} dB HL, left {aud.left.pta():.1f} dB HL  ·  "
                f"WHO grade (better ear): {aud.grade()}")
            self.rule_combo.setCurrentIndex(self.rule_combo.findData(p.rule))
            n = len(p.band_centres_hz)
            self.max_gain_table.setColumnCount(n)
            self.max_gain_table.setHorizontalHeaderLabels([hz_label(c) for c in p.band_centres_hz])
            self.max_gain_table.setVerticalHeaderLabels([EAR_LABELS[e] for e in EAR_ORDER])
            for r, ear in enumerate(EAR_ORDER):
                self.max_gain_table.verticalHeaderItem(r).setForeground(QColor(EAR_COLOURS[ear]))
                for c, v in enumerate(p.limits.max_gain_db[ear]):
                    _set_cell(self.max_gain_table, r, c, f"{v:g}")
            self.mpo_spin.setValue(int(round(p.limits.max_output_db_spl)))
            self.max_volume_spin.setValue(int(round(p.limits.max_volume_db)))
            self._refresh_lock()
            self._refresh_gain_views()
        finally:
            self._syncing = False

    def _refresh_lock(self) -> None:
        has_pin = self._profile.pin is not None
        if not self._unlocked:
            self.lock_label.setText("Locked: enter the audiologist PIN to change the fitting.")
        elif has_pin:
            self.lock_label.setText("Unlocked: you can change the fitting. Lock it before you leave.")
        else:
            self.lock_label.setText("⚠  No PIN set: anyone using this computer can change the fitting.")
        self.pin_edit.setVisible(not self._unlocked)
        self.unlock_button.setVisible(not self._unlocked)
        self.lock_button.setVisible(self._unlocked and has_pin)
        self.set_pin_button.setVisible(self._unlocked)
        self.set_pin_button.setText("Change &PIN…" if has_pin else "Set &PIN…")
        editable = self._unlocked
        self.chart.set_editable(editable)
        for w in (self.threshold_table, self.import_button, self.rule_combo, self.limits_box):
            w.setEnabled(editable)

    def _shown_ear(self) -> str:
        return self.gain_ear_combo.currentData() or "right"

    def _refresh_gain_views(self) -> None:
        p, ear = self._profile, self._shown_ear()
        targets = insertion_gain_targets(p)[ear]
        achieved = None
        if self.verify_rows is not None:
            achieved = {lv: np.array([r["achieved_db"] for r in self.verify_rows
                                      if r["ear"] == ear and r["level_db_spl"] == lv]) for lv in INPUT_LEVELS_DB_SPL}
        self.gain_chart.show_ear(ear, p.band_centres_hz, targets, p.limits.max_gain_db[ear], achieved)
        self._fill_results(ear)

    def _fill_results(self, ear: str) -> None:
        rows = [r for r in (self.verify_rows or []) if r["ear"] == ear]
        rows.sort(key=lambda r: (r["level_db_spl"], r["band_hz"]))
        self.results.setRowCount(len(rows))
        for i, r in enumerate(rows):
            ok = r["pass"]
            cells = [f"{hz_label(r['band_hz'])} Hz", f"{r['level_db_spl']:g} dB SPL", f"{r['target_db']:.1f} dB",
                     f"{r['achieved_db']:.1f} dB", f"{r['error_db']:+.1f} dB", f"±{r['tolerance_db']:g} dB",
                     "✓ pass" if ok else "✗ fail"]
            for c, text in enumerate(cells):
                colour = (PASS_COLOUR if ok else FAIL_COLOUR) if c == 6 else None
                self.results.setItem(i, c, _item(text, colour=colour))
        if self.verify_rows is None:
            return
        parts = []
        for e in EAR_ORDER:
            er = [r for r in self.verify_rows if r["ear"] == e]
            parts.append(f"{e} ear {sum(r['pass'] for r in er)}/{len(er)} within tolerance")
        summary = "Measured: " + ", ".join(parts) + "."
        colour = PASS_COLOUR if all(r["pass"] for r in self.verify_rows) else FAIL_COLOUR
        if self._verified_profile != self._profile:
            summary = "Settings changed since this measurement: press Verify again. (" + summary + ")"
            colour = WARN_COLOUR
        self.verify_summary.setText(summary)
        self.verify_summary.setStyleSheet(f"color: {colour}; font-weight: bold;")

    # ---- messages ------------------------------------------------------------------------------------
    def _say(self, text: str, colour: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def _refuse(self, text: str) -> None:
        self._say(f"{text} — not changed.", FAIL_COLOUR)

    def _accept(self, profile: AmplificationProfile, note: str = "") -> None:
        """Adopt an edited profile, redraw, and tell the rest of the app."""
        self._profile = profile
        self._say(note, PASS_COLOUR)
        self._refresh()
        self.profile_changed.emit(profile)

    # ---- audiogram edits -----------------------------------------------------------------------------
    def _on_ear_toggled(self, ear: str, on: bool) -> None:
        if on:
            self._on_edit_ear(ear)

    def _on_edit_ear(self, ear: str) -> None:
        self.chart.set_active_ear(ear)
        self.gain_ear_combo.setCurrentIndex(self.gain_ear_combo.findData(ear))

    def apply_thresholds(self, ear: str, thresholds: dict) -> bool:
        """Replace one ear's thresholds ({Hz: dB HL}); refuses invalid ones with a message. True when accepted."""
        if self.locked:
            self._refuse("Audiologist settings are locked")
            return False
        other = "left" if ear == "right" else "right"
        maps = {ear: thresholds, other: self._profile.audiogram.ear(other).thresholds}
        try:
            aud = Audiogram.from_thresholds(maps["left"], maps["right"])
        except AudiogramError as exc:
            self._refuse(_readable(exc))
            self._refresh()  # put the table cell back
            return False
        self._accept(replace(self._profile, audiogram=aud))
        return True

    def _on_chart_edit(self, ear: str, thresholds: dict) -> None:
        self.apply_thresholds(ear, thresholds)

    def _on_threshold_cell(self, item: QTableWidgetItem) -> None:
        if self._syncing:
            return
        ear, hz = EAR_ORDER[item.row()], STANDARD_HZ[item.column()]
        th = dict(self._profile.audiogram.ear(ear).thresholds)
        text = item.text().strip()
        if text:
            th[hz] = text  # validated (and converted) by the audiogram, whose message names ear and frequency
        else:
            th.pop(hz, None)
        self.apply_thresholds(ear, th)

    def _on_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import audiogram", "", "Audiogram (*.json *.csv)")
        if path:
            self.import_audiogram(path)

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export audiogram", "audiogram.json",
                                              "Audiogram JSON (*.json);;Audiogram CSV (*.csv)")
        if path:
            self.export_audiogram(path)

    def import_audiogram(self, path: str | Path) -> bool:
        """Load an audiogram from JSON or CSV (by suffix) into the profile; True when accepted."""
        path = Path(path)
        if self.locked:
            self._refuse("Audiologist settings are locked")
            return False
        try:
            text = path.read_text(encoding="utf-8")
            aud = Audiogram.from_csv(text) if path.suffix.lower() == ".csv" else Audiogram.from_json(text)
        except (OSError, UnicodeDecodeError, AudiogramError) as exc:
            self._refuse(f"Could not import {path.name}: {exc}")
            return False
        self._accept(replace(self._profile, audiogram=aud), f"Imported audiogram from {path.name}.")
        return True

    def export_audiogram(self, path: str | Path) -> bool:
        """Write the audiogram as CSV (``.csv``) or JSON (anything else); True when written."""
        path = Path(path)
        aud = self._profile.audiogram
        try:
            path.write_text(aud.to_csv() if path.suffix.lower() == ".csv" else aud.to_json(), encoding="utf-8")
        except OSError as exc:
            self._refuse(f"Could not export to {path}: {exc}")
            return False
        self._say(f"Audiogram exported to {path}.", PASS_COLOUR)
        return True

    # ---- prescription and limits ---------------------------------------------------------------------
    def _on_rule(self, _index: int) -> None:
        if self._syncing:
            return
        self.set_rule(self.rule_combo.currentData())

    def set_rule(self, rule: str) -> None:
        """Use prescription ``rule`` (one of RULES)."""
        if rule != self._profile.rule and not self.locked:
            self._accept(replace(self._profile, rule=rule), f"Prescription rule: {rule_label(rule)}.")

    def _on_max_gain_cell(self, item: QTableWidgetItem) -> None:
        if self._syncing:
            return
        ear, c = EAR_ORDER[item.row()], item.column()
        band = f"{hz_label(self._profile.band_centres_hz[c])} Hz"
        try:
            v = float(item.text())
        except ValueError:
            v = float("nan")
        if not MAX_GAIN_RANGE_DB[0] <= v <= MAX_GAIN_RANGE_DB[1]:
            self._refuse(f"Max gain, {ear} ear at {band}: {item.text()!r} must be "
                         f"{MAX_GAIN_RANGE_DB[0]}..{MAX_GAIN_RANGE_DB[1]} dB")
            self._refresh()
            return
        gains = {e: list(g) for e, g in self._profile.limits.max_gain_db.items()}
        gains[ear][c] = v
        self.set_limits(replace(self._profile.limits, max_gain_db={e: tuple(g) for e, g in gains.items()}))

    def _on_limit_spin(self, _value: int) -> None:
        if self._syncing:
            return
        self.set_limits(replace(self._profile.limits, max_output_db_spl=float(self.mpo_spin.value()),
                                max_volume_db=float(self.max_volume_spin.value())))

    def set_limits(self, limits: AudiologistLimits) -> bool:
        """Adopt new limits; the caregiver's volume is pulled inside them. True when accepted."""
        if self.locked:
            self._refuse("Audiologist settings are locked")
            return False
        try:
            p = replace(self._profile, limits=limits)
        except ProfileError as exc:
            self._refuse(_readable(exc))
            self._refresh()
            return False
        p, notes = apply_caregiver_change(p, volume_db=p.volume_db)
        note = "Limits updated." + (" Caregiver volume lowered to the new maximum." if notes else "")
        self._accept(p, note)
        return True

    # ---- PIN ---------------------------------------------------------------------------------------
    def _on_unlock(self) -> None:
        self.unlock(self.pin_edit.text())

    def unlock(self, pin: str) -> bool:
        """Unlock with ``pin``; a wrong PIN leaves everything locked and says so."""
        self.pin_edit.clear()
        if self._unlocked:
            return True
        if verify_pin(pin, self._profile.pin):
            self._unlocked = True
            self._say("Unlocked.", PASS_COLOUR)
            self._refresh_lock()
            return True
        self._refuse("Wrong PIN: the settings stay locked")
        return False

    def lock(self) -> None:
        """Lock the audiologist settings (only meaningful when a PIN is set)."""
        if self._profile.pin is not None:
            self._unlocked = False
            self._say("Locked.", PASS_COLOUR)
            self._refresh_lock()

    def _open_pin_dialog(self) -> None:
        self.pin_dialog = PinDialog(self)
        self.pin_dialog.accepted.connect(lambda: self.set_pin(self.pin_dialog.pin()))
        self.pin_dialog.open()

    def set_pin(self, pin: str) -> None:
        """Store the hash of a new PIN (4-12 digits) in the profile; the screen stays unlocked."""
        if self.locked:
            self._refuse("Audiologist settings are locked")
            return
        try:
            ph = hash_pin(pin)
        except ProfileError as exc:
            self._refuse(_readable(exc))
            return
        self._accept(replace(self._profile, pin=ph), "PIN set: the fitting opens locked from now on.")

    # ---- verification ------------------------------------------------------------------------------
    def start_verify(self) -> None:
        """Measure insertion gain of the current profile on a pool thread; the table fills when done."""
        if self.verifying:
            return
        self.verifying = True
        self.verify_button.setEnabled(False)
        self.verify_button.setText("Measuring…")
        self.busy.setVisible(True)
        self.verify_summary.setText("Playing speech-shaped noise at 50, 65 and 80 dB SPL through the fitting…")
        self.verify_summary.setStyleSheet("")
        QThreadPool.globalInstance().start(_VerifyJob(self._profile, self.verify_seconds, self._verify_signals))

    def _end_busy(self) -> None:
        self.verifying = False
        self.verify_button.setEnabled(True)
        self.verify_button.setText("&Verify fitting")
        self.busy.setVisible(False)

    def _on_verify_done(self) -> None:
        profile, result = self._verify_signals.results.get_nowait()
        self._end_busy()
        if profile is None:
            self.verify_summary.setText(result)
            self.verify_summary.setStyleSheet(f"color: {FAIL_COLOUR}; font-weight: bold;")
            return
        self.verify_rows, self._verified_profile = result, profile
        self._refresh_gain_views()
