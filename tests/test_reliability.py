"""Bad inputs, long streams and threads: every case has a defined outcome.

The table below is the contract for bad input. Each row is one input and what
happens: an exception type and a message that names the input or parameter,
or, where scikit-learn accepts the input, "fits" and the property the result
has.
"""

import sys
import time
import tracemalloc

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor, minimize
from sklearn_gd.schedules import InvScaling, Warmup

RNG = np.random.RandomState(0)
X = RNG.normal(size=(30, 3))
Y = X @ [1.0, 2.0, 3.0]
LABELS = (Y > 0).astype(int)


def _fits_constant(model, X, y):
    # Nothing to learn from: the model predicts the mean, up to Adam's
    # step-size noise (a fraction of a percent of y's spread).
    np.testing.assert_allclose(model.predict(X), np.mean(y), atol=1e-6 + 0.01 * np.std(y))


def _fits_on_its_scale(model, X, y):
    # R^2 underflows for y ~ 1e-300 (its squares are 0): compare on y's scale.
    assert np.max(np.abs(model.predict(X) - y)) < 0.1 * np.max(np.abs(y))


def _fits_well(model, X, y):
    assert model.score(X, y) > 0.8


def _same_as_a_python_float_fraction(model, X, y):
    # np.float32 works as the Python float of its value (float32's 0.2 is a bit more
    # than 0.2: of 30 rows it holds out 7, as it does in scikit-learn's SGD).
    fraction = float(model.validation_fraction)
    reference = clone(model).set_params(validation_fraction=fraction).fit(X, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)


