"""What the user hears: [noise reduction] → [amplification for their ears], built from their settings.

The chain is built inside the audio process (:func:`build_listening_chain` is sent there, not the chain itself),
because the DeepFilterNet3 backend holds native state that cannot cross a process boundary. Stages have names so
the GUI can reach their setters: ``chain.denoiser.set_strength`` and ``chain.amplifier.set_profile``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

from hearing_assist.dsp.hearing_chain import HearingChain
from hearing_assist.pipeline.processor import Chain
from hearing_assist.profiles.amplification import AmplificationProfile

DEFAULT_CEILING_DBFS = -1.0


@dataclass(frozen=True)
class ListeningSettings:
    """The user's choices that shape the chain: a fitting (None = no amplification) and noise reduction."""

    amplification: AmplificationProfile | None = None
    noise_reduction_db: float = 0.0  # maximum attenuation in dB; 0 leaves the denoiser out (no added delay)
    denoise_backend: str = "dfn3"

    @property
    def denoising(self) -> bool:
        """Whether a denoiser is part of the chain."""
        return self.noise_reduction_db > 0 and self.denoise_backend != "off"


class ListeningChain(Chain):
    """A :class:`Chain` of named, optional stages: the denoiser, then the amplifier."""

    def __init__(self, denoiser=None, amplifier: HearingChain | None = None):
        super().__init__(s for s in (denoiser, amplifier) if s is not None)
        self.denoiser = denoiser
        self.amplifier = amplifier

    @property
    def limiter_active(self) -> float:
        """MPO gain reduction in dB (0 without amplification)."""
        return self.amplifier.limiter_active if self.amplifier is not None else 0.0

    @property
    def snr_db(self) -> float:
        """The denoiser's speech-to-noise estimate in dB (NaN without one)."""
        return float(self.denoiser.snr_db) if self.denoiser is not None else math.nan

    @property
    def notice(self) -> str:
        """Why noise reduction is not what was asked for (backend missing, or fell back to the light one)."""
        d = self.denoiser
        if d is None:
            return ""
        return getattr(d, "message", None) or getattr(d, "notice", None) or ""


def build_listening_chain(settings: ListeningSettings) -> ListeningChain:
    """The chain for ``settings`` (call in the process that runs it)."""
    denoiser = None
    if settings.denoising:
        from hearing_assist.denoise.factory import create_denoiser

        # Fall back to the light backend rather than fail: a missing model must not cost the user their sound.
        denoiser = create_denoiser(settings.denoise_backend, strength_db=settings.noise_reduction_db,
                                   auto_fallback=True, fallback_on_error=True)
    amplifier = HearingChain(settings.amplification) if settings.amplification is not None else None
    return ListeningChain(denoiser, amplifier)


def chain_factory(settings: ListeningSettings):
    """A picklable callable that builds the chain for ``settings`` in the audio process."""
    return partial(build_listening_chain, settings)


def output_ceiling_dbfs(settings: ListeningSettings) -> float:
    """Sample-peak ceiling in dBFS: the fitting's maximum output level, else a safe default."""
    if settings.amplification is None:
        return DEFAULT_CEILING_DBFS
    from hearing_assist.fitting import output_ceiling_dbfs as fitted

    return fitted(settings.amplification)
