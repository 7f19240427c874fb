"""Choosing a denoising backend by name, with reasons when one is unavailable."""

from __future__ import annotations

import importlib.util
from typing import Any

from hearing_assist.denoise.backend import BackendUnavailable, DenoiseError
from hearing_assist.denoise.classical import ClassicalDenoiser
from hearing_assist.denoise.denoiser import Denoiser
from hearing_assist.denoise.fallback import FallbackDenoiser
from hearing_assist.denoise.off import Passthrough

BACKENDS = ("dfn3", "classical", "speechbrain", "off")


def available_backends() -> dict[str, str | None]:
    """Backend id -> None when usable here, else the reason it is not (cheap checks, nothing is loaded)."""
    out: dict[str, str | None] = {"classical": None, "off": None}
    try:
        from hearing_assist.denoise.dfn3 import bundled_assets

        bundled_assets()
        out["dfn3"] = None
    except BackendUnavailable as e:
        out["dfn3"] = str(e)
    if importlib.util.find_spec("speechbrain") is None or importlib.util.find_spec("torch") is None:
        out["speechbrain"] = "speechbrain and torch are not installed"
    else:
        out["speechbrain"] = None  # still needs a model folder: create_denoiser("speechbrain", folder=...)
    return {k: out[k] for k in BACKENDS}


def _backend(name: str, opts: dict[str, Any]):
    if name == "dfn3":
        from hearing_assist.denoise.dfn3 import DeepFilterNet3

        return DeepFilterNet3(**opts)
    if name == "classical":
        return ClassicalDenoiser(**opts)
    if name == "speechbrain":
        from hearing_assist.denoise.speechbrain_folder import SpeechBrainFolder

        return SpeechBrainFolder(**opts)
    if name == "off":
        return Passthrough()
    raise ValueError(f"unknown denoising backend {name!r}; choose one of {', '.join(BACKENDS)}")


def create_denoiser(backend: str, *, strength_db: float = 12.0, auto_fallback: bool = False,
                    fallback_on_error: bool = False, **opts: Any) -> Denoiser | FallbackDenoiser:
    """A ready-to-prepare denoiser for ``backend`` ("dfn3", "classical", "speechbrain", "off").

    ``strength_db`` is the maximum attenuation in dB (0 = off). ``opts`` go to the backend (e.g. ``model_path``
    for dfn3, ``folder`` for speechbrain, ``window_ms`` for classical). ``auto_fallback`` wraps the result in a
    :class:`FallbackDenoiser` that switches to the classical backend when the machine cannot keep up.
    ``fallback_on_error`` returns the classical backend, with the reason in ``.notice``, when ``backend`` cannot
    be loaded (missing library, missing or corrupt model) instead of raising.
    """
    try:
        den = Denoiser(_backend(backend, opts), strength_db=strength_db)
    except DenoiseError as e:
        if not fallback_on_error or backend == "classical":
            raise
        den = Denoiser(ClassicalDenoiser(), strength_db=strength_db)
        den.notice = f"{backend} noise reduction is unavailable ({e}); using the light backend instead"
        return den
    if auto_fallback and backend not in ("classical", "off"):
        # The primary's latency already hides a longer window, which measures better (see bench denoise).
        light = Denoiser(ClassicalDenoiser(window_ms=32.0), strength_db=strength_db)
        return FallbackDenoiser(den, light)
    return den