# fmt: off
BAD_INPUTS = [
    # (id, estimator, X, y, fit kwargs, expected: (exception or warning, regex), or a check)
    ("NaN in X", GDRegressor(), np.where(X > 1, np.nan, X), Y, {}, (ValueError, "Input X contains NaN")),
    ("+inf in X", GDRegressor(), np.where(X > 1, np.inf, X), Y, {}, (ValueError, "Input X contains infinity")),
    ("-inf in X", GDRegressor(), np.where(X > 1, -np.inf, X), Y, {}, (ValueError, "Input X contains infinity")),
    ("NaN in y", GDRegressor(), X, np.where(Y > 1, np.nan, Y), {}, (ValueError, "Input y contains NaN")),
    ("inf in y", GDRegressor(), X, np.where(Y > 1, np.inf, Y), {}, (ValueError, "Input y contains infinity")),
    ("NaN in sample_weight", GDRegressor(), X, Y, {"sample_weight": np.where(Y > 0, np.nan, 1.0)},
     (ValueError, "Input sample_weight contains NaN")),
    ("inf in sample_weight", GDRegressor(), X, Y, {"sample_weight": np.where(Y > 0, np.inf, 1.0)},
     (ValueError, "Input sample_weight contains infinity")),
    ("numeric object array", GDRegressor(), X.astype(object), Y, {}, _fits_well),
    ("numeric strings", GDRegressor(), X.astype(str), Y, {}, _fits_well),
    ("letters in X", GDRegressor(), np.full((30, 2), "a"), Y, {}, (ValueError, "X must hold real numbers.*convert")),
    ("complex X", GDRegressor(), X.astype(complex), Y, {}, (ValueError, "X must hold real numbers.*Complex")),
    ("empty X", GDRegressor(), np.empty((0, 3)), np.empty(0), {}, (ValueError, "0 sample")),
    ("0 features", GDRegressor(), np.empty((30, 0)), Y, {}, (ValueError, "0 feature")),
    ("1 sample", GDRegressor(), X[:1], Y[:1], {}, _fits_constant),
    ("3-D X", GDRegressor(), X.reshape(30, 3, 1), Y, {}, (ValueError, "dim 3")),
    ("y of the wrong length", GDRegressor(), X, Y[:-1], {}, (ValueError, "inconsistent numbers of samples")),
    ("a single class", GDClassifier(), X, np.zeros(30), {}, (ValueError, "at least 2 classes")),
    ("continuous y, classifier", GDClassifier(), X, Y, {}, (ValueError, "Unknown label type: continuous")),
    ("constant y", GDRegressor(), X, np.full(30, 7.0), {}, _fits_constant),
    ("X near the float limit (1e300)", GDRegressor(), X * 1e300, Y, {}, (DivergenceError, "epoch 1.*scale the features")),
    ("y near the float limit (1e300)", GDRegressor(), X, Y * 1e300, {}, (DivergenceError, "epoch 1")),
    ("X near zero (1e-300)", GDRegressor(), X * 1e-300, Y, {}, _fits_constant),
    # An all-zero row has no curvature: SGD's step bound must leave its step alone.
    ("an all-zero row, no intercept, SGD", GDRegressor(optimizer="sgd", batch_size=1, fit_intercept=False),
     np.where(np.arange(30)[:, None] == 5, 0.0, X), Y, {}, _fits_well),
    # init='baseline' trains on y / s (API "Units"): tiny units fit as well as any.
    ("y near zero (1e-300), Adam", GDRegressor(), X, Y * 1e-300, {}, _fits_on_its_scale),
    ("y near zero (1e-300), Adam, init='zero'", GDRegressor(init="zero"), X, Y * 1e-300, {},
     (UserWarning, "large for a target.*Scale y")),
    ("y near zero (1e-300), SGD", GDRegressor(optimizer="sgd", learning_rate=1.0), X, Y * 1e-300, {},
     _fits_on_its_scale),
    ("negative weights", GDRegressor(), X, Y, {"sample_weight": -np.ones(30)},
     (ValueError, "Negative values in data passed to .?sample_weight")),
    ("all-zero weights", GDRegressor(), X, Y, {"sample_weight": np.zeros(30)},
     (ValueError, "at least one (positive|non-zero)")),
    ("learning_rate 0", GDRegressor(learning_rate=0.0), X, Y, {},
     (ValueError, "'learning_rate' parameter of GDRegressor must be a float in the range \\(0.0, inf\\)")),
    ("negative learning_rate", GDRegressor(learning_rate=-0.1), X, Y, {}, (ValueError, "'learning_rate' parameter")),
    ("NaN learning_rate", GDRegressor(learning_rate=np.nan), X, Y, {}, (ValueError, "'learning_rate'.*Got nan")),
    ("string learning_rate", GDRegressor(learning_rate="adaptive"), X, Y, {},
     (ValueError, "learning_rate is the base step size.*schedule='adaptive'")),
    ("batch_size 0", GDRegressor(batch_size=0), X, Y, {}, (ValueError, "'batch_size' parameter.*range \\[1, inf\\)")),
    ("batch_size larger than n", GDRegressor(batch_size=1000), X, Y, {}, _fits_well),
    ("float batch_size", GDRegressor(batch_size=2.5), X, Y, {}, (ValueError, "'batch_size' parameter.*Got 2.5")),
    ("unknown loss", GDRegressor(loss="l2"), X, Y, {}, (ValueError, "'loss' parameter.*'squared_error'.*Got 'l2'")),
    ("unknown classifier loss", GDClassifier(loss="squared_error"), X, LABELS, {}, (ValueError, "'loss'.*'log_loss'")),
    ("unknown optimizer", GDRegressor(optimizer="adamax"), X, Y, {}, (ValueError, "'optimizer' parameter.*'nadam'")),
    ("unknown schedule", GDRegressor(schedule="linear"), X, Y, {}, (ValueError, "'schedule' parameter.*'cosine'")),
    ("all-zero class_weight", GDClassifier(class_weight={0: 0.0, 1: 0.0}), X, LABELS, {},
     (ValueError, "class_weight=.* leaves every row of y with zero weight")),
    ("negative class_weight", GDClassifier(class_weight={0: -1.0, 1: 1.0}), X, LABELS, {},
     (ValueError, "class_weight must map labels to finite weights >= 0; got \\{0: -1.0\\}")),
    ("NaN class_weight", GDClassifier(class_weight={0: np.nan, 1: 1.0}), X, LABELS, {},
     (ValueError, "class_weight must map labels to finite weights >= 0")),
    ("complex y, regressor", GDRegressor(), X, Y.astype(complex), {},
     (ValueError, "^y must hold real numbers.*Complex data not supported")),
    ("complex y, classifier", GDClassifier(), X, LABELS.astype(complex), {},
     (ValueError, "^y must hold class labels.*Complex data not supported")),
    ("letters in y, regressor", GDRegressor(), X, np.full(30, "a"), {},
     (ValueError, "^y must hold real numbers.*could not convert")),
    ("sparse y, regressor", GDRegressor(), X, sp.csr_matrix(Y[:, None]), {},
     (TypeError, "y must be a dense array-like.*y.toarray\\(\\)")),
    ("sparse y, classifier", GDClassifier(), X, sp.csr_matrix(LABELS[:, None]), {},
     (TypeError, "y must be a dense array-like")),
    ("NaN as a class label", GDClassifier(), X, np.where(LABELS == 1, np.nan, 0.0), {},
     (ValueError, "Input y contains NaN")),
    ("NaN among string labels", GDClassifier(), X,
     np.array([np.nan if i == 3 else "ab"[i % 2] for i in range(30)], dtype=object), {},
     (ValueError, "Input y contains NaN")),
    ("np.float32 validation_fraction, regressor",
     GDRegressor(early_stopping=True, validation_fraction=np.float32(0.2)), X, Y, {},
     _same_as_a_python_float_fraction),
    ("np.float32 validation_fraction, classifier",
     GDClassifier(early_stopping=True, validation_fraction=np.float32(0.2)), X, LABELS, {},
     _same_as_a_python_float_fraction),
    # scikit-learn's SGDRegressor monitors an undefined R^2 (NaN) and never stops early.
    ("a one-row validation split, regressor",
     GDRegressor(early_stopping=True, validation_fraction=0.02), X, Y, {},
     (ValueError, "early_stopping needs at least 2 validation rows.*of 30 samples holds out 1")),
    ("a bad schedule inside Warmup", GDRegressor(schedule=Warmup(InvScaling(power_t=-3))), X, Y, {},
     (ValueError, "'power_t' parameter of InvScaling must be a float in the range \\[0.0, inf\\)")),
    ("an unknown schedule name inside Warmup", GDRegressor(schedule=Warmup("linear")), X, Y, {},
     (ValueError, "'schedule' parameter of Warmup must be a str among.*'cosine'.*Got 'linear'")),
    ("a non-schedule inside Warmup", GDRegressor(schedule=Warmup(3)), X, Y, {},
     (TypeError, "'schedule' parameter of Warmup.*instance of Schedule. Got 3")),
]
# fmt: on


