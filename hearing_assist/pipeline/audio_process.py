"""The audio engine in its own process, so no Python thread of the app can delay the audio callback.

Python runs one thread at a time (the GIL). A busy caption decoder, a training step or a slow GUI paint in the app's
process would otherwise hold up the PortAudio callback and cause dropouts. Here the :class:`Engine` runs in a
child process that does nothing else; the app talks to it through:

- shared-memory ring buffers for the audio taps (captions, spectrogram),
- a shared-memory status block (state, levels, latency, xruns, CPU load, the last error), refreshed every 20 ms,
- a pipe for commands (volume, a new chain, calls to processor setters, stop).

:class:`AudioProcess` offers the same read-outs as :class:`Engine` so the GUI and benchmarks use either.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from hearing_assist.audio.devices import AudioDeviceError
from hearing_assist.audio.ring_buffer import RingBuffer, SharedRingSpec, attach_shared_memory
from hearing_assist.pipeline.engine import Engine, EngineConfig, EngineState, EngineStats

_FIELDS = ["state", "blocks", "xruns", "callback_errors", "load", "load_peak", "in_lat", "out_lat",
           "source_finished", "in_peak", "out_peak_l", "out_peak_r", "tap_dropped", "heartbeat", "limiter_db", "snr_db"]
_F = {name: i for i, name in enumerate(_FIELDS)}
_STATES = [EngineState.STOPPED, EngineState.RUNNING, EngineState.ERROR]
_ERROR_BYTES = 1024
_NOTICE_BYTES = 512
_TEXT_AT = 8 * len(_FIELDS)
_STATUS_BYTES = _TEXT_AT + _ERROR_BYTES + _NOTICE_BYTES
START_TIMEOUT_S = 20.0


def _resolve(root: Any, path: str) -> Any:
    """Follow a dotted path of attribute names (digits index into lists) from ``root``."""
    obj = root
    for part in path.split("."):
        if part.startswith("_"):
            raise AttributeError(f"private attribute {part!r} cannot be reached")
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _write_text(buf: memoryview, text: str) -> None:
    data = text.encode("utf-8")[: len(buf) - 1]
    buf[: len(data)] = data
    buf[len(data)] = 0


def _read_text(buf: memoryview) -> str:
    return bytes(buf).split(b"\0", 1)[0].decode("utf-8", "replace")


def _build(chain):
    """A chain sent as a factory (a picklable callable) is built here; a processor is used as it is."""
    if chain is not None and not hasattr(chain, "process") and callable(chain):
        return chain()
    return chain


def _publish(engine: Engine, status: np.ndarray, err: memoryview, notice: memoryview) -> None:
    st = engine.stats()
    in_db, out_db = engine.levels_dbfs()
    status[_F["state"]] = _STATES.index(st.state)
    status[_F["blocks"]] = st.blocks
    status[_F["xruns"]] = st.xruns
    status[_F["callback_errors"]] = st.callback_errors
    status[_F["load"]] = st.cpu_load
    status[_F["load_peak"]] = st.cpu_load_peak
    status[_F["in_lat"]] = st.input_latency_ms
    status[_F["out_lat"]] = st.output_latency_ms
    status[_F["source_finished"]] = st.source_finished
    status[_F["in_peak"]] = in_db
    status[_F["out_peak_l"]] = out_db[0]
    status[_F["out_peak_r"]] = out_db[-1]
    status[_F["tap_dropped"]] = st.tap_dropped
    status[_F["heartbeat"]] = time.monotonic()
    status[_F["limiter_db"]] = st.limiter_db
    status[_F["snr_db"]] = getattr(engine.chain, "snr_db", np.nan)
    _write_text(err, st.error)
    _write_text(notice, str(getattr(engine.chain, "notice", "") or ""))


def _raise_priority() -> None:
    """Ask the OS to favour this process a little (nice -5) where allowed; carry on where refused.

    Real-time scheduling (SCHED_FIFO) was tried and rejected: with the ALSA PulseAudio plugin the callback thread
    then busy-waits and starves the sound server, which makes things worse.
    """
    try:
        os.nice(-5)
    except OSError:
        pass


def _child_main(conn, source, chain, config: EngineConfig, volume_db: float,
                taps: list[tuple[SharedRingSpec, str]], status_name: str) -> None:
    """Entry point of the audio process: run the engine until told to stop or the app goes away."""
    _raise_priority()
    # Shared memory stays mapped until this process exits; the app's side owns and unlinks it.
    shm = attach_shared_memory(status_name)
    status = np.ndarray((len(_FIELDS),), dtype=np.float64, buffer=shm.buf)
    err = shm.buf[_TEXT_AT : _TEXT_AT + _ERROR_BYTES]
    notice = shm.buf[_TEXT_AT + _ERROR_BYTES :]
    rings = [RingBuffer.attach(spec) for spec, _ in taps]
    try:
        chain = _build(chain)
    except Exception as exc:  # e.g. a fitting that cannot be built: say so instead of dying silently
        conn.send(("error", f"Cannot build the processing chain: {exc}"))
        _release(rings, shm, status, err, notice)
        return
    engine = Engine(source, chain, config)
    engine.volume.set_volume_db(volume_db)
    engine.volume.reset()
    for ring, (_, point) in zip(rings, taps):
        engine.add_tap(ring, point)
    try:
        engine.start()
    except (AudioDeviceError, ValueError, OSError) as exc:
        conn.send(("error", str(exc)))
        _release(rings, shm, status, err, notice)
        return
    conn.send(("started", None))
    stop = threading.Event()

    def publisher():
        while not stop.wait(0.02):
            _publish(engine, status, err, notice)

    pub = threading.Thread(target=publisher, name="audio-status", daemon=True)
    pub.start()
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the app went away: stop the audio
                break
            kind, payload = msg
            if kind == "stop":
                break
            try:
                if kind == "volume":
                    engine.volume.set_volume_db(payload)
                elif kind == "chain":
                    engine.set_chain(_build(payload))
                elif kind == "call":
                    path, args = payload
                    _resolve(engine, path)(*args)
                reply = ("ok", None)
            except Exception as exc:  # a bad command must not take the audio down
                reply = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    finally:
        stop.set()
        pub.join()
        engine.stop()
        _publish(engine, status, err, notice)
        _release(rings, shm, status, err, notice)


def _release(rings: list[RingBuffer], shm, status: np.ndarray, err: memoryview, notice: memoryview) -> None:
    """Drop every view of the shared memory, then unmap it (mmap refuses to close while views exist)."""
    for ring in rings:
        ring.close()
    err.release()
    notice.release()
    del status
    try:
        shm.close()
    except BufferError:
        pass  # a view is still referenced somewhere; the mapping goes away with the process


class AudioProcess:
    """Start/stop an :class:`Engine` in a child process and read its status; same read-outs as Engine."""

    def __init__(self, source, chain=None, config: EngineConfig | None = None):
        """``chain`` is a processor or a picklable factory that builds one in the audio process."""
        self.source = source
        self.chain = chain
        self.config = config or EngineConfig()
        self.volume_db = 0.0
        self._taps: list[tuple[RingBuffer, str]] = []
        self._proc: mp.Process | None = None
        self._conn = None
        self._cmd_lock = threading.Lock()
        self._status_shm = shared_memory.SharedMemory(create=True, size=_STATUS_BYTES)
        self._status = np.ndarray((len(_FIELDS),), dtype=np.float64, buffer=self._status_shm.buf)
        self._status[:] = 0.0
        self._status[[_F["in_peak"], _F["out_peak_l"], _F["out_peak_r"]]] = -120.0  # silence until published
        self._status[_F["snr_db"]] = np.nan
        self._stopped_stats: EngineStats | None = None

    # ---- set-up --------------------------------------------------------------------------------------------

    def open_tap(self, seconds: float = 10.0, point: str = "input") -> RingBuffer:
        """A shared mono ring fed by the audio process (open taps before :meth:`start`)."""
        if point not in ("input", "output"):
            raise ValueError(f"tap point must be 'input' or 'output', not {point!r}")
        if self._proc is not None:
            raise RuntimeError("open taps before starting the audio process")
        ring = RingBuffer.create_shared(int(seconds * self.config.sample_rate), 1)
        self._taps.append((ring, point))
        return ring

    def start(self) -> None:
        """Spawn the audio process and wait until its stream runs; AudioDeviceError carries its reason."""
        if self._proc is not None:
            return
        ctx = mp.get_context("spawn")  # never fork a process that may hold Qt or torch threads
        parent, child = ctx.Pipe()
        taps = [(ring.spec, point) for ring, point in self._taps]
        self._proc = ctx.Process(target=_child_main, name="hearing-assist-audio", daemon=True,
                                 args=(child, self.source, self.chain, self.config, self.volume_db, taps,
                                       self._status_shm.name))
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(START_TIMEOUT_S):
            self._kill()
            raise AudioDeviceError(f"The audio process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            kind, detail = parent.recv()
        except EOFError:
            self._kill()
            raise AudioDeviceError("The audio process exited while starting") from None
        if kind != "started":
            self._kill()
            raise AudioDeviceError(detail)
        self._status[_F["state"]] = _STATES.index(EngineState.RUNNING)

    def stop(self) -> None:
        """Stop the audio process and free the shared memory of its taps."""
        proc = self._proc
        if proc is not None:
            try:
                with self._cmd_lock:
                    self._conn.send(("stop", None))
            except (OSError, BrokenPipeError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
            self._stopped_stats = self.stats()
            self._proc = None
            self._conn.close()
            self._conn = None
        self._status[_F["state"]] = _STATES.index(EngineState.STOPPED)

    def close(self) -> None:
        """Stop and release every shared-memory block."""
        self.stop()
        for ring, _ in self._taps:
            ring.unlink()
        self._taps = []
        if self._status_shm is not None:
            self._status = np.zeros(len(_FIELDS))
            self._status_shm.close()
            self._status_shm.unlink()
            self._status_shm = None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(timeout=2)
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()  # free the shared memory: __exit__ does not run when __enter__ fails
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- commands ------------------------------------------------------------------------------------------

    def _command(self, kind: str, payload: Any) -> None:
        if self._conn is None:
            return
        with self._cmd_lock:
            self._conn.send((kind, payload))
            if not self._conn.poll(5.0):
                raise RuntimeError(f"The audio process did not answer the {kind!r} command")
            status, detail = self._conn.recv()
        if status != "ok":
            raise RuntimeError(detail)

    def set_volume_db(self, db: float) -> None:
        """Master volume in dB; ramps in the audio process."""
        self.volume_db = float(db)
        self._command("volume", self.volume_db)

    def set_chain(self, chain) -> None:
        """Replace the chain: a processor, or a picklable factory built in the audio process (then prepared there
        off the audio thread)."""
        self.chain = chain
        self._command("chain", chain)

    def call(self, path: str, *args: Any) -> None:
        """Call a setter inside the audio process, e.g. ``call("chain.0.set_strength", 12.0)``."""
        self._command("call", (path, args))

    # ---- read-outs -----------------------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        """Running, error (retrying) or stopped; a dead audio process reads as an error."""
        if self._proc is not None and (self._proc.exitcode is not None or self._hung()):
            return EngineState.ERROR
        return _STATES[int(self._status[_F["state"]])]

    def _hung(self) -> bool:
        """True when the audio process has not published its status for 2 s (CLOCK_MONOTONIC is system-wide)."""
        beat = self._status[_F["heartbeat"]]
        return beat > 0 and time.monotonic() - beat > 2.0

    @property
    def blocks(self) -> int:
        """Audio blocks processed so far."""
        return int(self._status[_F["blocks"]])

    def stats(self) -> EngineStats:
        """The latest status the audio process published (every 20 ms)."""
        s = self._status
        if self._status_shm is None:
            return self._stopped_stats
        error = _read_text(self._status_shm.buf[_TEXT_AT : _TEXT_AT + _ERROR_BYTES])
        if self._proc is not None and self._proc.exitcode is not None:
            error = f"The audio process stopped unexpectedly (exit code {self._proc.exitcode})."
        elif self._proc is not None and self._hung():
            error = "The audio process is not responding."
        return EngineStats(self.state, error, float(s[_F["in_lat"]]), float(s[_F["out_lat"]]),
                           int(s[_F["xruns"]]), int(s[_F["callback_errors"]]), int(s[_F["blocks"]]),
                           float(s[_F["load"]]), float(s[_F["load_peak"]]), bool(s[_F["source_finished"]]),
                           int(s[_F["tap_dropped"]]), float(s[_F["limiter_db"]]))

    def snr_db(self) -> float:
        """The noise reduction's speech-to-noise estimate in dB (NaN when off)."""
        return float(self._status[_F["snr_db"]]) if self._status_shm is not None else float("nan")

    def notice(self) -> str:
        """A message about noise reduction (fallback to the light backend, backend unavailable), or ""."""
        if self._status_shm is None:
            return ""
        return _read_text(self._status_shm.buf[_TEXT_AT + _ERROR_BYTES :])

    def levels_dbfs(self) -> tuple[float, np.ndarray]:
        """Latest peak input level and per-ear output peaks, dBFS."""
        s = self._status
        return float(s[_F["in_peak"]]), np.array([s[_F["out_peak_l"]], s[_F["out_peak_r"]]])


__all__ = ["AudioProcess"]
