"""Losses: gradients against finite differences, values against scikit-learn's metrics."""

import numpy as np
import pytest
from sklearn.metrics import (
    hinge_loss,
    log_loss,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_error,
)

from sklearn_gd.losses import (
    CLASSIFICATION_LOSSES,
    REGRESSION_LOSSES,
    MultinomialLogLoss,
    classification_loss,
)

ALL_LOSSES = [cls() for cls in REGRESSION_LOSSES.values()]
ALL_LOSSES += [cls() for cls in CLASSIFICATION_LOSSES.values()] + [MultinomialLogLoss()]
KINKS = {
    "EpsilonInsensitive": [0.1, -0.1],
    "SquaredEpsilonInsensitive": [0.1, -0.1],
    "Huber": [0.1, -0.1],
    "AbsoluteError": [0.0],
    "Quantile": [0.0],
}


def _targets(loss, rng, n, k):
    name = type(loss).__name__
    if name == "MultinomialLogLoss":
        return np.eye(k)[rng.randint(k, size=n)]
    if type(loss) in CLASSIFICATION_LOSSES.values():
        return rng.choice([-1.0, 1.0], size=(n, k))
    if name == "Poisson":
        return rng.poisson(2.0, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda loss: type(loss).__name__)
def test_gradient_matches_finite_differences(loss):
    rng = np.random.RandomState(0)
    n, k, h = 200, 3, 1e-6
    y = _targets(loss, rng, n, k)
    raw = rng.normal(scale=2.0, size=(n, k))
    # Keep away from the kinks of the non-smooth losses (classification kinks
    # are at y*raw = 1, 0 and -1).
    residual = raw - y
    margin = y * raw
    far = np.ones(n, dtype=bool)
    for kink in KINKS.get(type(loss).__name__, []):
        far &= (np.abs(residual - kink) > 1e-3).all(axis=1)
    for kink in (1.0, 0.0, -1.0):
        far &= (np.abs(margin - kink) > 1e-3).all(axis=1) | (y.sum(axis=1) == 1).all()
    y, raw = y[far], raw[far]
    assert len(y) > 50
    grad = loss.gradient(y, raw)
    for col in range(k):
        step = np.zeros_like(raw)
        step[:, col] = h
        numeric = (loss.value(y, raw + step) - loss.value(y, raw - step)) / (2 * h)
        np.testing.assert_allclose(grad[:, col], numeric, rtol=1e-5, atol=1e-7)


def test_regression_values_match_scikit_learn_definitions():
    rng = np.random.RandomState(1)
    y = rng.poisson(3.0, size=(100, 1)).astype(float)
    raw = rng.normal(size=(100, 1))
    # half squared error, half Poisson deviance, pinball
    assert np.isclose(
        REGRESSION_LOSSES["squared_error"]().value(y, raw).mean(),
        mean_squared_error(y, raw) / 2,
    )
    assert np.isclose(
        REGRESSION_LOSSES["poisson"]().value(y, raw).mean(),
        mean_poisson_deviance(y[:, 0], np.exp(raw[:, 0])) / 2,
    )
    assert np.isclose(
        REGRESSION_LOSSES["quantile"](quantile=0.3).value(y, raw).mean(),
        mean_pinball_loss(y, raw, alpha=0.3),
    )


def test_classification_values_match_scikit_learn_definitions():
    rng = np.random.RandomState(2)
    y01 = rng.randint(2, size=300)
    y = np.where(y01 == 1, 1.0, -1.0)[:, None]
    raw = rng.normal(size=(300, 1))
    binary = classification_loss("log_loss", 2)
    assert np.isclose(binary.value(y, raw).mean(), log_loss(y01, binary.inverse_link(raw)))
    assert np.isclose(CLASSIFICATION_LOSSES["hinge"]().value(y, raw).mean(), hinge_loss(y01, raw))
    labels = rng.randint(4, size=300)
    raw4 = rng.normal(size=(300, 4))
    multi = classification_loss("log_loss", 4)
    assert isinstance(multi, MultinomialLogLoss)
    proba = multi.inverse_link(raw4)
    assert np.isclose(multi.value(np.eye(4)[labels], raw4).mean(), log_loss(labels, proba))


CLOSED_FORM = ["squared_error", "absolute_error", "quantile", "poisson"]


@pytest.mark.parametrize(
    "loss",
    [REGRESSION_LOSSES[name]() for name in CLOSED_FORM]
    + [cls() for cls in CLASSIFICATION_LOSSES.values()]
    + [MultinomialLogLoss()],
    ids=lambda loss: type(loss).__name__,
)
def test_baseline_is_the_best_constant(loss):
    rng = np.random.RandomState(3)
    y = _targets(loss, rng, 500, 3)
    sw = rng.uniform(0.5, 2.0, size=500)
    base = loss.baseline(y, sw)
    if type(loss).__name__ in ("Hinge", "Perceptron", "SquaredHinge", "ModifiedHuber"):
        np.testing.assert_array_equal(base, 0.0)
        return

    def objective(c):
        return sw @ loss.value(y, np.broadcast_to(c, y.shape)) / sw.sum()

    best = objective(base)
    for col in range(3):
        for delta in (-1e-2, 1e-2):
            moved = base.copy()
            moved[col] += delta
            assert objective(moved) >= best - 1e-12


def test_modified_huber_probabilities():
    raw = np.array([[-2.0, 0.5, 0.0], [0.0, 0.0, 0.0], [3.0, -3.0, 0.2]])
    proba = CLASSIFICATION_LOSSES["modified_huber"].inverse_link(raw)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[1], 1 / 3)
    np.testing.assert_allclose(proba[0], [0, 0.75 / 1.25, 0.5 / 1.25])
