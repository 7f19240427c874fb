"""Pure-tone air-conduction audiogram per ear: validation, log-frequency interpolation, PTA, WHO grade, JSON/CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

REQUIRED_HZ = (250, 500, 1000, 2000, 4000)
OPTIONAL_HZ = (125, 750, 1500, 3000, 6000, 8000)
STANDARD_HZ = tuple(sorted(REQUIRED_HZ + OPTIONAL_HZ))
MIN_DB_HL = -10.0
MAX_DB_HL = 120.0
EARS = ("left", "right")
PTA_HZ = (500, 1000, 2000, 4000)

# WHO World Report on Hearing (2021), better-ear PTA over 500/1k/2k/4k Hz; lower bound of each grade in dB HL.
WHO_GRADES = (
    (95.0, "complete"),
    (80.0, "profound"),
    (65.0, "severe"),
    (50.0, "moderately severe"),
    (35.0, "moderate"),
    (20.0, "mild"),
    (-float("inf"), "normal"),
)


class AudiogramError(ValueError):
    """An audiogram value or layout is invalid; the message names the ear and frequency."""


@dataclass(frozen=True)
class EarThresholds:
    """Air-conduction thresholds of one ear in dB HL, keyed by audiometric frequency in Hz."""

    ear: str
    thresholds: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ear not in EARS:
            raise AudiogramError(f"ear must be 'left' or 'right', got {self.ear!r}")
        clean: dict[int, float] = {}
        for f, v in self.thresholds.items():
            try:
                hz = int(float(f))
            except (TypeError, ValueError):
                raise AudiogramError(f"{self.ear} ear: frequency {f!r} is not a number") from None
            if hz not in STANDARD_HZ:
                raise AudiogramError(
                    f"{self.ear} ear: {hz} Hz is not an audiometric frequency {STANDARD_HZ}")
            try:
                db = float(v)
            except (TypeError, ValueError):
                raise AudiogramError(f"{self.ear} ear at {hz} Hz: threshold {v!r} is not a number") from None
            if not np.isfinite(db) or not MIN_DB_HL <= db <= MAX_DB_HL:
                raise AudiogramError(
                    f"{self.ear} ear at {hz} Hz: threshold {db} dB HL outside {MIN_DB_HL:g}..{MAX_DB_HL:g} dB HL")
            clean[hz] = db
        missing = [hz for hz in REQUIRED_HZ if hz not in clean]
        if missing:
            raise AudiogramError(
                f"{self.ear} ear: missing required threshold(s) at {', '.join(f'{m} Hz' for m in missing)}")
        object.__setattr__(self, "thresholds", dict(sorted(clean.items())))

    def at(self, freqs_hz) -> np.ndarray:
        """Thresholds in dB HL at ``freqs_hz`` (Hz), linear in dB on a log-frequency axis, flat beyond the ends."""
        f = np.asarray(list(self.thresholds), dtype=float)
        h = np.asarray(list(self.thresholds.values()), dtype=float)
        return np.interp(np.log(np.asarray(freqs_hz, dtype=float)), np.log(f), h)

    def pta(self) -> float:
        """Four-frequency pure-tone average (500/1k/2k/4k Hz) in dB HL."""
        return float(np.mean([self.thresholds[f] for f in PTA_HZ]))


def who_grade(pta_db_hl: float) -> str:
    """WHO 2021 hearing-loss grade for a pure-tone average in dB HL."""
    for lower, name in WHO_GRADES:
        if pta_db_hl >= lower:
            return name
    return "normal"  # pragma: no cover - the last bound is -inf


@dataclass(frozen=True)
class Audiogram:
    """Both ears' thresholds in dB HL."""

    left: EarThresholds
    right: EarThresholds

    def __post_init__(self) -> None:
        if self.left.ear != "left" or self.right.ear != "right":
            raise AudiogramError("Audiogram needs the left ear's thresholds as left and the right ear's as right")

    @classmethod
    def from_thresholds(cls, left: Mapping, right: Mapping) -> "Audiogram":
        """Build from two ``{frequency Hz: dB HL}`` mappings (validated)."""
        return cls(EarThresholds("left", left), EarThresholds("right", right))

    def ear(self, name: str) -> EarThresholds:
        """The thresholds of ``name`` ('left' or 'right')."""
        if name not in EARS:
            raise AudiogramError(f"ear must be 'left' or 'right', got {name!r}")
        return self.left if name == "left" else self.right

    def grade(self) -> str:
        """WHO 2021 grade of the better ear's PTA (the WHO convention)."""
        return who_grade(min(self.left.pta(), self.right.pta()))

    # ---- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """``{"left": {"250": dB HL, ...}, "right": {...}}`` with string keys for JSON."""
        return {e: {str(f): v for f, v in self.ear(e).thresholds.items()} for e in EARS}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Audiogram":
        """Inverse of :meth:`to_dict`; raises AudiogramError naming ear and frequency."""
        if not isinstance(d, Mapping):
            raise AudiogramError(f"audiogram must be a mapping with 'left' and 'right', got {type(d).__name__}")
        for e in EARS:
            if not isinstance(d.get(e), Mapping):
                raise AudiogramError(f"{e} ear: thresholds missing or not a mapping")
        return cls.from_thresholds(d["left"], d["right"])

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Audiogram":
        """Parse JSON written by :meth:`to_json`."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AudiogramError(f"audiogram JSON is malformed: {exc}") from None
        return cls.from_dict(d)

    def to_csv(self) -> str:
        """CSV text with header ``frequency_hz,left_db_hl,right_db_hl``; empty cell where an ear lacks a value."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["frequency_hz", "left_db_hl", "right_db_hl"])
        for f in STANDARD_HZ:
            lv, rv = self.left.thresholds.get(f), self.right.thresholds.get(f)
            if lv is None and rv is None:
                continue
            w.writerow([f, "" if lv is None else f"{lv:g}", "" if rv is None else f"{rv:g}"])
        return out.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> "Audiogram":
        """Parse CSV written by :meth:`to_csv` (header required)."""
        rows = list(csv.DictReader(io.StringIO(text)))
        need = {"frequency_hz", "left_db_hl", "right_db_hl"}
        if not rows or not need <= set(rows[0]):
            raise AudiogramError(f"audiogram CSV needs the columns {sorted(need)}")
        ears: dict[str, dict] = {"left": {}, "right": {}}
        for r in rows:
            for e in EARS:
                cell = (r[f"{e}_db_hl"] or "").strip()
                if cell:
                    ears[e][r["frequency_hz"].strip()] = cell
        return cls.from_thresholds(ears["left"], ears["right"])