@pytest.mark.parametrize(
    "estimator, X_, y_, kwargs, expected",
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_table(estimator, X_, y_, kwargs, expected):
    model = clone(estimator).set_params(random_state=0)
    if callable(expected):
        model.fit(X_, y_, **kwargs)
        assert all(np.isfinite(np.ravel(model.coef_)))
        expected(model, X_, y_)
    elif issubclass(expected[0], Warning):
        with pytest.warns(expected[0], match=expected[1]):
            model.fit(X_, y_, **kwargs)
    else:
        error, message = expected
        with pytest.raises(error, match=message):
            model.fit(X_, y_, **kwargs)
        assert not hasattr(model, "coef_")


@pytest.mark.parametrize(
    "classes, message",
    [
        # scikit-learn's partial_fit refuses these too ("Expected array-like").
        ({0, 1}, "classes must be an array-like of labels.*got set.*sorted\\(classes\\)"),
        ((c for c in (0, 1)), "classes must be an array-like of labels.*got generator"),
        ("01", "classes must be an array-like of labels.*got str '01'"),
        ([0, 1, np.nan], "classes must not contain NaN"),
        ([[0, 1]], "classes must be 1-D; got an array of shape \\(1, 2\\)"),
    ],
    ids=["a set", "a generator", "a string", "NaN", "2-D"],
)
def test_partial_fit_classes_that_are_not_a_list_of_labels(classes, message):
    with pytest.raises(ValueError, match=message):
        GDClassifier().partial_fit(X, LABELS, classes=classes)


@pytest.mark.parametrize("classes", [(0, 1), range(2), np.array([1, 0])], ids=repr)
def test_partial_fit_classes_as_any_sequence(classes):
    model = GDClassifier().partial_fit(X, LABELS, classes=classes)
    np.testing.assert_array_equal(model.classes_, [0, 1])


# --- minimize: the same contract for its arguments -------------------------------------


def _square(w):
    return float(np.sum((w - 3.0) ** 2))


def _square_grad(w):
    return 2.0 * (w - 3.0)


# fmt: off
MINIMIZE_BAD_INPUTS = [
    # (id, keyword arguments replacing the defaults, (exception, regex))
    ("clip_norm 0", {"clip_norm": 0.0}, (ValueError, "clip_norm == 0.0, must be > 0")),
    ("negative clip_norm", {"clip_norm": -1.0}, (ValueError, "clip_norm == -1.0, must be > 0")),
    ("negative max_iter", {"max_iter": -1}, (ValueError, "max_iter == -1, must be >= 0")),
    ("float max_iter", {"max_iter": 2.5}, (TypeError, "max_iter must be an instance of int")),
    ("negative tol", {"tol": -1e-3}, (ValueError, "tol == -0.001, must be >= 0")),
    ("unknown optimizer", {"optimizer": "adamax"},
     (ValueError, "optimizer must be one of \\[.*'adam'.*'sgd'\\].*got 'adamax'")),
    ("unknown schedule", {"schedule": "linear"},
     (ValueError, "schedule must be one of \\[.*'cosine'.*\\].*got 'linear'")),
    ("optimizer of the wrong type", {"optimizer": 3}, (TypeError, "optimizer must be one of")),
    ("a bad schedule inside Warmup", {"schedule": Warmup(InvScaling(power_t=-3))},
     (ValueError, "'power_t' parameter of InvScaling")),
    ("jac a string", {"jac": "2-point"}, (TypeError, "jac must be a callable.*None/False")),
    ("vector-valued fun", {"fun": lambda w: (w - 3.0) ** 2},
     (ValueError, "fun must return a scalar.*shape \\(2,\\)")),
    ("jac=True, fun returns a value only", {"jac": True},
     (TypeError, "with jac=True, fun must return a pair")),
    ("gradient of the wrong shape", {"jac": lambda w: np.ones(3)},
     (ValueError, "gradient must have x0's shape \\(2,\\); got shape \\(3,\\)")),
]
# fmt: on


@pytest.mark.parametrize(
    "kwargs, expected",
    [case[1:] for case in MINIMIZE_BAD_INPUTS],
    ids=[case[0] for case in MINIMIZE_BAD_INPUTS],
)
def test_minimize_bad_input_table(kwargs, expected):
    arguments = {"fun": _square, "x0": np.zeros(2), "jac": _square_grad, **kwargs}
    with pytest.raises(expected[0], match=expected[1]):
        minimize(arguments.pop("fun"), arguments.pop("x0"), **arguments)


def test_minimize_jac_false_is_finite_differences_as_in_scipy():
    # scipy.optimize.minimize reads jac=False as "no gradient given".
    with pytest.warns(UserWarning, match="finite differences"):
        res = minimize(_square, np.zeros(2), jac=False, optimizer="sgd", learning_rate=0.1,
                       max_iter=3, tol=None)  # fmt: skip
    # The exact iterates of w <- w - 0.1 * 2 (w - 3) from 0: 0.6, 1.08, 1.464.
    np.testing.assert_allclose(res.x_history[1:, 0], [0.6, 1.08, 1.464], rtol=1e-8)


def test_minimize_callback_sees_the_unclipped_gradient_and_keeps_it():
    seen = []
    minimize(_square, np.zeros(1), jac=_square_grad, optimizer="sgd", learning_rate=0.1,
             clip_norm=0.5, max_iter=3, tol=None,
             callback=lambda info: seen.append((info.x.copy(), info.jac)))  # fmt: skip
    # After the callback returned, later (clipped) steps must not have changed what it got.
    for x, jac in seen:
        np.testing.assert_array_equal(jac, _square_grad(x))
    # The steps themselves are clipped: 0.1 * 0.5 each.
    np.testing.assert_allclose([x[0] for x, _ in seen], [0.05, 0.1, 0.15])


def test_partial_fit_with_changed_features_or_unseen_class():
    model = GDClassifier().partial_fit(X, LABELS, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 2 features, but GDClassifier is expecting 3"):
        model.partial_fit(X[:, :2], LABELS)
    with pytest.raises(ValueError, match=r"labels not in classes: \[2\]"):
        model.partial_fit(X, np.where(LABELS == 1, 2, 0))


# --- divergence leaves nothing half-updated ------------------------------------------


def test_failed_partial_fit_keeps_weights_state_step_count_and_curves():
    model = GDRegressor(optimizer="sgd", loss="poisson", learning_rate=1e-3, batch_size=5)
    y = np.random.RandomState(1).poisson(2.0, size=30)
    for _ in range(3):
        model.partial_fit(X, y)
    before = (
        model.coef_.copy(),
        model._state.theta.copy(),
        model.t_,
        model.n_iter_,
        list(model.loss_curve_),
        model._state.copy(),
    )
    with pytest.raises(DivergenceError, match="epoch 4"):
        model.set_params(learning_rate=1e4).partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, before[0])
    np.testing.assert_array_equal(model._state.theta, before[1])
    assert (model.t_, model.n_iter_, model.loss_curve_) == (before[2], before[3], before[4])
    assert model._state.t == before[5].t


# --- long streams ------------------------------------------------------------------------


@pytest.mark.xfail(
    tuple(int(p) for p in numba.__version__.split(".")[:2]) < (0, 61),
    reason="numba 0.60 keeps about 200 bytes per call of the compiled loop's tuple "
    "arguments (measured on 0.60.0; 0.68.1 stays flat)",
    strict=False,
)
def test_long_stream_memory_and_time_stay_flat():
    """20 000 partial_fit calls: the time per call does not grow, and memory
    grows only by the documented curves (two floats a call)."""
    rng = np.random.RandomState(0)
    chunks = [rng.normal(size=(10, 5)) for _ in range(20)]
    targets = [c @ np.arange(5.0) for c in chunks]
    model = GDRegressor(batch_size=10)
    calls, block, traced = 20_000, 1_000, 2_000
    times = []
    for i in range(calls - traced):
        if i % block == 0:
            tic = time.perf_counter()
        model.partial_fit(chunks[i % 20], targets[i % 20])
        if i % block == block - 1:
            times.append(time.perf_counter() - tic)
    # tracemalloc slows Python down: trace only the last calls.
    model.partial_fit(chunks[0], targets[0])
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for i in range(traced - 1):
        model.partial_fit(chunks[i % 20], targets[i % 20])
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # All the growth is the two curves: a float object a call each, and their
    # list buffers (a list that grows reallocates its whole buffer, which the
    # trace counts in full since the old one predates it).
    lists = sys.getsizeof(model.loss_curve_) + sys.getsizeof(model.learning_rate_curve_)
    assert current - base <= lists + 2 * sys.getsizeof(1.0) * traced + 10_000
    assert len(model.loss_curve_) == model.n_iter_ == calls
    assert np.median(times[-5:]) < 2.0 * np.median(times[1:6])


# --- threads -------------------------------------------------------------------------------


def test_predict_from_threads_equals_sequential():
    rng = np.random.RandomState(0)
    Xb = rng.normal(size=(2000, 10))
    yb = rng.randint(3, size=2000)
    model = GDClassifier(random_state=0, max_iter=5).fit(Xb, yb)
    expected = [model.predict_proba(Xb[i::8]) for i in range(8)]
    got = Parallel(n_jobs=4, backend="threading")(
        delayed(model.predict_proba)(Xb[i::8]) for i in range(8)
    )
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_clones_in_threads_equals_sequential():
    rng = np.random.RandomState(0)
    Xb = rng.normal(size=(500, 6))
    yb = Xb @ rng.normal(size=6)
    models = [
        GDRegressor(random_state=s, max_iter=20, optimizer=o)
        for s, o in enumerate(["adam", "sgd", "nesterov", "rmsprop"])
    ]
    sequential = [clone(m).fit(Xb, yb).coef_ for m in models]
    threaded = Parallel(n_jobs=4, backend="threading")(
        delayed(lambda m: clone(m).fit(Xb, yb).coef_)(m) for m in models
    )
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
    check_is_fitted(clone(models[0]).fit(Xb, yb))


# --- issue 16: the state a failed call leaves behind ------------------------------------
# Each test snapshots the whole __dict__ (arrays compared by value) before a call
# that fails, and compares after: a fitted estimator keeps everything, an unfitted
# one stays unfitted.


def _snapshot(estimator):
    import pickle

    return {name: pickle.dumps(value) for name, value in vars(estimator).items()}


def _fails_and_changes_nothing(estimator, call, error, match=None):
    before = _snapshot(estimator)
    with pytest.raises(error, match=match):
        call()
    assert _snapshot(estimator) == before


def _unfitted(estimator):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        estimator.predict(X)
    return True


def _fitted_classifier():
    return GDClassifier(max_iter=3, tol=None, random_state=0).fit(X, LABELS)


@pytest.mark.parametrize("warm_start", [False, True])
def test_failed_refit_keeps_the_model(warm_start):
    model = _fitted_classifier().set_params(warm_start=warm_start)
    bad = X.copy()
    bad[0, 0] = np.nan
    _fails_and_changes_nothing(model, lambda: model.fit(bad, LABELS), ValueError, "NaN")
    _fails_and_changes_nothing(
        model, lambda: model.fit(X, LABELS, sample_weight=-np.ones(30)), ValueError, "(?i)negative"
    )
    # Other data whose refit diverges: classes_ and n_features_in_ stay the old ones.
    diverging = GDRegressor(optimizer="sgd", batch_size=5, learning_rate=1e-3).fit(X, Y)
    diverging.set_params(warm_start=warm_start, learning_rate=1e6, schedule="constant")
    _fails_and_changes_nothing(diverging, lambda: diverging.fit(X * 10, Y), DivergenceError)


def test_failed_first_fit_and_partial_fit_leave_the_estimator_unfitted():
    for call in (
        lambda m: m.fit(X, np.full(30, 7)),
        lambda m: m.partial_fit(X, LABELS),  # no classes on the first call
        lambda m: m.partial_fit(X, LABELS, classes=[0]),
    ):
        model = GDClassifier()
        _fails_and_changes_nothing(model, lambda m=model, c=call: c(m), ValueError)
        assert _unfitted(model) and not hasattr(model, "classes_")
        assert not hasattr(model, "n_features_in_")
    model = GDRegressor(optimizer="sgd", learning_rate=1e150)
    _fails_and_changes_nothing(model, lambda: model.partial_fit(X * 100, Y), DivergenceError)
    assert _unfitted(model) and not hasattr(model, "n_features_in_")


def test_failed_later_partial_fit_keeps_the_stream():
    model = GDClassifier(random_state=0).partial_fit(X, LABELS, classes=[0, 1])
    _fails_and_changes_nothing(
        model, lambda: model.partial_fit(X, LABELS + 5), ValueError, "not in classes"
    )
    _fails_and_changes_nothing(model, lambda: model.partial_fit(X[:, :2], LABELS), ValueError)


@pytest.mark.parametrize(
    "chunk, match",
    [
        (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x), y),
         "Input X contains NaN"),
        (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 3, np.inf, x), y),
         "Input X contains infinity"),
        (lambda x, y: (x[:, :2], y), "features"),
        (lambda x, y: (x, np.r_[np.nan, y[1:]]), "Input y contains NaN"),
        (lambda x, y: (x[:0], y[:0]), "0 sample"),
    ],
)  # fmt: skip
def test_later_partial_fit_chunks_get_the_full_checks(chunk, match):
    """Later chunks skip validate_data only when it would return them unchanged."""
    model = GDRegressor(random_state=0).partial_fit(X, Y)
    Xc, yc = chunk(X[:5].copy(), Y[:5].astype(float))
    _fails_and_changes_nothing(model, lambda: model.partial_fit(Xc, yc), ValueError, match)


