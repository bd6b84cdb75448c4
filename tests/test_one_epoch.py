"""The row orders of shuffled epochs, as the loops take them."""

import numpy as np
import pytest

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
