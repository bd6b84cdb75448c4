"""Property-based tests: invariants over random shapes, dtypes, layouts, weights
and hyperparameters. Profiles are set in conftest.py (quick 'ci' by default,
HYPOTHESIS_PROFILE=long for a thorough local run)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd.losses import REGRESSION_LOSSES
from sklearn_gd.optimizers import OPTIMIZERS

LOSSES = sorted(set(REGRESSION_LOSSES) - {"poisson"})


@st.composite
def problems(draw, classification=False):
    n = draw(st.integers(2, 60))
    d = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d)) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    X = X.astype(draw(st.sampled_from([np.float64, np.float32])))
    layout = draw(st.sampled_from(["C", "F", "csr", "csc"]))
    X = sp.csr_matrix(X) if layout == "csr" else sp.csc_matrix(X) if layout == "csc" else (
        np.asfortranarray(X) if layout == "F" else X)  # fmt: skip
    if classification:
        y = rng.randint(draw(st.integers(2, 4)), size=n)
        y[:2] = [0, 1]
    else:
        y = rng.normal(size=n)
    weights = draw(st.sampled_from([None, "uniform", "integers"]))
    if weights == "uniform":
        sw = rng.uniform(0.1, 3.0, size=n)
    elif weights == "integers":
        sw = rng.randint(0, 4, size=n)
    else:
        sw = None
    if sw is not None and sw.sum() == 0:
        sw[0] = 1
    params = dict(
        optimizer=draw(st.sampled_from(sorted(OPTIMIZERS))),
        batch_size=draw(st.sampled_from([1, 4, 16, "full", "auto"])),
        penalty=draw(st.sampled_from(["l2", "l1", "elasticnet", None])),
        learning_rate=draw(st.sampled_from([1e-3, 1e-2, 1e-1])),
        max_iter=draw(st.integers(1, 5)),
        random_state=seed,
    )
    if not classification:
        params["loss"] = draw(st.sampled_from(LOSSES))
    return X, y, sw, params


def _fit(estimator, X, y, sw):
    """The fitted estimator, or the ``DivergenceError`` it raised: steps of 1e-3 and
    more on features of scale 1e3 run away, and the contract says that raises."""
    try:
        return estimator.fit(X, y, sample_weight=sw)
    except DivergenceError as exc:
        assert "diverged" in str(exc)
        return exc


def _same_outcome(a, b):
    """Both fits raised, or neither did (then the caller compares the models)."""
    assert isinstance(a, DivergenceError) == isinstance(b, DivergenceError), (a, b)
    return not isinstance(a, DivergenceError)


@given(problems())
def test_fit_gives_finite_weights_or_a_documented_error(problem):
    X, y, sw, params = problem
    try:
        model = GDRegressor(**params).fit(X, y, sample_weight=sw)
    except ValueError as exc:  # DivergenceError is a ValueError
        assert "diverged" in str(exc)
        return
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    pred = model.predict(X)
    assert pred.shape == (X.shape[0],) and pred.dtype == X.dtype


@given(problems(classification=True))
def test_classifier_predictions_have_the_right_shape_and_type(problem):
    X, y, sw, params = problem
    model = _fit(GDClassifier(**params), X, y, sw)
    if isinstance(model, DivergenceError):
        return
    assert model.predict(X).shape == y.shape and set(model.predict(X)) <= set(y)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], len(np.unique(y)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@given(problems())
def test_same_random_state_same_model(problem):
    X, y, sw, params = problem
    a = _fit(GDRegressor(**params), X, y, sw)
    b = _fit(GDRegressor(**params), X, y, sw)
    if _same_outcome(a, b):
        np.testing.assert_array_equal(a.coef_, b.coef_)
    else:
        assert str(a) == str(b)


@given(problems(), st.integers(-3, 3))
def test_scaling_all_weights_changes_nothing(problem, power):
    X, y, sw, params = problem
    sw = np.ones(X.shape[0]) if sw is None else sw
    a = _fit(GDRegressor(**params), X, y, sw)
    b = _fit(GDRegressor(**params), X, y, sw * 2.0**power)  # exact in floating point
    if _same_outcome(a, b):
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-12)


@given(problems())
def test_integer_weights_equal_repeated_rows_in_full_batch(problem):
    X, y, _, params = problem
    # In float32, Adam-like rules' first step lr * sign(g) turns the rounding of
    # two summation orders into visible differences: test the math in float64.
    X = X.astype(np.float64)
    sw = np.random.RandomState(params["random_state"]).randint(0, 4, size=X.shape[0])
    sw[0] = max(sw[0], 1)
    params.update(batch_size="full")
    weighted = _fit(GDRegressor(**params), X, y, sw)
    rows = np.repeat(np.arange(X.shape[0]), sw)
    repeated = _fit(GDRegressor(**params), X[rows], y[rows], None)
    if _same_outcome(weighted, repeated):
        np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-10)


@given(problems(), st.integers(1, 4))
def test_partial_fit_chunks_equal_one_epoch(problem, k):
    X, y, sw, params = problem
    params.update(shuffle=False, batch_size=2, init="zero")
    n = X.shape[0] // (2 * k) * 2 * k
    if n == 0:
        return
    X, y = X[:n], y[:n]
    # The stream's normaliser is the mean weight of the rows seen so far: equal
    # to the epoch's all along only when the weights are.
    sw = None if sw is None else np.full(n, 2.0)
    stream = GDRegressor(**params)
    epoch = GDRegressor(**{**params, "max_iter": 1})
    try:
        for rows in np.array_split(np.arange(n), k):
            stream.partial_fit(X[rows], y[rows], sample_weight=None if sw is None else sw[rows])
    except DivergenceError:  # a step too large for the data: then so is the epoch's
        with pytest.raises(DivergenceError):
            epoch.fit(X, y, sample_weight=sw)
        return
    try:
        epoch.fit(X, y, sample_weight=sw)
    except DivergenceError as exc:
        # fit judges where its run ended against where it started (a finite run-away
        # raises); partial_fit, one epoch on each call's rows, raises on non-finite
        # values only.
        assert "times the larger" in str(exc)
        return
    np.testing.assert_allclose(stream.coef_, epoch.coef_, rtol=1e-10, atol=1e-12)


@given(problems(), st.integers(1, 4))
def test_pickling_at_any_point_changes_nothing(problem, when):
    X, y, sw, params = problem
    straight, resumed = GDRegressor(**params), GDRegressor(**params)
    for call in range(5):
        straight.partial_fit(X, y, sample_weight=sw)
        resumed.partial_fit(X, y, sample_weight=sw)
        if call == when:
            resumed = pickle.loads(pickle.dumps(resumed))
    np.testing.assert_array_equal(straight.coef_, resumed.coef_)
    assert straight.loss_curve_ == resumed.loss_curve_


@given(problems())
def test_result_does_not_depend_on_blas_threads(problem):
    X, y, sw, params = problem
    with threadpool_limits(1):
        one = _fit(GDRegressor(**params), X, y, sw)
    many = _fit(GDRegressor(**params), X, y, sw)
    if _same_outcome(one, many):
        np.testing.assert_allclose(one.coef_, many.coef_, rtol=1e-10, atol=1e-10)


def _snapshot(estimator):
    """The whole ``__dict__``, each value by value."""
    return {name: pickle.dumps(value) for name, value in vars(estimator).items()}


_CALLS = st.lists(
    st.one_of(
        st.tuples(st.just("fit"), st.sampled_from(["ok", "nan", "features", "huge_step"])),
        st.tuples(st.just("partial_fit"), st.sampled_from(["ok", "nan", "features", "classes"])),
        st.tuples(
            st.just("set_params"),
            st.sampled_from(
                [
                    {"optimizer": "sgd"},
                    {"optimizer": "adam"},
                    {"average": 3},
                    {"average": False},
                    {"learning_rate": 0.01},
                    {"batch_size": 0},
                    {"warm_start": True},
                    {"warm_start": False},
                    {"fit_intercept": False},
                    {"alpha": -1.0},
                ]
            ),  # fmt: skip
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(_CALLS, st.integers(0, 2**16))
def test_any_call_sequence_leaves_the_estimator_as_before_a_failing_call(calls, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(24, 3))
    y = (X[:, 0] > 0).astype(int)
    model = GDClassifier(max_iter=2, tol=None, random_state=0, engine="numpy")
    inputs = {
        "ok": (X, y),
        "nan": (np.where(np.arange(24)[:, None] == 3, np.nan, X), y),
        "features": (X[:, :2], y),
        "classes": (X, y + 2),
    }
    for method, arg in calls:
        before = _snapshot(model)
        params = model.get_params()
        try:
            if method == "set_params":
                model.set_params(**arg)
                continue
            if arg == "huge_step":
                model.set_params(optimizer="sgd", learning_rate=1e300, schedule="constant")
                data = (X * 1e10, y)
            else:
                data = inputs[arg]
            kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
            getattr(model, method)(*data, **kwargs)
        except (ValueError, FloatingPointError):
            after = _snapshot(model)
            if arg == "huge_step":  # the parameters changed before the call, not by it
                model.set_params(**params)
                after = _snapshot(model)
            assert after == before
            continue
        finally:
            if arg == "huge_step":
                model.set_params(**params)
        # A call that succeeded left a complete model: every fitted attribute at once.
        assert model.coef_.shape[1] == model.n_features_in_ == data[0].shape[1]
        assert len(model.loss_curve_) == len(model.learning_rate_curve_) == model.n_iter_
        assert model._state.t == model.t_ and list(model.classes_) == [0, 1]
        model.predict(data[0])
