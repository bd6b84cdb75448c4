"""The monitor: scikit-learn's 'adaptive' rule, written out from its source, and
the convergence rule of the training objective, against exact optima."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._stopping import Monitor
from sklearn_gd.schedules import Adaptive, Auto, CosineAnnealing


def _sklearn_adaptive(values, eta0, tol, n_iter_no_change):
    """scikit-learn's loop (_sgd_fast.pyx.tp), on a given objective sequence:
    returns the step size of each epoch and the number of epochs run."""
    best, count, eta, etas = np.inf, 0, eta0, []
    for epoch, value in enumerate(values, start=1):
        etas.append(eta)
        tol_ = tol if tol is not None else -np.inf
        if tol_ > -np.inf and value > best - tol_:
            count += 1
        else:
            count = 0
        if value < best:
            best = value
        if count >= n_iter_no_change:
            if eta > 1e-6:
                eta = eta / 5
                count = 0
            else:
                return etas, epoch
    return etas, len(values)


def _ours(values, eta0, tol, n_iter_no_change):
    monitor = Monitor(tol, n_iter_no_change, Adaptive(), eta0, keep_best=False, objective=True)
    scale, etas = 1.0, []
    for epoch, value in enumerate(values, start=1):
        etas.append(eta0 * scale)
        stop, scale = monitor.update(value, epoch, None, scale)
        if stop:
            return etas, epoch
    return etas, len(values)


@pytest.mark.parametrize(
    "values",
    [
        np.ones(80),  # a plateau from the start
        np.r_[np.linspace(2, 1, 10), np.ones(70)],
        # improvements of exactly tol count as improvements (the test is value > best - tol)
        np.r_[2.0 - 0.5 * np.arange(4), np.full(76, 0.5)],
        np.r_[1.0, 1.2, 0.9, 0.95, 0.99, 0.89, 0.91, np.full(73, 0.895)],
    ],
)
@pytest.mark.parametrize("tol", [0.5, 1e-3, None])
def test_adaptive_is_scikit_learns_rule(values, tol):
    want = _sklearn_adaptive(values, 1.0, tol, 5)
    got = _ours(values, 1.0, tol, 5)
    assert got[1] == want[1]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)


def test_adaptive_cuts_below_its_floor_once_then_stops():
    # From 1.0, nine cuts by 5: the last one from 2.56e-6 (> 1e-6) to 5.12e-7,
    # then five more bad epochs stop training: 1 + 5 * 10 epochs.
    X = np.zeros((8, 2))
    model = GDRegressor(
        optimizer="sgd", learning_rate=1.0, schedule="adaptive", batch_size="full",
        fit_intercept=False, tol=1e-4, max_iter=200,
    ).fit(X, np.zeros(8))  # fmt: skip
    assert model.n_iter_ == 51
    assert model.learning_rate_curve_[-1] == pytest.approx(5.12e-7, rel=1e-12)
    assert sorted(set(model.learning_rate_curve_), reverse=True) == pytest.approx(
        [0.2**k for k in range(10)], rel=1e-12
    )


def test_adaptive_never_cuts_without_tol():
    model = GDRegressor(
        optimizer="sgd", learning_rate=1.0, schedule="adaptive", batch_size="full",
        fit_intercept=False, tol=None, max_iter=40,
    ).fit(np.zeros((8, 2)), np.zeros(8))  # fmt: skip
    assert model.n_iter_ == 40 and set(model.learning_rate_curve_) == {1.0}


def test_horizon_schedule_anneals_to_its_end():
    # tol does not stop a cosine schedule before t_max: the last step is near 0.
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDClassifier(schedule=CosineAnnealing(t_max=30), batch_size="full",
                         learning_rate=0.1, random_state=0).fit(X, y)  # fmt: skip
    assert model.n_iter_ >= 30
    assert model.learning_rate_curve_[29] < 0.01 * 0.1


def _split(X, y, seed, fraction=0.1):
    """The estimator's stratified early-stopping split, made here."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=fraction, stratify=y, random_state=seed)


