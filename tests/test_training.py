"""The training loop: streaming, pickling, divergence, weights, sparse input, errors."""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd.optimizers import Adam


def _regression(n=240, d=5, seed=0):
    X, y = make_regression(n, d, noise=1.0, random_state=seed)
    return X, y


def _classification(n=240, d=5, classes=3, seed=0):
    return make_classification(n, d, n_informative=3, n_classes=classes, random_state=seed)


# --- streaming ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        dict(optimizer="adam", batch_size=20, schedule="invscaling"),
        dict(optimizer="sgd", batch_size=1, learning_rate=0.05),
        dict(optimizer="nadam", batch_size=40, penalty="elasticnet", average=7),
    ],
)
def test_partial_fit_chunks_equal_one_epoch_of_fit(params):
    X, y = _regression()
    stream = GDRegressor(shuffle=False, init="zero", **params)
    for start in range(0, len(y), 80):
        stream.partial_fit(X[start : start + 80], y[start : start + 80])
    epoch = GDRegressor(shuffle=False, init="zero", max_iter=1, **params).fit(X, y)
    np.testing.assert_array_equal(stream.coef_, epoch.coef_)
    np.testing.assert_array_equal(stream.intercept_, epoch.intercept_)
    assert stream.t_ == epoch.t_ and stream.n_iter_ == 3


def test_classifier_partial_fit_chunks_equal_one_epoch_of_fit():
    X, y = _classification()
    stream = GDClassifier(shuffle=False, batch_size=16, init="zero")
    for start in range(0, len(y), 48):
        stream.partial_fit(X[start : start + 48], y[start : start + 48], classes=[0, 1, 2])
    epoch = GDClassifier(shuffle=False, batch_size=16, max_iter=1, init="zero").fit(X, y)
    np.testing.assert_array_equal(stream.coef_, epoch.coef_)


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_pickling_mid_stream_changes_nothing(Estimator):
    X, y = _classification(classes=2) if Estimator is GDClassifier else _regression()
    kwargs = {"classes": [0, 1]} if Estimator is GDClassifier else {}
    chunks = np.array_split(np.arange(len(y)), 6)
    straight = Estimator(random_state=3, batch_size=8)
    resumed = Estimator(random_state=3, batch_size=8)
    for i, rows in enumerate(chunks):
        straight.partial_fit(X[rows], y[rows], **kwargs)
        resumed.partial_fit(X[rows], y[rows], **kwargs)
        if i in (1, 3):
            resumed = pickle.loads(pickle.dumps(resumed))
    np.testing.assert_array_equal(straight.coef_, resumed.coef_)
    np.testing.assert_array_equal(straight._state.opt_state[1], resumed._state.opt_state[1])
    assert straight.loss_curve_ == resumed.loss_curve_


def test_partial_fit_continues_optimizer_state_and_curves():
    X, y = _regression()
    model = GDRegressor(batch_size=30)
    model.partial_fit(X, y)
    t, m = model.t_, model._state.opt_state[0].copy()
    model.partial_fit(X, y)
    assert model.t_ == 2 * t and not np.allclose(model._state.opt_state[0], m)
    assert len(model.loss_curve_) == len(model.learning_rate_curve_) == 2


# --- divergence ---------------------------------------------------------------------


def test_divergence_names_the_epoch_and_leaves_fit_unfitted(poisson_runaway):
    X, y, model = poisson_runaway
    with pytest.raises(DivergenceError, match=r"epoch 1\b.*smaller learning_rate"):
        model.fit(X, y)
    assert not hasattr(model, "coef_") and not hasattr(model, "_state")
    assert isinstance(DivergenceError("x"), ValueError)


def test_failed_partial_fit_leaves_the_model_exactly_as_it_was(poisson_runaway):
    X, y, model = poisson_runaway
    model.set_params(learning_rate=1e-3).partial_fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(DivergenceError):
        model.set_params(learning_rate=1e3).partial_fit(X, y)
    model.set_params(learning_rate=1e-3)
    assert pickle.dumps(model) == before


def test_failed_warm_start_fit_keeps_previous_weights(poisson_runaway):
    X, y, model = poisson_runaway
    model.set_params(learning_rate=1e-3, warm_start=True, max_iter=3).fit(X, y)
    coef = model.coef_.copy()
    with pytest.raises(DivergenceError):
        model.set_params(learning_rate=1e3).fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)