def test_later_partial_fit_chunks_train_the_same_in_any_form():
    """A C-ordered float chunk (checked in place) and the same chunk as lists,
    F-ordered or float32-converted (through validate_data) give the same steps."""
    forms = [
        lambda a: a,
        lambda a: a.tolist(),
        lambda a: np.asfortranarray(a) if a.ndim == 2 else a,
    ]
    coefs = []
    for form in forms:
        model = GDClassifier(batch_size=1, random_state=0)
        model.partial_fit(X[:10], LABELS[:10], classes=[0, 1])
        for i in range(10, 30, 4):
            model.partial_fit(form(X[i : i + 4]), form(LABELS[i : i + 4]))
        coefs.append(np.r_[model.coef_.ravel(), model.intercept_])
    for coef in coefs[1:]:
        np.testing.assert_array_equal(coef, coefs[0])


def test_warm_start_with_another_target_raises_before_touching_anything():
    model = _fitted_classifier().set_params(warm_start=True)
    _fails_and_changes_nothing(
        model, lambda: model.fit(X, LABELS + 1), ValueError, r"warm_start=True but y has the"
    )
    three = np.arange(30) % 3
    _fails_and_changes_nothing(model, lambda: model.fit(X, three), ValueError, "classes")
    regressor = GDRegressor(max_iter=3, tol=None).fit(X, Y).set_params(warm_start=True)
    _fails_and_changes_nothing(
        regressor, lambda: regressor.fit(X, np.c_[Y, Y]), ValueError, "another number of outputs"
    )
    _fails_and_changes_nothing(
        regressor, lambda: regressor.partial_fit(X, np.c_[Y, Y]), ValueError, "targets"
    )
    _fails_and_changes_nothing(regressor, lambda: regressor.fit(X[:, :2], Y), ValueError)