@pytest.mark.parametrize("seed", range(5))
def test_restored_weights_never_score_below_the_last_epoch_on_validation_loss(seed):
    from sklearn.datasets import load_wine
    from sklearn.metrics import log_loss

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    _, val = _split(X, y, seed)
    model = GDClassifier(early_stopping=True, restore_best_weights=True, random_state=seed)
    model.fit(X, y)
    curve = model.validation_score_curve_
    restored = -log_loss(y[val], model.predict_proba(X[val]), labels=model.classes_)
    assert restored == pytest.approx(max(curve), rel=1e-9)  # the best epoch's weights
    assert restored >= curve[-1] - 1e-12 * abs(curve[-1])  # log_loss rounds differently
    assert curve[model.best_epoch_ - 1] == max(curve)


def test_scoring_takes_any_scorer_on_the_current_weights():
    from sklearn.metrics import roc_auc_score

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    _, val = _split(X, y, 0)
    seen = []

    def scorer(estimator, X_val, y_val):
        seen.append(estimator.coef_.copy())
        return roc_auc_score(y_val, estimator.decision_function(X_val))

    model = GDClassifier(early_stopping=True, scoring=scorer, random_state=0, max_iter=8, tol=None)
    model.fit(X, y)
    assert len(seen) == 8 and not np.array_equal(seen[0], seen[-1])
    np.testing.assert_array_equal(seen[-1], model.coef_)
    want = roc_auc_score(y[val], model.decision_function(X[val]))
    assert model.validation_score_curve_[-1] == pytest.approx(want, rel=1e-12)
    by_name = GDClassifier(early_stopping=True, scoring="roc_auc", random_state=0, max_iter=8,
                           tol=None).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(by_name.validation_score_curve_, model.validation_score_curve_)
    with pytest.raises(ValueError, match="scoring"):
        GDClassifier(early_stopping=True, scoring="no_such_metric").fit(X, y)


def _first_stop(values, tol, n_iter_no_change=5, **kw):
    monitor = Monitor(tol, n_iter_no_change, None, 0.1, keep_best=False, objective=True, **kw)
    for epoch, value in enumerate(values, start=1):
        if monitor.update(value, epoch, None, 1.0)[0]:
            return epoch, monitor.stop_reason
    return None, None


def test_convergence_rule_stops_when_what_is_left_is_below_tol():
    # A linearly converging objective f_e = 1 + 0.5 * 0.9**e: the remaining
    # decrease after epoch e is 0.5 * 0.9**e, which the rule extrapolates exactly
    # from two windows; it stops at the first epoch (with two windows of
    # history) where that is at most tol * f_e.
    e = np.arange(1, 400)
    f = 1 + 0.5 * 0.9**e
    tol = 1e-4
    stop, reason = _first_stop(f, tol)
    left = 0.5 * 0.9**e
    want = e[(left <= tol * f) & (e >= 11)][0]
    assert (stop, reason) == (want, "converged")


def test_convergence_rule_keeps_a_slow_descent_going():
    # A steady decrease (a slow descent, far from converged) never stops by
    # itself, however small the decrease per epoch; sklearn's absolute tol
    # would stop it after 5 epochs.
    assert _first_stop(1 - 1e-6 * np.arange(300), 1e-4) == (None, None)
    assert _first_stop(np.r_[np.linspace(2, 1, 20), np.ones(20)], 1e-4) == (25, "stall")
    # a horizon delays the stop
    assert _first_stop(np.r_[np.linspace(2, 1, 20), np.ones(20)], 1e-4, min_epochs=30)[0] == 30


def _gap(model, X, y, alpha):
    exact = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)

    def objective(m):
        p = m.predict_proba(X)[np.arange(len(y)), y]
        return -np.mean(np.log(p)) + alpha / 2 * np.sum(m.coef_**2)

    return objective(model) / objective(exact) - 1


