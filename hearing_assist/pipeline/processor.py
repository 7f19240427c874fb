"""Block-processor life cycle shared by every stage that touches audio.

A processor follows the openMHA / JUCE life cycle:

* ``prepare(sample_rate, block_size, channels)`` allocates every buffer it will need;
* ``process(block)`` takes a float32 array shaped ``(frames, channels)`` with ``frames <= block_size``
  and returns an array of the same shape. It must not allocate, lock or log: it runs in the
  PortAudio callback. Processing in place and returning the same array is allowed and preferred;
* ``reset()`` clears internal state (filter memories, envelopes) without reallocating.

A :class:`Chain` is a list of processors and is itself a processor, so chains nest.
"""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Processor(Protocol):
    """Anything with the prepare / process / reset life cycle."""

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate state for blocks of up to ``block_size`` frames at ``sample_rate`` Hz."""

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process one ``(frames, channels)`` float32 block; may work in place."""

    def reset(self) -> None:
        """Clear state (filter memories, envelopes) without reallocating."""


class Chain:
    """Processors applied in order; itself a processor (pedalboard-style)."""

    def __init__(self, processors: Iterable[Processor] = ()):
        self.processors: list[Processor] = list(processors)
        self.sample_rate = 0
        self.block_size = 0
        self.channels = 0

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Prepare every stage for ``sample_rate`` Hz, ``block_size`` frames, ``channels`` channels."""
        if sample_rate <= 0 or block_size <= 0 or channels <= 0:
            raise ValueError(
                f"prepare needs positive sample_rate, block_size and channels, got "
                f"{sample_rate}, {block_size}, {channels}"
            )
        self.sample_rate, self.block_size, self.channels = sample_rate, block_size, channels
        for p in self.processors:
            p.prepare(sample_rate, block_size, channels)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Run the block through every stage in order."""
        for p in self.processors:
            block = p.process(block)
        return block

    def reset(self) -> None:
        """Reset every stage."""
        for p in self.processors:
            p.reset()

    def __call__(self, audio: np.ndarray, sample_rate: int, block_size: int = 1024) -> np.ndarray:
        """Process a whole ``(frames, channels)`` or mono array offline in blocks; returns a new array."""
        mono = audio.ndim == 1
        x = np.ascontiguousarray(audio.reshape(-1, 1) if mono else audio, dtype=np.float32)
        self.prepare(sample_rate, block_size, x.shape[1])
        out = np.empty_like(x)
        for start in range(0, len(x), block_size):
            blk = x[start : start + block_size].copy()
            out[start : start + len(blk)] = self.process(blk)
        return out[:, 0] if mono else out
