"""GDRegressor in any units of y (API.md, "Units"): the optimum of the objective on
``c * y`` is reached as closely and in about as many epochs as on ``y``.

References are scikit-learn's exact solvers (``Ridge(alpha=alpha * n)``) and
objectives computed here from their definitions.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDRegressor, find_learning_rate

ALPHA = 1e-4


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def ridge_objective(X, y, coef, intercept, alpha=ALPHA):
    """Half mean squared error plus ``alpha / 2 * ||coef||^2`` (GDRegressor's objective)."""
    residual = X @ coef + intercept - y
    return 0.5 * np.mean(residual**2) + 0.5 * alpha * coef @ coef


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("c", [1e-3, 1e4])
def test_r2_within_001_of_ridge_for_rescaled_targets(diabetes, c):
    X, y = diabetes
    ridge = Ridge(alpha=ALPHA * len(y)).fit(X, c * y)
    model = fit_quietly(GDRegressor(random_state=0), X, c * y)
    assert model.score(X, c * y) == pytest.approx(ridge.score(X, c * y), abs=0.01)


def test_gap_to_the_optimum_and_epochs_do_not_depend_on_the_units(diabetes):
    X, y = diabetes
    gaps, epochs = [], []
    for c in (1e-3, 1.0, 1e4):
        ridge = Ridge(alpha=ALPHA * len(y), solver="cholesky").fit(X, c * y)
        best = ridge_objective(X, c * y, ridge.coef_, ridge.intercept_)
        model = fit_quietly(GDRegressor(random_state=0), X, c * y)
        gaps.append(ridge_objective(X, c * y, model.coef_, model.intercept_[0]) / best - 1)
        epochs.append(model.n_iter_)
        # The curve is the objective in the units of c * y, not of y / s.
        assert model.loss_curve_[-1] == pytest.approx(best, rel=0.05)
    assert max(gaps) < 5e-3
    assert max(epochs) <= 1.5 * min(epochs)


def test_loss_curve_is_the_objective_in_the_units_of_y(diabetes):
    # One full-batch epoch reports the objective at its start: coef 0 and the
    # intercept at the mean, i.e. half the variance of c * y.
    X, y = diabetes
    for c in (1e-3, 1e4):
        model = GDRegressor(batch_size="full", max_iter=1, tol=None).fit(X, c * y)
        assert model.loss_curve_[0] == pytest.approx(0.5 * np.var(c * y), rel=1e-12)


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive", "squared_epsilon_insensitive"])
def test_width_is_read_in_the_units_of_y(diabetes, loss):
    # Scaling y and epsilon by c scales the optimum by c. With c a power of 2
    # every number of the run scales exactly, so the weights match to rounding.
    # A loss of degree 1 has this symmetry with the L2 penalty (degree 2) only
    # without it: c * coef would pay c times more penalty than coef.
    X, y = diabetes
    y = (y - y.mean()) / y.std()
    alpha = 0.0 if loss == "epsilon_insensitive" else ALPHA
    params = dict(loss=loss, epsilon=0.3, alpha=alpha, random_state=0, max_iter=50)
    base = fit_quietly(GDRegressor(**params), X, y)
    for c in (2.0**-10, 2.0**12):
        scaled = fit_quietly(GDRegressor(**{**params, "epsilon": 0.3 * c}), X, c * y)
        np.testing.assert_allclose(scaled.coef_, c * base.coef_, rtol=1e-12, atol=0)
        np.testing.assert_allclose(scaled.intercept_, c * base.intercept_, rtol=1e-12)
        assert scaled.n_iter_ == base.n_iter_


def test_width_in_units_of_y_reaches_the_huber_optimum(diabetes):
    # The Huber optimum on c * y with epsilon in y's units, from scipy's L-BFGS
    # on the objective written out here.
    from scipy.optimize import minimize

    X, y = diabetes
    c, eps = 1e4, 20.0 * 1e4  # 20 units of y (std 77), a real Huber regime
    Xc = np.hstack([X, np.ones((len(y), 1))])

    def objective(theta):
        r = np.abs(Xc @ theta - c * y)
        huber = np.where(r <= eps, 0.5 * r**2, eps * (r - 0.5 * eps))
        return huber.mean() + 0.5 * ALPHA * theta[:-1] @ theta[:-1]

    best = minimize(objective, np.zeros(Xc.shape[1]), method="L-BFGS-B",
                    options=dict(maxiter=10_000, ftol=1e-15, gtol=1e-12)).fun  # fmt: skip
    model = fit_quietly(GDRegressor(loss="huber", epsilon=eps, random_state=0), X, c * y)
    theta = np.append(model.coef_, model.intercept_)
    assert objective(theta) <= best * (1 + 1e-2)


@pytest.mark.parametrize("c", [1e-3, 1e4])
def test_partial_fit_stream_in_any_units(diabetes, c):
    X, y = diabetes
    ridge = Ridge(alpha=ALPHA * len(y)).fit(X, c * y)
    model = GDRegressor(random_state=0)
    for _ in range(10):
        for start in range(0, len(y), 50):
            model.partial_fit(X[start : start + 50], c * y[start : start + 50])
    assert model.score(X, c * y) == pytest.approx(ridge.score(X, c * y), abs=0.02)


def test_stream_keeps_the_scale_of_its_first_call(diabetes):
    # A power-of-2 c scales every number of the stream exactly; a later chunk
    # in other units does not change the scale the stream trains with.
    X, y = diabetes
    c = 2.0**11
    a, b = GDRegressor(random_state=0), GDRegressor(random_state=0)
    for start in range(0, len(y), 100):
        a.partial_fit(X[start : start + 100], y[start : start + 100])
        b.partial_fit(X[start : start + 100], c * y[start : start + 100])
    np.testing.assert_allclose(b.coef_, c * a.coef_, rtol=1e-12)
    np.testing.assert_allclose(b.loss_curve_, c**2 * np.asarray(a.loss_curve_), rtol=1e-12)


def test_init_zero_trains_on_y_itself(diabetes):
    # init='zero' is the textbook run: no scale, so k chunks equal one epoch of fit.
    X, y = diabetes
    params = dict(init="zero", batch_size=34, shuffle=False, random_state=0, tol=None)
    fit = GDRegressor(max_iter=1, **params).fit(X, 1e4 * y)
    stream = GDRegressor(**params)
    for start in range(0, len(y), 34):
        stream.partial_fit(X[start : start + 34], 1e4 * y[start : start + 34])
    np.testing.assert_allclose(stream.coef_, fit.coef_, rtol=1e-10)


def test_multi_output_targets_in_different_units(diabetes):
    # One scale for all outputs (alpha is one number, and the curve sums the
    # outputs): each output of a target in large units still reaches its optimum.
    X, y = diabetes
    Y = 1e4 * np.column_stack([y, 0.3 * y[::-1]])
    ridge = Ridge(alpha=ALPHA * len(y), solver="cholesky").fit(X, Y)
    model = fit_quietly(GDRegressor(random_state=0), X, Y)
    for k in range(2):
        best = ridge_objective(X, Y[:, k], ridge.coef_[k], ridge.intercept_[k])
        got = ridge_objective(X, Y[:, k], model.coef_[k], model.intercept_[k])
        assert got <= best * (1 + 1e-2)


def test_finder_on_rescaled_targets(diabetes):
    X, y = diabetes
    base = find_learning_rate(GDRegressor(), X, y, random_state=0)
    c = 2.0**13
    scaled = find_learning_rate(GDRegressor(), X, c * y, random_state=0)
    assert scaled.suggestion == base.suggestion
    np.testing.assert_allclose(scaled.losses, c**2 * base.losses, rtol=1e-10)
    # And in decimal units: a suggestion that trains as well as at c = 1.
    big = find_learning_rate(GDRegressor(), X, 1e4 * y, random_state=0)
    model = fit_quietly(GDRegressor(learning_rate=big.suggestion, random_state=0), X, 1e4 * y)
    ridge = Ridge(alpha=ALPHA * len(y)).fit(X, 1e4 * y)
    assert model.score(X, 1e4 * y) == pytest.approx(ridge.score(X, 1e4 * y), abs=0.02)


def test_warm_start_and_coef_init_are_read_in_the_units_of_y(diabetes):
    # A start at the exact optimum of c * y stays there: the start is divided
    # by the scale like the target (else it would be off by a factor s).
    X, y = diabetes
    c = 1e4
    ridge = Ridge(alpha=ALPHA * len(y), solver="cholesky").fit(X, c * y)
    best = ridge_objective(X, c * y, ridge.coef_, ridge.intercept_)
    params = dict(batch_size="full", max_iter=1, tol=None, learning_rate=1e-3)
    model = GDRegressor(**params).fit(X, c * y, coef_init=ridge.coef_,
                                      intercept_init=[ridge.intercept_])  # fmt: skip
    assert ridge_objective(X, c * y, model.coef_, model.intercept_[0]) <= best * (1 + 1e-4)
    assert model.loss_curve_[0] == pytest.approx(best, rel=1e-10)
    model.set_params(warm_start=True).fit(X, c * y)
    assert ridge_objective(X, c * y, model.coef_, model.intercept_[0]) <= best * (1 + 1e-4)
