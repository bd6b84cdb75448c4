"""The row orders of shuffled epochs, as the loops take them."""

import numba  # noqa: F401  (the helpers compile once numba is imported)
import numpy as np
import pytest

from sklearn_gd import _kernel, _shuffle
from sklearn_gd._engine import Trainer


@pytest.mark.parametrize("epochs_per_call", [(1, 1, 1), (3, 1, 2), (1, 4)])
def test_each_epoch_order_is_numpys_shuffle_of_the_last(epochs_per_call):
    # Whether a call draws one epoch or several, epoch e trains in the order NumPy's
    # Generator.shuffle gives the order of epoch e - 1 (from arange), with the generator
    # left where those shuffles leave it; the loops take it as int32. (A faster exact
    # shuffle must keep this: the NumPy and compiled engines train in these orders.)
    n = 1001
    trainer = Trainer(None, None, None, None, None, 0.1, 1, True, True, None, 0)
    rng, reference_rng = np.random.default_rng(5), np.random.default_rng(5)
    reference = np.arange(n, dtype=np.int32)
    for n_epochs in epochs_per_call:
        orders = trainer._orders(rng, n, 1, n_epochs)
        assert orders.dtype == np.int32 and orders.shape == (n_epochs, n)
        for order in orders:
            reference_rng.shuffle(reference)
            np.testing.assert_array_equal(order, reference)
    assert rng.integers(1 << 40) == reference_rng.integers(1 << 40)


def test_unshuffled_or_single_batch_epochs_have_no_order():
    shuffled = Trainer(None, None, None, None, None, 0.1, 1, True, True, None, 0)
    assert shuffled._orders(np.random.default_rng(0), 10, 10, 1) is None  # one batch
    kept = Trainer(None, None, None, None, None, 0.1, 1, True, False, None, 0)
    assert kept._orders(np.random.default_rng(0), 10, 1, 1) is None


@pytest.mark.parametrize("block", [None, 1, 3], ids=["block", "1 word", "3 words"])
@pytest.mark.parametrize("n", [2, 3, 1001, 70_000])
def test_the_compiled_shuffle_is_numpys(n, block, monkeypatch):
    # Generator.shuffle's permutation and final generator state (its state, and the
    # half of a 64-bit output kept for the next 32-bit draw), whatever the draws left
    # pending before it, and with blocks of raw outputs that run out mid-shuffle.
    monkeypatch.setattr(_shuffle, "COMPILED_ROWS", 2)
    if block is not None:
        monkeypatch.setattr(_shuffle, "block_size", lambda n: block)
    assert _shuffle._fisher_yates.get() is not None
    for seed in range(4):
        rng, reference_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        if seed % 2:  # a 32-bit draw leaves the high half of an output pending
            assert rng.integers(7, dtype=np.uint32) == reference_rng.integers(7, dtype=np.uint32)
        order, reference = np.arange(n, dtype=np.int32), np.arange(n, dtype=np.int32)
        for _ in range(3):
            _shuffle.shuffle(rng, order)
            reference_rng.shuffle(reference)
            np.testing.assert_array_equal(order, reference)
            assert rng.bit_generator.state == reference_rng.bit_generator.state


def test_a_shuffle_that_cannot_compile_is_numpys_with_a_warning(monkeypatch):
    # A damaged numba cache fails the call before any swap: NumPy's shuffle (the same
    # orders) takes over for the process, with one warning.
    def broken(*args):
        raise EOFError("Ran out of input")

    monkeypatch.setattr(_shuffle, "COMPILED_ROWS", 2)
    monkeypatch.setattr(_kernel, "_warned", set())  # warned once a process
    helper = _shuffle.Helper(_shuffle.fisher_yates)
    helper._compiled, helper._tried = broken, True
    monkeypatch.setattr(_shuffle, "_fisher_yates", helper)
    rng, reference_rng = np.random.default_rng(0), np.random.default_rng(0)
    order, reference = np.arange(50, dtype=np.int32), np.arange(50, dtype=np.int32)
    with pytest.warns(UserWarning, match="compiled fisher_yates failed .*EOFError"):
        _shuffle.shuffle(rng, order)
    reference_rng.shuffle(reference)
    np.testing.assert_array_equal(order, reference)
    assert helper.get() is None
    _shuffle.shuffle(rng, order)  # NumPy's from now on, without a word
    reference_rng.shuffle(reference)
    np.testing.assert_array_equal(order, reference)
    assert rng.bit_generator.state == reference_rng.bit_generator.state


def test_orders_the_compiled_shuffle_cannot_take_are_numpys(monkeypatch):
    # A read-only or 2-D array, or n = 1, goes to NumPy's shuffle (its error or its
    # result), and the compiled one stays on for the next call.
    monkeypatch.setattr(_shuffle, "COMPILED_ROWS", 1)
    read_only = np.arange(10)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _shuffle.shuffle(np.random.default_rng(0), read_only)
    for order in (np.arange(12).reshape(4, 3), np.arange(1)):
        rng, reference_rng = np.random.default_rng(3), np.random.default_rng(3)
        rng.random(dtype=np.float32), reference_rng.random(dtype=np.float32)  # a half pending
        reference = order.copy()
        _shuffle.shuffle(rng, order)
        reference_rng.shuffle(reference)
        np.testing.assert_array_equal(order, reference)
        assert rng.bit_generator.state == reference_rng.bit_generator.state
    assert _shuffle._fisher_yates.get() is not None
