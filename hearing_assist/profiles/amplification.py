"""Amplification profile: audiogram, rule, fine-tuning, presets, audiologist limits, PIN, volume and balance.

Plain dataclasses with ``to_dict`` / ``from_dict`` (validated; errors name the field). Persistence (atomic
writes) is the store's job.

Presets (offsets in dB for low < 750 Hz, mid 750-2000 Hz, high > 2000 Hz bands; ``ratio_scale`` scales the
compression *amount* ``CR - 1``; ``knee_shift_db`` moves the compression knee; ``expansion_shift_db`` moves the
noise gate; ``release_scale`` multiplies release times):

* **Quiet** (0, +2, +2), ratio x1.0, knee -5 dB, gate -5 dB: more gain for soft speech; soft sounds let through.
* **Conversation** (0, 0, 0): the prescription itself.
* **Noisy place** (0, 0, 0), ratio x1.2, gate +5 dB: a bit more compression and a higher gate so steady noise is
  not amplified. No low-frequency cut: the usual comfort cut (it was -6 / -2 dB at low / mid) lowered HASPI v2 at
  5 dB SNR by 0.02-0.07 against the prescription (N2-N4, `bench amplification`): speech in noise needs its lows.
* **TV/Media** (0, +2, +3), ratio x1.3, release x2: dialogue clarity, evens out loud adverts vs quiet dialogue.
* **Music** (+2, 0, -2), ratio x0.5, release x4, gate -10 dB: fuller sound, less compression and pumping.

``noise_adaptive`` (on by default; the caregiver's "Reduce background noise between words") is a switch beside the
presets, not a preset: in any situation with steady background noise it stops the compressor boosting the noise
between words (dsp/compressor.py), while the chosen preset keeps its tone and loudness.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from hearing_assist.dsp.audiogram import Audiogram, AudiogramError, EARS
from hearing_assist.dsp.calibration import Calibration
from hearing_assist.dsp.filterbank import DEFAULT_CENTRES_HZ
from hearing_assist.dsp.prescription import RULES

SCHEMA_VERSION = 1
# on by default, as the automatic speech-in-noise behaviour of hearing aids: HASPI v2 in noise improves for N2-N4
# and speech in quiet is untouched (bench amplification); verification runs with it off (measure_insertion_gain)
NOISE_ADAPTIVE_DEFAULT = True
FINE_TUNING_RANGE_DB = (-20.0, 20.0)
VOLUME_RANGE_DB = (-40.0, 12.0)
MAX_BALANCE_ATTENUATION_DB = 20.0
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32


class ProfileError(ValueError):
    """A profile field is missing or invalid; the message names the field."""


@dataclass(frozen=True)
class Preset:
    """A listening-situation preset (see module docstring)."""

    name: str
    offsets_db: tuple[float, float, float] = (0.0, 0.0, 0.0)  # low, mid, high
    ratio_scale: float = 1.0
    knee_shift_db: float = 0.0
    expansion_shift_db: float = 0.0
    release_scale: float = 1.0

    def band_offsets_db(self, centres_hz) -> np.ndarray:
        """Per-band gain offset (dB) for band centres (Hz)."""
        c = np.asarray(centres_hz, float)
        lo, mid, hi = self.offsets_db
        return np.where(c < 750, lo, np.where(c <= 2000, mid, hi)).astype(float)


PRESETS: dict[str, Preset] = {
    "quiet": Preset("quiet", (0.0, 2.0, 2.0), 1.0, -5.0, -5.0, 1.0),
    "conversation": Preset("conversation"),
    "noisy": Preset("noisy", (0.0, 0.0, 0.0), 1.2, 0.0, 5.0, 1.0),
    "tv": Preset("tv", (0.0, 2.0, 3.0), 1.3, 0.0, 0.0, 2.0),
    "music": Preset("music", (2.0, 0.0, -2.0), 0.5, 0.0, -10.0, 4.0),
}
PRESET_LABELS = {"quiet": "Quiet", "conversation": "Conversation", "noisy": "Noisy place", "tv": "TV/Media",
                 "music": "Music"}


@dataclass(frozen=True)
class PinHash:
    """scrypt hash of the audiologist PIN (salt and hash hex-encoded); the PIN itself is never stored."""

    salt_hex: str
    hash_hex: str
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def to_dict(self) -> dict:
        """Plain data."""
        return {"salt_hex": self.salt_hex, "hash_hex": self.hash_hex, "n": self.n, "r": self.r, "p": self.p}


def hash_pin(pin: str) -> PinHash:
    """Hash a 4-12 digit PIN with scrypt and a random 16-byte salt."""
    if not (isinstance(pin, str) and pin.isdigit() and 4 <= len(pin) <= 12):
        raise ProfileError("pin: must be 4 to 12 digits")
    salt = secrets.token_bytes(16)
    h = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return PinHash(salt.hex(), h.hex())


def verify_pin(pin: str, stored: PinHash | None) -> bool:
    """True when ``pin`` matches ``stored`` (constant-time compare); False when no PIN is set."""
    if stored is None or not isinstance(pin, str):
        return False
    h = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(stored.salt_hex), n=stored.n, r=stored.r, p=stored.p,
                       dklen=len(stored.hash_hex) // 2)
    return hmac.compare_digest(h.hex(), stored.hash_hex)


@dataclass(frozen=True)
class AudiologistLimits:
    """Limits only the audiologist (PIN) may change: maximum insertion gain per band (dB), maximum output (dB SPL)."""

    max_gain_db: Mapping[str, tuple[float, ...]]  # per ear, per band
    max_output_db_spl: float = 100.0
    max_volume_db: float = 6.0

    def to_dict(self) -> dict:
        """Plain data."""
        return {"max_gain_db": {e: list(map(float, v)) for e, v in self.max_gain_db.items()},
                "max_output_db_spl": float(self.max_output_db_spl), "max_volume_db": float(self.max_volume_db)}


def default_limits(n_bands: int, max_gain_db: float = 50.0, max_output_db_spl: float = 100.0) -> AudiologistLimits:
    """Conservative limits: ``max_gain_db`` dB in every band, ``max_output_db_spl`` dB SPL MPO."""
    return AudiologistLimits({e: (max_gain_db,) * n_bands for e in EARS}, max_output_db_spl)


@dataclass(frozen=True)
class AmplificationProfile:
    """Everything the hearing chain needs to amplify for one listener."""

    audiogram: Audiogram
    rule: str = "nal-r"
    band_centres_hz: tuple[float, ...] = DEFAULT_CENTRES_HZ
    fine_tuning_db: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # per ear, per band
    preset: str = "conversation"
    limits: AudiologistLimits | None = None
    volume_db: float = 0.0
    balance: float = 0.0  # -1 (left only) .. +1 (right only)
    calibration: Calibration = Calibration()
    pin: PinHash | None = None
    attack_ms: float = 5.0
    release_ms: float = 50.0
    noise_adaptive: bool = NOISE_ADAPTIVE_DEFAULT  # less compression in steady background noise (dsp/compressor.py)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        n = len(self.band_centres_hz)
        if self.limits is None:
            object.__setattr__(self, "limits", default_limits(n))
        ft = {e: tuple(float(v) for v in self.fine_tuning_db.get(e, (0.0,) * n)) for e in EARS}
        object.__setattr__(self, "fine_tuning_db", ft)
        _check(self.rule in RULES, "rule", f"must be one of {RULES}, got {self.rule!r}")
        _check(self.preset in PRESETS, "preset", f"must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for e in EARS:
            _check(len(ft[e]) == n, f"fine_tuning_db.{e}", f"needs {n} values (one per band)")
            _check(all(FINE_TUNING_RANGE_DB[0] <= v <= FINE_TUNING_RANGE_DB[1] for v in ft[e]),
                   f"fine_tuning_db.{e}", f"values must be within {FINE_TUNING_RANGE_DB} dB")
            _check(len(self.limits.max_gain_db.get(e, ())) == n, f"limits.max_gain_db.{e}",
                   f"needs {n} values (one per band)")
            _check(all(0.0 <= v <= 80.0 for v in self.limits.max_gain_db[e]), f"limits.max_gain_db.{e}",
                   "values must be within 0..80 dB")
        _check(60.0 <= self.limits.max_output_db_spl <= 132.0, "limits.max_output_db_spl", "must be 60..132 dB SPL")
        _check(VOLUME_RANGE_DB[0] <= self.volume_db <= VOLUME_RANGE_DB[1], "volume_db",
               f"must be within {VOLUME_RANGE_DB} dB")
        _check(-1.0 <= self.balance <= 1.0, "balance", "must be within -1..1")
        _check(1.0 <= self.attack_ms <= 100.0, "attack_ms", "must be 1..100 ms")
        _check(10.0 <= self.release_ms <= 2000.0, "release_ms", "must be 10..2000 ms")
        _check(isinstance(self.noise_adaptive, bool), "noise_adaptive", "must be true or false")
        _check(self.schema_version == SCHEMA_VERSION, "schema_version", f"unsupported {self.schema_version}")

    def to_dict(self) -> dict:
        """Plain JSON-able data."""
        return {
            "schema_version": self.schema_version,
            "audiogram": self.audiogram.to_dict(),
            "rule": self.rule,
            "band_centres_hz": [float(c) for c in self.band_centres_hz],
            "fine_tuning_db": {e: list(v) for e, v in self.fine_tuning_db.items()},
            "preset": self.preset,
            "limits": self.limits.to_dict(),
            "volume_db": float(self.volume_db),
            "balance": float(self.balance),
            "calibration": self.calibration.to_dict(),
            "pin": None if self.pin is None else self.pin.to_dict(),
            "attack_ms": float(self.attack_ms),
            "release_ms": float(self.release_ms),
            "noise_adaptive": bool(self.noise_adaptive),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AmplificationProfile":
        """Validate and build from :meth:`to_dict` data; raises ProfileError naming the field."""
        _check(isinstance(d, Mapping), "profile", "must be a mapping")
        _check(d.get("schema_version") == SCHEMA_VERSION, "schema_version",
               f"expected {SCHEMA_VERSION}, got {d.get('schema_version')!r}")
        try:
            aud = Audiogram.from_dict(d.get("audiogram"))
        except AudiogramError as exc:
            raise ProfileError(f"audiogram: {exc}") from None
        centres = tuple(_num(c, "band_centres_hz") for c in _get(d, "band_centres_hz", list))
        lim = _get(d, "limits", Mapping)
        mg = _get(lim, "max_gain_db", Mapping, "limits.")
        limits = AudiologistLimits({e: tuple(_num(v, f"limits.max_gain_db.{e}") for v in mg.get(e, ())) for e in EARS},
                                   _num(lim.get("max_output_db_spl"), "limits.max_output_db_spl"),
                                   _num(lim.get("max_volume_db", 6.0), "limits.max_volume_db"))
        ft = _get(d, "fine_tuning_db", Mapping)
        pin = d.get("pin")
        if pin is not None:
            _check(isinstance(pin, Mapping) and {"salt_hex", "hash_hex"} <= set(pin), "pin", "needs salt_hex, hash_hex")
            pin = PinHash(str(pin["salt_hex"]), str(pin["hash_hex"]), int(pin.get("n", SCRYPT_N)),
                          int(pin.get("r", SCRYPT_R)), int(pin.get("p", SCRYPT_P)))
        try:
            cal = Calibration.from_dict(_get(d, "calibration", Mapping))
        except ValueError as exc:
            raise ProfileError(f"calibration: {exc}") from None
        return cls(
            audiogram=aud, rule=str(d.get("rule")), band_centres_hz=centres,
            fine_tuning_db={e: tuple(_num(v, f"fine_tuning_db.{e}") for v in ft.get(e, ())) for e in EARS},
            preset=str(d.get("preset")), limits=limits, volume_db=_num(d.get("volume_db"), "volume_db"),
            balance=_num(d.get("balance"), "balance"), calibration=cal, pin=pin,
            attack_ms=_num(d.get("attack_ms", 5.0), "attack_ms"), release_ms=_num(d.get("release_ms", 50.0), "release_ms"),
            noise_adaptive=_flag(d.get("noise_adaptive", NOISE_ADAPTIVE_DEFAULT), "noise_adaptive"),
        )


def _check(ok: bool, name: str, msg: str) -> None:
    if not ok:
        raise ProfileError(f"{name}: {msg}")


def _flag(v: Any, name: str) -> bool:
    _check(isinstance(v, bool), name, f"must be true or false, got {v!r}")
    return v


def _num(v: Any, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ProfileError(f"{name}: {v!r} is not a number") from None
    _check(bool(np.isfinite(f)), name, "must be finite")
    return f


def _get(d: Mapping, key: str, typ, prefix: str = "") -> Any:
    v = d.get(key)
    _check(isinstance(v, typ), prefix + key, f"missing or not a {getattr(typ, '__name__', typ)}")
    return v


def prescribed_gain_65_db(profile: AmplificationProfile, ear: str) -> np.ndarray:
    """Insertion gain (dB) at 65 dB SPL per band for ``ear`` before limits: rule + preset + fine-tuning."""
    from hearing_assist.dsp.prescription import rule_gain_at_65
    g = np.maximum(rule_gain_at_65(profile.audiogram.ear(ear), profile.rule, profile.band_centres_hz), 0.0)
    return g + PRESETS[profile.preset].band_offsets_db(profile.band_centres_hz) + np.asarray(profile.fine_tuning_db[ear])


def apply_caregiver_change(profile: AmplificationProfile, *, fine_tuning_db: Mapping[str, Any] | None = None,
                           volume_db: float | None = None, balance: float | None = None,
                           preset: str | None = None,
                           noise_adaptive: bool | None = None) -> tuple[AmplificationProfile, list[str]]:
    """Apply a caregiver edit, clipped to the audiologist's limits; returns (new profile, notes on what was clipped).

    Fine-tuning is clipped so that rule + preset + tuning never exceeds ``limits.max_gain_db`` in any band, and to
    the tuning range; volume to ``limits.max_volume_db``; balance to -1..1. Limits, rule and audiogram are not
    caregiver-editable.
    """
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if preset is not None:
        _check(preset in PRESETS, "preset", f"must be one of {sorted(PRESETS)}")
        changes["preset"] = preset
    if noise_adaptive is not None:
        changes["noise_adaptive"] = bool(noise_adaptive)
    p = replace(profile, **changes)
    if fine_tuning_db is not None:
        ft = dict(p.fine_tuning_db)
        for e, vals in fine_tuning_db.items():
            _check(e in EARS, "fine_tuning_db", f"unknown ear {e!r}")
            v = np.asarray([float(x) for x in vals])
            _check(len(v) == len(p.band_centres_hz), f"fine_tuning_db.{e}", "needs one value per band")
            base = prescribed_gain_65_db(replace(p, fine_tuning_db={**p.fine_tuning_db, e: (0.0,) * len(v)}), e)
            hi = np.minimum(FINE_TUNING_RANGE_DB[1], np.asarray(p.limits.max_gain_db[e]) - base)
            clipped = np.clip(v, FINE_TUNING_RANGE_DB[0], np.maximum(hi, FINE_TUNING_RANGE_DB[0]))
            for i in np.flatnonzero(clipped != v):
                notes.append(f"fine_tuning_db.{e}[{p.band_centres_hz[i]:g} Hz] clipped {v[i]:+.1f} -> {clipped[i]:+.1f} dB")
            ft[e] = tuple(float(x) for x in clipped)
        p = replace(p, fine_tuning_db=ft)
    if volume_db is not None:
        v = float(np.clip(volume_db, VOLUME_RANGE_DB[0], min(VOLUME_RANGE_DB[1], p.limits.max_volume_db)))
        if v != volume_db:
            notes.append(f"volume_db clipped {volume_db:+.1f} -> {v:+.1f} dB")
        p = replace(p, volume_db=v)
    if balance is not None:
        b = float(np.clip(balance, -1.0, 1.0))
        if b != balance:
            notes.append(f"balance clipped {balance:+.2f} -> {b:+.2f}")
        p = replace(p, balance=b)
    return p, notes
