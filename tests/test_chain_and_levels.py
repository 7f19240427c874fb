import numpy as np
import pytest

from hearing_assist.dsp.level import OutputCeiling, Volume, db_to_gain
from hearing_assist.pipeline.processor import Chain, Processor


class Gain:
    def __init__(self, g):
        self.g = g
        self.prepared = None

    def prepare(self, sample_rate, block_size, channels):
        self.prepared = (sample_rate, block_size, channels)

    def process(self, block):
        block *= self.g
        return block

    def reset(self):
        pass


def test_chain_is_a_processor_and_nests():
    inner = Chain([Gain(2.0), Gain(3.0)])
    outer = Chain([inner, Gain(0.5)])
    assert isinstance(outer, Processor)
    outer.prepare(48000, 64, 2)
    assert inner.processors[0].prepared == (48000, 64, 2)
    out = outer.process(np.ones((64, 2), np.float32))
    assert np.allclose(out, 3.0)


def test_chain_rejects_bad_prepare():
    with pytest.raises(ValueError, match="positive"):
        Chain().prepare(0, 64, 2)


def test_offline_call_matches_blockwise_processing():
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    y = Chain([Gain(0.25)])(x, 48000, block_size=96)
    assert y.shape == x.shape and np.allclose(y, 0.25 * x)


def test_volume_ramps_without_steps_and_reaches_target():
    v = Volume(0.0, ramp_ms=10)
    v.prepare(48000, 128, 2)
    v.set_volume_db(-20)
    out = np.concatenate([v.process(np.ones((128, 2), np.float32))[:, 0].copy() for _ in range(8)])
    assert abs(out[-1] - db_to_gain(-20)) < 1e-6
    # 10 ms at 48 kHz = 480 samples for the whole change: no step larger than the ramp slope.
    assert np.abs(np.diff(out)).max() <= (1 - db_to_gain(-20)) / 480 * 1.01
    assert np.all(np.diff(out) <= 1e-7)  # monotonic: never overshoots


def test_volume_is_clipped_to_its_range():
    v = Volume(0.0, max_db=20)
    v.set_volume_db(80)
    assert v.volume_db == pytest.approx(20)


@pytest.mark.parametrize("max_dbfs", [-1.0, -12.0, -30.0])
def test_output_ceiling_holds_for_any_input(max_dbfs):
    c = OutputCeiling(max_dbfs)
    rng = np.random.default_rng(1)
    block = (rng.standard_normal((512, 2)) * 50).astype(np.float32)
    block[3, 0], block[4, 1], block[5, 0] = np.nan, np.inf, -np.inf
    out = c.process(block)
    assert np.all(np.isfinite(out))
    assert np.abs(out).max() <= db_to_gain(max_dbfs) + 1e-7
    assert out[3, 0] == 0 and out[4, 1] == 0


def test_output_ceiling_never_exceeds_zero_dbfs():
    c = OutputCeiling(+6.0)
    assert c.max_dbfs == 0.0
