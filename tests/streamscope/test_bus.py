"""The in-process bus: bounded, never drops, ends cleanly."""

from __future__ import annotations

import threading

import pytest

from streamscope.bus import EndOfStream, InProcessBus


def test_fifo_and_end_of_stream() -> None:
    bus: InProcessBus[int] = InProcessBus()
    bus.publish("t", [1, 2, 3])
    assert bus.poll("t", 2) == [1, 2]
    bus.close("t")
    assert bus.poll("t", 10) == [3]
    with pytest.raises(EndOfStream):
        bus.poll("t", 10)
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("t", [4])


def test_backpressure_blocks_instead_of_dropping() -> None:
    bus: InProcessBus[int] = InProcessBus(capacity=10)
    done = threading.Event()

    def produce() -> None:
        bus.publish("t", list(range(100)))
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    assert not done.wait(0.2)  # blocked: only 10 fit
    assert bus.pending("t") == 10
    got: list[int] = []
    while len(got) < 100:
        got.extend(bus.poll("t", 7))
    assert done.wait(5)
    assert got == list(range(100))
