"""The user profile: who it is for, their audiogram (per ear) and their app settings; versioned and validated.

Schema history (each step is a migration in ``MIGRATIONS``):
- v1: ``volume`` as a linear factor 0–1 at the top level.
- v2: ``settings.volume_db`` in dB, settings grouped under ``settings``; an ``audiogram`` placeholder.
- v3: the audiogram lives in ``amplification`` (a full amplification profile: audiogram, rule, tuning, presets,
  audiologist limits, PIN hash, calibration) or is null; ``amplification_enabled`` switches it on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from hearing_assist.dsp.audiogram import Audiogram, AudiogramError
from hearing_assist.profiles.amplification import AmplificationProfile
from hearing_assist.profiles.amplification import ProfileError as AmplificationInvalid
from hearing_assist.profiles.store import (
    ProfileCorrupt, ProfileError, atomic_write_json, backup_path, data_dir, read_json, slug,
)

SCHEMA_VERSION = 3


class ProfileInvalid(ProfileError):
    """A profile's content breaks the schema; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass
class Settings:
    """App settings stored with the user."""

    input_source: str = "microphone"  # microphone | system | file
    input_device: str = ""  # device name or index; "" = system default
    output_device: str = ""  # "" = system default; "none" = captions only, no playback
    volume_db: float = 0.0
    block_size: int = 128
    sample_rate: int = 48000
    caption_tap: str = "input"  # input (raw) | output (processed)
    captions_enabled: bool = True
    noise_reduction_db: float = 0.0  # maximum attenuation; 0 = off (no denoiser, no added delay)
    denoise_backend: str = "dfn3"  # dfn3 | classical
    caption_denoise: bool = True  # captions read denoised audio (DFN3): fewer errors in noise (bench denoise)

    LIMITS = {"volume_db": (-60.0, 20.0), "block_size": (32, 2048), "sample_rate": (8000, 192000),
              "noise_reduction_db": (0.0, 40.0)}


MIN_FONT_PT, MAX_FONT_PT = 16, 96
MIN_LINES, MAX_LINES = 1, 8
CAPTION_THEMES = ("light", "dark", "yellow-on-black")


@dataclass
class CaptionStyle:
    """What the reader chose: text size (pt), theme, visible lines, confidence shading."""

    font_pt: int = 32
    theme: str = "dark"
    lines: int = 3
    confidence_shading: bool = False


def clamp_style(style: CaptionStyle) -> CaptionStyle:
    """A copy of ``style`` with every field inside its allowed range (unknown themes fall back to dark)."""
    return CaptionStyle(
        font_pt=max(MIN_FONT_PT, min(MAX_FONT_PT, int(style.font_pt))),
        theme=style.theme if style.theme in CAPTION_THEMES else "dark",
        lines=max(MIN_LINES, min(MAX_LINES, int(style.lines))),
        confidence_shading=bool(style.confidence_shading),
    )


@dataclass
class UserProfile:
    """One person using the app."""

    name: str
    settings: Settings = field(default_factory=Settings)
    amplification: AmplificationProfile | None = None
    amplification_enabled: bool = False
    caption_style: CaptionStyle = field(default_factory=CaptionStyle)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "settings": asdict(self.settings),
            "amplification": None if self.amplification is None else self.amplification.to_dict(),
            "amplification_enabled": self.amplification_enabled,
            "caption_style": asdict(self.caption_style),
        }

    @classmethod
    def from_dict(cls, data: Any) -> "UserProfile":
        """Validate and build; raises ProfileInvalid naming the field."""
        if not isinstance(data, dict):
            raise ProfileInvalid("(root)", "must be a JSON object")
        data = migrate(data)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProfileInvalid("name", "must be a non-empty text")
        settings = _validate_settings(data.get("settings", {}))
        amp = data.get("amplification")
        amplification = None
        if amp is not None:
            try:
                amplification = AmplificationProfile.from_dict(amp)
            except AmplificationInvalid as exc:
                raise ProfileInvalid("amplification", str(exc)) from None
        enabled = data.get("amplification_enabled", False)
        if not isinstance(enabled, bool):
            raise ProfileInvalid("amplification_enabled", f"must be true or false, got {enabled!r}")
        if enabled and amplification is None:
            raise ProfileInvalid("amplification_enabled", "is true but there is no amplification profile")
        return cls(name=name, settings=settings, amplification=amplification, amplification_enabled=enabled,
                   caption_style=_validate_caption_style(data.get("caption_style", {})))


def _validate_audiogram(a: Any) -> dict[str, dict[str, float]]:
    if not isinstance(a, dict):
        raise ProfileInvalid("audiogram", "must be an object with 'left' and 'right'")
    out: dict[str, dict[str, float]] = {}
    for ear in ("left", "right"):
        points = a.get(ear, {})
        if not isinstance(points, dict):
            raise ProfileInvalid(f"audiogram.{ear}", "must map frequency (Hz) to threshold (dB HL)")
        clean = {}
        for freq, level in points.items():
            fname = f"audiogram.{ear}.{freq}"
            try:
                f_hz = float(freq)
            except ValueError:
                raise ProfileInvalid(fname, "frequency must be a number in Hz") from None
            if not 125 <= f_hz <= 8000:
                raise ProfileInvalid(fname, "frequency must be between 125 and 8000 Hz")
            if not _is_number(level) or not -10 <= level <= 120:
                raise ProfileInvalid(fname, f"threshold must be between -10 and 120 dB HL, got {level!r}")
            clean[str(int(f_hz)) if f_hz.is_integer() else str(f_hz)] = float(level)
        out[ear] = clean
    return out


