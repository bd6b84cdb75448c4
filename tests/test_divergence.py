"""A finite run-away raises DivergenceError (issue 14, item 1).

The rule (``sklearn_gd._stopping.DivergenceCheck``): the reference is the larger
of the objective at the start weights and of the best constant model; a run has
diverged when its objective stays above ``DIVERGENCE_FACTOR`` times the reference
for its patience (epochs in a row) without coming down, or ends above that
ceiling without coming down. The epochs named are checked against plain gradient descent
written out here; sane fits on every bundled dataset must not raise.
"""

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd._stopping import DIVERGENCE_FACTOR, DivergenceCheck
from sklearn_gd.optimizers import OPTIMIZERS
from sklearn_gd.schedules import ReduceOnPlateau, Warmup


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _snapshot(estimator):
    """The whole ``__dict__``, each value by value."""
    return {name: pickle.dumps(value) for name, value in vars(estimator).items()}


def _textbook_curve(X, y, learning_rate, epochs, alpha=1e-4):
    """Plain full-batch gradient descent on ``mean((Xw + b - y)**2) / 2 + alpha/2 |w|^2``
    from ``w = 0, b = mean(y)`` (init='baseline'): the objective at the weights each
    epoch starts from, as ``loss_curve_`` holds it."""
    n, d = X.shape
    w, b = np.zeros(d), float(np.mean(y))
    curve = []
    for _ in range(epochs):
        r = X @ w + b - y
        curve.append(0.5 * np.mean(r**2) + 0.5 * alpha * w @ w)
        w, b = w - learning_rate * (X.T @ r / n + alpha * w), b - learning_rate * r.mean()
    return np.array(curve)


# --- the reproductions of the issue ---------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(
    "schedule, learning_rate",
    [("constant", 1.0), ("adaptive", 10.0)],
    ids=["constant-stall-stop", "adaptive-cuts-to-floor"],
)
def test_runaway_raises_naming_epoch_and_learning_rate(diabetes, engine, schedule, learning_rate):
    # Both ended finite and silent before: 'constant' stalled after 6 epochs at
    # R^2 = -1.8e5; 'adaptive' cut its step to the floor with the objective at 1e26.
    pytest.importorskip("numba") if engine == "numba" else None
    X, y = diabetes
    curve = _textbook_curve(X, y, learning_rate, epochs=12)
    # The start is the best constant model (coefficients 0, intercept mean(y)).
    onset = 1 + int(np.argmax(curve > DIVERGENCE_FACTOR * curve[0]))
    assert curve[onset - 1] > DIVERGENCE_FACTOR * curve[0] and np.isfinite(curve).all()
    model = GDRegressor(optimizer="sgd", batch_size="full", schedule=schedule,
                        learning_rate=0.01, engine=engine, random_state=0).fit(X, y)  # fmt: skip
    model.set_params(learning_rate=learning_rate)
    before = _snapshot(model)
    message = rf"in epoch {onset} with learning_rate={re.escape(str(learning_rate))}:"
    with pytest.raises(DivergenceError, match=message + ".*times the larger"):
        model.fit(X, y)
    assert _snapshot(model) == before  # the previous fit, untouched


def test_runaway_leaves_an_unfitted_estimator_unfitted(diabetes):
    X, y = diabetes
    model = GDRegressor(optimizer="sgd", batch_size="full", schedule="constant", learning_rate=1.0)
    with pytest.raises(DivergenceError):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_runaway_cut_short_by_max_iter_raises(diabetes):
    # Two epochs of plain GD at 1.0: the final weights are already above the ceiling,
    # though the curve (objectives at the weights each epoch started from) is not.
    X, y = diabetes
    curve = _textbook_curve(X, y, 1.0, epochs=3)
    assert curve[1] < DIVERGENCE_FACTOR * curve[0] < curve[2]
    model = GDRegressor(optimizer="sgd", batch_size="full", schedule="constant",
                        learning_rate=1.0, max_iter=2)  # fmt: skip
    with pytest.raises(DivergenceError, match="in epoch 2 .*the fit ended there"):
        model.fit(X, y)