def test_warm_start_after_turning_fit_intercept_off_starts_from_intercept_zero():
    model = GDRegressor(max_iter=20, tol=None).fit(X, Y + 50.0)
    assert abs(model.intercept_[0]) > 10
    model.set_params(warm_start=True, fit_intercept=False).fit(X, Y + 50.0)
    assert model.intercept_[0] == 0.0


def test_a_raising_callback_and_keyboard_interrupt_leave_the_model(monkeypatch):
    from sklearn_gd import _engine
    from sklearn_gd.optimizers import SGD

    fitted = GDRegressor(optimizer="sgd", max_iter=3, tol=None, engine="numpy").fit(X, Y)
    unfitted = GDRegressor(optimizer="sgd", engine="numpy")
    real_epoch, real_step = _engine.Trainer.run_epoch, SGD.step
    steps_left = [0]

    def epoch_then_raise(self, state, *args, **kwargs):
        out = real_epoch(self, state, *args, **kwargs)
        if state.epoch == 2:
            raise RuntimeError("a callback failed")
        return out

    def interrupted_step(self, *args):
        steps_left[0] -= 1
        if steps_left[0] == 0:  # inside the epoch loop, at the first or a later step
            raise KeyboardInterrupt
        return real_step(self, *args)

    for model in (fitted, unfitted):
        monkeypatch.setattr(_engine.Trainer, "run_epoch", epoch_then_raise)
        _fails_and_changes_nothing(model, lambda m=model: m.fit(X * 2, Y), RuntimeError)
        monkeypatch.setattr(_engine.Trainer, "run_epoch", real_epoch)
        monkeypatch.setattr(SGD, "step", interrupted_step)
        for call, at in (
            (lambda m=model: m.fit(X * 2, Y), 2),
            (lambda m=model: m.partial_fit(X, Y), 1),
        ):
            steps_left[0] = at  # the step that raises
            _fails_and_changes_nothing(model, call, KeyboardInterrupt)
        monkeypatch.setattr(SGD, "step", real_step)
    assert _unfitted(unfitted)


