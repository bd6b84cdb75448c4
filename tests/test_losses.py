"""Losses: gradients against finite differences, values against scikit-learn's metrics."""

import numpy as np
import pytest
from sklearn.linear_model import GammaRegressor
from sklearn.metrics import (
    hinge_loss,
    log_loss,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_error,
)

from sklearn_gd import GDRegressor
from sklearn_gd.losses import (
    CLASSIFICATION_LOSSES,
    REGRESSION_LOSSES,
    Interval,
    Labels,
    Loss,
    MultinomialLogLoss,
    classification_loss,
    row_max,
    row_sum,
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


MARGINS = {  # the loss at margin m = y * raw, as scikit-learn's SGD defines them
    "log_loss": lambda m: np.log1p(np.exp(-m)),
    "hinge": lambda m: np.maximum(0.0, 1.0 - m),
    "perceptron": lambda m: np.maximum(0.0, -m),
    "squared_hinge": lambda m: np.maximum(0.0, 1.0 - m) ** 2,
    "modified_huber": lambda m: np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m),
}


@pytest.mark.parametrize("name", sorted(MARGINS))
def test_constant_sum_is_the_weighted_loss_of_a_constant_model(name):
    # A constant model's loss without a pass over the rows: two classes as a +-1 column,
    # four as labels (one-vs-rest, +-1), against the margin formulas row by row.
    rng = np.random.RandomState(4)
    sw = rng.uniform(0.5, 2.0, size=300)
    index = rng.randint(4, size=300)
    loss = classification_loss(name, 2)
    y = np.where(index == 1, 1.0, -1.0)[:, None]
    raw = np.array([0.7])
    expected = sw @ MARGINS[name](y[:, 0] * raw[0])
    assert np.isclose(loss.constant_sum(y, sw, raw), expected, rtol=1e-12)
    if name == "log_loss":  # the same number as scikit-learn's metric
        proba = np.tile([1 - 1 / (1 + np.exp(-0.7)), 1 / (1 + np.exp(-0.7))], (300, 1))
        assert np.isclose(expected, log_loss(index == 1, proba, sample_weight=sw) * sw.sum())
    raw4 = np.array([0.3, -1.2, 2.0, 0.0])
    ovr = np.where(np.eye(4)[index] == 1, 1.0, -1.0)
    loss = CLASSIFICATION_LOSSES[name]()
    labels = Labels(index, 4, -1.0, 1.0, np.float64)
    expected = sw @ MARGINS[name](ovr * raw4).sum(axis=1)
    assert np.isclose(loss.constant_sum(labels, sw, raw4), expected, rtol=1e-12)
    # A class without rows adds nothing, even where its loss overflows (not 0 * inf).
    far = np.array([-1e200 if name != "log_loss" else -1e300])
    with np.errstate(over="ignore"):
        expected = sw[:3] @ MARGINS[name](-far[0] * np.ones(3))
        assert loss.constant_sum(-np.ones((3, 1)), sw[:3], far) == expected
        one_class = Labels(np.zeros(3, dtype=int), 4, -1.0, 1.0, np.float64)
        got = loss.constant_sum(one_class, sw[:3], np.array([0.0, 0.0, 0.0, -1e200]))
    assert np.isfinite(got)