@pytest.mark.parametrize("restore_best_weights", [False, True])
def test_training_objective_is_watched_with_early_stopping(diabetes, restore_best_weights):
    # The validation score decides when to stop (and, restored, which weights to keep);
    # the run-away is on the training objective all the same.
    X, y = diabetes
    model = GDRegressor(optimizer="sgd", batch_size="full", schedule="constant",
                        learning_rate=1.0, early_stopping=True,
                        restore_best_weights=restore_best_weights, random_state=0)  # fmt: skip
    with pytest.raises(DivergenceError, match="with learning_rate=1.0"):
        model.fit(X, y)


def test_mini_batch_runaway_raises_and_a_rescued_one_does_not(diabetes):
    X, y = diabetes
    # Batches of 32 at 1.0: above the ceiling from epoch 1, and the cuts of 'adaptive'
    # do not bring it back.
    model = GDRegressor(optimizer="sgd", batch_size=32, learning_rate=1.0,
                        schedule="adaptive", random_state=0)  # fmt: skip
    with pytest.raises(DivergenceError, match="in epoch 1 .*stayed there for 10 epochs"):
        model.fit(X, y)
    # Momentum at 0.5 overshoots to a few times the start; 'adaptive' cuts the step
    # and the run comes back: not a divergence.
    model.set_params(optimizer="momentum", learning_rate=0.5).fit(X, y)
    assert max(model.loss_curve_) > 2 * model.loss_curve_[0]
    assert model.score(X, y) > 0.5


# --- no false alarm -------------------------------------------------------------------


def _dataset(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# The usual range of each rule on standardised features (its upper end: plain
# steps near 1/L; momentum's effective step is lr / (1 - 0.9); the scale-free
# rules move each weight by about lr a step, RMSProp's first step by 3.2 lr).
SENSIBLE = {"sgd": [0.01, 0.1], "momentum": [0.001, 0.01], "nesterov": [0.001, 0.01],
            "adagrad": [0.01, 0.1], "rmsprop": [0.001, 0.01], "adam": [0.01, 0.1],
            "adamw": [0.01, 0.1], "nadam": [0.01, 0.1], "amsgrad": [0.01, 0.1]}  # fmt: skip
REGRESSION = [(name, loss) for name in ("diabetes", "linnerud") for loss in
              ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive",
               "absolute_error", "quantile", "poisson")
              if name == "diabetes" or loss == "squared_error"]  # fmt: skip
CLASSIFICATION = [(name, loss) for name in ("iris", "wine", "breast_cancer", "digits")
                  for loss in ("log_loss", "hinge", "modified_huber", "squared_hinge",
                               "perceptron")]  # fmt: skip


@pytest.mark.parametrize("name, loss", REGRESSION + CLASSIFICATION)
def test_sane_fits_do_not_raise(name, loss):
    X, y = _dataset(name)
    if name == "digits":  # a third of the rows keeps the test fast
        X, y = X[::3], y[::3]
    Estimator = GDClassifier if name in dict(CLASSIFICATION) else GDRegressor
    if loss == "poisson":
        y = y / np.mean(y)
    # The rule sits in fit, outside the engines (which compute the same objectives).
    Estimator(loss=loss, random_state=0, engine="numpy").fit(X, y)  # the defaults
    for optimizer in sorted(OPTIMIZERS):
        for learning_rate in SENSIBLE[optimizer]:
            for batch_size in ("full", "auto"):
                Estimator(loss=loss, optimizer=optimizer, learning_rate=learning_rate,
                          batch_size=batch_size, max_iter=30, random_state=0,
                          engine="numpy").fit(X, y)  # fmt: skip


