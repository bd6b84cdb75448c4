"""Many classes: the target stays integer labels (``losses.Labels``) down to the batch.

A multiclass fit equals one-hot gradient descent written out here, in both engines
and however many rows the engine keeps raw predictions for at once; the losses read
labels as they read the one-hot (+-1) matrix; ``fit`` allocates nothing of the size
rows x classes; the labels are encoded exactly as ``np.unique`` encodes them.
"""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_gd import GDClassifier, _engine
from sklearn_gd._classifier import _unique_index
from sklearn_gd.losses import CLASSIFICATION_LOSSES, Labels, classification_loss

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.filterwarnings("ignore"))]


def _problem(n=240, d=4, n_classes=50, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    y = rng.randint(0, n_classes, n) * 3 - 20  # labels that are not 0..K-1
    y[:n_classes] = np.arange(n_classes) * 3 - 20  # every class present
    return X, y


def _one_hot_gd(X, y, loss, alpha, lr, epochs, batch):
    """Plain gradient descent on the one-hot (+-1) matrix, from the formulas: softmax
    cross-entropy ``grad = (softmax(raw) - Y)`` or the hinge's ``-Y * (Y raw < 1)``,
    ``[X, 1]^T grad / |B| + alpha * [W, 0]``, over the rows in their order."""
    classes = np.unique(y)
    Y = (y[:, None] == classes).astype(float)
    if loss == "hinge":
        Y = 2.0 * Y - 1.0
    Xe = np.hstack([X, np.ones((len(X), 1))])
    theta = np.zeros((len(classes), Xe.shape[1]))
    for _ in range(epochs):
        for s in range(0, len(X), batch):
            Xb, Yb = Xe[s : s + batch], Y[s : s + batch]
            raw = Xb @ theta.T
            if loss == "hinge":
                d = -Yb * (Yb * raw < 1.0)
            else:
                e = np.exp(raw - raw.max(axis=1, keepdims=True))
                d = e / e.sum(axis=1, keepdims=True) - Yb
            grad = d.T @ Xb / len(Xb)
            grad[:, :-1] += alpha * theta[:, :-1]
            theta -= lr * grad
    return theta


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
@pytest.mark.parametrize("batch_size, epochs", [("full", 30), (1, 2), (32, 4)])
@pytest.mark.parametrize("kept", ["by row", "by run"])
@pytest.mark.parametrize("sparse", [False, True])
def test_many_classes_equal_one_hot_gradient_descent(engine, loss, batch_size, epochs, kept,
                                                     sparse, monkeypatch):  # fmt: skip
    if engine == "numba":
        pytest.importorskip("numba")
    if kept == "by run":  # every epoch keeps only a run of batches' raw predictions
        monkeypatch.setattr(_engine, "_RAWS_BY_ROW", 0)
        monkeypatch.setattr(_engine, "_LABELS_RAWS_BY_ROW", 0)
    X, y = _problem()
    model = GDClassifier(loss=loss, optimizer="sgd", schedule="constant", learning_rate=0.1,
                         alpha=0.01, batch_size=batch_size, max_iter=epochs, tol=None,
                         shuffle=False, average=False, safe_steps=False, engine=engine)  # fmt: skip
    model.fit(sp.csr_matrix(X) if sparse else X, y)
    b = len(X) if batch_size == "full" else batch_size
    theta = _one_hot_gd(X, y, loss, 0.01, 0.1, epochs, b)
    np.testing.assert_array_equal(model.classes_, np.unique(y))
    np.testing.assert_allclose(model.coef_, theta[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, theta[:, -1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_shuffled_epochs_are_the_same_whatever_is_kept(engine, monkeypatch):
    """Shuffled mini-batches, zero weights (skipped batches) and averaging: keeping the
    raw predictions of a run of batches changes nothing but the order of the loss sum."""
    if engine == "numba":
        pytest.importorskip("numba")
    X, y = _problem(n=300)
    sw = np.random.RandomState(1).uniform(size=len(y)) * (np.arange(len(y)) % 7 != 0)
    params = dict(max_iter=4, tol=None, batch_size=8, random_state=0, engine=engine)
    reference = GDClassifier(**params).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(_engine, "_RAWS_BY_ROW", 0)
    monkeypatch.setattr(_engine, "_LABELS_RAWS_BY_ROW", 0)
    model = GDClassifier(**params).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-13)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_LOSSES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_losses_read_labels_as_the_matrix(name, dtype):
    rng = np.random.RandomState(0)
    n, K = 40, 7
    index = rng.randint(0, K, n)
    raw = rng.normal(size=(n, K)).astype(dtype) * 3
    loss = classification_loss(name, K)
    low, high = loss.label_values
    Y = np.where(np.arange(K) == index[:, None], high, low).astype(dtype)
    labels = Labels(index, K, low, high, dtype)
    np.testing.assert_array_equal(labels.dense(), Y)
    np.testing.assert_array_equal(loss.value(labels, raw), loss.value(Y, raw))
    np.testing.assert_array_equal(loss.gradient(labels, raw), loss.gradient(Y, raw))
    assert loss.gradient(labels, raw).dtype == loss.gradient(Y, raw).dtype
    sw = rng.uniform(size=n)
    np.testing.assert_array_equal(loss.baseline(labels, sw), loss.baseline(Y, sw))
    np.testing.assert_array_equal(labels[3:9].dense(), Y[3:9])


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_fit_allocates_nothing_of_rows_times_classes(engine):
    """tracemalloc's peak (NumPy's and Python's allocations) of a one-epoch fit with
    many classes stays far below one (n, K) matrix of float64."""
    if engine == "numba":
        pytest.importorskip("numba")
    n, K = 20_000, 200
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(n, 5)), rng.randint(0, K, n)
    params = dict(max_iter=1, tol=None, random_state=0, engine=engine)
    GDClassifier(**params).fit(X[:2000], y[:2000])  # the compiled loop is loaded first
    tracemalloc.start()
    try:
        model = GDClassifier(**params).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(model.classes_) == K
    # One (n, K) matrix is 32 MB; the labels, weights and row order are 0.64 MB.
    assert peak < n * K * 8 / 10


@pytest.mark.parametrize(
    "y",
    [
        np.array([5, -3, 5, 7, -3, 1_000]),
        np.array([2**40, 2**40 + 3, 2**40]),
        np.array([0, 2**62, 5]),  # a range too wide to count
        np.array([True, False, True]),
        np.array([3, 1, 2], dtype=np.uint8),
        np.array([4, 3, 3, 4], dtype=np.int16),  # two consecutive labels: compared, not counted
        np.array([-1, 0, 0]),
        np.array([0.5, -1.0, 0.5, 2.0]),
        np.array(["b", "a", "c", "a"]),
        np.array(["b", 1, "a"], dtype=object),
        np.array(["x"] * 1500 + ["a", "x"]),  # a class past the first 1000 labels
    ],
)
def test_labels_are_encoded_as_np_unique_encodes_them(y):
    try:
        classes = np.unique(y)
    except TypeError:  # mixed types have no order: the encoding raises as np.unique
        with pytest.raises(TypeError):
            _unique_index(y)
        return
    got, index = _unique_index(y)
    assert got.dtype == classes.dtype
    np.testing.assert_array_equal(got, classes)
    np.testing.assert_array_equal(index, np.searchsorted(classes, y))