def test_full_batch_stops_within_a_tenth_of_a_percent_of_the_optimum():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GDClassifier(batch_size="full", schedule="constant", learning_rate=0.1).fit(X, y)
    assert 0 <= _gap(model, X, y, model.alpha) < 1e-3


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("batch_size, within", [("full", 1e-3), ("auto", 1e-2), (32, 1e-2)])
def test_defaults_end_near_the_optimum(cancer, batch_size, within):
    # Issue 15, item 4: with the default tol, full-batch training ends within 0.1%
    # of the exact optimum's objective (LogisticRegression at the same alpha) and
    # mini-batches within 1%, and without a ConvergenceWarning.
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GDClassifier(batch_size=batch_size, random_state=0).fit(X, y)
    assert 0 <= _gap(model, X, y, model.alpha) < within


@pytest.mark.parametrize("batch_size, within", [("full", 1e-3), ("auto", 1e-2)])
def test_regressor_defaults_end_near_the_optimum(batch_size, within):
    # Against Ridge(alpha * n): the objective 0.5 * mean((y - Xw - b)^2) + alpha/2 |w|^2,
    # on diabetes' own target (in the hundreds: training runs on y / s).
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GDRegressor(batch_size=batch_size, random_state=0).fit(X, y)
    exact = Ridge(alpha=model.alpha * len(y), solver="cholesky").fit(X, y)

    def objective(coef, intercept):
        return 0.5 * np.mean((y - X @ coef - intercept) ** 2) + model.alpha / 2 * coef @ coef

    best = objective(exact.coef_, exact.intercept_)
    assert 0 <= objective(model.coef_, model.intercept_[0]) / best - 1 < within