def test_fine_tuning_a_near_perfect_model_does_not_raise():
    # Started at the least-squares solution of an almost noiseless problem, Adam's
    # first steps (each weight moves by about learning_rate) take the objective to
    # hundreds of times its start, while R^2 stays above 0.98: the reference is then
    # the best constant model's objective, not the start's.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5))
    y = X @ np.arange(1.0, 6.0) + 0.05 * rng.normal(size=300)
    solution = np.linalg.lstsq(np.hstack([X, np.ones((300, 1))]), y, rcond=None)[0]
    model = GDRegressor(optimizer="adam", learning_rate=0.1, batch_size="full", max_iter=3)
    model.fit(X, y, coef_init=solution[:-1], intercept_init=solution[-1:])
    assert max(model.loss_curve_) > 10 * DIVERGENCE_FACTOR * model.loss_curve_[0]
    assert model.score(X, y) > 0.98


def test_transient_overshoot_that_recovers_does_not_raise(diabetes):
    # AdaGrad's first step moves every weight by learning_rate: at 1.0 the objective
    # of epoch 2 is ~20 times the start's, and falls below it from epoch 4 on.
    X, y = diabetes
    model = GDRegressor(optimizer="adagrad", learning_rate=1.0, batch_size="full",
                        max_iter=50, random_state=0).fit(X, y)  # fmt: skip
    curve = np.array(model.loss_curve_)
    assert curve.max() > DIVERGENCE_FACTOR * curve[0] and curve[-1] < curve[0]


# --- the rule, model by model ---------------------------------------------------------


def test_rule_on_a_vector_of_models():
    # Reference: max(start, constant) per model; ceiling ten times it; patience 3.
    check = DivergenceCheck(start=[1.0, 1.0, 2.0, 0.0, 1.0], constant=[0.5, 1.0, 4.0, 0.0, 1.0],
                            patience=3)  # fmt: skip
    np.testing.assert_array_equal(check.reference, [1.0, 1.0, 4.0, 0.0, 1.0])
    curves = np.array([
        [0.9, 11.0, 30.0, 5.0, 11.0, 12.0],  # above twice, back below 10 in between
        [0.9, 11.0, 30.0, 45.0, 2.0, 2.0],  # above and rising for epochs 2 to 4
        [3.0, 39.0, 41.0, 41.0, 41.0, 40.0],  # above its ceiling of 40 from epoch 3 to 5
        [0.0, 1.0, 1e6, 1e12, 1e15, 1e18],  # no scale (the perceptron from zero): no ceiling
        [50.0, 40.0, 30.0, 28.0, 26.0, 25.0],  # above, coming down: 28 < 0.9 * 40, ...
    ])  # fmt: skip
    flagged = np.array([check.update(curves[:, e]) for e in range(curves.shape[1])])
    first = [int(np.argmax(f)) + 1 if f.any() else None for f in flagged.T]
    assert first == [None, 4, 5, None, None]
    assert check.onset.tolist() == [5, 0, 0, 0, 1] and check.run.tolist() == [2, 0, 0, 0, 6]
    # At the end: above the ceiling and not below 0.9 times the value half its run
    # before (model 0: 12.5 against 12.0; model 4: 24 against 28).
    ended = check.end([12.5, 9.0, 39.0, 1e20, 24.0])
    np.testing.assert_array_equal(ended, [True, False, False, False, False])
    check = DivergenceCheck(1.0, 1.0, patience=3)
    assert not check.update(5.0).any() and check.end(11.0).tolist() == [True]


def test_the_constant_is_taken_only_above_ten_times_the_start():
    # The best constant's objective (a pass over the rows) only raises the ceiling
    # above 10 * start: below that, no objective needs it.
    calls = []
    check = DivergenceCheck(1.0, lambda: calls.append(1) or 3.0, patience=2)
    assert not check.update(9.0).any() and not check.end(10.0).any() and not calls
    assert not check.update(25.0).any() and calls == [1]  # above 10, below 30
    np.testing.assert_array_equal(check.reference, [3.0])
    assert [check.update(v).tolist() for v in (31.0, 32.0)] == [[False], [True]]
    assert calls == [1]
    eager = DivergenceCheck(1.0, 3.0, patience=2)
    flags = [eager.update(v).tolist() for v in (9.0, 25.0, 31.0, 32.0)]
    assert flags == [[False]] * 3 + [[True]]


