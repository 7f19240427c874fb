"""Measures :data:`hearing_assist.dsp.speech_levels.SPEECH_LEVEL_QUANTILES_DB` from real speech in shared/data.

``python -m hearing_assist.bench.speech_levels`` prints the table to paste into dsp/speech_levels.py. The clips are
the real recordings of shared/data except the ones the HASPI benchmark scores (so the benchmark's real-speech
insertion gain checks the table on speech it was not measured on) and the 8 kHz spoken digits.
"""

from __future__ import annotations

import numpy as np

from hearing_assist.bench.corpus import Clip, load_audio, speech_clips
from hearing_assist.dsp.calibration import Calibration
from hearing_assist.dsp.compressor import BandCompression, Wdrc
from hearing_assist.dsp.filterbank import CrossoverBank

FS = 48000
QUANTILES = 16
RATIO = 2.0  # the detector's time constants depend a little on the ratio (time_constants); 1.5 and 3 differ <= 0.1 dB
BLOCK = 512  # the bank keeps per-length matrices for every block length up to this: keep it small


def table_clips() -> list[Clip]:
    """The clips the table is measured on (empty without shared/data)."""
    from hearing_assist.bench.haspi import pick_clips
    held_out = {c.id for c in pick_clips(10)}
    return [c for c in speech_clips() if c.id not in held_out and not c.id.startswith("fsdd")]


def detector_levels(x: np.ndarray, calibration: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(band signals, WDRC detector levels in dB SPL), each (bands, frames), of mono ``x`` through the default bank.

    The level is read back from the gain of a 2:1 curve with its knee at 0 dB SPL: g = -L / 2.
    """
    bank = CrossoverBank()
    bank.prepare(FS, BLOCK, 1)
    bands = np.concatenate([bank.split(x[None, i:i + BLOCK]) for i in range(0, len(x), BLOCK)], axis=2)
    wdrc = Wdrc(BandCompression(gain_at_knee_db=0.0, knee_db_spl=0.0, ratio=RATIO, knee_width_db=0.0,
                                expansion_threshold_db_spl=-200.0, max_gain_db=100.0), calibration.rms_offset_db)
    wdrc.prepare(FS, BLOCK, bank.n_bands, 1)
    out = np.zeros((1, BLOCK), np.float32)
    levels = np.empty(bands.shape[::2], np.float32)
    for i in range(0, bands.shape[2], BLOCK):
        seg = bands[:, :, i:i + BLOCK].copy()
        wdrc.process_bands(seg, out[:, :seg.shape[2]])
        gain = np.abs(seg[:, 0]) / np.maximum(np.abs(bands[:, 0, i:i + BLOCK]), 1e-30)
        levels[:, i:i + seg.shape[2]] = -20 * np.log10(np.maximum(gain, 1e-30)) / (1 - 1 / RATIO)
    return bands[:, 0].astype(np.float64), levels


def measure_quantiles(clips: list[Clip], calibration: Calibration = Calibration()) -> np.ndarray:
    """(bands, QUANTILES) levels (dB re the long-term band level) splitting speech power into equal parts."""
    sig, lev = [], []
    for c in clips:
        s = load_audio(c.path, FS).astype(np.float64)
        s *= calibration.rms_for_spl(65.0) / np.sqrt(np.mean(s ** 2))
        b, lv = detector_levels(np.concatenate([np.zeros(FS // 10), s]).astype(np.float32), calibration)
        sig.append(b)
        lev.append(lv)
    power, levels = np.concatenate(sig, axis=1) ** 2, np.concatenate(lev, axis=1)
    mids = (np.arange(QUANTILES) + 0.5) / QUANTILES
    rows = []
    for p, lv in zip(power, levels):
        long_term = 10 * np.log10(np.mean(p)) + calibration.rms_offset_db
        order = np.argsort(lv)
        mass = np.cumsum(p[order])
        rows.append(np.interp(mids, mass / mass[-1], lv[order]) - long_term)
    return np.array(rows)


if __name__ == "__main__":
    clips = table_clips()
    if not clips:
        raise SystemExit("shared/data speech recordings absent")
    q = measure_quantiles(clips)
    print(f"# {len(clips)} clips")
    for fc, row in zip(CrossoverBank().centres_hz, q):
        print(f"    {fc:.1f}: ({', '.join(f'{v:.1f}' for v in row)}),")