class _FailingCallback:
    """A scikit-learn fit callback that raises at the end of the first epoch."""

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        if context.task_name == "epoch":
            raise RuntimeError("callback error")

    def teardown(self, estimator, context):
        pass


def test_a_real_callback_that_raises_leaves_the_model():
    callback = pytest.importorskip("sklearn.callback")
    assert isinstance(_FailingCallback(), callback.FitCallback)
    model = GDRegressor(max_iter=3, tol=None).fit(X, Y).set_callbacks(_FailingCallback())
    _fails_and_changes_nothing(model, lambda: model.fit(X * 2, Y), RuntimeError)


def test_finite_weights_with_an_infinite_objective_are_divergence():
    rng = np.random.RandomState(0)
    Xb = rng.normal(size=(20, 2)) * 100
    yb = rng.normal(size=20) * 100
    lr = 1e150
    # One full-batch step from zero: w = lr * X^T y / n, finite (about 1e154)...
    w = lr * Xb.T @ yb / 20
    assert np.isfinite(w).all() and not np.isfinite(0.5 * np.mean((Xb @ w) ** 2))
    # ... whose objective overflows.
    model = GDRegressor(optimizer="sgd", batch_size="full", learning_rate=lr, init="zero",
                        schedule="constant", alpha=0.0)  # fmt: skip
    _fails_and_changes_nothing(model, lambda: model.partial_fit(Xb, yb), DivergenceError, "epoch 1")


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(optimizer="adam"), "change of optimizer"),
        (dict(average=5), "change of average"),
        (dict(fit_intercept=False), "change of fit_intercept"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(alpha=-1.0), "alpha"),
        (dict(early_stopping=True), "early_stopping"),
    ],
)
def test_partial_fit_validates_changed_parameters_and_refuses_what_a_stream_cannot_take(
    change, match
):
    model = GDRegressor(optimizer="momentum", learning_rate=0.01, random_state=0)
    model.partial_fit(X, Y)
    model.set_params(**change)
    _fails_and_changes_nothing(model, lambda: model.partial_fit(X, Y), ValueError, match)