def _validate_caption_style(d: Any) -> CaptionStyle:
    if not isinstance(d, dict):
        raise ProfileInvalid("caption_style", "must be an object")
    values = asdict(CaptionStyle())
    for key, default in values.items():
        v = d.get(key, default)
        ok = isinstance(v, type(default)) and not (isinstance(v, bool) and not isinstance(default, bool))
        if not ok:
            raise ProfileInvalid(f"caption_style.{key}", f"must be {type(default).__name__}, got {v!r}")
        values[key] = v
    if values["theme"] not in CAPTION_THEMES:
        raise ProfileInvalid("caption_style.theme", f"must be one of {', '.join(CAPTION_THEMES)}")
    return clamp_style(CaptionStyle(**values))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _validate_settings(s: Any) -> Settings:
    if not isinstance(s, dict):
        raise ProfileInvalid("settings", "must be an object")
    defaults = Settings()
    values = {}
    for key, default in asdict(defaults).items():
        v = s.get(key, default)
        fname = f"settings.{key}"
        if isinstance(default, bool):
            if not isinstance(v, bool):
                raise ProfileInvalid(fname, f"must be true or false, got {v!r}")
        elif isinstance(default, str):
            if not isinstance(v, str):
                raise ProfileInvalid(fname, f"must be text, got {v!r}")
        elif isinstance(default, int):
            if not isinstance(v, int) or isinstance(v, bool):
                raise ProfileInvalid(fname, f"must be a whole number, got {v!r}")
        elif not _is_number(v):
            raise ProfileInvalid(fname, f"must be a number, got {v!r}")
        lo_hi = Settings.LIMITS.get(key)
        if lo_hi and not lo_hi[0] <= v <= lo_hi[1]:
            raise ProfileInvalid(fname, f"must be between {lo_hi[0]:g} and {lo_hi[1]:g}, got {v!r}")
        values[key] = v
    if values["input_source"] not in ("microphone", "system", "file"):
        raise ProfileInvalid("settings.input_source", "must be microphone, system or file")
    if values["denoise_backend"] not in ("dfn3", "classical"):
        raise ProfileInvalid("settings.denoise_backend", "must be dfn3 or classical")
    if values["caption_tap"] not in ("input", "output"):
        raise ProfileInvalid("settings.caption_tap", "must be input or output")
    return Settings(**values)


def _v1_to_v2(d: dict) -> dict:
    d = dict(d)
    vol = d.pop("volume", 1.0)
    if not _is_number(vol) or vol < 0:
        raise ProfileInvalid("volume", f"v1 volume must be a number ≥ 0, got {vol!r}")
    settings = dict(d.get("settings", {}))
    settings["volume_db"] = max(-60.0, 20 * math.log10(vol)) if vol > 0 else -60.0
    d["settings"] = settings
    d["schema_version"] = 2
    return d


def _v2_to_v3(d: dict) -> dict:
    d = dict(d)
    audiogram = _validate_audiogram(d.pop("audiogram", {"left": {}, "right": {}}))
    try:  # a complete v2 audiogram becomes a fitting with the default rule, switched off until reviewed
        d["amplification"] = AmplificationProfile(Audiogram.from_dict(audiogram)).to_dict()
    except AudiogramError:
        d["amplification"] = None
    d["amplification_enabled"] = False
    d["schema_version"] = 3
    return d


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(d: dict) -> dict:
    """Upgrade a profile dict to SCHEMA_VERSION step by step."""
    version = d.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ProfileInvalid("schema_version", f"must be a whole number ≥ 1, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ProfileInvalid("schema_version",
                             f"{version} is newer than this app understands ({SCHEMA_VERSION}); update the app")
    while version < SCHEMA_VERSION:
        d = MIGRATIONS[version](d)
        version = d["schema_version"]
    return d


class ProfileStore:
    """User profiles as JSON files in ``<data dir>/profiles``."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else data_dir() / "profiles"

    def path(self, name: str) -> Path:
        """File path of the profile called ``name``."""
        return self.root / f"{slug(name)}.json"

    def names(self) -> list[str]:
        """Stored profile names (file stems)."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json"))

    def save(self, profile: UserProfile) -> Path:
        """Validate and write atomically, keeping the previous version as backup."""
        UserProfile.from_dict(profile.to_dict())  # never write what we could not read back
        p = self.path(profile.name)
        atomic_write_json(p, profile.to_dict())
        return p

    def load(self, name: str) -> UserProfile:
        """Load and validate; a damaged file raises ProfileCorrupt (with ``has_backup``)."""
        p = self.path(name)
        if not p.is_file():
            raise ProfileError(f"No profile named {name!r} in {self.root}")
        data = read_json(p)
        try:
            return UserProfile.from_dict(data)
        except ProfileInvalid as exc:
            raise ProfileCorrupt(p, str(exc)) from exc

    def restore_backup(self, name: str) -> UserProfile:
        """Replace a damaged profile with its backup (the damaged file is kept as ``.damaged``)."""
        p = self.path(name)
        bak = backup_path(p)
        if not bak.is_file():
            raise ProfileError(f"No backup for profile {name!r}")
        profile = UserProfile.from_dict(read_json(bak))
        if p.exists():
            p.replace(p.with_name(p.name + ".damaged"))
        atomic_write_json(p, profile.to_dict())
        return profile

    def load_or_create(self, name: str = "default") -> UserProfile:
        """Load ``name``, or create and save a default profile when none exists (a damaged one still raises)."""
        if self.path(name).is_file():
            return self.load(name)
        profile = UserProfile(name=name)
        self.save(profile)
        return profile


__all__ = ["ProfileStore", "UserProfile", "Settings", "ProfileInvalid", "ProfileCorrupt", "ProfileError",
           "SCHEMA_VERSION", "migrate"]
