"""Level calibration dBFS -> dB SPL at the ear, and the speech spectrum used to relate broadband and band levels.

Convention: ``full_scale_sine_db_spl`` is the SPL a full-scale (peak 1.0) sine produces at the ear. A signal whose
RMS is ``r`` (linear, full scale = 1) is then at ``20 log10(r) + 3.01 + full_scale_sine_db_spl`` dB SPL.

Default 100 dB SPL: a conservative assumption for consumer headphones driven at a typical listening volume
(most produce 95-110 dB SPL for a full-scale sine at maximum volume); assuming a *louder* transducer than the
real one makes the app deliver *less* than prescribed, never more, until the user calibrates.

Calibration procedure (:func:`reference_tone`, :meth:`Calibration.from_measured_tone`,
:meth:`Calibration.from_sensitivity_mw`, :meth:`Calibration.from_sensitivity_v`): play a 1 kHz tone at
-20 dBFS (sine peak), measure its level at the ear (coupler / sound-level meter) and enter it; or enter the
headphone's sensitivity in dB SPL/mW (with impedance and the interface's full-scale output voltage) or
dB SPL/V (with the full-scale output voltage). The result is one number stored in the profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SINE_RMS_DB = 10 * np.log10(2.0)  # 3.01 dB: full-scale sine RMS is -3.01 dB re full scale
DEFAULT_FULL_SCALE_SINE_DB_SPL = 100.0
REFERENCE_TONE_HZ = 1000.0
REFERENCE_TONE_DBFS = -20.0

# Long-term average speech spectrum, one-third-octave band levels (dB SPL) for 70 dB SPL overall speech:
# approximate values of the "universal" LTASS of Byrne D. et al. (1994) J Acoust Soc Am 96:2108-2120 (mean of
# male and female talkers), rounded to 0.5 dB. Used only to share a broadband input level among the bands and to
# shape test noise; the absolute level is renormalised below.
LTASS_HZ = np.array([100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000,
                     5000, 6300, 8000, 10000], float)
LTASS_DB = np.array([54.4, 57.7, 56.8, 58.2, 59.8, 60.1, 59.2, 58.1, 56.4, 53.6, 50.2, 48.0, 47.1, 46.6, 45.2,
                     44.1, 43.4, 42.5, 41.0, 40.1, 38.5], float)


@dataclass(frozen=True)
class Calibration:
    """dBFS -> dB SPL at the ear: the SPL (dB) of a full-scale sine."""

    full_scale_sine_db_spl: float = DEFAULT_FULL_SCALE_SINE_DB_SPL

    def __post_init__(self) -> None:
        if not 60.0 <= float(self.full_scale_sine_db_spl) <= 140.0:
            raise ValueError(f"full_scale_sine_db_spl {self.full_scale_sine_db_spl} dB SPL outside 60..140")

    @property
    def rms_offset_db(self) -> float:
        """Add to ``20 log10(rms)`` (dB re full scale) to get dB SPL."""
        return self.full_scale_sine_db_spl + SINE_RMS_DB

    def spl_of(self, x: np.ndarray) -> float:
        """Level (dB SPL) of the signal ``x`` (linear full-scale units), by RMS."""
        ms = float(np.mean(np.square(x, dtype=np.float64)))
        return 10 * np.log10(ms + 1e-30) + self.rms_offset_db

    def rms_for_spl(self, db_spl: float) -> float:
        """Linear RMS that plays at ``db_spl`` dB SPL."""
        return 10 ** ((db_spl - self.rms_offset_db) / 20)

    def peak_for_sine_spl(self, db_spl: float) -> float:
        """Linear peak amplitude of a sine at ``db_spl`` dB SPL."""
        return 10 ** ((db_spl - self.full_scale_sine_db_spl) / 20)

    def to_dict(self) -> dict:
        """Plain data."""
        return {"full_scale_sine_db_spl": float(self.full_scale_sine_db_spl)}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """Inverse of :meth:`to_dict`."""
        return cls(float(d.get("full_scale_sine_db_spl", DEFAULT_FULL_SCALE_SINE_DB_SPL)))

    @classmethod
    def from_measured_tone(cls, measured_db_spl: float, tone_dbfs: float = REFERENCE_TONE_DBFS) -> "Calibration":
        """From a reference sine played at ``tone_dbfs`` (dBFS, peak) measured at ``measured_db_spl`` dB SPL."""
        return cls(float(measured_db_spl) - float(tone_dbfs))

    @classmethod
    def from_sensitivity_mw(cls, db_spl_per_mw: float, impedance_ohm: float,
                            full_scale_vrms: float) -> "Calibration":
        """From headphone sensitivity (dB SPL/mW), impedance (ohm) and the full-scale sine output voltage (V RMS)."""
        p_mw = full_scale_vrms ** 2 / impedance_ohm * 1e3
        return cls(float(db_spl_per_mw + 10 * np.log10(p_mw)))

    @classmethod
    def from_sensitivity_v(cls, db_spl_per_v: float, full_scale_vrms: float) -> "Calibration":
        """From headphone sensitivity (dB SPL/V RMS) and the full-scale sine output voltage (V RMS)."""
        return cls(float(db_spl_per_v + 20 * np.log10(full_scale_vrms)))


def reference_tone(sample_rate: int, seconds: float = 3.0, freq_hz: float = REFERENCE_TONE_HZ,
                   dbfs: float = REFERENCE_TONE_DBFS) -> np.ndarray:
    """Calibration tone: sine at ``freq_hz`` Hz, peak ``dbfs`` dBFS, 20 ms raised-cosine ramps, float32 mono."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)
    r = min(int(0.02 * sample_rate), n // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
    x[:r] *= ramp
    x[n - r:] *= ramp[::-1]
    return x.astype(np.float32)


def ltass_db(freqs_hz) -> np.ndarray:
    """LTASS power spectral density shape (dB, arbitrary reference) at ``freqs_hz`` (Hz), per Hz."""
    f = np.maximum(np.asarray(freqs_hz, float), 1.0)
    # 1/3-octave band power -> density: divide by the band width (proportional to f).
    dens = LTASS_DB - 10 * np.log10(LTASS_HZ)
    return np.interp(np.log(f), np.log(LTASS_HZ), dens)


def speech_shaped_noise(n: int, sample_rate: int, db_spl: float, calibration: Calibration = Calibration(),
                        seed: int = 0) -> np.ndarray:
    """Gaussian noise with the LTASS spectrum at ``db_spl`` dB SPL (RMS, whole band), float64 mono."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    shape = 10 ** (ltass_db(f) / 20)
    shape[f < 80] *= (np.maximum(f[f < 80], 1e-9) / 80) ** 2  # no sub-audio rumble
    x = np.fft.irfft(spec * shape, n)
    return x * (calibration.rms_for_spl(db_spl) / np.sqrt(np.mean(x ** 2)))


def speech_band_offsets_db(band_power_weights: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Band level minus broadband level (dB) of LTASS speech for bands with power responses (bands, freqs) on the
    uniform frequency grid ``freqs_hz`` (Hz)."""
    dens = 10 ** (ltass_db(freqs_hz) / 10)
    total = dens.sum()
    return 10 * np.log10(band_power_weights @ dens / total)
