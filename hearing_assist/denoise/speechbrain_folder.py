"""SpeechBrain enhancement model from a folder the user names (MetricGAN+ / SepFormer style), run on chunks.

Loading, offline and from that folder only:

* ``hyperparams.yaml`` is HyperPyYAML, whose ``!new:``/``!name:``/``!apply:``/``!module:`` tags construct or call
  any Python object. Before parsing, every such target must sit under :data:`ALLOWED_TARGETS` (SpeechBrain model
  and signal-processing code, ``torch.nn``); ``!include:`` is refused (it could reach files outside the folder).
* Weights are NOT loaded through SpeechBrain's ``Pretrainer``/``from_hparams``: that path calls ``torch.load``
  without ``weights_only`` (safe only because torch >= 2.6 defaults to it, which an environment variable can turn
  off) and goes through the fetch/symlink machinery. Instead each ``pretrainer`` loadable ``<name>`` is read from
  ``<folder>/<name>.safetensors`` when present, else ``<folder>/<name>.ckpt`` with ``torch.load(weights_only=True)``
  (no arbitrary unpickling), and loaded with ``load_state_dict(strict=True)``. The SpeechBrain inference
  interface (``SpectralMaskEnhancement`` or ``SepformerSeparation``) is then built from the same hparams, as
  ``from_hparams`` would.

Streaming: not real time (``realtime_safe = False``). Hops of ``chunk_s`` seconds are enhanced with ``overlap_s``
seconds of left context, and consecutive outputs are crossfaded over that overlap.
Delay: ``hop - 1 + overlap`` samples (2.25 s - 1 sample with the defaults).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from hearing_assist.denoise.backend import BackendUnavailable, DenoiseError, ModelFileError
from hearing_assist.denoise.streaming import Reblocker

ALLOWED_TARGETS = (
    "speechbrain.lobes.",
    "speechbrain.nnet.",
    "speechbrain.processing.",
    "speechbrain.utils.parameter_transfer.Pretrainer",
    "torch.nn.",
    "torch.hamming_window",  # STFT window functions named by the published MetricGAN+/SepFormer files
    "torch.hann_window",
    "torch.blackman_window",
)
_TAG = re.compile(r"!(new|name|apply|module|include):\s*([^\s\[\]{},]*)")
_PY_TAG = re.compile(r"!!python/[\w/.:-]*")  # YAML's own Python tags construct or call arbitrary objects too


def check_hparams(text: str) -> None:
    """Raise :class:`DenoiseError` if a HyperPyYAML tag would build or call something outside the allow-list."""
    bad = []
    for kind, target in _TAG.findall(text):
        if kind == "include" or not any(target == a.rstrip(".") or target.startswith(a) for a in ALLOWED_TARGETS):
            bad.append(f"!{kind}:{target}")
    bad += _PY_TAG.findall(text)
    if bad:
        raise DenoiseError(
            "hyperparams.yaml refers to code outside SpeechBrain's model classes and torch.nn, which would run on "
            f"load: {', '.join(sorted(set(bad)))}"
        )


def load_state_dict_file(folder: Path, name: str) -> dict:
    """Weights of loadable ``name`` from ``folder``: safetensors, else a weights-only torch checkpoint."""
    import torch

    st, ckpt = folder / f"{name}.safetensors", folder / f"{name}.ckpt"
    if st.is_file():
        from safetensors.torch import load_file

        try:
            return load_file(str(st))
        except Exception as e:
            raise ModelFileError(f"cannot read weights {st}: {e}") from e
    if ckpt.is_file():
        try:
            return torch.load(str(ckpt), map_location="cpu", weights_only=True)
        except Exception as e:  # UnpicklingError for pickled objects, RuntimeError for truncated zips
            raise ModelFileError(
                f"cannot read weights {ckpt} safely (only plain tensors are accepted, never pickled objects): {e}"
            ) from e
    raise ModelFileError(f"no weights for {name!r} in {folder} (expected {name}.safetensors or {name}.ckpt)")


def load_interface(folder: Path, hparams_file: str = "hyperparams.yaml"):
    """Build the SpeechBrain inference interface for the model in ``folder`` (see module docstring)."""
    try:
        import torch
        from hyperpyyaml import load_hyperpyyaml
        from speechbrain.inference.enhancement import SpectralMaskEnhancement
        from speechbrain.inference.separation import SepformerSeparation
    except ImportError as e:
        raise BackendUnavailable(f"speechbrain is not installed: {e}") from e
    hp = folder / hparams_file
    if not hp.is_file():
        raise ModelFileError(f"{hp} is missing; name the folder holding a SpeechBrain model's {hparams_file}")
    text = hp.read_text(encoding="utf-8")
    check_hparams(text)
    try:
        hparams = load_hyperpyyaml(text)
    except Exception as e:
        raise ModelFileError(f"cannot parse {hp}: {e}") from e
    modules = hparams.get("modules")
    if not isinstance(modules, dict):
        raise ModelFileError(f"{hp} has no 'modules' mapping")
    if "enhance_model" in modules:
        cls = SpectralMaskEnhancement
    elif {"encoder", "masknet", "decoder"} <= set(modules):
        cls = SepformerSeparation
    else:
        raise ModelFileError(f"{hp}: modules {sorted(modules)} fit neither SpectralMaskEnhancement nor SepFormer")
    pretrainer = hparams.get("pretrainer")
    loadables = getattr(pretrainer, "loadables", None) or modules
    for name, module in loadables.items():
        state = load_state_dict_file(folder, name)
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ModelFileError(f"weights for {name!r} in {folder} do not fit the model: {e}") from e
    with torch.no_grad():
        return cls(modules=modules, hparams=hparams, freeze_params=True), int(hparams.get("sample_rate", 16000))


class SpeechBrainFolder:
    """Chunked SpeechBrain enhancement backend (see module docstring)."""

    name = "speechbrain"
    realtime_safe = False

    def __init__(self, folder: str | Path, chunk_s: float = 2.0, overlap_s: float = 0.25,
                 hparams_file: str = "hyperparams.yaml"):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ModelFileError(f"SpeechBrain model folder {self.folder} does not exist")
        if not 0 < overlap_s <= chunk_s:
            raise ValueError(f"need 0 < overlap_s <= chunk_s, got {overlap_s}, {chunk_s} s")
        self.model, self.model_rate = load_interface(self.folder, hparams_file)
        self.chunk_s, self.overlap_s = chunk_s, overlap_s
        self._gain_min = 10 ** (-100 / 20)
        self.latency_samples = 0
        self.snr_db = float("nan")

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate chunk buffers for ``sample_rate`` Hz and ``channels`` channels."""
        if int(sample_rate) != sample_rate or not 8000 <= sample_rate <= 192000:
            raise ValueError(f"SpeechBrain backend needs a whole sample rate in 8000..192000 Hz, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.hop = round(self.chunk_s * sample_rate)
        self.overlap = round(self.overlap_s * sample_rate)
        fade = (np.arange(self.overlap) + 0.5) / self.overlap
        self._fade_in = (0.5 - 0.5 * np.cos(np.pi * fade)).astype(np.float32)
        self._ctx = np.zeros((channels, self.overlap), dtype=np.float32)
        self._tail = np.zeros((channels, self.overlap), dtype=np.float32)
        self._reblock = Reblocker(self.hop, channels, self._frame)
        self.latency_samples = self._reblock.delay_samples + self.overlap
        self.snr_db = float("nan")

    def enhance(self, x: np.ndarray) -> np.ndarray:
        """Enhance a mono chunk at the stream rate with the model (resampling to its rate); same length."""
        import torch
        from scipy.signal import resample_poly

        g = math.gcd(self.sample_rate, self.model_rate)
        up, down = self.model_rate // g, self.sample_rate // g
        y = resample_poly(x, up, down) if up != down else x
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None]
            if hasattr(self.model, "enhance_batch"):
                e = self.model.enhance_batch(t, lengths=torch.ones(1))[0]
            else:
                est = self.model.separate_batch(t)[0]  # (time, sources): keep the loudest source
                e = est[:, int(torch.argmax((est**2).sum(0)))]
        e = e.numpy().astype(np.float64)
        e = resample_poly(e, down, up) if up != down else e
        out = np.zeros(len(x), dtype=np.float32)
        out[: min(len(x), len(e))] = e[: len(x)]
        return out

    def _frame(self, ch: int, x: np.ndarray, y: np.ndarray) -> None:
        ov, hop = self.overlap, self.hop
        win = np.concatenate([self._ctx[ch], x])
        e = self.enhance(win)
        e += self._gain_min * (win - e)  # attenuation limit: keep the removed part at -strength dB
        if ch == 0:
            removed = float(np.sum((win[ov:] - e[ov:]) ** 2)) + 1e-12
            self.snr_db = 10 * math.log10(max(float(np.sum(e[ov:] ** 2)), 1e-12) / removed)
        y[:ov] = self._tail[ch] * self._fade_in[::-1] + e[:ov] * self._fade_in
        y[ov:] = e[ov:hop]
        self._tail[ch] = e[hop : hop + ov]
        self._ctx[ch] = x[hop - ov :]

    def process(self, block: np.ndarray) -> np.ndarray:
        """Denoise ``(frames, channels)`` in place with ``latency_samples`` delay (blocks while a chunk runs)."""
        return self._reblock.process(block)

    def reset(self) -> None:
        """Clear the chunk buffers."""
        self._ctx.fill(0.0)
        self._tail.fill(0.0)
        self._reblock.reset()
        self.snr_db = float("nan")

    def set_attenuation_limit(self, db: float) -> None:
        """Keep what the model removes at ``-db`` dB."""
        self._gain_min = 10 ** (-float(db) / 20)
