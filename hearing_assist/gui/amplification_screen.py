"""The caregiver's amplification screen: listening-situation presets, the noise-adaptive switch, volume, balance,
low/mid/high tone, limiter.

Every edit goes through :func:`apply_caregiver_change`, which clips it to the audiologist's limits; a clipped slider
snaps back to what was allowed and a short note says why. Large fonts, accessible names, keyboard reachable.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider,
    QVBoxLayout, QWidget,
)

from hearing_assist.profiles.amplification import (
    FINE_TUNING_RANGE_DB, PRESET_LABELS, VOLUME_RANGE_DB, AmplificationProfile, apply_caregiver_change,
)

EARS = ("left", "right")
LIMITED_NOTE = "Limited by your audiologist's settings"
NOTE_SECONDS = 4.0
LIMITER_ON_DB = 0.5  # gain reduction that lights the indicator
LIMITER_OFF_DB = 0.3  # hysteresis: below this it goes out, so it does not flicker around the threshold
LIMITER_HOLD_MS = 600  # stays lit this long after the last reduction so short peaks are readable
PRESET_ORDER = ("quiet", "conversation", "noisy", "tv", "music")
PRESET_HINTS = {
    "quiet": "More gain for soft voices in a quiet room.",
    "conversation": "Your prescription as fitted by the audiologist.",
    "noisy": "Steady background noise is not amplified; voices keep their full tone.",
    "tv": "Clearer dialogue; loud adverts and quiet speech evened out.",
    "music": "Fuller, more natural sound with less compression.",
}
# Tone ranges as the presets define them (Preset.band_offsets_db): low < 750 Hz, mid 750-2000 Hz, high > 2000 Hz.
TONE_RANGES = (  # key, label with its Alt mnemonic, what it means
    ("low", "&Low pitches", "bass, below 750 Hz"),
    ("mid", "Mi&ddle pitches", "voices, 750–2000 Hz"),
    ("high", "&High pitches", "clarity, above 2000 Hz"),
)
PRESET_MNEMONICS = {"quiet": "&Quiet", "conversation": "&Conversation", "noisy": "&Noisy place", "tv": "&TV/Media",
                    "music": "&Music"}
NOISE_ADAPTIVE_TEXT = "Reduce background noise between &words"
NOISE_ADAPTIVE_HINT = ("In steady background noise (a café, a street, a kitchen), the noise between words is not "
                       "boosted like a soft voice; speech keeps its prescribed gain. No effect in quiet.")
BALANCE_STEPS = 100  # slider units per full balance swing (-1..+1 -> -100..+100)


def tone_bands(centres_hz, name: str) -> np.ndarray:
    """Indices of the bands (centres in Hz) in tone range ``name`` ('low', 'mid', 'high')."""
    c = np.asarray(centres_hz, float)
    mask = {"low": c < 750, "mid": (c >= 750) & (c <= 2000), "high": c > 2000}[name]
    return np.flatnonzero(mask)


def tone_value_db(profile: AmplificationProfile, name: str) -> int:
    """The slider position for a tone range: the largest fine-tuning (dB) any band of it has in either ear."""
    idx = tone_bands(profile.band_centres_hz, name)
    if not len(idx):
        return 0
    return int(round(max(profile.fine_tuning_db[e][i] for e in EARS for i in idx)))


def _slider(lo: int, hi: int, name: str, step: int = 1, page: int = 3, tick: int = 5) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setPageStep(page)
    s.setTickInterval(tick)
    s.setTickPosition(QSlider.TickPosition.TicksBelow)
    s.setAccessibleName(name)
    s.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    s.setMinimumHeight(40)
    return s


class AmplificationScreen(QWidget):
    """Everyday adjustments within the audiologist's limits."""

    profile_changed = Signal(object)  # AmplificationProfile after every accepted edit

    def __init__(self, profile: AmplificationProfile, parent=None):
        super().__init__(parent)
        self._profile = profile
        self._syncing = False
        self.limiter_reduction_db = 0.0
        self.limiter_on = False
        self.setObjectName("AmplificationScreen")
        self.setStyleSheet(
            "#AmplificationScreen, #AmplificationScreen QWidget { font-size: 15pt; }"
            "QGroupBox { font-weight: bold; margin-top: 14px; }"
            "QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 6px; }"
            "#AmplificationScreen QPushButton { padding: 6px 18px; }"
            "#AmplificationScreen QPushButton[preset=\"true\"] { font-size: 17pt; font-weight: bold; min-height: 64px;"
            " padding: 6px 14px; border: 2px solid #8c959f; border-radius: 10px; background: #f6f8fa; color: #24292f; }"
            "#AmplificationScreen QPushButton[preset=\"true\"]:checked { background: #0969da; border-color: #0550ae;"
            " color: white; }"
            "#AmplificationScreen QPushButton[preset=\"true\"]:focus { border: 3px solid #bf8700; }"
            "QSlider::groove:horizontal { height: 10px; background: #d0d7de; border-radius: 5px; }"
            "QSlider::handle:horizontal { width: 30px; margin: -11px 0; border-radius: 15px; background: #0969da;"
            " border: 2px solid #0550ae; }"
            "QSlider::handle:horizontal:focus { border: 3px solid #bf8700; }")
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(lambda: self.note.setVisible(False))
        self._limiter_timer = QTimer(self)
        self._limiter_timer.setSingleShot(True)
        self._limiter_timer.timeout.connect(self._limiter_release)
        self._build()
        self._refresh()

    # ---- public API ----------------------------------------------------------------------------------
    def profile(self) -> AmplificationProfile:
        """The profile as currently adjusted."""
        return self._profile

    def set_profile(self, profile: AmplificationProfile) -> None:
        """Show ``profile`` (no signal), e.g. after the audiologist changed it."""
        self._profile = profile
        self._refresh()

    def set_limiter_reduction_db(self, db: float) -> None:
        """Live output-limiter gain reduction (dB, >= 0); lights the indicator while it works."""
        self.limiter_reduction_db = float(db)
        if db > LIMITER_ON_DB or (self.limiter_on and db > LIMITER_OFF_DB):
            self.limiter_on = True
            text = f"Limiter active  −{db:.0f} dB"
            if text != self.limiter_label.text() or self.limiter_label.isHidden():  # called ~30x/s: skip no-ops
                self.limiter_label.setText(text)
                self.limiter_label.setAccessibleDescription(
                    f"The output limiter is reducing loud sounds by {db:.0f} decibels")
                self.limiter_label.setVisible(True)
            self._limiter_timer.start(LIMITER_HOLD_MS)
        elif self.limiter_on and not self._limiter_timer.isActive():
            self._limiter_release()

    # ---- construction --------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setSpacing(14)
        root.addWidget(self._build_presets())
        root.addWidget(self._build_sound())
        root.addWidget(self._build_tone())
        status = QHBoxLayout()
        self.note = QLabel(LIMITED_NOTE)
        self.note.setAccessibleName("Limit note")
        self.note.setStyleSheet("background: #fff8c5; color: #7d4e00; border: 1px solid #d4a72c;"
                                " border-radius: 8px; padding: 6px 12px; font-weight: bold;")
        self._keep_space(self.note)
        self.note.setVisible(False)
        self.limiter_label = QLabel("Limiter active")
        self.limiter_label.setAccessibleName("Limiter indicator")
        self.limiter_label.setStyleSheet("background: #bf8700; color: white; border-radius: 8px;"
                                         " padding: 6px 14px; font-weight: bold;")
        self._keep_space(self.limiter_label)
        self.limiter_label.setVisible(False)
        status.addWidget(self.note)
        status.addStretch(1)
        status.addWidget(self.limiter_label)
        root.addLayout(status)
        root.addStretch(1)

    @staticmethod
    def _keep_space(w: QWidget) -> None:
        """Hidden labels keep their place so the sliders do not jump when a note comes and goes."""
        sp = w.sizePolicy()
        sp.setRetainSizeWhenHidden(True)
        w.setSizePolicy(sp)

    def _build_presets(self) -> QGroupBox:
        box = QGroupBox("Listening situation")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.preset_group = QButtonGroup(self)
        self.preset_group.setExclusive(True)
        self.preset_buttons: dict[str, QPushButton] = {}
        for key in PRESET_ORDER:
            b = QPushButton(PRESET_MNEMONICS[key])
            b.setProperty("preset", True)
            b.setCheckable(True)
            b.setAccessibleName(f"Preset {PRESET_LABELS[key]}")
            b.setAccessibleDescription(PRESET_HINTS[key])
            b.setToolTip(PRESET_HINTS[key])
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # some platforms leave buttons out of the Tab chain
            b.clicked.connect(lambda _checked=False, k=key: self.choose_preset(k))
            self.preset_group.addButton(b)
            self.preset_buttons[key] = b
            row.addWidget(b)
        v.addLayout(row)
        self.preset_hint = QLabel()
        self.preset_hint.setAccessibleName("Preset description")
        self.preset_hint.setStyleSheet("color: #57606a; font-weight: normal;")
        v.addWidget(self.preset_hint)
        # a switch beside the presets, not a preset of its own: it helps in every situation with steady noise,
        # and keeps the chosen preset's tone and loudness
        self.noise_adaptive_box = QCheckBox(NOISE_ADAPTIVE_TEXT)
        self.noise_adaptive_box.setAccessibleName("Reduce background noise between words")
        self.noise_adaptive_box.setAccessibleDescription(NOISE_ADAPTIVE_HINT)
        self.noise_adaptive_box.setToolTip(NOISE_ADAPTIVE_HINT)
        self.noise_adaptive_box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.noise_adaptive_box.setStyleSheet("QCheckBox::indicator { width: 26px; height: 26px; }")
        self.noise_adaptive_box.toggled.connect(self._on_noise_adaptive)
        v.addWidget(self.noise_adaptive_box)
        return box

    def _value_label(self) -> QLabel:
        lab = QLabel()
        lab.setMinimumWidth(110)
        lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lab.setStyleSheet("font-weight: bold;")
        return lab

    def _build_sound(self) -> QGroupBox:
        box = QGroupBox("Loudness")
        g = QGridLayout(box)
        g.setHorizontalSpacing(14)
        self.volume_slider = _slider(int(VOLUME_RANGE_DB[0]), int(VOLUME_RANGE_DB[1]), "Volume in decibels")
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.volume_value = self._value_label()
        self.volume_value.setAccessibleName("Volume value")
        self.balance_slider = _slider(-BALANCE_STEPS, BALANCE_STEPS, "Balance between left and right ear",
                                      step=5, page=20, tick=25)
        self.balance_slider.valueChanged.connect(self._on_balance)
        self.balance_value = self._value_label()
        self.balance_value.setAccessibleName("Balance value")
        for r, (title, lo, slider, hi, value) in enumerate((
                ("&Volume", "Quieter", self.volume_slider, "Louder", self.volume_value),
                ("&Balance", "Left", self.balance_slider, "Right", self.balance_value))):
            lab = QLabel(title)
            lab.setBuddy(slider)  # Alt+letter focuses the slider
            g.addWidget(lab, r, 0)
            g.addWidget(QLabel(lo), r, 1, Qt.AlignmentFlag.AlignRight)
            g.addWidget(slider, r, 2)
            g.addWidget(QLabel(hi), r, 3)
            g.addWidget(value, r, 4)
        g.setColumnStretch(2, 1)
        g.setColumnMinimumWidth(0, 230)
        return box

    def _build_tone(self) -> QGroupBox:
        box = QGroupBox("Tone (fine-tuning)")
        g = QGridLayout(box)
        g.setHorizontalSpacing(14)
        self.tone_sliders: dict[str, QSlider] = {}
        self.tone_values: dict[str, QLabel] = {}
        lo, hi = (int(v) for v in FINE_TUNING_RANGE_DB)
        for r, (key, title, detail) in enumerate(TONE_RANGES):
            plain = title.replace("&", "")
            s = _slider(lo, hi, f"{plain} ({detail}) in decibels")
            s.valueChanged.connect(lambda v, k=key: self._on_tone(k, v))
            lab = QLabel(title)
            lab.setBuddy(s)  # Alt+letter focuses the slider
            sub = QLabel(detail)
            sub.setStyleSheet("font-size: 14pt; color: #57606a;")
            cell = QVBoxLayout()
            cell.setSpacing(0)
            cell.addWidget(lab)
            cell.addWidget(sub)
            value = self._value_label()
            value.setAccessibleName(f"{plain} value")
            g.addLayout(cell, r, 0)
            g.addWidget(QLabel("Less"), r, 1, Qt.AlignmentFlag.AlignRight)
            g.addWidget(s, r, 2)
            g.addWidget(QLabel("More"), r, 3)
            g.addWidget(value, r, 4)
            self.tone_sliders[key], self.tone_values[key] = s, value
        self.reset_tone_button = QPushButton("&Reset tone")
        self.reset_tone_button.setAccessibleName("Reset tone to the prescription")
        self.reset_tone_button.clicked.connect(self.reset_tone)
        self.reset_tone_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        g.addWidget(self.reset_tone_button, len(TONE_RANGES), 4)
        g.setColumnStretch(2, 1)
        g.setColumnMinimumWidth(0, 230)
        return box

    # ---- refresh -----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Show the profile on every control without re-entering the edit handlers."""
        self._syncing = True
        try:
            p = self._profile
            self.preset_buttons[p.preset].setChecked(True)
            self.preset_hint.setText(PRESET_HINTS[p.preset])
            self.noise_adaptive_box.setChecked(p.noise_adaptive)
            self.volume_slider.setValue(int(round(p.volume_db)))
            self.volume_value.setText(f"{p.volume_db:+.0f} dB")
            self.balance_slider.setValue(int(round(p.balance * BALANCE_STEPS)))
            self.balance_value.setText(self._balance_text(p.balance))
            for key, s in self.tone_sliders.items():
                v = tone_value_db(p, key)
                s.setValue(v)
                self.tone_values[key].setText(f"{v:+d} dB")
        finally:
            self._syncing = False

    @staticmethod
    def _balance_text(b: float) -> str:
        if abs(b) < 0.005:
            return "Centre"
        return f"{'Right' if b > 0 else 'Left'} {abs(b) * 100:.0f}%"

    # ---- edits -------------------------------------------------------------------------------------
    def _commit(self, new: AmplificationProfile, notes: list[str]) -> None:
        """Adopt the clipped profile, snap the controls to it, show the note if anything was limited, emit."""
        changed = new != self._profile
        self._profile = new
        self._refresh()
        if notes:
            self.note.setText(LIMITED_NOTE)
            self.note.setToolTip("\n".join(notes))
            self.note.setAccessibleDescription("; ".join(notes))
            self.note.setVisible(True)
            self._note_timer.start(int(NOTE_SECONDS * 1000))
        if changed:
            self.profile_changed.emit(new)

    def choose_preset(self, key: str) -> None:
        """Switch to listening-situation preset ``key``."""
        self._commit(*apply_caregiver_change(self._profile, preset=key))

    def set_noise_adaptive(self, on: bool) -> None:
        """Switch the noise-adaptive compression (less boost for steady background noise) on or off."""
        self._commit(*apply_caregiver_change(self._profile, noise_adaptive=on))

    def _on_noise_adaptive(self, on: bool) -> None:
        if not self._syncing:
            self.set_noise_adaptive(on)

    def _on_volume(self, value: int) -> None:
        if not self._syncing:
            self._commit(*apply_caregiver_change(self._profile, volume_db=float(value)))

    def _on_balance(self, value: int) -> None:
        if not self._syncing:
            self._commit(*apply_caregiver_change(self._profile, balance=value / BALANCE_STEPS))

    def _on_tone(self, key: str, value: int) -> None:
        if not self._syncing:
            self.set_tone(key, float(value))

    def set_tone(self, key: str, db: float) -> None:
        """Set the fine-tuning of tone range ``key`` to ``db`` in both ears (other ranges stay as they are)."""
        idx = tone_bands(self._profile.band_centres_hz, key)
        ft = {}
        for e in EARS:
            vals = list(self._profile.fine_tuning_db[e])
            for i in idx:
                vals[i] = db
            ft[e] = vals
        self._commit(*apply_caregiver_change(self._profile, fine_tuning_db=ft))

    def reset_tone(self) -> None:
        """Put all fine-tuning back to 0 dB (the prescription)."""
        n = len(self._profile.band_centres_hz)
        self._commit(*apply_caregiver_change(self._profile, fine_tuning_db={e: [0.0] * n for e in EARS}))

    def _limiter_release(self) -> None:
        if self.limiter_reduction_db > LIMITER_OFF_DB:
            self._limiter_timer.start(LIMITER_HOLD_MS)  # still limiting: keep it lit
            return
        self.limiter_on = False
        self.limiter_label.setVisible(False)