def test_constant_sum_of_softmax_labels_is_scikit_learns_log_loss():
    rng = np.random.RandomState(5)
    sw = rng.uniform(0.5, 2.0, size=300)
    index = rng.randint(4, size=300)
    raw = np.array([0.3, -1.2, 2.0, 0.0])
    proba = np.tile(np.exp(raw) / np.exp(raw).sum(), (300, 1))
    expected = log_loss(index, proba, sample_weight=sw) * sw.sum()
    labels = Labels(index, 4, 0.0, 1.0, np.float64)
    assert np.isclose(MultinomialLogLoss().constant_sum(labels, sw, raw), expected, rtol=1e-12)
    # Other targets take a pass over the rows: no shortcut.
    assert MultinomialLogLoss().constant_sum(np.eye(4)[index], sw, raw) is None
    assert REGRESSION_LOSSES["squared_error"]().constant_sum(rng.normal(size=(300, 1)), sw,
                                                             np.zeros(1)) is None  # fmt: skip
    # Many classes in parts (600 classes, 109 at a time: 2^16 numbers, as fit takes them).
    index = rng.randint(600, size=2000)
    raw = rng.normal(size=600)
    proba = np.tile(np.exp(raw) / np.exp(raw).sum(), (2000, 1))
    expected = log_loss(index, proba, sample_weight=sw[index % 300], labels=np.arange(600))
    labels = Labels(index, 600, 0.0, 1.0, np.float64)
    got = MultinomialLogLoss().constant_sum(labels, sw[index % 300], raw, rows=109)
    assert np.isclose(got, expected * sw[index % 300].sum(), rtol=1e-12)


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


def test_log_odds_baseline_is_float64_for_float32_targets():
    # float32 training data gives float32 targets and weights; the class frequency is
    # taken in float64, where 1 - 1e-12 still clips it: log(p / (1 - p)) of one
    # negative in 10^6 rows, and a finite start when one class has no weight.
    y = np.ones((10**6, 1), dtype=np.float32)
    y[0] = -1.0
    sw = np.ones(10**6, dtype=np.float32)
    base = classification_loss("log_loss", 2).baseline(y, sw)
    np.testing.assert_allclose(base, np.log(999_999.0), rtol=1e-9)  # 1 - p: ~1e-10 rounding
    sw[0] = 0.0
    assert np.isfinite(classification_loss("log_loss", 2).baseline(y, sw)).all()


def test_modified_huber_probabilities():
    raw = np.array([[-2.0, 0.5, 0.0], [0.0, 0.0, 0.0], [3.0, -3.0, 0.2]])
    proba = CLASSIFICATION_LOSSES["modified_huber"].inverse_link(raw)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[1], 1 / 3)
    np.testing.assert_allclose(proba[0], [0, 0.75 / 1.25, 0.5 / 1.25])


# A loss the library does not have, added as a user would: its two functions, one
# class declaring its link and target interval, one registry line (in the test).
def gamma_value(y, raw, param):
    # Half Gamma deviance with log link, mu = exp(raw): log(mu / y) + y / mu - 1.
    return raw - np.log(y) + y * np.exp(-raw) - 1.0


def gamma_gradient(y, raw, param):
    return 1.0 - y * np.exp(-raw)


class Gamma(Loss):
    value_function = gamma_value
    gradient_function = gamma_gradient
    inverse_link = staticmethod(np.exp)
    interval_y_true = Interval(0.0, np.inf, False, False)

    def baseline(self, y, sw):
        return np.log(np.average(y, axis=0, weights=sw))


def test_a_new_loss_is_one_class_and_one_registry_line(monkeypatch):
    monkeypatch.setitem(REGRESSION_LOSSES, "gamma", Gamma)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    mu = np.exp(1.0 + X @ [0.3, -0.2, 0.1])
    y = rng.gamma(shape=2.0, scale=mu / 2.0)
    params = dict(loss="gamma", optimizer="sgd", batch_size="full", learning_rate=0.5,
                  alpha=1e-3, max_iter=2000, tol=None, engine="numpy")  # fmt: skip
    model = GDRegressor(**params).fit(X, y)
    # predict asks the loss for its link: exp of the raw prediction, not the raw one.
    raw = X @ model.coef_ + model.intercept_
    np.testing.assert_allclose(model.predict(X), np.exp(raw), rtol=1e-12)
    assert model.__sklearn_tags__().target_tags.positive_only
    # The fit is scikit-learn's GammaRegressor's (same half deviance and alpha/2 ||w||^2).
    reference = GammaRegressor(alpha=1e-3, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5)
    assert np.isclose(model.predict(X).mean(), y.mean(), rtol=0.01)
    # The target checks ask the loss for its domain.
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"loss='gamma' requires y > 0"):
            GDRegressor(**params).fit(X, np.r_[y[:-1], bad])