def test_per_sample_sgd_survives_badly_scaled_features():
    # Features around 100: a step of lr * ||x||^2 >> 2 would diverge; the
    # engine's bound takes at most the step that lands on each row's minimiser.
    X, y = _regression(n=300)
    X = 100.0 + 50.0 * X
    model = GDRegressor(
        optimizer="sgd",
        batch_size=1,
        learning_rate=1.0,
        schedule="invscaling",
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert model.loss_curve_[-1] < 0.9 * model.loss_curve_[0]
    assert model.score(X, y) > 0.2


# --- weights ---------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize("sparse", [False, True])
def test_integer_weights_equal_repeated_rows_full_batch(Estimator, sparse):
    X, y = _classification(n=60) if Estimator is GDClassifier else _regression(n=60)
    sw = np.random.RandomState(0).randint(0, 4, size=60)
    params = dict(batch_size="full", max_iter=30, tol=None, random_state=0)
    Xw = sp.csr_matrix(X) if sparse else X
    Xr = X.repeat(sw, axis=0)
    Xr = sp.csr_matrix(Xr) if sparse else Xr
    weighted = Estimator(**params).fit(Xw, y, sample_weight=sw)
    repeated = Estimator(**params).fit(Xr, y.repeat(sw))
    # 1e-8: Adam near its optimum amplifies the last-bit differences between a
    # weighted sum and a sum of repeated rows.
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-12)


def test_scaling_all_weights_changes_nothing():
    X, y = _classification()
    sw = np.random.RandomState(1).uniform(0.5, 2.0, size=len(y))
    a = GDClassifier(random_state=0, max_iter=20).fit(X, y, sample_weight=sw)
    b = GDClassifier(random_state=0, max_iter=20).fit(X, y, sample_weight=sw * 7.5)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_weights_matter_for_single_row_batches():
    X, y = _regression()
    sw = np.where(np.arange(len(y)) % 2, 5.0, 0.2)
    a = GDRegressor(batch_size=1, random_state=0, max_iter=2).fit(X, y)
    b = GDRegressor(batch_size=1, random_state=0, max_iter=2).fit(X, y, sample_weight=sw)
    assert not np.allclose(a.coef_, b.coef_)


# --- input types ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(fmt):
    X, y = _classification(classes=2)
    params = dict(shuffle=False, max_iter=15, tol=None, batch_size=32)
    dense = GDClassifier(**params).fit(X, y)
    sparse = GDClassifier(**params).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        dense.decision_function(X), sparse.decision_function(sp.csr_matrix(X))
    )


def test_pandas_input_records_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _regression()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    model = GDRegressor(max_iter=5).fit(frame, pd.Series(y))
    assert list(model.feature_names_in_) == list(frame.columns)
    np.testing.assert_allclose(model.predict(frame), model.predict(X))


# --- the other training options ----------------------------------------------------


def test_average_predicts_with_the_mean_of_iterates():
    X, y = _regression()
    model = GDRegressor(
        optimizer="sgd",
        batch_size=1,
        learning_rate=0.05,
        shuffle=False,
        average=True,
        fit_intercept=False,
        max_iter=1,
        tol=None,
        init="zero",  # the plain run: the stream's theta is then in the units of y
    )
    iterates = []
    stepper = GDRegressor(
        optimizer="sgd",
        batch_size=1,
        learning_rate=0.05,
        shuffle=False,
        fit_intercept=False,
        init="zero",
    )
    for i in range(len(y)):
        stepper.partial_fit(X[i : i + 1], y[i : i + 1])
        iterates.append(stepper._state.theta.copy())
    # fit's first epoch starts from zero as partial_fit does when no intercept
    model.fit(X, y)
    np.testing.assert_allclose(model.coef_, np.mean(iterates, axis=0)[0, :-1], rtol=1e-10)
    np.testing.assert_allclose(model._state.theta[0, :-1], iterates[-1][0, :-1], rtol=1e-10)


def _logistic_gap(model, X, y, alpha):
    """Relative gap of ``model``'s training objective to LogisticRegression's optimum."""
    from sklearn.linear_model import LogisticRegression

    def objective(coef, intercept):
        z = X @ coef.ravel() + intercept[0]
        s = np.where(y == 1, 1.0, -1.0)
        return np.mean(np.logaddexp(0.0, -s * z)) + alpha / 2 * np.sum(coef**2)

    exact = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=1000).fit(X, y)
    return objective(model.coef_, model.intercept_) / objective(exact.coef_, exact.intercept_) - 1


