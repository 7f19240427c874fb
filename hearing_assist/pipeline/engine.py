"""The audio engine: opens the stream, runs the chain in the audio callback, feeds taps, survives device loss.

Stream shapes, chosen from the source and the output:

=================  ==================  ========================================================================
source             output              streams
=================  ==================  ========================================================================
device / monitor   headphones          ``sd.InputStream`` (input → chain → jitter ring) + ``sd.OutputStream``
device / monitor   none (captions)     ``sd.InputStream``
file / synthetic   headphones          ``sd.OutputStream`` pulling the source
file / synthetic   none                a paced thread pulling the source in real time
=================  ==================  ========================================================================

Capture and playback are two streams joined by a short ring rather than one duplex stream: a microphone and
headphones are often different devices with different clocks, and PortAudio's ALSA duplex mode stalls on the
PulseAudio plugin at small block sizes. The ring holds about one block; when the clocks drift, playback skips
the excess (counted as an xrun) so the delay never grows.

The callback copies the input into preallocated buffers, writes the taps, runs the chain and the output ceiling,
and measures its own duration. It never raises (a failing stage outputs silence and is reported) and never
waits on another thread. A watchdog thread notices a stream that died (device unplugged, sound server gone)
and reopens it every ``retry_s`` seconds until it works or the engine is stopped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from hearing_assist.audio.devices import AudioDeviceError, find_device, pulse_source, sounddevice
from hearing_assist.audio.ring_buffer import RingBuffer
from hearing_assist.audio.sources import DeviceSource, PulledSource
from hearing_assist.dsp.level import OutputCeiling, Volume
from hearing_assist.pipeline.processor import Chain, Processor

NO_OUTPUT = "none"
DEFAULT_CEILING_DBFS = -1.0  # without a fitting: 1 dB below full scale, so nothing ever clips in the converter


class EngineState(str, Enum):
    """Where the engine is in its life cycle."""

    STOPPED = "stopped"
    RUNNING = "running"
    ERROR = "error"  # the stream died or could not open; the watchdog retries


@dataclass
class EngineConfig:
    """Stream settings: 48 kHz and 64–128-frame blocks keep the added latency low."""

    sample_rate: int = 48000
    block_size: int = 128
    output_device: int | str | None = None  # None: system default; "none": no playback
    # PortAudio suggested latency (s) or "low"/"high". 5 ms measured best on PulseAudio (13.6 ms round trip
    # through the app against 26.8 ms with "low"); devices that cannot go that low round it up.
    latency: float | str = 0.005
    output_channels: int = 2  # left ear, right ear
    max_output_dbfs: float = DEFAULT_CEILING_DBFS  # the hard ceiling; a fitting's maximum output sets its own
    retry_s: float = 2.0
    jitter_blocks: int = 2  # blocks queued between capture and playback before playback starts


@dataclass(frozen=True)
class EngineStats:
    """A snapshot for the status bar and the benchmarks."""

    state: EngineState
    error: str
    input_latency_ms: float
    output_latency_ms: float
    xruns: int
    callback_errors: int
    blocks: int
    cpu_load: float  # mean callback time / block period (0–1)
    cpu_load_peak: float
    source_finished: bool
    tap_dropped: int
    limiter_db: float = 0.0  # gain reduction of the chain's output limiter, when it has one


@dataclass
class _Tap:
    ring: RingBuffer
    point: str  # "input" (raw) or "output" (processed, mixed to mono)


@dataclass
class _Meters:
    input_peak: float = 0.0
    output_peak: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.float32))


class Engine:
    """Runs ``source → chain → volume → ceiling → output`` in the PortAudio callback."""

    def __init__(self, source: DeviceSource | PulledSource | None = None, chain: Processor | None = None,
                 config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.source = source or DeviceSource()
        self._chain: Processor = chain or Chain()
        self.volume = Volume(0.0)
        self.ceiling = OutputCeiling(self.config.max_output_dbfs)
        self._taps: tuple[_Tap, ...] = ()
        self._in_stream = None
        self._out_stream = None
        self._primed = False
        self._pacer: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._lock = threading.Lock()  # guards start/stop/reopen, never taken by the callback
        self.state = EngineState.STOPPED
        self.error = ""
        self._reset_counters()
        self._meters = _Meters()
        self._alloc(self.config.block_size)

    # ---- configuration -------------------------------------------------------------------------------------

    def _alloc(self, block_size: int) -> None:
        ch = self.config.output_channels
        self._in = np.zeros(block_size * 4, dtype=np.float32)  # room for hosts that deliver bigger blocks
        self._work = np.zeros((block_size * 4, ch), dtype=np.float32)
        self._mono = np.zeros((block_size * 4, 1), dtype=np.float32)
        self._scratch = np.zeros((block_size * 4, ch), dtype=np.float32)
        self._playback = RingBuffer(block_size * 16, ch)

    def _reset_counters(self) -> None:
        self.xruns = 0
        self.callback_errors = 0
        self.blocks = 0
        self._load = 0.0
        self._load_peak = 0.0
        self._last_callback_error = ""

    @property
    def chain(self) -> Processor:
        """The processing chain between input and volume."""
        return self._chain

    def set_chain(self, chain: Processor) -> None:
        """Swap the chain; it is prepared here, off the audio thread, and takes over at the next block."""
        c = self.config
        chain.prepare(c.sample_rate, self._max_frames(), c.output_channels)
        self._chain = chain  # a reference store is atomic: the callback sees the old or the new chain

    def open_tap(self, seconds: float = 10.0, point: str = "input") -> RingBuffer:
        """A new mono ring buffer fed by the callback with the raw input or the processed output."""
        return self.add_tap(RingBuffer(int(seconds * self.config.sample_rate), 1), point)

    def add_tap(self, ring: RingBuffer, point: str = "input") -> RingBuffer:
        """Feed an existing mono ring (e.g. one in shared memory) with the input or the output."""
        if point not in ("input", "output"):
            raise ValueError(f"tap point must be 'input' or 'output', not {point!r}")
        self._taps = self._taps + (_Tap(ring, point),)  # a new tuple: the callback never sees a half-built list
        return ring

    def set_volume_db(self, db: float) -> None:
        """Master volume in dB (ramped)."""
        self.volume.set_volume_db(db)

    def close_tap(self, ring: RingBuffer) -> None:
        """Stop feeding ``ring``."""
        self._taps = tuple(t for t in self._taps if t.ring is not ring)

    def _max_frames(self) -> int:
        return len(self._in)

    # ---- life cycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open and start the stream; raises AudioDeviceError with a clear message when it cannot."""
        with self._lock:
            if self.state == EngineState.RUNNING:
                return
            self._stop_event.clear()
            self._reset_counters()
            c = self.config
            self._alloc(c.block_size)
            self._chain.prepare(c.sample_rate, self._max_frames(), c.output_channels)
            self.volume.prepare(c.sample_rate, self._max_frames(), c.output_channels)
            self.ceiling.prepare(c.sample_rate, self._max_frames(), c.output_channels)
            if isinstance(self.source, PulledSource) and self.source.sample_rate != c.sample_rate:
                raise AudioDeviceError(
                    f"Source runs at {self.source.sample_rate} Hz but the stream at {c.sample_rate} Hz")
            self._open_stream()  # raises on failure, leaving the engine stopped
            self.state = EngineState.RUNNING
            self.error = ""
            self._watchdog = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
            self._watchdog.start()

    def stop(self) -> None:
        """Stop and close the stream and join the engine's threads."""
        self._stop_event.set()
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=5)
        with self._lock:
            self._close_stream()
            self._watchdog = None
            self.state = EngineState.STOPPED

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _uses_output(self) -> bool:
        return self.config.output_device != NO_OUTPUT

    def _open_stream(self) -> None:
        c = self.config
        pulled = isinstance(self.source, PulledSource)
        self._last_blocks, self._last_progress = -1, time.monotonic()
        self._blocks_at_open = self.blocks
        if not self._uses_output() and pulled:
            self._pacer = threading.Thread(target=self._pace, name="audio-pacer", daemon=True)
            self._pacer.start()
            return
        sd = sounddevice()
        common = dict(samplerate=c.sample_rate, blocksize=c.block_size, dtype="float32", latency=c.latency)
        try:
            out_dev = find_device(c.output_device, "output") if self._uses_output() else None
            if not pulled:
                src: DeviceSource = self.source
                in_dev = find_device(src.device, "input")
                with pulse_source(src.monitor):
                    self._in_stream = sd.InputStream(device=in_dev, channels=1, callback=self._capture_callback,
                                                     **common)
            if self._uses_output():
                self._playback.clear()
                self._primed = False
                callback = self._pull_callback if pulled else self._playback_callback
                self._out_stream = sd.OutputStream(device=out_dev, channels=c.output_channels, callback=callback,
                                                   **common)
            for stream in self._streams():
                stream.start()
        except sd.PortAudioError as exc:
            self._close_stream()
            raise AudioDeviceError(_explain_portaudio_error(exc, c)) from exc

    def _streams(self) -> list:
        return [s for s in (self._in_stream, self._out_stream) if s is not None]

    def _close_stream(self) -> None:
        streams = self._streams()
        self._in_stream = self._out_stream = None
        for stream in streams:
            try:
                stream.abort()
                stream.close()
            except Exception:  # closing a stream whose device vanished can itself fail; it is gone either way
                pass
        pacer, self._pacer = self._pacer, None
        if pacer is not None and pacer is not threading.current_thread():
            pacer.join(timeout=5)

    def _stream_alive(self) -> bool:
        """False when a stream stopped or its callbacks stalled (1 s once running; 5 s to start up, since a
        PulseAudio monitor source can take seconds to deliver its first block)."""
        if self._pacer is not None:
            return self._pacer.is_alive()
        streams = self._streams()
        if not streams or not all(s.active for s in streams):
            return False
        now = time.monotonic()
        if self.blocks != self._last_blocks:
            self._last_blocks, self._last_progress = self.blocks, now
        return now - self._last_progress < (1.0 if self.blocks > self._blocks_at_open else 5.0)

    def _watch(self) -> None:
        """Watchdog: mark a dead stream as an error and reopen it every retry_s seconds."""
        while not self._stop_event.wait(0.25):
            if self.state == EngineState.RUNNING and not self._stream_alive():
                self.state = EngineState.ERROR
                self.error = "The audio device stopped (unplugged or the sound server went away). Retrying…"
            if self.state == EngineState.ERROR:
                if self._stop_event.wait(self.config.retry_s):
                    return
                with self._lock:
                    if self._stop_event.is_set():
                        return
                    self._close_stream()
                    try:
                        self._open_stream()
                    except AudioDeviceError as exc:
                        self.error = f"{exc} Retrying every {self.config.retry_s:g} s."
                        continue
                    self.state = EngineState.RUNNING
                    self.error = ""

    # ---- the real-time path --------------------------------------------------------------------------------

    def _count_status(self, status) -> None:
        if status.input_overflow or status.input_underflow or status.output_underflow or status.output_overflow:
            self.xruns += 1

    def _capture_callback(self, indata, frames, time_info, status) -> None:
        self._count_status(status)
        out = self._run_block(indata[:, 0], frames)
        if self._out_stream is not None:
            self._playback.write(out)

    def _playback_callback(self, outdata, frames, time_info, status) -> None:
        self._count_status(status)
        ring = self._playback
        jitter = self.config.jitter_blocks * self.config.block_size
        if not self._primed:
            # Start playing once the jitter margin is queued: host APIs deliver capture and playback callbacks
            # in bursts (PulseAudio: two blocks at a time), so the fill level swings by that much.
            if ring.available() < jitter:
                outdata.fill(0.0)
                return
            self._primed = True
        have = ring.available()
        if have > jitter + 4 * self.config.block_size:
            ring.skip(have - jitter)  # clock drift: drop the excess, keep the delay short
            self.xruns += 1
        got = len(ring.read(frames, out=outdata))
        if got < frames:
            outdata[got:] = 0.0
            self.xruns += 1
            self._primed = False

    def _pull_callback(self, outdata, frames, time_info, status) -> None:
        self._count_status(status)
        src = self._in[:frames]
        self.source.read_into(src)
        outdata[:] = self._run_block(src, frames)

    def _pace(self) -> None:
        """Without an output device, pull the source in real time from this thread."""
        c = self.config
        period = c.block_size / c.sample_rate
        next_t = time.perf_counter()
        while not self._stop_event.is_set():
            src = self._in[: c.block_size]
            self.source.read_into(src)
            self._run_block(src, c.block_size)
            next_t += period
            delay = next_t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.perf_counter()  # fell behind: do not try to catch up in a burst

    def _run_block(self, mono_in: np.ndarray, frames: int) -> np.ndarray:
        """Taps, meters, chain, volume and ceiling for one block; returns the stereo output (a view)."""
        t0 = time.perf_counter()
        out = self._work[:frames]
        try:
            if frames > len(self._in):
                raise RuntimeError(f"host delivered {frames} frames, more than the {len(self._in)} prepared")
            taps = self._taps
            for tap in taps:
                if tap.point == "input":
                    tap.ring.write(mono_in)
            scratch = self._scratch[:frames, 0]
            np.abs(mono_in, out=scratch)
            self._meters.input_peak = float(scratch.max()) if frames else 0.0
            out[:] = mono_in.reshape(-1, 1)  # a mono source feeds both ears; the chain may treat ears apart
            out = self._chain.process(out)
            out = self.volume.process(out)
            out = self.ceiling.process(out)
            np.abs(out, out=self._scratch[:frames])
            self._meters.output_peak[:] = self._scratch[:frames].max(axis=0)
            if taps:
                mono = self._mono[:frames, 0]
                np.mean(out, axis=1, out=mono)
                for tap in taps:
                    if tap.point == "output":
                        tap.ring.write(mono)
        except Exception as exc:  # a failing stage must not kill the stream: output silence, report it
            self.callback_errors += 1
            self._last_callback_error = f"{type(exc).__name__}: {exc}"
            out = self._work[:frames]
            out.fill(0.0)
        self.blocks += 1
        load = (time.perf_counter() - t0) * self.config.sample_rate / max(frames, 1)
        self._load += 0.05 * (load - self._load)
        if load > self._load_peak:
            self._load_peak = load
        return out

    # ---- read-outs -----------------------------------------------------------------------------------------

    def levels_dbfs(self) -> tuple[float, np.ndarray]:
        """Latest block's peak input level and per-channel output peaks, in dBFS."""
        m = self._meters
        to_db = lambda v: 20 * np.log10(np.maximum(v, 1e-6))  # noqa: E731
        return float(to_db(m.input_peak)), to_db(m.output_peak.copy())

    def stats(self) -> EngineStats:
        """A snapshot of state, latency, xruns and CPU load."""
        in_lat = self._in_stream.latency if self._in_stream is not None else 0.0
        out_lat = self._out_stream.latency if self._out_stream is not None else 0.0
        error = self.error or self._last_callback_error
        return EngineStats(self.state, error, in_lat * 1000, out_lat * 1000, self.xruns, self.callback_errors,
                           self.blocks, self._load, self._load_peak,
                           bool(getattr(self.source, "finished", False)),
                           sum(t.ring.dropped for t in self._taps),
                           float(getattr(self._chain, "limiter_active", 0.0)))


def _explain_portaudio_error(exc: Exception, c: EngineConfig) -> str:
    msg = str(exc)
    if "Invalid sample rate" in msg:
        return (f"The audio device does not support {c.sample_rate} Hz. Pick another device or sample rate "
                f"(48000 Hz is recommended). ({msg})")
    if "Invalid number of channels" in msg:
        return f"The audio device does not offer the channels needed (mono in, stereo out). ({msg})"
    if "Device unavailable" in msg or "busy" in msg.lower():
        return f"The audio device is busy or unavailable: close other apps using it and retry. ({msg})"
    return f"Cannot open the audio stream: {msg}"