def test_early_stopping_split_with_zero_weight_validation_rows():
    from sklearn.model_selection import train_test_split

    _, val = train_test_split(np.arange(30), test_size=0.2, random_state=0)
    sw = np.ones(30)
    sw[val] = 0.0
    model = GDRegressor(early_stopping=True, validation_fraction=0.2, random_state=0)
    _fails_and_changes_nothing(
        model,
        lambda: model.fit(X, Y, sample_weight=sw),
        ValueError,
        "validation part of the early-stopping split has zero total sample_weight",
    )


def test_early_stopping_without_shuffle_trains_the_kept_rows_in_data_order(monkeypatch):
    from sklearn_gd import _engine

    seen = []
    real = _engine.Trainer.run_epoch

    def record(self, state, X_, *args, **kwargs):
        seen.append(np.asarray(X_)[:, 0].copy())
        return real(self, state, X_, *args, **kwargs)

    monkeypatch.setattr(_engine.Trainer, "run_epoch", record)
    Xo = np.c_[np.arange(30.0), X[:, 1:]]
    GDRegressor(early_stopping=True, shuffle=False, max_iter=1, random_state=0).fit(Xo, Y)
    assert np.all(np.diff(seen[0]) > 0)


# --- issue 17: X's finiteness is tested in the first epoch -----------------------------
# fit and partial_fit leave the test that X is finite (a pass over X) to the first
# epoch, whose raw predictions x . w + b are not finite where x is not; where that does
# not prove it they run scikit-learn's own test. Either way the error must be the one
# scikit-learn's validation gives (the reference, derived here from check_array), and
# the estimator must be left as it was.

FINITE_X, FINITE_LABELS = (lambda X_: (X_, (X_ @ [1.0, -2.0, 0.5, 1.0] > 0).astype(int)))(
    np.random.RandomState(1).normal(size=(60, 4))
)


def _validation_error(X_bad, estimator):
    from sklearn.utils.validation import check_array

    with pytest.raises(ValueError) as reference:
        check_array(X_bad, accept_sparse="csr", estimator=estimator, input_name="X")
    return str(reference.value)


def _validation_rows(params):
    """The rows of fit's early-stopping split (random_state=0): never trained on."""
    model = GDClassifier(**params)
    return model._validation_split(len(FINITE_LABELS), FINITE_LABELS, 0)[1]


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize(
    "case, params, value",
    [
        ("plain", {}, np.nan),
        ("plain", {}, np.inf),
        # per-sample: each row its own raw prediction; the hinge gradient at a NaN
        # margin is 0 (NaN < 1 is False): the weights stay finite, the raws do not
        ("hinge, per sample", dict(loss="hinge", optimizer="sgd", batch_size=1), np.inf),
        ("hinge, per sample", dict(loss="hinge", optimizer="sgd", batch_size=1), np.nan),
        ("zero weight", dict(batch_size=1, optimizer="sgd"), np.nan),
        ("validation split", dict(early_stopping=True, n_iter_no_change=2), np.nan),
        ("partial_fit, first call", {}, np.inf),
        ("partial_fit, later call", {}, np.nan),
    ],
)
def test_non_finite_x_raises_validations_error_and_changes_nothing(
    engine, container, case, params, value
):
    if engine == "numba":
        pytest.importorskip("numba")
    params = dict(engine=engine, random_state=0, max_iter=5, tol=None, **params)
    row = 7
    if case == "validation split":
        row = int(_validation_rows(params)[0])
    bad = FINITE_X.copy()
    bad[row, 2] = value
    bad = container(bad)
    sample_weight = np.ones(len(FINITE_LABELS))
    if case == "zero weight":
        sample_weight[row] = 0.0
    model = GDClassifier(**params)
    if case.startswith("partial_fit"):
        if case.endswith("later call"):
            model.partial_fit(FINITE_X, FINITE_LABELS, classes=[0, 1])
        call = lambda: model.partial_fit(  # noqa: E731
            bad, FINITE_LABELS, classes=[0, 1], sample_weight=sample_weight
        )
    else:
        model.fit(FINITE_X, FINITE_LABELS)  # a fitted model that must stay as it is
        call = lambda: model.fit(bad, FINITE_LABELS, sample_weight=sample_weight)  # noqa: E731
    before = _snapshot(model)
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == _validation_error(bad, model)
    assert _snapshot(model) == before