def test_auto_average_shrinks_the_noise_of_stochastic_batches():
    X, y = make_classification(10000, 10, n_informative=5, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    # Three epochs of 313 steps reach the noise ball that the average shrinks.
    params = dict(max_iter=3, tol=None, random_state=0, batch_size=32, learning_rate=0.01)
    averaged = GDClassifier(**params).fit(X, y)  # average='auto'
    raw = GDClassifier(average=False, **params).fit(X, y)
    gap_averaged = _logistic_gap(averaged, X, y, averaged.alpha)
    gap_raw = _logistic_gap(raw, X, y, raw.alpha)
    assert gap_averaged < 5e-4 and gap_raw > 5 * gap_averaged
    # Each epoch's own iterates: the raw weights are those of plain training.
    np.testing.assert_array_equal(averaged._state.theta, raw._state.theta)


@pytest.mark.parametrize(
    "params",
    [
        dict(batch_size="full"),  # converges without it
        dict(penalty="l1", batch_size=16),  # keeps the exact zeros
        dict(max_iter=1, batch_size=16),  # the first epoch travels
    ],
)
def test_auto_average_stays_off_where_it_would_hurt(params):
    X, y = make_classification(300, 8, n_informative=3, random_state=1)
    common = {"tol": None, "random_state": 0, "max_iter": 3, **params}
    auto = GDClassifier(**common).fit(X, y)
    np.testing.assert_array_equal(auto.coef_, GDClassifier(average=False, **common).fit(X, y).coef_)


def test_auto_average_never_averages_a_stream():
    X, y = make_classification(300, 8, random_state=2)
    auto = GDClassifier(batch_size=16, random_state=0)
    off = GDClassifier(batch_size=16, average=False, random_state=0)
    for _ in range(3):
        auto.partial_fit(X, y, classes=[0, 1])
        off.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(auto.coef_, off.coef_)


def test_clip_norm_bounds_each_step(poisson_runaway):
    X, y, model = poisson_runaway
    model.set_params(learning_rate=0.5, clip_norm=0.01, batch_size="full", init="zero")
    model.partial_fit(X, y)
    step = np.linalg.norm(model._state.theta)
    assert step == pytest.approx(0.5 * 0.01)


def test_warm_start_continues_from_coef():
    X, y = _regression()
    model = GDRegressor(max_iter=2, tol=None, random_state=0, warm_start=True).fit(X, y)
    first = model.loss_curve_[-1]
    model.fit(X, y)
    assert model.loss_curve_[0] < first * 1.01 and model.n_iter_ == 2


def test_restore_best_weights_regressor():
    X, y = _regression(n=400)
    model = GDRegressor(
        early_stopping=True,
        restore_best_weights=True,
        n_iter_no_change=3,
        random_state=0,
        learning_rate=0.5,
        schedule="constant",
    ).fit(X, y)
    best = int(np.argmax(model.validation_score_curve_)) + 1
    assert model.best_epoch_ == best
    replay = GDRegressor(
        early_stopping=True,
        random_state=0,
        learning_rate=0.5,
        schedule="constant",
        max_iter=best,
        tol=None,
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, replay.coef_, rtol=1e-12)


def test_plateau_schedule_cuts_the_step_size():
    X, y = _regression()
    model = GDRegressor(
        schedule="plateau", learning_rate=0.5, batch_size=16, random_state=0, max_iter=300
    ).fit(X, y)
    rates = np.array(model.learning_rate_curve_)
    assert rates[0] == 0.5 and rates.min() < 0.5 and np.all(np.diff(rates) <= 0)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _regression()
    GDRegressor(verbose=1, max_iter=3, tol=None).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and re.match(r"-- Epoch 1: loss [\d.e+-]+, step size", lines[0])


def test_verbose_2_reports_the_running_loss_of_the_rows_seen(capsys):
    X, y = _regression()
    # init='zero': the engine prints the running loss of the target it trains on
    # (y / s with 'baseline'), the curve is in the units of y.
    model = GDRegressor(verbose=2, max_iter=1, tol=None, alpha=0.0, batch_size=len(y) // 10,
                        random_state=0, init="zero").fit(X, y)  # fmt: skip
    running = re.findall(r"running loss ([\d.e+-]+)", capsys.readouterr().out)
    assert len(running) == 10
    # After the last batch the running loss is the epoch's (alpha=0: no penalty).
    assert float(running[-1]) == pytest.approx(model.loss_curve_[0], rel=1e-5)


def test_optimizer_object_is_never_modified_and_grid_search_reaches_it():
    X, y = _classification(classes=2)
    adam = Adam(beta1=0.8)
    before = pickle.dumps(adam)
    GDClassifier(optimizer=adam, max_iter=3).fit(X, y)
    assert pickle.dumps(adam) == before
    search = GridSearchCV(
        GDClassifier(optimizer=Adam(), max_iter=5),
        {"optimizer__beta1": [0.8, 0.9], "learning_rate": [1e-3, 1e-2]},
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.optimizer.beta1 in (0.8, 0.9)
    assert clone(search.best_estimator_).optimizer is not search.best_estimator_.optimizer


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"learning_rate": "optimal"}, "schedule='optimal'"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter of GDRegressor must be a float"),
        ({"loss": "nope"}, "'loss' parameter of GDRegressor must be a str among"),
        ({"optimizer": "nope"}, "'optimizer' parameter .*'adam'"),
        ({"schedule": "nope"}, "'schedule' parameter .*'cosine'"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"optimizer": Adam(beta1=1.5)}, "'beta1' parameter of Adam must be a float in the range"),
        ({"schedule": "optimal", "alpha": 0.0}, "alpha > 0"),
    ],
)
def test_bad_parameters_name_themselves(params, message):
    X, y = _regression(n=20)
    with pytest.raises((ValueError, TypeError), match=message):
        GDRegressor(**params).fit(X, y)


