"""Prescription rules: insertion-gain targets (dB) per band centre (Hz) and input level (dB SPL).

Rules (each a pure function of one ear's thresholds in dB HL; all return real-ear insertion gain, REIG, in dB):

* **NAL-R** -- Byrne D. & Dillon H. (1986), "The National Acoustic Laboratories' (NAL) new procedure for
  selecting the gain and frequency response of a hearing aid", Ear Hear 7:257-265:
  ``H3FA = (H500 + H1k + H2k) / 3``, ``X = 0.15 * H3FA``, ``IG_f = X + 0.31 * H_f + k_f`` with
  ``k = {250: -17, 500: -8, 750: -3, 1000: 1, 1500: 1, 2000: -1, 3000: -2, 4000: -2, 6000: -2}`` dB.
* **NAL-RP** -- Byrne D., Parkinson A. & Newall P. (1990) Ear Hear 11:40-49 and (1991) "Modified hearing aid
  selection procedures for severe/profound hearing losses", Vanderbilt Hearing-Aid Report II, 295-300; as
  summarised in Dillon H. (2012) "Hearing Aids", 2nd ed. NAL-R plus ``0.2 * (H3FA - 60)`` dB at every
  frequency when H3FA > 60 dB HL (overall slope becomes 0.46 -> 0.66 of the loss above 60), plus, when
  H2k >= 95 dB HL, the frequency-response correction of Byrne et al. (1991, Fig. 9) interpolated in H2k
  (table :data:`NAL_RP_SEVERE`); negative REIG is set to 0.
* **Half-gain** -- Lybarger's half-gain rule: ``IG_f = H_f / 2``.
* **POGO II** -- Schwartz D., Lyregaard P. & Lundh P. (1988), "Hearing aid selection for severe-to-profound
  hearing loss", Hear J 41:13-17: ``IG_f = H_f / 2 + k_f`` with ``k = {250: -10, 500: -5, else 0}``, plus
  ``(H_f - 65) / 2`` where H_f > 65 dB HL.
* **Linear (flat)** -- the same gain at every frequency (for caregivers / TV listening).

NAL-R/RP, half-gain and POGO II are linear rules fitted for conversational speech (65 dB SPL). Level-dependent
targets for 50 and 80 dB SPL are derived here from a per-band compression ratio (:func:`compression_ratio`):
``G(L) = G65 + (1 - 1/CR) * (65 - L)``, so the 65 dB SPL target stays exactly the published rule. CR grows with
the band's loss as in the CAM2 / NAL-NL2 trend for mild to moderately-severe loss (less residual dynamic
range -> more compression): ``CR = clip(1 + 0.025 * (H - 20), 1, 3)`` (H in dB HL), i.e. 1.0 at 20 dB HL,
2.0 at 60 dB HL, capped at 3.0 (higher ratios hurt speech envelope cues).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearing_assist.dsp.audiogram import EarThresholds

RULES = ("nal-r", "nal-rp", "half-gain", "pogo2", "linear")
INPUT_LEVELS_DB_SPL = (50.0, 65.0, 80.0)

NAL_HZ = (250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000)
NAL_K_DB = (-17.0, -8.0, -3.0, 1.0, 1.0, -1.0, -2.0, -2.0, -2.0)

# Byrne, Parkinson & Newall (1991) Fig. 9 (via Dillon 2012): extra gain (dB) at
# 250/500/1k/1.5k/2k/3k/4k/6k Hz for H2k = 95, 100, ..., 120 dB HL.
NAL_RP_SEVERE_H2K = (95.0, 100.0, 105.0, 110.0, 115.0, 120.0)
NAL_RP_SEVERE_HZ = (250, 500, 1000, 1500, 2000, 3000, 4000, 6000)
NAL_RP_SEVERE = (
    (4, 3, 0, -1, -2, -2, -2, -2),
    (6, 4, 0, -2, -3, -3, -3, -3),
    (8, 5, 0, -3, -5, -5, -5, -5),
    (11, 7, 0, -3, -6, -6, -6, -6),
    (13, 8, 0, -4, -8, -8, -8, -8),
    (15, 9, 0, -5, -9, -9, -9, -9),
)

POGO_HZ = (250, 500, 1000, 1500, 2000, 3000, 4000, 6000)
POGO_K_DB = {250: -10.0, 500: -5.0}


def _log_interp(f_out, f_in, v_in) -> np.ndarray:
    """Linear-in-dB interpolation on a log-frequency axis, flat beyond the ends."""
    return np.interp(np.log(np.asarray(f_out, float)), np.log(np.asarray(f_in, float)), np.asarray(v_in, float))


def nal_r(ear: EarThresholds) -> tuple[np.ndarray, np.ndarray]:
    """NAL-R insertion gain (dB) at :data:`NAL_HZ` (Hz); returns (frequencies Hz, gains dB)."""
    h = ear.at(NAL_HZ)
    h3fa = float(np.mean(ear.at((500, 1000, 2000))))
    return np.asarray(NAL_HZ, float), 0.15 * h3fa + 0.31 * h + np.asarray(NAL_K_DB)


def nal_rp(ear: EarThresholds) -> tuple[np.ndarray, np.ndarray]:
    """NAL-RP insertion gain (dB) at :data:`NAL_HZ` (Hz): NAL-R plus the severe/profound corrections, floored at 0."""
    f, g = nal_r(ear)
    h3fa = float(np.mean(ear.at((500, 1000, 2000))))
    if h3fa > 60.0:
        g = g + 0.2 * (h3fa - 60.0)
    h2k = float(ear.at([2000])[0])
    if h2k >= 95.0:
        table = np.asarray(NAL_RP_SEVERE, float)
        row = np.array([np.interp(min(h2k, 120.0), NAL_RP_SEVERE_H2K, table[:, j]) for j in range(table.shape[1])])
        g = g + _log_interp(f, NAL_RP_SEVERE_HZ, row)  # 750 Hz lies between the 500 and 1000 Hz columns
    return f, np.maximum(g, 0.0)


def half_gain(ear: EarThresholds) -> tuple[np.ndarray, np.ndarray]:
    """Half-gain rule: insertion gain (dB) = threshold (dB HL) / 2 at the audiogram's frequencies (Hz)."""
    f = np.asarray(list(ear.thresholds), float)
    return f, np.asarray(list(ear.thresholds.values()), float) / 2.0