def _count_x_finiteness_tests(monkeypatch):
    """Record each test that X is finite, in scikit-learn's validation or in fit."""
    import sklearn.utils.validation as validation

    from sklearn_gd import _base

    seen = []
    inner = validation._assert_all_finite

    def counting(X_, *args, input_name="", **kwargs):
        seen.append(input_name)
        return inner(X_, *args, input_name=input_name, **kwargs)

    monkeypatch.setattr(validation, "_assert_all_finite", counting)
    public = _base.assert_all_finite
    monkeypatch.setattr(_base, "assert_all_finite",
                        lambda X_, **kw: seen.append("fit") or public(X_, **kw))  # fmt: skip
    return seen


@pytest.mark.parametrize(
    "params, sample_weight, tests_x",
    [
        (dict(engine="numba"), None, False),  # the compiled first epoch proves it
        (dict(engine="numba", early_stopping=True), None, True),  # the validation rows
        (dict(engine="numba"), "zero", True),  # rows a zero-weight batch skips
        (dict(engine="numpy"), None, True),  # BLAS may skip a zero weight's column
    ],
)
def test_x_is_read_for_finiteness_only_where_the_epoch_does_not_prove_it(
    monkeypatch, params, sample_weight, tests_x
):
    pytest.importorskip("numba")
    sw = np.ones(len(FINITE_LABELS))
    if sample_weight == "zero":
        sw[::5] = 0.0
    seen = _count_x_finiteness_tests(monkeypatch)
    GDClassifier(random_state=0, max_iter=3, tol=None, **params).fit(
        FINITE_X, FINITE_LABELS, sample_weight=sw
    )
    # validate_data no longer reads X for it (each test of X is one fit asked for)...
    assert seen.count("X") == seen.count("fit")
    assert ("fit" in seen) == tests_x  # ... and fit asks only where it must


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("row", [3, 2_990])  # in the first and the last run of batches
def test_non_finite_x_with_many_classes_is_found_in_the_runs_of_batches(row, value):
    """Many classes: the loop keeps raw predictions per run of batches, not per row
    (n * K above the by-row limit); every run must be read for the proof."""
    pytest.importorskip("numba")
    rng = np.random.RandomState(0)
    X_, y_ = rng.normal(size=(3_000, 4)), np.arange(3_000) % 40
    bad = X_.copy()
    bad[row, 1] = value
    model = GDClassifier(engine="numba", max_iter=1, tol=None, random_state=0, shuffle=False)
    with pytest.raises(ValueError) as error:
        model.fit(bad, y_)
    assert str(error.value) == _validation_error(bad, model)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_non_finite_x_is_reported_before_other_errors_of_the_data(engine):
    # validate_data tests X before y, sample_weight and the target: so does fit.
    if engine == "numba":
        pytest.importorskip("numba")
    bad = FINITE_X.copy()
    bad[3, 1] = np.nan
    model = GDClassifier(engine=engine)
    expected = _validation_error(bad, model)
    for y_, kwargs in [
        (FINITE_LABELS, dict(sample_weight=np.ones(5))),  # wrong length
        (FINITE_LABELS, dict(sample_weight=np.zeros(len(FINITE_LABELS)))),  # no weight
        (np.zeros(len(FINITE_LABELS)), {}),  # one class
        (FINITE_LABELS[:10], {}),  # inconsistent lengths
        (np.where(FINITE_LABELS, np.nan, 0.0), {}),  # NaN in y
    ]:
        with pytest.raises(ValueError) as error:
            model.fit(bad, y_, **kwargs)
        assert str(error.value) == expected
        with pytest.raises(ValueError) as error:
            GDClassifier(engine=engine).partial_fit(bad, y_, classes=[0, 1], **kwargs)
        assert str(error.value) == expected
