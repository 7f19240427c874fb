"""Noise reduction (issue #4): block-processor denoisers with DeepFilterNet3, classical, SpeechBrain and off
backends, a strength control in dB, an SNR estimate for display and an automatic light-backend fallback."""

from hearing_assist.denoise.backend import BackendUnavailable, DenoiseBackend, DenoiseError, ModelFileError
from hearing_assist.denoise.denoiser import Denoiser
from hearing_assist.denoise.factory import BACKENDS, available_backends, create_denoiser
from hearing_assist.denoise.fallback import FALLBACK_MESSAGE, FallbackDenoiser

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "DenoiseBackend",
    "DenoiseError",
    "Denoiser",
    "FALLBACK_MESSAGE",
    "FallbackDenoiser",
    "ModelFileError",
    "available_backends",
    "create_denoiser",
]