def test_rule_ends_above_the_ceiling_and_updates_a_subset():
    check = DivergenceCheck(start=np.ones(3), constant=np.ones(3), patience=5)
    assert not check.update([2.0, 50.0, 2.0]).any()
    # Model 1 stops (its last epoch was above the ceiling, and so is its end); 0 and
    # 2 go on.
    assert check.end([60.0], models=[1]).tolist() == [True]
    assert check.update([1.0, 12.0], models=np.array([0, 2])).tolist() == [False, False]
    assert check.onset.tolist() == [0, 1, 2] and check.run.tolist() == [0, 2, 1]
    assert check.end([0.5, 9.0], models=[0, 2]).tolist() == [False, False]


def test_rule_ends_frozen_above_the_ceiling():
    # Ceiling 10. Model 0 falls tenfold an epoch, then freezes at 100: over the second
    # half of its run (9 values at its end) it came down, 100 < 0.9 * 1e3, but its last
    # five values lie within 1e-4 of each other (100 to 100.005). Model 1 falls as
    # 80 / t (five values from 16 to 10.5). Model 2 ends below the ceiling.
    check = DivergenceCheck(start=np.ones(3), constant=np.ones(3), patience=100)
    curves = np.array([
        [1e6, 1e5, 1e4, 1e3, 100.0, 100.0, 100.0, 100.0],
        [80.0, 40.0, 80 / 3, 20.0, 16.0, 80 / 6, 80 / 7, 10.0 + 1e-9],
        [80.0, 40.0, 80 / 3, 20.0, 16.0, 80 / 6, 80 / 7, 10.0 + 1e-9],
    ])  # fmt: skip
    assert not any(check.update(curves[:, e]).any() for e in range(curves.shape[1]))
    assert check.end([100.005, 10.5, 9.0]).tolist() == [True, False, False]
    # Not yet five values above the ceiling: not judged flat.
    check = DivergenceCheck(start=1.0, constant=1.0, patience=100)
    for value in (1e4, 1e3, 100.0):
        check.update(value)
    assert check.end(100.0).tolist() == [False]


def test_rule_ends_flat_only_where_the_run_still_stepped():
    # Flat above the ceiling after a schedule cut its step to a sliver is the cut's
    # doing: only a run still stepping (its last step at least FLAT_STEP = 1e-2 of its
    # learning rate) is judged frozen.
    for step_fraction, expected in [(1.0, [True]), (1e-2, [True]), (0.99e-2, [False])]:
        check = DivergenceCheck(start=1.0, constant=1.0, patience=100)
        # down a thousandfold over the second half of its run, the last five flat
        for value in (1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 100.0, 100.0, 100.0, 100.0):
            check.update(value)
        assert check.end(100.0, step_fraction=step_fraction).tolist() == expected


@pytest.mark.parametrize("patience", [1, 2, 5])
def test_rule_ends_a_subset_as_single_checks_do(patience):
    # Models that never went above the ceiling, or for fewer than FLAT_EPOCHS values,
    # among those that end (the search's ``models=``): the same answers as a check
    # per model, and no read outside each model's own values (patience 1 and 2 keep
    # a history of 2 and 4 rows).
    curves = np.array([
        [2.0, 3.0, 2.0, 2.5, 3.0, 2.0],  # below the ceiling of 10 throughout
        [50.0, 50.0, 50.0, 50.0, 50.0, 50.0],  # above and flat
        [2.0, 2.0, 2.0, 2.0, 50.0, 50.0],  # above for its last two only
    ])  # fmt: skip
    check = DivergenceCheck(start=np.ones(3), constant=np.ones(3), patience=patience)
    singles = [DivergenceCheck(1.0, 1.0, patience=patience) for _ in range(3)]
    for e in range(curves.shape[1] - 1):
        subset = [1, 2] if e % 2 else [0, 1, 2]  # model 0 sits out the odd epochs
        check.update(curves[subset, e], models=subset)
        for m in subset:
            singles[m].update(curves[m, e])
    ended = check.end(curves[[2, 0, 1], -1], models=[2, 0, 1])
    expected = [bool(singles[m].end(curves[m, -1])[0]) for m in (2, 0, 1)]
    assert ended.tolist() == expected