def test_a_fit_cut_short_says_so(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        GDClassifier(batch_size="full", max_iter=20).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        GDClassifier(max_iter=5, random_state=0).fit(X, y)


def test_cosine_over_max_iter_warns_only_when_still_descending(cancer):
    # CosineAnnealing(t_max=None) anneals over max_iter epochs: at its end the step
    # is ~0 and the objective flat, so "increase max_iter" would be no news.
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GDClassifier(schedule="cosine", batch_size="full", max_iter=300).fit(X, y)
    # Two epochs of a full-batch descent are not converged: that is said, with advice.
    with pytest.warns(ConvergenceWarning, match="anneal"):
        GDClassifier(schedule="cosine", batch_size="full", max_iter=12).fit(X, y)


def _auto_stops(values, window=1, band=1, tol=1e-4, objective=True):
    """Run 'auto''s stochastic rule on a sequence: (epoch of the stop or None, cuts)."""
    monitor = Monitor(tol, 5, Auto(factor=0.5), 0.1, keep_best=False, objective=objective,
                      stochastic=True, window=window, band=band)  # fmt: skip
    scale, cuts = 1.0, 0
    for epoch, value in enumerate(values, start=1):
        stop, new = monitor.update(value, epoch, None, scale)
        cuts += new < scale
        scale = new
        if stop:
            return epoch, cuts
    return None, cuts


def test_auto_on_stochastic_batches_certifies_a_plateau_by_a_cut():
    # A flat objective: the band of epochs 1-2 is flat, so the step is cut; the band
    # after the cut (epochs 2-3) lies within tol of it: a smaller step no longer
    # helps, stop at epoch 3 after one cut.
    assert _auto_stops(np.ones(20)) == (3, 1)
    # A cut that helps: the band after the cut at epoch 3 (epoch 4) lies more than
    # tol below the level it left (0.9 < 1.0), so the step is cut again at once;
    # the band after that cut (epoch 5) stays within tol of 0.9: stop at epoch 5
    # after two cuts.
    values = [2.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.9]
    assert _auto_stops(values) == (5, 2)
    # Cuts that help less and less: gains 1e-2 then 5e-4 (ratio 0.05) leave
    # 5e-4 * 0.05 / 0.95 = 2.6e-5 < tol * 0.9895 to further cuts: stop at epoch 5.
    assert _auto_stops([2.0, 1.0, 1.0, 0.99, 0.9895, 0.9895]) == (5, 2)
    # Gains 1e-2 then 5e-3 (ratio 0.5) leave 5e-3: cut again (epoch 5); the band
    # after it gains nothing: stop at epoch 6 after three cuts.
    assert _auto_stops([2.0, 1.0, 1.0, 0.99, 0.985, 0.985, 0.985]) == (6, 3)
    # A rising band leaves no settled level: the drop after a cut on a rise
    # (epoch 3) does not cut again, and a descent that follows is left alone.
    assert _auto_stops([1.0, 1.2, 1.0, 0.95, 0.9]) == (None, 1)
    # A steady descent of 1% an epoch is neither flat nor rising: no cut, no stop.
    assert _auto_stops(0.99 ** np.arange(200)) == (None, 0)
    # A rise of more than tol over a window is noise: cut, and keep going.
    assert _auto_stops([1.0, 1.1, 1.05, 1.0, 0.95, 0.9]) == (None, 1)
    # Without tol nothing is cut or stopped.
    assert _auto_stops(np.ones(20), tol=None) == (None, 0)


@pytest.mark.parametrize(
    "n, batch_size, window, band",
    # 16 steps (4,096 rows in batches of 256): 7 epochs hold 100 steps, 19 hold 300,
    # capped at three patiences; 60 steps: 2 and 5; 100 steps over 25,600 rows or more
    # decide on single epochs; over fewer rows (per-sample steps) they do not.
    [(4096, 256, 5, 15), (15_360, 256, 2, 5), (25_599, 256, 1, 3), (25_600, 256, 1, 1),
     (30_000, 256, 1, 1), (150, 1, 1, 2), (299, 1, 1, 2), (300, 1, 1, 1)],
)  # fmt: skip
def test_auto_windows_and_bands_hold_enough_steps(n, batch_size, window, band, monkeypatch):
    # Read off the monitor that fit builds: it counts the rows fit trains on.
    built = []
    for_fit = Monitor.for_fit.__func__
    monkeypatch.setattr(Monitor, "for_fit",
                        classmethod(lambda cls, *a, **k: built.append(for_fit(cls, *a, **k))
                                    or built[-1]))  # fmt: skip
    X = np.random.default_rng(0).standard_normal((n, 2))
    GDClassifier(batch_size=batch_size, max_iter=1, engine="numpy").fit(X, X[:, 0] > 0)
    assert [(m.window, m.band) for m in built] == [(window, band)]


def test_auto_with_early_stopping_cuts_on_a_stall_and_stops_when_its_level_holds():
    # A validation value (early stopping) on stochastic batches, n_iter_no_change=5:
    # a lucky epoch 1 (0.9), then five epochs at 1.0 are a stall whose level (the
    # mean of its 6 values, 0.9833) cuts the step. Five more at 0.95 are a stall
    # again (no new best), at a level 0.0250 lower: cut; five more at 0.95, a
    # level 0.0083 lower than 0.9583: cut; five more at 0.95: the level holds (0 <=
    # tol), a smaller step no longer helps: stop at epoch 21 after three cuts.
    values = [0.9] + [1.0] * 5 + [0.95] * 15
    assert _auto_stops(values, objective=False) == (21, 3)
    # A level that rises after the cut (overfitting) stops at the next stall.
    assert _auto_stops([0.9] + [1.0] * 5 + [1.1] * 5, objective=False) == (11, 1)
    # New bests keep it going at the same step.
    assert _auto_stops(0.99 ** np.arange(50), objective=False) == (None, 0)


def test_deterministic_extrapolation_skips_an_overshoot():
    # The linear descent of test_convergence_rule_stops_when_what_is_left_is_below_tol,
    # with one epoch B raised (Adam's momentum overshooting) a few epochs before
    # the rule would stop: no extrapolation from windows holding a rise, so the
    # stop waits until the rise into epoch B has left the two windows of 5 epochs
    # (the 11 values of epochs E - 10 .. E, so E >= B + 10).
    e = np.arange(1, 400)
    f = 1 + 0.5 * 0.9**e
    plain, _ = _first_stop(f, 1e-4)
    bumped = f.copy()
    B = plain - 3
    bumped[B - 1] += 1e-2
    stop, reason = _first_stop(bumped, 1e-4)
    assert reason == "converged" and stop >= B + 10
