"""Single-producer / single-consumer ring buffer for audio frames, in-process or across processes.

The producer is the audio callback, the consumer a worker (ASR, display). Neither side takes a lock: the write
index is stored only by the producer and the read index only by the consumer, each an aligned 8-byte store, and
the producer copies the frames before it publishes the new write index. When the consumer falls behind, new
frames that do not fit are dropped and counted — the audio thread never waits.

:meth:`RingBuffer.create_shared` puts the frames and indices in shared memory so the audio process can feed a
consumer in the GUI process; :meth:`RingBuffer.attach` opens the same ring on the other side.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

_WRITE, _READ, _DROPPED = 0, 1, 2
_HEADER_BYTES = 64  # three int64 counters, padded to a cache line


def attach_shared_memory(name: str) -> shared_memory.SharedMemory:
    """Open shared memory another process created; only its creator unlinks it."""
    # A child started by multiprocessing shares its parent's resource tracker, so the registration that
    # Python < 3.13 makes here is a duplicate of the creator's and is dropped when the creator unlinks.
    return shared_memory.SharedMemory(name=name)


@dataclass(frozen=True)
class SharedRingSpec:
    """What the other process needs to attach to a shared ring."""

    name: str
    capacity: int
    channels: int


class RingBuffer:
    """Lock-free SPSC FIFO of float32 frames shaped ``(frames, channels)``."""

    def __init__(self, capacity: int, channels: int = 1, _shm: shared_memory.SharedMemory | None = None):
        if capacity <= 0 or channels <= 0:
            raise ValueError(f"capacity and channels must be positive, got {capacity}, {channels}")
        self.capacity = capacity
        self.channels = channels
        self._shm = _shm
        if _shm is None:
            self._idx = np.zeros(3, dtype=np.int64)
            self._buf = np.zeros((capacity, channels), dtype=np.float32)
        else:
            self._idx = np.ndarray((3,), dtype=np.int64, buffer=_shm.buf, offset=0)
            self._buf = np.ndarray((capacity, channels), dtype=np.float32, buffer=_shm.buf, offset=_HEADER_BYTES)

    # ---- shared memory -------------------------------------------------------------------------------------

    @classmethod
    def create_shared(cls, capacity: int, channels: int = 1) -> "RingBuffer":
        """A ring in new shared memory; pass ``spec`` to the other process and call :meth:`unlink` when done."""
        shm = shared_memory.SharedMemory(create=True, size=_HEADER_BYTES + capacity * channels * 4)
        ring = cls(capacity, channels, _shm=shm)
        ring._idx[:] = 0
        return ring

    @classmethod
    def attach(cls, spec: SharedRingSpec) -> "RingBuffer":
        """Open a ring another process created."""
        return cls(spec.capacity, spec.channels, _shm=attach_shared_memory(spec.name))

    @property
    def spec(self) -> SharedRingSpec:
        """How to attach to this ring from another process (shared rings only)."""
        if self._shm is None:
            raise ValueError("this ring is not in shared memory")
        return SharedRingSpec(self._shm.name, self.capacity, self.channels)

    def close(self) -> None:
        """Detach from shared memory (no-op for an in-process ring)."""
        if self._shm is not None:
            self._idx = np.zeros(3, dtype=np.int64)
            self._buf = np.zeros((0, self.channels), dtype=np.float32)
            self._shm.close()

    def unlink(self) -> None:
        """Detach and free the shared memory (the creating side calls this once)."""
        if self._shm is not None:
            shm = self._shm
            self.close()
            try:
                shm.unlink()
            except FileNotFoundError:
                pass

    # ---- the ring ------------------------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Frames the producer could not store because the consumer fell behind."""
        return int(self._idx[_DROPPED])

    def available(self) -> int:
        """Frames ready for the consumer."""
        return int(self._idx[_WRITE] - self._idx[_READ])

    def free(self) -> int:
        """Frames the producer can write without dropping."""
        return self.capacity - self.available()

    def write(self, frames: np.ndarray) -> int:
        """Producer: copy ``(n, channels)`` or mono frames in; returns frames stored (the rest are dropped)."""
        if frames.ndim == 1:
            frames = frames.reshape(-1, 1)
        w = int(self._idx[_WRITE])
        n = min(len(frames), self.capacity - (w - int(self._idx[_READ])))
        if n < len(frames):
            self._idx[_DROPPED] += len(frames) - n
        if n <= 0:
            return 0
        start = w % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = frames[:first]
        if n > first:
            self._buf[: n - first] = frames[first:n]
        self._idx[_WRITE] = w + n  # publish only after the copy
        return n

    def read(self, max_frames: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Consumer: take up to ``max_frames`` frames (all available when None); returns ``(n, channels)``."""
        r = int(self._idx[_READ])
        n = int(self._idx[_WRITE]) - r
        if max_frames is not None:
            n = min(n, max_frames)
        if out is None:
            out = np.empty((n, self.channels), dtype=np.float32)
        else:
            n = min(n, len(out))
            out = out[:n]
        start = r % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if n > first:
            out[first:n] = self._buf[: n - first]
        self._idx[_READ] = r + n
        return out

    def skip(self, frames: int) -> int:
        """Consumer: discard up to ``frames`` frames; returns how many were discarded."""
        n = min(frames, self.available())
        self._idx[_READ] += n
        return n

    def clear(self) -> None:
        """Consumer: discard everything available."""
        self._idx[_READ] = self._idx[_WRITE]