@pytest.mark.parametrize(
    "X_change, sw, message",
    [
        (lambda X: np.where(X > 1, np.nan, X), None, "Input X contains NaN"),
        (lambda X: X, -np.ones(20), "Negative values in data passed to .?sample_weight"),
        (lambda X: X, np.zeros(20), "at least one (positive|non-zero)"),
    ],
)
def test_bad_data_is_named(X_change, sw, message):
    X, y = _regression(n=20)
    with pytest.raises(ValueError, match=message):
        GDRegressor().fit(X_change(X), y, sample_weight=sw)


def test_partial_fit_errors():
    X, y = _classification(classes=3)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GDClassifier().partial_fit(X, y)
    model = GDClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels not in classes: \[7\]"):
        model.partial_fit(X[:3], [0, 7, 1])
    with pytest.raises(ValueError, match="X has 4 features, but GDClassifier is expecting 5"):
        model.partial_fit(X[:, :4], y)


# --- issue 14: the learning rate, the start, the weights and the curves ----------------


def _snapshot(estimator):
    """The estimator's whole state, arrays by value (for before/after comparisons)."""
    return pickle.dumps(estimator.__dict__)


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import scale

    X, y = load_breast_cancer(return_X_y=True)
    return scale(X), y


def test_learning_rate_is_honoured_and_a_step_too_large_raises():
    # With the old curvature cap, 10, 1e3 and 1e6 all trained the identical model.
    X, y = _breast_cancer()
    params = dict(optimizer="sgd", batch_size=32, schedule="constant", max_iter=3, tol=None,
                  random_state=0)  # fmt: skip
    small = GDClassifier(learning_rate=0.001, **params).fit(X, y)
    large = GDClassifier(learning_rate=0.1, **params).fit(X, y)
    assert not np.allclose(small.coef_, large.coef_)
    assert small.learning_rate_curve_ == [0.001] * 3 and large.learning_rate_curve_ == [0.1] * 3
    # The first step from zero is exactly learning_rate x the batch gradient.
    one = GDClassifier(learning_rate=0.1, **{**params, "max_iter": 1}, shuffle=False)
    one.set_params(batch_size=len(y), alpha=0.0).fit(X, y)
    s = np.where(y == 1, 1.0, -1.0)
    gradient = (-s * 0.5) @ X / len(y)  # d log(1 + exp(-s z)) / dz at z = 0, times x
    np.testing.assert_allclose(one.coef_[0], -0.1 * gradient, rtol=1e-12)
    model = GDRegressor(optimizer="sgd", batch_size=32, learning_rate=1e6, schedule="constant",
                        random_state=0)  # fmt: skip
    before = _snapshot(model)
    with pytest.raises(DivergenceError, match=r"epoch \d+ with learning_rate=1000000.0.*smaller"):
        model.fit(X, y)
    assert _snapshot(model) == before