def test_target_intervals():
    poisson = REGRESSION_LOSSES["poisson"]()
    assert poisson.in_y_true_range(np.array([0.0, 2.0]))
    assert not poisson.in_y_true_range(np.array([-1e-300, 2.0]))
    assert str(poisson.interval_y_true) == "y >= 0"
    assert REGRESSION_LOSSES["squared_error"]().in_y_true_range(np.array([-1e300, 1e300]))
    assert str(Interval(0.0, 1.0, False, True)) == "0 < y <= 1"
    # Identity link for the other regression losses; margin losses give no probabilities.
    raw = np.array([[-1.5], [2.0]])
    for name in set(REGRESSION_LOSSES) - {"poisson"}:
        assert REGRESSION_LOSSES[name]().inverse_link(raw) is raw
    assert CLASSIFICATION_LOSSES["hinge"]().inverse_link is None


@pytest.mark.parametrize("k", [3, 17, 500])
def test_softmax_row_gradient_in_place_is_the_softmax_formula(k):
    # The compiled loop's one-row form, written into its own input (as it may be):
    # softmax(raw) - y from the formula exp(raw_k) / sum_j exp(raw_j), taken here in
    # extended precision; large raw values must not overflow (shifted by the max).
    rng = np.random.RandomState(k)
    y = np.eye(k)[rng.randint(k, size=20)]
    raw = rng.normal(scale=5.0, size=(20, k))
    raw[0] += 700.0  # exp(700 + ...) overflows unshifted
    e = np.exp((raw - raw.max(axis=1, keepdims=True)).astype(np.longdouble))
    expected = (e / e.sum(axis=1, keepdims=True) - y).astype(float)
    loss = MultinomialLogLoss()
    for i in range(20):
        row = raw[i].copy()
        MultinomialLogLoss.row_gradient_function(y[i], row, loss.param, row)
        np.testing.assert_allclose(row, expected[i], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.gradient(y, raw), expected, rtol=1e-13, atol=1e-15)
    # Compiled, the same numbers as in Python.
    numba = pytest.importorskip("numba")
    out = np.empty(k)
    numba.njit(MultinomialLogLoss.row_gradient_function)(y[0], raw[0], loss.param, out)
    np.testing.assert_allclose(out, expected[0], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("k", [1, 2, 3, 8, 9, 40])
def test_softmax_value_row_max_is_numpys_maximum_with_nan_and_inf(k):
    # row_max takes few classes column by column: the same maximum as NumPy's reduction,
    # NaN propagated (divergence must show), on strided views too (a chunk of columns).
    rng = np.random.RandomState(k)
    raw = rng.normal(size=(50, 2 * k))[:, ::2]
    raw[3, 0], raw[5, -1], raw[7, k // 2] = np.nan, np.inf, -np.inf
    expected = raw.max(axis=1, keepdims=True)
    np.testing.assert_array_equal(row_max(raw), expected)
    # and the softmax value on it: -log softmax at each row's class, from its formula
    labels = rng.randint(k, size=40)
    value = MultinomialLogLoss().value(np.eye(k)[labels], raw[10:])
    shifted = raw[10:] - expected[10:]
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, -log_p[np.arange(40), labels], rtol=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 8, 9, 40])
def test_row_sum_is_numpys_sum_to_the_bit(k):
    # row_sum adds up to 7 classes column by column: NumPy's reduction along each row
    # adds in the same order, so the sums (loss values, loss curves) do not move at all.
    rng = np.random.RandomState(k)
    values = rng.normal(size=(500, 2 * k))[:, ::2] * 10.0 ** rng.randint(-8, 8, size=(500, k))
    values[3, 0], values[5, -1] = np.nan, np.inf
    np.testing.assert_array_equal(row_sum(values), values.sum(axis=1))