def pogo2(ear: EarThresholds) -> tuple[np.ndarray, np.ndarray]:
    """POGO II insertion gain (dB) at :data:`POGO_HZ` (Hz), floored at 0."""
    h = ear.at(POGO_HZ)
    k = np.array([POGO_K_DB.get(f, 0.0) for f in POGO_HZ])
    return np.asarray(POGO_HZ, float), np.maximum(h / 2.0 + k + np.maximum(h - 65.0, 0.0) / 2.0, 0.0)


def compression_ratio(h_db_hl) -> np.ndarray:
    """Per-band compression ratio from the band's threshold (dB HL): ``clip(1 + 0.025 (H - 20), 1, 3)``."""
    return np.clip(1.0 + 0.025 * (np.asarray(h_db_hl, float) - 20.0), 1.0, 3.0)


@dataclass(frozen=True)
class GainTargets:
    """Insertion-gain targets (dB) for bands (Hz) at input levels (dB SPL), with the per-band ratio used."""

    centres_hz: np.ndarray
    levels_db_spl: tuple[float, ...]
    gains_db: np.ndarray  # shape (len(levels), bands)
    ratios: np.ndarray  # per band

    def at_level(self, level_db_spl: float) -> np.ndarray:
        """Target insertion gain (dB) per band at ``level_db_spl`` (one of the prescribed input levels)."""
        return self.gains_db[self.levels_db_spl.index(float(level_db_spl))]


def rule_gain_at_65(ear: EarThresholds, rule: str, centres_hz, flat_gain_db: float = 20.0) -> np.ndarray:
    """Insertion gain (dB) of ``rule`` for 65 dB SPL speech at ``centres_hz`` (Hz), log-frequency interpolated."""
    if rule == "linear":
        return np.full(len(centres_hz), float(flat_gain_db))
    fn = {"nal-r": nal_r, "nal-rp": nal_rp, "half-gain": half_gain, "pogo2": pogo2}.get(rule)
    if fn is None:
        raise ValueError(f"unknown prescription rule {rule!r}; choose one of {RULES}")
    f, g = fn(ear)
    return _log_interp(centres_hz, f, g)


def prescribe(ear: EarThresholds, rule: str, centres_hz, levels_db_spl=INPUT_LEVELS_DB_SPL,
              flat_gain_db: float = 20.0, linear: bool | None = None) -> GainTargets:
    """Targets (dB) per band centre (Hz) at each input level (dB SPL) for one ear under ``rule``.

    The 65 dB SPL row is the rule itself; other rows follow ``G65 + (1 - 1/CR)(65 - L)`` with CR from
    :func:`compression_ratio` (CR = 1 for the ``linear`` rule, or when ``linear`` is True). Gains are floored at 0 dB.
    """
    centres = np.asarray(centres_hz, float)
    g65 = rule_gain_at_65(ear, rule, centres, flat_gain_db)
    if linear is None:
        linear = rule == "linear"
    cr = np.ones_like(centres) if linear else compression_ratio(ear.at(centres))
    levels = tuple(float(x) for x in levels_db_spl)
    rows = [np.maximum(g65 + (1.0 - 1.0 / cr) * (65.0 - lv), 0.0) for lv in levels]
    return GainTargets(centres, levels, np.vstack(rows), cr)