def _nlms_epoch(X, y, lr, w, b):
    """One epoch of per-sample plain SGD on half squared error (no penalty), each
    step bounded by its row: min(lr, 1 / ||[x, 1]||^2), normalised LMS."""
    steps = []
    for x, target in zip(X, y, strict=True):
        step = min(lr, 1.0 / (x @ x + 1.0))
        residual = x @ w + b - target
        w, b = w - step * residual * x, b - step * residual
        steps.append(step)
    return w, b, steps


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_safe_steps_bounds_each_row_by_its_own_curvature(engine):
    pytest.importorskip("numba") if engine == "numba" else None
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 3)) * np.r_[np.ones(15), 30.0 * np.ones(5)][:, None]
    y = X @ [1.0, -2.0, 0.5] + 1.0
    params = dict(optimizer="sgd", batch_size=1, learning_rate=0.05, schedule="constant",
                  alpha=0.0, shuffle=False, max_iter=1, init="zero", average=False,
                  engine=engine)  # fmt: skip
    with pytest.warns(UserWarning, match=r"safe_steps bound 5 of 20 steps.*safe_steps=False"):
        model = GDRegressor(**params).fit(X, y)
    w, b, steps = _nlms_epoch(X, y, 0.05, np.zeros(3), 0.0)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-12)
    assert model.learning_rate_curve_ == [pytest.approx(steps[-1], rel=1e-15)]
    assert steps[-1] < 0.05
    # Off, every step is learning_rate as given, and these rows make it diverge.
    with pytest.raises(DivergenceError, match="learning_rate=0.05"):
        GDRegressor(**{**params, "max_iter": 50}, tol=None, safe_steps=False).fit(X, y)


def test_safe_steps_raises_on_rows_whose_norm_overflows():
    X, y = _regression(n=20)
    model = GDRegressor(optimizer="sgd", batch_size=1)
    with pytest.raises(ValueError, match="X has rows whose squared norm overflows"):
        model.fit(X * 1e200, y)
    assert not hasattr(model, "n_features_in_")
    with pytest.raises(DivergenceError, match="the input overflowed"):
        GDRegressor(optimizer="sgd", batch_size=4).fit(X * 1e200, y)


def _gd_objective(X, y, w, b, alpha):
    r = X @ w + b - y
    return 0.5 * np.mean(r**2) + 0.5 * alpha * w @ w


def test_full_batch_sgd_from_zero_is_the_textbook_recurrence_and_its_curve_the_objective():
    X, y = _regression(n=60, d=4)
    X /= X.std(0)
    alpha, lr, epochs = 0.1, 0.5, 6
    L = np.linalg.eigvalsh(np.c_[X, np.ones(60)].T @ np.c_[X, np.ones(60)] / 60).max() + alpha
    assert lr <= 1.0 / L
    model = GDRegressor(optimizer="sgd", batch_size="full", learning_rate=lr, schedule="constant",
                        alpha=alpha, init="zero", max_iter=epochs, tol=None).fit(X, y)  # fmt: skip
    w, b, objectives = np.zeros(4), 0.0, []
    for _ in range(epochs):
        objectives.append(_gd_objective(X, y, w, b, alpha))
        r = X @ w + b - y
        w, b = w - lr * (X.T @ r / 60 + alpha * w), b - lr * r.mean()
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_[0], b, rtol=1e-12)
    # loss_curve_[e] is the objective at the weights epoch e started from...
    np.testing.assert_allclose(model.loss_curve_, objectives, rtol=1e-12)
    # ... so plain GD with a step <= 1 / L gives a monotone curve.
    assert np.all(np.diff(model.loss_curve_) < 0)


