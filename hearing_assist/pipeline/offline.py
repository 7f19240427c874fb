"""Offline processing: an audio file through the same chain the live engine runs, block by block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from hearing_assist.audio.files import AudioFileError, read_mono
from hearing_assist.dsp.level import OutputCeiling, Volume
from hearing_assist.pipeline.engine import DEFAULT_CEILING_DBFS
from hearing_assist.pipeline.processor import Chain, Processor

PROCESS_RATE = 48000


class ProcessError(AudioFileError):
    """The output cannot be written; the message says why (unreadable input raises AudioFileError, its base)."""


def process_file(src: str | Path, dst: str | Path, chain: Processor | None = None, volume_db: float = 0.0,
                 max_output_dbfs: float = DEFAULT_CEILING_DBFS, block_size: int = 128) -> str:
    """Run ``src`` through ``chain`` → volume → output ceiling at 48 kHz and write stereo ``dst``."""
    x = read_mono(src, PROCESS_RATE)
    volume = Volume(volume_db)
    full = Chain([chain or Chain(), volume, OutputCeiling(max_output_dbfs)])
    y = full(np.repeat(x[:, None], 2, axis=1), PROCESS_RATE, block_size=block_size)
    out = Path(dst)
    try:
        sf.write(str(out), y, PROCESS_RATE, subtype="FLOAT" if out.suffix.lower() == ".wav" else None)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise ProcessError(f"Cannot write {out}: {exc}") from exc
    peak = 20 * np.log10(max(float(np.abs(y).max()), 1e-9))
    return f"wrote {out}: {len(y) / PROCESS_RATE:.2f} s, stereo, {PROCESS_RATE} Hz, peak {peak:.1f} dBFS"
