import numpy as np
import pytest
from scipy.signal import upfirdn

from .helpers import run_blocks
from hearing_assist.denoise.streaming import DelayLine, Reblocker, StreamingResampler, design_lowpass


def _reverse_hops(ch, x, y):
    y[:] = x[::-1] * (ch + 1)


@pytest.mark.parametrize("blocks", [[1], [64], [100], [480], [1000], [7, 300, 64, 1]])
def test_reblocker_output_is_independent_of_block_sizes(blocks):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5000, 2)).astype(np.float32)
    ref = Reblocker(160, 2, _reverse_hops)
    expected = run_blocks(ref, x, 5000)
    got = run_blocks(Reblocker(160, 2, _reverse_hops), x, blocks)
    np.testing.assert_array_equal(got, expected)
    # Identity hops give a pure delay of hop - 1 samples.
    ident = Reblocker(160, 2, lambda ch, a, b: b.__setitem__(slice(None), a))
    y = run_blocks(ident, x, blocks)
    np.testing.assert_array_equal(y[159:], x[: len(x) - 159])
    assert not y[:159].any()


@pytest.mark.parametrize("delay", [0, 1, 300])
def test_delay_line(delay):
    x = np.arange(3000, dtype=np.float32).reshape(-1, 1)
    d = DelayLine(delay, 256, 1)
    out = np.zeros((256, 1), dtype=np.float32)
    y = np.concatenate([d.process(x[s : s + 256], out[: len(x[s : s + 256])]).copy() for s in range(0, 3000, 256)])
    np.testing.assert_array_equal(y[delay:], x[: len(x) - delay])


@pytest.mark.parametrize("up,down,chunk", [(3, 1, 160), (1, 3, 480), (160, 147, 441), (147, 160, 480)])
def test_streaming_resampler_equals_offline_polyphase(up, down, chunk):
    h = design_lowpass(24 * max(up, down) + 1, up, down)
    r = StreamingResampler(up, down, h, chunk)
    x = np.random.default_rng(0).standard_normal(chunk * 12).astype(np.float32)
    out = np.zeros(r.chunk_out, dtype=np.float32)
    got = np.concatenate([r.process(x[s : s + chunk], out).copy() for s in range(0, len(x), chunk)])
    ref = upfirdn(h * up, x.astype(np.float64), up, down)[: len(got)]
    np.testing.assert_allclose(got, ref, atol=2e-5)