def test_mini_batch_curve_weighs_the_penalty_like_its_batch():
    X, y = _regression(n=30, d=3)
    model = GDRegressor(optimizer="sgd", batch_size=10, learning_rate=0.01, schedule="constant",
                        alpha=0.5, init="zero", shuffle=False, max_iter=1, tol=None,
                        average=False)  # fmt: skip
    sw = np.r_[np.ones(10), 2.0 * np.ones(10), 3.0 * np.ones(10)]
    model.fit(X, y, sample_weight=sw)
    w, b, total = np.zeros(3), 0.0, 0.0
    for rows in np.split(np.arange(30), 3):
        r = X[rows] @ w + b - y[rows]
        total += sw[rows] @ (0.5 * r**2) + sw[rows].sum() * 0.25 * w @ w
        g = sw[rows] * r / (10 * sw.mean())
        w, b = w - 0.01 * (X[rows].T @ g + 0.5 * w), b - 0.01 * g.sum()
    assert model.loss_curve_ == [pytest.approx(total / sw.sum(), rel=1e-12)]
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)


def test_init_is_the_same_rule_for_fit_and_the_first_partial_fit():
    X, y = _regression()
    y = y + 100.0
    for init, intercept in (("zero", 0.0), ("baseline", y.mean())):
        for method in ("fit", "partial_fit"):
            model = GDRegressor(batch_size="full", init=init, max_iter=1, tol=None)
            getattr(model, method)(X, y)
            # The curve's first value is the objective at the start.
            expected = 0.5 * np.mean((y - intercept) ** 2)
            assert model.loss_curve_[0] == pytest.approx(expected, rel=1e-12)


def test_coef_init_and_intercept_init_as_scikit_learn_sgd():
    X, y = _regression(n=40, d=3)
    coef, intercept = np.array([1.0, -1.0, 2.0]), 3.0
    params = dict(optimizer="sgd", batch_size="full", learning_rate=0.1, schedule="constant",
                  alpha=0.0, max_iter=1, tol=None, warm_start=True)  # fmt: skip
    model = GDRegressor(**params).fit(X, y, coef_init=coef, intercept_init=[intercept])
    r = X @ coef + intercept - y
    np.testing.assert_allclose(model.coef_, coef - 0.1 * X.T @ r / 40, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, [intercept - 0.1 * r.mean()], rtol=1e-12)
    # They override warm_start: the same start again gives the same model.
    again = model.fit(X, y, coef_init=coef, intercept_init=intercept)
    np.testing.assert_allclose(again.coef_, coef - 0.1 * X.T @ r / 40, rtol=1e-12)
    with pytest.raises(ValueError, match=r"coef_init has shape \(2,\); expected"):
        GDRegressor().fit(X, y, coef_init=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"intercept_init has shape \(2,\)"):
        GDRegressor().fit(X, y, intercept_init=[1.0, 2.0])
    Xc, yc = _classification(classes=3)
    clf = GDClassifier(max_iter=1, tol=None).fit(Xc, yc, coef_init=np.ones((3, 5)))
    assert clf.coef_.shape == (3, 5)
    with pytest.raises(ValueError, match=r"coef_init has shape \(1, 5\)"):
        GDClassifier().fit(Xc, yc, coef_init=np.ones((1, 5)))


def test_diabetes_stream_starts_where_fit_does():
    # Before: one epoch of fit ended with intercept 151.7, 44 partial_fit calls with 4.5.
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import scale

    X, y = load_diabetes(return_X_y=True)
    X = scale(X)
    stream = GDRegressor(random_state=0, shuffle=False)
    for start in range(0, len(y), 10):
        stream.partial_fit(X[start : start + 10], y[start : start + 10])
    epoch = GDRegressor(random_state=0, shuffle=False, max_iter=1, tol=None).fit(X, y)
    assert abs(stream.intercept_[0] - y.mean()) < 10 and abs(epoch.intercept_[0] - y.mean()) < 10


def test_weights_count_across_partial_fit_calls():
    from sklearn.linear_model import SGDRegressor

    rng = np.random.RandomState(0)
    XA, XB = rng.normal(size=(200, 1)), rng.normal(size=(200, 1))
    yA, yB = 3.0 * XA[:, 0], -3.0 * XB[:, 0]
    ours = GDRegressor(optimizer="sgd", schedule="constant", learning_rate=0.01, batch_size=1,
                       alpha=0.0, init="zero", random_state=0)  # fmt: skip
    sgd = SGDRegressor(learning_rate="constant", eta0=1e-4, alpha=0.0, random_state=0)
    for model in (ours, sgd):
        for _ in range(5):
            for s in range(0, 200, 20):
                model.partial_fit(XA[s : s + 20], yA[s : s + 20], sample_weight=np.full(20, 100.0))
                model.partial_fit(XB[s : s + 20], yB[s : s + 20], sample_weight=np.ones(20))
    # Weighted 100 : 1 the optimum is 3 * 99 / 101 = 2.94; equal weights would give 0.
    assert sgd.coef_[0] > 2.5 and ours.coef_[0] > 2.5


