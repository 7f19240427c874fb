"""From an audiogram file to a fitted amplification profile, its target table, and the chain that runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hearing_assist.dsp.audiogram import Audiogram, AudiogramError
from hearing_assist.dsp.calibration import Calibration
from hearing_assist.dsp.hearing_chain import HearingChain
from hearing_assist.dsp.prescription import INPUT_LEVELS_DB_SPL, RULES
from hearing_assist.profiles.amplification import AmplificationProfile
from hearing_assist.profiles.amplification import ProfileError as AmplificationInvalid
from hearing_assist.profiles.store import read_json
from hearing_assist.profiles.user import ProfileError, UserProfile

FIT_RATE = 48000


class FittingError(ValueError):
    """The audiogram or profile file cannot be used; the message says why."""


def load_audiogram(path: str | Path) -> Audiogram:
    """Read an audiogram from JSON (``{"left": {Hz: dB HL}, "right": …}``) or CSV; errors name ear and frequency."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FittingError(f"Cannot read audiogram {p}: {exc.strerror or exc}") from exc
    try:
        if p.suffix.lower() == ".csv":
            return Audiogram.from_csv(text)
        data = json.loads(text)
        if isinstance(data, dict) and "audiogram" in data and "left" not in data:
            data = data["audiogram"]  # also accept a saved amplification profile
        return Audiogram.from_dict(data)
    except json.JSONDecodeError as exc:
        raise FittingError(f"{p} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    except AudiogramError as exc:
        raise FittingError(f"{p}: {exc}") from exc


def fit(audiogram: Audiogram, rule: str = "nal-r") -> AmplificationProfile:
    """A new amplification profile for ``audiogram`` with ``rule`` and default limits."""
    if rule not in RULES:
        raise FittingError(f"Unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    return AmplificationProfile(audiogram, rule=rule)


def target_table(profile: AmplificationProfile) -> list[dict]:
    """Insertion-gain targets (dB) per ear, band (Hz) and input level (dB SPL) as rows."""
    chain = HearingChain(profile)
    chain.prepare(FIT_RATE, 128, 2)
    rows = []
    targets = {lv: chain.target_gains_db(lv) for lv in INPUT_LEVELS_DB_SPL}
    for c, ear in enumerate(("left", "right")):
        for b, fc in enumerate(chain.bank.centres_hz):
            row = {"ear": ear, "band_hz": float(fc)}
            for lv in INPUT_LEVELS_DB_SPL:
                row[f"ig_{lv:.0f}_db"] = float(targets[lv][b, c])
            rows.append(row)
    return rows


def format_targets(rows: list[dict]) -> str:
    """The target table as aligned text."""
    lines = [f"{'ear':<6}{'band Hz':>9}" + "".join(f"{'IG@' + str(int(lv)) + ' dB':>11}" for lv in INPUT_LEVELS_DB_SPL)]
    for r in rows:
        lines.append(f"{r['ear']:<6}{r['band_hz']:>9.0f}" +
                     "".join(f"{r[f'ig_{lv:.0f}_db']:>11.1f}" for lv in INPUT_LEVELS_DB_SPL))
    return "\n".join(lines)


def load_amplification(path: str | Path) -> AmplificationProfile:
    """An amplification profile from a saved user profile or a bare amplification profile JSON file."""
    p = Path(path)
    try:
        data = read_json(p)
    except FileNotFoundError:
        raise FittingError(f"Profile file not found: {p}") from None
    except ProfileError as exc:
        raise FittingError(str(exc)) from exc
    try:
        if isinstance(data, dict) and "name" in data and "settings" in data:
            user = UserProfile.from_dict(data)
            if user.amplification is None:
                raise FittingError(f"Profile {p} has no amplification fitting yet")
            return user.amplification
        return AmplificationProfile.from_dict(data)
    except (AmplificationInvalid, ProfileError) as exc:
        raise FittingError(f"{p}: {exc}") from exc


def output_ceiling_dbfs(profile: AmplificationProfile, calibration: Calibration | None = None) -> float:
    """The maximum output level of ``profile`` as a sample-peak ceiling in dBFS (never above 0 dBFS)."""
    cal = calibration or profile.calibration
    return float(min(0.0, 20 * np.log10(cal.peak_for_sine_spl(profile.limits.max_output_db_spl))))