def test_plateau_cuts_that_brought_an_overshoot_back_do_not_raise():
    # Unscaled wine, hinge, AdaGrad at 10: the first epoch's objective is 4,020 (the
    # constant model's: 3, one per class), ReduceOnPlateau cuts the step to 1e-5 of
    # learning_rate and the fit ends flat at 42, above the ceiling of 30, with 89%
    # training accuracy. Not a divergence.
    X, y = datasets.load_wine(return_X_y=True)
    model = GDClassifier(loss="hinge", optimizer="adagrad", learning_rate=10.0, batch_size=64,
                         schedule=ReduceOnPlateau(patience=2), max_iter=300,
                         random_state=0).fit(X, y)  # fmt: skip
    assert model.loss_curve_[-1] > 3 * DIVERGENCE_FACTOR and model.score(X, y) > 0.85
    assert model.learning_rate_curve_[-1] < 1e-4 * model.learning_rate


def test_a_run_frozen_far_out_by_its_first_steps_raises(poisson_runaway):
    # Poisson, plain SGD at 1e3: the first steps throw the intercept to about -1e138,
    # where exp(raw) = 0; the L2 penalty alone then pulls the coefficients back, and
    # the objective falls from 1e271 for ~145 epochs to 2.8e138, flat. The plateau
    # rule stopped it there after 181 epochs and it was returned as fitted (this
    # shuffle seed; about 1 in 300 seeds did so). With tol=None it ends flat too.
    X, y, model = poisson_runaway
    model.set_params(random_state=315)
    with pytest.raises(DivergenceError, match=r"epoch 1 .*the fit ended there, at 2.8\d*e\+138"):
        model.fit(X, y)
    with pytest.raises(DivergenceError, match="the fit ended there"):  # the same run, to 200
        model.set_params(tol=None, max_iter=200).fit(X, y)


# scikit-learn's check_sample_weights_not_an_array data: 12 rows, two classes.
TWELVE_X = np.array([[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [2, 3], [2, 4],
                     [3, 1], [3, 2], [3, 3], [3, 4]], dtype=float)  # fmt: skip
TWELVE_Y = np.array([1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1])


@pytest.mark.parametrize("schedule", ["optimal", Warmup("optimal", warmup_steps=1)], ids=str)
@pytest.mark.parametrize("seed", [5, 9, 11])
def test_optimal_schedule_far_above_its_start_by_design_is_not_divergence(seed, schedule):
    """'optimal' steps from alpha ** -0.25 down as 1 / (alpha t): per-sample hinge on
    12 rows stays 10-24x its start for a dozen epochs, as scikit-learn's SGD does,
    before it falls. Those seeds raised a false DivergenceError (and behind a warm-up,
    which only scales its first step, until the warm-up passed the rule through)."""
    from sklearn.linear_model import SGDClassifier

    s = np.where(TWELVE_Y == 2, 1.0, -1.0)
    alpha = GDClassifier().alpha
    theirs = SGDClassifier(loss="hinge", alpha=alpha, max_iter=11, tol=None, random_state=seed)
    theirs.fit(TWELVE_X, TWELVE_Y)
    margin = s * (TWELVE_X @ theirs.coef_[0] + theirs.intercept_[0])
    # scikit-learn's own run is as far above its start (1) after 11 epochs
    assert np.maximum(0, 1 - margin).mean() + alpha / 2 * theirs.coef_[0] @ theirs.coef_[0] > 3
    model = GDClassifier(loss="hinge", optimizer="sgd", schedule=schedule, batch_size=1,
                         random_state=seed).fit(TWELVE_X, TWELVE_Y)  # fmt: skip
    assert np.isfinite(model.coef_).all()


def test_optimal_schedule_running_away_still_raises():
    X, y = datasets.load_diabetes(return_X_y=True)
    model = GDRegressor(schedule="optimal", optimizer="sgd", batch_size=1, random_state=0,
                        safe_steps=False)  # fmt: skip
    with pytest.raises(DivergenceError, match="epoch 1"):
        model.fit(X, y)