def test_class_weight_counts_in_one_row_calls():
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import recall_score

    X, y = make_classification(3000, 5, weights=[0.95], flip_y=0, random_state=0)
    ours = GDClassifier(optimizer="sgd", schedule="constant", learning_rate=0.01, batch_size=1,
                        class_weight={0: 1, 1: 20}, random_state=0)  # fmt: skip
    sgd = SGDClassifier(learning_rate="constant", eta0=0.01, class_weight={0: 1, 1: 20},
                        random_state=0)  # fmt: skip
    for i in range(len(y)):
        ours.partial_fit(X[i : i + 1], y[i : i + 1], classes=[0, 1])
        sgd.partial_fit(X[i : i + 1], y[i : i + 1], classes=[0, 1])
    # Before: 0.33 (each call's weight cancelled itself), SGDClassifier 0.92.
    assert recall_score(y, ours.predict(X)) > recall_score(y, sgd.predict(X)) - 0.1


def test_partial_fit_with_early_stopping_raises():
    X, y = _regression()
    model = GDRegressor(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping=True is not supported by partial_fit"):
        model.partial_fit(X, y)
    assert not hasattr(model, "n_features_in_")


def _sgd_reference(penalty, alpha, lr, X, y, sparse_input=False):
    from sklearn.linear_model import SGDRegressor

    reference = SGDRegressor(penalty=penalty, alpha=alpha, learning_rate="constant", eta0=lr,
                             shuffle=False, max_iter=1, tol=None, average=False)  # fmt: skip
    reference.fit(sp.csr_matrix(X) if sparse_input else X, y)
    return reference


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(
    "penalty, alpha, lr",
    [("l1", 0.05, 0.01), ("elasticnet", 0.05, 0.01), ("l2", 2.0, 1.0), ("l2", 2.0, 0.1)],
)
def test_one_row_steps_follow_scikit_learn_sgd(engine, penalty, alpha, lr):
    # scikit-learn's _sgd_fast: the cumulative L1 penalty of Tsuruoka et al. (2009),
    # and the L2 shrink clamped at max(0, 1 - lr * alpha) (lr * alpha = 2 here).
    pytest.importorskip("numba") if engine == "numba" else None
    X, y = _regression(n=50, d=6)
    X /= 3 * X.std(0)
    y /= y.std()
    ours = GDRegressor(optimizer="sgd", schedule="constant", learning_rate=lr, batch_size=1,
                       penalty=penalty, alpha=alpha, init="zero", shuffle=False, max_iter=1,
                       tol=None, average=False, safe_steps=False, engine=engine)  # fmt: skip
    ours.fit(X, y)
    reference = _sgd_reference(penalty, alpha, lr, X, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, rtol=1e-10, atol=1e-12)


def test_per_sample_l1_gives_exact_zeros():
    # Before: the per-step prox left irrelevant coefficients at about +-3e-4.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 8))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=400)
    model = GDRegressor(optimizer="sgd", batch_size=1, learning_rate=0.01, penalty="l1",
                        alpha=0.05, max_iter=5, tol=None, random_state=0)  # fmt: skip
    model.fit(X, y)
    assert np.all(model.coef_[2:] == 0.0) and np.all(model.coef_[:2] != 0.0)


def test_many_classes_take_the_loss_in_chunks():
    # The loss values and the final check take the raw predictions 2^16 numbers at a time:
    # beyond the encoded target and the loop's raw predictions (two (n, K) arrays, for
    # now), fit makes no (n, K) temporaries (it made ~3 more: 2.4x the bound below).
    import tracemalloc

    rng = np.random.default_rng(0)
    n, d, K = 4000, 10, 200
    X, y = rng.standard_normal((n, d)), rng.integers(0, K, n)
    model = GDClassifier(max_iter=2, tol=None, random_state=0, engine="numpy")
    tracemalloc.start()
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * n * K * 8
