import threading

import numpy as np

from hearing_assist.audio.ring_buffer import RingBuffer


def test_fifo_order_across_wraparound():
    rb = RingBuffer(10, 1)
    out = []
    data = np.arange(37, dtype=np.float32)
    pos = 0
    while pos < len(data):
        pos += rb.write(data[pos : pos + 7])
        out.append(rb.read(4)[:, 0])
    out.append(rb.read()[:, 0])
    assert np.array_equal(np.concatenate(out), data)


def test_overflow_drops_new_frames_and_counts_them():
    rb = RingBuffer(8, 2)
    assert rb.write(np.ones((6, 2), np.float32)) == 6
    assert rb.write(np.full((5, 2), 2, np.float32)) == 2
    assert rb.dropped == 3
    got = rb.read()
    assert got.shape == (8, 2) and got[-1, 0] == 2 and rb.available() == 0


def test_read_into_buffer_and_skip():
    rb = RingBuffer(16, 1)
    rb.write(np.arange(10, dtype=np.float32))
    assert rb.skip(3) == 3
    buf = np.zeros((4, 1), np.float32)
    got = rb.read(out=buf)
    assert np.array_equal(got[:, 0], [3, 4, 5, 6]) and np.shares_memory(got, buf)


def test_concurrent_producer_consumer_keeps_every_frame_in_order():
    rb = RingBuffer(257, 1)
    total = 50_000
    received = []

    def produce():
        i = 0
        while i < total:
            n = min(64, rb.free(), total - i)  # a real producer that must not drop waits for room
            i += rb.write(np.arange(i, i + n, dtype=np.float32))

    t = threading.Thread(target=produce)
    t.start()
    count = 0
    while count < total:
        chunk = rb.read(100)[:, 0]
        received.append(chunk)
        count += len(chunk)
    t.join()
    assert np.array_equal(np.concatenate(received), np.arange(total, dtype=np.float32))
    assert rb.dropped == 0
