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


def _diverging():
    # Poisson has no curvature bound, so plain SGD with a huge step explodes.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    y = rng.poisson(3.0, size=50)
    return X, y, GDRegressor(loss="poisson", optimizer="sgd", learning_rate=1e3, batch_size=5)


def test_divergence_names_the_epoch_and_leaves_fit_unfitted():
    X, y, model = _diverging()
    with pytest.raises(DivergenceError, match=r"epoch 1\b.*smaller learning_rate"):
        model.fit(X, y)
    assert not hasattr(model, "coef_") and not hasattr(model, "_state")
    assert isinstance(DivergenceError("x"), ValueError)


def test_failed_partial_fit_leaves_the_model_exactly_as_it_was():
    X, y, model = _diverging()
    model.set_params(learning_rate=1e-3).partial_fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(DivergenceError):
        model.set_params(learning_rate=1e3).partial_fit(X, y)
    model.set_params(learning_rate=1e-3)
    assert pickle.dumps(model) == before


def test_failed_warm_start_fit_keeps_previous_weights():
    X, y, model = _diverging()
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
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10, atol=1e-12)


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
    )
    iterates = []
    stepper = GDRegressor(
        optimizer="sgd", batch_size=1, learning_rate=0.05, shuffle=False, fit_intercept=False
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
    params = dict(max_iter=3, tol=None, random_state=0, batch_size=32)
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


def test_clip_norm_bounds_each_step():
    X, y, model = _diverging()
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
    model = GDRegressor(verbose=2, max_iter=1, tol=None, alpha=0.0, batch_size=len(y) // 10,
                        random_state=0).fit(X, y)  # fmt: skip
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
