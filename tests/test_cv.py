"""GDClassifierCV / GDRegressorCV: the one-pass search against separate fits and GridSearchCV."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gd import DivergenceError, GDClassifier, GDClassifierCV, GDRegressor, GDRegressorCV
from sklearn_gd import _cv as cv_module
from sklearn_gd._kernel import CompileError
from sklearn_gd.optimizers import SGD, Optimizer


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _assert_grid_equals_fits(search, base, X, y, folds, sample_weight=None):
    """Each (fold, grid point) model equals ``base`` fitted on that fold's training rows."""
    for g, params in enumerate(search.cv_results_["params"]):
        for k, (train, _) in enumerate(folds):
            sw = None if sample_weight is None else sample_weight[train]
            fit = clone(base).set_params(**params).fit(X[train], y[train], sample_weight=sw)
            coef = np.reshape(fit.coef_, search.coef_grid_[k, g].shape)
            np.testing.assert_allclose(search.coef_grid_[k, g], coef, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(search.intercept_grid_[k, g], fit.intercept_,
                                       rtol=1e-10, atol=1e-10)  # fmt: skip
            np.testing.assert_allclose(search.loss_curve_grid_[k][g], fit.loss_curve_,
                                       rtol=1e-10, atol=1e-12)  # fmt: skip
            assert search.n_iter_grid_[k, g] == fit.n_iter_


CLASSIFIER_CONFIGS = [
    dict(),  # adam, adaptive schedule: stops on its own rule at different epochs
    dict(optimizer="sgd", schedule="constant"),  # the step bound of non-scale-free rules
    dict(optimizer="momentum", penalty="elasticnet", clip_norm=0.5),
    dict(optimizer="adamw", loss="hinge", schedule="invscaling"),
    dict(optimizer="amsgrad", penalty="l1", class_weight="balanced", average=True),
]


@pytest.mark.parametrize("config", CLASSIFIER_CONFIGS, ids=str)
def test_full_batch_classifier_equals_separate_fits(cancer, config):
    X, y = cancer[0][::2], cancer[1][::2]
    base = GDClassifier(batch_size="full", max_iter=40, random_state=0, **config)
    search = GDClassifierCV(learning_rates=[0.003, 0.03, 0.3], alphas=[1e-3, 1e-2], cv=3,
                            refit=False, search="exhaustive", **base.get_params())  # fmt: skip
    search.set_params(batch_size="full").fit(X, y)
    folds = list(StratifiedKFold(3).split(X, y))
    _assert_grid_equals_fits(search, base, X, y, folds)


def test_full_batch_multinomial_with_weights_equals_separate_fits():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    base = GDClassifier(batch_size="full", max_iter=30, random_state=0)
    search = GDClassifierCV(learning_rates=[0.01, 0.1], cv=4, batch_size="full", max_iter=30,
                            refit=False, search="exhaustive")  # fmt: skip
    search.fit(X, y, sample_weight=sw)
    folds = list(StratifiedKFold(4).split(X, y))
    _assert_grid_equals_fits(search, base, X, y, folds, sample_weight=sw)


@pytest.mark.parametrize(
    "config",
    [dict(), dict(optimizer="sgd", loss="huber"), dict(loss="poisson", optimizer="rmsprop")],
    ids=str,
)
def test_full_batch_regressor_equals_separate_fits(diabetes, config):
    X, y = diabetes
    learning_rates = [0.01, 0.1, 1.0]
    if config.get("loss") == "poisson":
        y = y / 100.0
        # RMSProp's first step moves each weight by 3.2 * learning_rate: at 1.0 the
        # log-mean jumps by ~25 and the model stays 5e4 times above its start, which
        # a fit reports as divergence.
        learning_rates = [0.01, 0.03, 0.1]
    base = GDRegressor(batch_size="full", max_iter=40, random_state=0, **config)
    search = GDRegressorCV(learning_rates=learning_rates, cv=KFold(4, shuffle=True,
                           random_state=0), refit=False, search="exhaustive",
                           **base.get_params())  # fmt: skip
    search.fit(X, y)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X, y))
    _assert_grid_equals_fits(search, base, X, y, folds)


ONE_ROW_CONFIGS = [
    dict(),  # safe_steps bounds the large rates' steps by each row's curvature
    dict(penalty="l1", alpha=1e-2),  # the cumulative L1 penalty of one-row steps
    dict(alpha=20.0),  # lr * alpha > 1: the clamped L2 shrink
    dict(safe_steps=False, alpha=0.5, learning_rates=[0.01, 1.0, 3.0]),  # clamp, no bound
]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("config", ONE_ROW_CONFIGS, ids=str)
def test_one_row_batches_equal_separate_fits(cancer, config, engine):
    # Five unshuffled folds make the search's batches one row long (n / n_train = 1.25),
    # and shuffle=False has each model step on its training rows in the data's order:
    # then each model takes exactly the steps of its own fit, bound, clamp and all.
    X, y = cancer[0][::2], cancer[1][::2]
    config = {"learning_rates": [0.01, 1.0, 100.0], **config}
    learning_rates = config.pop("learning_rates")
    # engine='numba': the search's compiled epoch (the base fits compile too).
    base = GDClassifier(optimizer="sgd", schedule="constant", batch_size=1, shuffle=False,
                        max_iter=4, random_state=0, engine=engine, **config)  # fmt: skip
    search = GDClassifierCV(learning_rates=learning_rates, cv=KFold(5), refit=False,
                            search="exhaustive", **base.get_params()).fit(X, y)  # fmt: skip
    _assert_grid_equals_fits(search, base, X, y, list(KFold(5).split(X, y)))


COMPILED_CONFIGS = [
    (GDClassifierCV, "cancer", dict()),  # adam, adaptive: models stop at different epochs
    (GDClassifierCV, "cancer", dict(optimizer="momentum", schedule="invscaling", clip_norm=1.0)),
    (GDClassifierCV, "iris", dict(optimizer="nadam", class_weight="balanced")),  # multinomial
    (GDClassifierCV, "cancer_csr", dict(loss="modified_huber", optimizer="adagrad")),
    (GDClassifierCV, "cancer", dict(loss="hinge", penalty="l1", optimizer="adamw", average=True)),
    (GDRegressorCV, "diabetes", dict(penalty="elasticnet", optimizer="rmsprop")),
    (GDRegressorCV, "diabetes", dict(loss="huber", optimizer="sgd", batch_size=1, alpha=1e-2,
                                     penalty="l1", learning_rates=[1e-3, 1e-2, 0.1])),
]  # fmt: skip


@pytest.mark.parametrize("search, data, config", COMPILED_CONFIGS, ids=str)
def test_compiled_search_equals_numpy_search(search, data, config, cancer, diabetes):
    # The compiled epoch (_search_loop.py) takes the NumPy search's steps: the same
    # batches, rates, rules and stopping epochs, to rounding (the products' sums
    # are BLAS's in both, in other orders; 1e-9 over ten shuffled epochs).
    X, y = {"cancer": cancer, "diabetes": diabetes, "iris": load_iris(return_X_y=True),
            "cancer_csr": (sparse.csr_matrix(cancer[0]), cancer[1])}[data]  # fmt: skip
    params = dict(learning_rates=[0.003, 0.03, 0.3], cv=3, batch_size=16, max_iter=10,
                  random_state=0, refit=False, search="exhaustive")  # fmt: skip
    params.update(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # safe_steps bounds, kept as fitted
        numpy = search(engine="numpy", **params).fit(X, y)
        numba = search(engine="numba", **params).fit(X, y)
    np.testing.assert_array_equal(numba.n_iter_grid_, numpy.n_iter_grid_)
    for name in ("coef_grid_", "intercept_grid_"):
        np.testing.assert_allclose(getattr(numba, name), getattr(numpy, name), rtol=1e-9,
                                   atol=1e-11)  # fmt: skip
    for k in range(len(numpy.loss_curve_grid_)):
        for g in range(len(numpy.loss_curve_grid_[k])):
            np.testing.assert_allclose(numba.loss_curve_grid_[k][g], numpy.loss_curve_grid_[k][g],
                                       rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(numba.scores_, numpy.scores_, rtol=1e-9)


@pytest.mark.parametrize("search, data, config", [COMPILED_CONFIGS[i] for i in (2, 3, 5)],
                         ids=str)  # fmt: skip
def test_compiled_halving_within_the_first_epoch_equals_numpy(search, data, config, cancer,
                                                              diabetes, monkeypatch):  # fmt: skip
    # Rungs within the first epoch split it: the compiled and the NumPy epochs stop the
    # same models at the same batches, with the same weights (multinomial, CSR, several
    # outputs' raw predictions carried across the cut).
    monkeypatch.setattr(cv_module, "_RUNG_MIN_STEPS", 1)
    monkeypatch.setattr(cv_module, "_RUNG_MIN_ROWS", 1)
    X, y = {"cancer": cancer, "diabetes": diabetes, "iris": load_iris(return_X_y=True),
            "cancer_csr": (sparse.csr_matrix(cancer[0]), cancer[1])}[data]  # fmt: skip
    params = dict(learning_rates=10, cv=3, batch_size=4, max_iter=10, random_state=0,
                  refit=False)  # fmt: skip
    params.update(config)
    numpy = search(engine="numpy", **params).fit(X, y)
    numba = search(engine="numba", **params).fit(X, y)
    assert (0 < numpy.cv_results_["dropped_at_epoch"]).sum() == 9
    dropped = numpy.cv_results_["dropped_at_epoch"]
    assert ((0 < dropped) & (dropped < 1)).sum() >= 6, dropped
    np.testing.assert_array_equal(numba.cv_results_["dropped_at_epoch"],
                                  numpy.cv_results_["dropped_at_epoch"])  # fmt: skip
    np.testing.assert_array_equal(numba.n_iter_grid_, numpy.n_iter_grid_)
    for name in ("coef_grid_", "intercept_grid_", "scores_"):
        np.testing.assert_allclose(getattr(numba, name), getattr(numpy, name), rtol=1e-9,
                                   atol=1e-11)  # fmt: skip
    for k in range(3):
        for g in range(10):
            np.testing.assert_allclose(numba.loss_curve_grid_[k][g],
                                       numpy.loss_curve_grid_[k][g], rtol=1e-9)  # fmt: skip


def _damped(grad, velocity, mu):
    return mu * velocity + grad


def damped_rule(theta, grad, slots, lr, t, hyper):
    velocity = _damped(grad, slots[0], hyper[0])
    return theta - lr * velocity, (velocity,)


class Damped(Optimizer):
    """A user's rule with a helper of its own: the compiled search binds both."""

    slots = ("velocity",)
    hyper_names = ("mu",)
    rule = staticmethod(damped_rule)

    def __init__(self, mu=0.5):
        self.mu = mu


class LoggedSGD(SGD):
    """Overrides step(): only the NumPy search can honour it."""

    calls = 0

    def step(self, theta, grad, state, lr, t):
        LoggedSGD.calls += 1
        super().step(theta, grad, state, lr, t)


def test_user_rules_compile_or_fall_back_to_numpy(cancer):
    X, y = cancer
    params = dict(learning_rates=[0.01, 0.1], cv=3, batch_size=16, max_iter=90, tol=None,
                  random_state=0, refit=False, search="exhaustive")  # fmt: skip
    # A rule defined here, with a helper, compiles in the search (bound by module).
    numpy = GDClassifierCV(optimizer=Damped(), engine="numpy", **params).fit(X, y)
    numba = GDClassifierCV(optimizer=Damped(), engine="numba", **params).fit(X, y)
    np.testing.assert_allclose(numba.coef_grid_, numpy.coef_grid_, rtol=1e-9, atol=1e-11)
    # An overridden step() cannot compile: 'auto' (past the compile threshold) warns
    # and searches in NumPy, running it; 'numba' raises before anything trains.
    with pytest.warns(UserWarning, match="searches in NumPy.*overrides step"):
        auto = GDClassifierCV(optimizer=LoggedSGD(), **params).fit(X, y)
    assert LoggedSGD.calls > 0
    reference = GDClassifierCV(optimizer=LoggedSGD(), engine="numpy", **params).fit(X, y)
    np.testing.assert_array_equal(auto.coef_grid_, reference.coef_grid_)
    with pytest.raises(CompileError, match="engine='numba' cannot run this search"):
        GDClassifierCV(optimizer=LoggedSGD(), engine="numba", **params).fit(X, y)


@pytest.mark.parametrize(
    "search, base", [(GDClassifierCV, GDClassifier), (GDRegressorCV, GDRegressor)]
)
def test_parameters_are_the_base_estimators_and_the_searchs(search, base):
    # Written out for clone and get_params, checked here so that they cannot drift.
    params, base_params = search().get_params(), base().get_params()
    own = {"learning_rates", "alphas", "cv", "refit", "search", "factor"}
    assert set(params) == set(base_params) | own
    # Same defaults, except scoring: the search's is GridSearchCV's, the estimator's score.
    assert {k: params[k] for k in base_params if k != "scoring"} == {
        k: v for k, v in base_params.items() if k != "scoring"
    }
    assert params["scoring"] is None


def test_float32_input_trains_in_float32(cancer):
    # float32 data keeps float32 weights, and the steps of the float32 fits.
    X, y = cancer[0][::2].astype(np.float32), cancer[1][::2]
    base = GDClassifier(batch_size="full", max_iter=20, random_state=0)
    search = GDClassifierCV(learning_rates=[0.01, 0.1], cv=3, batch_size="full", max_iter=20,
                            refit=False, search="exhaustive").fit(X, y)  # fmt: skip
    assert search.coef_grid_.dtype == np.float32
    for g, params in enumerate(search.cv_results_["params"]):
        for k, (train, _) in enumerate(StratifiedKFold(3).split(X, y)):
            fit = clone(base).set_params(**params).fit(X[train], y[train])
            np.testing.assert_allclose(search.coef_grid_[k, g], fit.coef_, rtol=1e-4, atol=1e-5)


def _agrees_with_grid_search(search, base, X, y, cv):
    learning_rates = search.cv_results_["param_learning_rate"]
    reference = GridSearchCV(base, {"learning_rate": list(learning_rates)}, cv=cv).fit(X, y)
    ref = reference.cv_results_
    if search.search == "exhaustive":
        # Each grid point's mean CV score is within the fold-to-fold noise of GridSearchCV's
        # (halving scores the grid points at the epoch they leave the race instead).
        noise = np.maximum(ref["std_test_score"], search.cv_results_["std_test_score"])
        gap = np.abs(search.cv_results_["mean_test_score"] - ref["mean_test_score"])
        assert np.all(gap <= noise), (gap, noise)
    # The choice is GridSearchCV's, or scores within 0.005 of it there.
    chosen = list(learning_rates).index(search.learning_rate_)
    assert ref["mean_test_score"][chosen] >= reference.best_score_ - 0.005
    return reference


@pytest.mark.parametrize("search", ["halving", "exhaustive"])
def test_mini_batch_classifier_agrees_with_grid_search(cancer, search):
    X, y = cancer
    lrs = [1e-3, 1e-2, 1e-1, 1.0]
    search = GDClassifierCV(learning_rates=lrs, cv=5, batch_size=32, random_state=0,
                            search=search).fit(X, y)  # fmt: skip
    base = GDClassifier(batch_size=32, random_state=0)
    _agrees_with_grid_search(search, base, X, y, StratifiedKFold(5))
    assert search.best_estimator_.learning_rate == search.learning_rate_
    assert search.score(X, y) == search.best_estimator_.score(X, y)


@pytest.mark.parametrize("search", ["halving", "exhaustive"])
def test_mini_batch_regressor_agrees_with_grid_search(diabetes, search):
    X, y = diabetes
    lrs = [0.1, 1.0, 10.0]
    search = GDRegressorCV(learning_rates=lrs, cv=5, batch_size=16, random_state=0,
                           search=search).fit(X, y)  # fmt: skip
    base = GDRegressor(batch_size=16, random_state=0)
    _agrees_with_grid_search(search, base, X, y, KFold(5))


def test_regressor_search_reads_the_learning_rate_in_the_units_of_the_refit(diabetes):
    # The search trains on y / s with the refit's scale s, so the grid means the same
    # steps whatever the units of y: y * 2**10 gives the same scores and the same choice.
    X, y = diabetes
    params = dict(learning_rates=[1e-3, 0.1, 10.0], cv=3, random_state=0)
    plain = GDRegressorCV(**params).fit(X, y)
    scaled = GDRegressorCV(**params).fit(X, 1024.0 * y)
    np.testing.assert_allclose(scaled.scores_, plain.scores_, rtol=1e-9)
    assert scaled.learning_rate_ == plain.learning_rate_
    np.testing.assert_allclose(scaled.coef_grid_, 1024.0 * plain.coef_grid_, rtol=1e-9)
    np.testing.assert_allclose(scaled.coef_, 1024.0 * plain.coef_, rtol=1e-9)


def test_results_layout_and_alpha_grid(cancer):
    X, y = cancer
    search = GDClassifierCV(learning_rates=3, alphas=2, cv=3, random_state=0).fit(X, y)
    grid = search.learning_rate * 10.0 ** np.array([-2, 0, 2])  # centred on the default
    np.testing.assert_allclose(search.cv_results_["param_learning_rate"], np.repeat(grid, 2))
    np.testing.assert_allclose(search.cv_results_["param_alpha"], np.tile([1e-5, 1e-1], 3))
    assert search.scores_.shape == (3, 6)
    for k in range(3):
        np.testing.assert_array_equal(search.cv_results_[f"split{k}_test_score"],
                                      search.scores_[k])  # fmt: skip
    mean = search.scores_.mean(axis=0)
    assert search.best_score_ == mean.max()
    assert search.cv_results_["rank_test_score"][search.best_index_] == 1
    assert (search.learning_rate_, search.alpha_) == tuple(
        search.cv_results_["params"][search.best_index_].values()
    )
    np.testing.assert_array_equal(search.coef_, search.best_estimator_.coef_)
    np.testing.assert_array_equal(search.classes_, [0, 1])


def test_diverged_models_score_nan_and_rank_last(diabetes):
    X, y = diabetes
    search = GDRegressorCV(loss="poisson", optimizer="sgd", schedule="constant",
                           learning_rates=[1e-3, 1e3], cv=3, random_state=0)  # fmt: skip
    with pytest.warns(UserWarning):
        search.fit(X, y / 100.0)
    assert np.isnan(search.scores_[:, 1]).all()
    assert search.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert search.learning_rate_ == 1e-3
    with pytest.raises(DivergenceError, match="Every model"):
        GDRegressorCV(loss="poisson", optimizer="sgd", learning_rates=[1e3], cv=3).fit(X, y)


def test_pipeline_clone_pickle(cancer):
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), GDClassifierCV(learning_rates=3, cv=3, random_state=0))
    pipe.fit(X, y)
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))
    assert clone(pipe).get_params()["gdclassifiercv__learning_rates"] == 3
    assert pipe.score(X, y) > 0.97


@pytest.mark.parametrize("name", ["early_stopping", "restore_best_weights", "warm_start"])
def test_unsupported_options_raise(cancer, name):
    with pytest.raises(ValueError, match=f"does not support {name}=True"):
        GDClassifierCV(**{name: True}).fit(*cancer)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(learning_rates=[0.1, -1.0]), "learning_rates must be"),
        (dict(learning_rates=[]), "learning_rates must be"),
        (dict(learning_rates=["a"]), "learning_rates must be"),
        (dict(alphas=[np.nan]), "alphas must be"),
        (dict(alpha=0.0, alphas=3), "alphas=3 asks for values"),
        (dict(learning_rates=0), "learning_rates"),
        (dict(scoring="no_such_scorer"), "no_such_scorer"),
    ],
)
def test_bad_grid_raises(cancer, params, match):
    with pytest.raises(ValueError, match=match):
        GDClassifierCV(**params).fit(*cancer)


def test_refit_false_has_no_predict(cancer):
    search = GDClassifierCV(learning_rates=2, cv=3, refit=False).fit(*cancer)
    assert not hasattr(search, "best_estimator_")
    # As GridSearchCV's: absent, so that duck typing sees no predictor.
    for name in ("predict", "decision_function", "predict_proba", "predict_log_proba"):
        assert not hasattr(search, name)
    assert hasattr(GDClassifierCV(), "predict_proba")
    with pytest.raises(AttributeError, match="predict") as raised:
        search.predict(cancer[0])
    assert "refit=False" in str(raised.value.__cause__)  # available_if's reason


def test_scoring_name_and_loss(cancer):
    X, y = cancer
    auc = GDClassifierCV(learning_rates=3, cv=3, scoring="roc_auc", random_state=0).fit(X, y)
    assert 0.95 < auc.best_score_ <= 1.0
    loss = GDClassifierCV(learning_rates=3, cv=3, scoring="loss", random_state=0).fit(X, y)
    assert np.all(loss.scores_ < 0)


# The defaults pass too (7 learning rates, 4 decades), but the smallest rates of
# their grid make the contract checks take minutes: a narrower grid runs the same code.
# The regressor's sample-weight checks compare to rtol 1e-7 a fit on repeated rows
# (more rows a fold: mini-batches, which 'auto' stops within tol of the optimum)
# with a weighted one (full batches): scikit-learn's schedule converges that tightly,
# as in test_sklearn_checks.py.
@parametrize_with_checks([GDClassifierCV(learning_rates=[0.003, 0.03, 0.3]),
                          GDRegressorCV(learning_rates=[0.03, 0.3, 3.0],
                                        schedule="adaptive")])  # fmt: skip
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_mini_batch_models_stop_as_separate_fits_do(cancer):
    # Each model's monitor is the one its own fit builds ('auto' on mini-batches reads
    # the objective at the averaged weights): the batches' order differs between the
    # search and the fits, so the epochs run agree on average, not exactly.
    X, y = cancer
    rates, folds = [0.003, 0.1, 3.0], StratifiedKFold(4)
    search = GDClassifierCV(learning_rates=rates, cv=folds, batch_size=32, random_state=0,
                            refit=False, search="exhaustive").fit(X, y)  # fmt: skip
    for g, lr in enumerate(rates):
        fits = [
            GDClassifier(learning_rate=lr, batch_size=32, random_state=0).fit(X[tr], y[tr])
            for tr, _ in folds.split(X, y)
        ]
        expected = np.mean([fit.n_iter_ for fit in fits])
        assert 0.6 * expected <= search.cv_results_["mean_n_iter"][g] <= 1.6 * expected


def test_a_finite_run_away_is_diverged_as_in_the_base_fit(diabetes):
    # Plain SGD at 1.0 on standardized diabetes runs away without overflowing (the
    # objective reaches ~5e8, R^2 ~ -2e5): GDRegressor.fit raises, and the search
    # scores that grid point NaN, ranked last, as for a non-finite model.
    X, y = diabetes
    config = dict(optimizer="sgd", schedule="constant", batch_size="full", random_state=0)
    with pytest.raises(DivergenceError, match="epoch"):
        GDRegressor(learning_rate=1.0, **config).fit(X, y)
    search = GDRegressorCV(learning_rates=[0.01, 1.0], cv=3, search="exhaustive", **config)
    with pytest.warns(UserWarning, match="diverged"):
        search.fit(X, y)
    assert np.isnan(search.scores_[:, 1]).all() and np.isfinite(search.scores_[:, 0]).all()
    assert search.learning_rate_ == 0.01
    # Halving drops it at the first epoch instead, scored as it stands (far below 0.01's).
    halving = GDRegressorCV(learning_rates=[0.01, 1.0], cv=3, **config).fit(X, y)
    assert halving.cv_results_["dropped_at_epoch"].tolist() == [0, 1]
    assert halving.learning_rate_ == 0.01


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning")
@pytest.mark.parametrize(
    "search, base, data",
    [(GDClassifierCV, GDClassifier(), "cancer"), (GDRegressorCV, GDRegressor(), "diabetes")],
    ids=["classifier", "regressor"],
)
def test_full_batch_halving_is_grid_search_over_epochs(search, base, data, cancer, diabetes):
    # Successive halving with the epochs as the resource, checked against GridSearchCV
    # over fits stopped after each checkpoint's epochs (max_iter=e) on the same folds:
    # at epoch 1 the best ceil(7 / 3) = 3 grid points by mean held-out score go on, at
    # epoch 3 the best one wins; every model is its fit stopped at the epoch its point
    # left the race (to 1e-10) and scores what that fit scores. A fit that ends above
    # the run-away ceiling raises (GridSearchCV: NaN, last); a model halving stops there
    # is not ending, and is scored as it stands (last too).
    X, y = {"cancer": cancer, "diabetes": diabetes}[data]
    cv = (StratifiedKFold if data == "cancer" else KFold)(3)
    base = clone(base).set_params(batch_size="full", random_state=0, scoring=None)
    halving = search(learning_rates=7, cv=cv, refit=False, **base.get_params()).fit(X, y)
    dropped = halving.cv_results_["dropped_at_epoch"]
    assert sorted(dropped.tolist()) == [0, 1, 1, 1, 1, 3, 3]
    lrs = list(halving.cv_results_["param_learning_rate"])
    racing = list(range(7))
    for epoch, n_dropped in [(1, 4), (3, 2)]:
        reference = GridSearchCV(
            clone(base).set_params(max_iter=epoch),
            {"learning_rate": [lrs[g] for g in racing]},
            cv=cv,
        ).fit(X, y)
        mean = reference.cv_results_["mean_test_score"]
        order = np.argsort(-mean, kind="stable")  # the first of ties goes on; NaN last
        out = [racing[j] for j in order[len(racing) - n_dropped :]]
        assert sorted(np.flatnonzero(dropped == epoch).tolist()) == sorted(out)
        for j, g in enumerate(racing):
            if (g in out or epoch == 3) and np.isfinite(mean[j]):
                splits = [reference.cv_results_[f"split{k}_test_score"][j] for k in range(3)]
                np.testing.assert_allclose(halving.scores_[:, g], splits, rtol=1e-10,
                                           atol=1e-12)  # fmt: skip
        racing = [g for g in racing if g not in out]
    assert racing == [halving.best_index_] and lrs[halving.best_index_] == halving.learning_rate_
    stopped = clone(base).set_params(max_iter=1)  # the fits of _assert_grid_equals_fits
    for g in range(7):
        for k, (train, _) in enumerate(cv.split(X, y)):
            fit = clone(stopped).set_params(
                learning_rate=lrs[g], max_iter=int(halving.n_iter_grid_[k, g])
            )
            try:
                fit.fit(X[train], y[train])
            except DivergenceError:  # a run-away that halving dropped first
                assert dropped[g] == 1
                continue
            coef = np.reshape(fit.coef_, halving.coef_grid_[k, g].shape)
            np.testing.assert_allclose(halving.coef_grid_[k, g], coef, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(halving.loss_curve_grid_[k][g], fit.loss_curve_,
                                       rtol=1e-10, atol=1e-12)  # fmt: skip
    # Ranked by how long each point stayed in the race, then by score.
    rank = halving.cv_results_["rank_test_score"]
    assert rank[halving.best_index_] == 1
    assert max(rank[dropped == 3]) < min(rank[dropped == 1])


def test_halving_parameters(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="factor"):
        GDClassifierCV(factor=1.0).fit(X, y)
    with pytest.raises(ValueError, match="search"):
        GDClassifierCV(search="random").fit(X, y)
    # factor=2: checkpoints at epochs 1, 2, 4 and 8 rounds of halving 8 -> 4 -> 2 -> 1.
    search = GDClassifierCV(learning_rates=8, cv=3, factor=2, batch_size="full",
                            random_state=0, refit=False).fit(X, y)  # fmt: skip
    assert sorted(search.cv_results_["dropped_at_epoch"].tolist()) == [0, 1, 1, 1, 1, 2, 2, 4]
    # A single grid point is not raced: it trains to its own stopping rule.
    one = GDClassifierCV(learning_rates=[0.1], cv=3, random_state=0, refit=False).fit(X, y)
    alone = GDClassifierCV(learning_rates=[0.1], cv=3, random_state=0, refit=False,
                           search="exhaustive").fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(one.n_iter_grid_, alone.n_iter_grid_)
    np.testing.assert_array_equal(one.scores_, alone.scores_)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_halving_rungs_within_the_first_epoch_are_partial_fits(cancer, engine, monkeypatch):
    # The first rungs fall after 1/9 and 1/3 of the first epoch's batches (here 6 and 16
    # of 48: their row and step minimums lowered to reach them on this data), the next
    # at its end. At each, every model is the base estimator's partial_fit over its
    # training rows of the batches so far, one call a batch (shuffle=False: the data's
    # batches in order, rows_per_batch = round(8 * n / n_train) = 12 rows, a fold's
    # share of them each), and the grid points dropped are those that the ranking of
    # those fits' mean held-out accuracy drops (10 -> ceil(10 / 3) = 4 -> 2 -> 1). The
    # two points that finish the epoch have its objective: each batch's log loss and
    # L2 penalty at the weights it stepped from, summed over the fold's training rows.
    monkeypatch.setattr(cv_module, "_RUNG_MIN_STEPS", 1)
    monkeypatch.setattr(cv_module, "_RUNG_MIN_ROWS", 1)
    X, y = cancer
    cv = KFold(3, shuffle=True, random_state=0)  # every batch holds rows of every fold
    folds, lrs = list(cv.split(X, y)), 0.1 * 10.0 ** np.linspace(-2, 2, 10)
    config = dict(schedule="constant", average=False, shuffle=False, random_state=0)
    halving = GDClassifierCV(learning_rates=lrs, cv=cv, batch_size=8, refit=False,
                             engine=engine, **config).fit(X, y)  # fmt: skip
    dropped = halving.cv_results_["dropped_at_epoch"]
    np.testing.assert_allclose(sorted(dropped), [0] + [6 / 48] * 6 + [16 / 48] * 2 + [1])
    base = GDClassifier(batch_size="full", **config)
    alpha = base.alpha
    racing = list(range(10))
    for batches in (6, 16, 48):
        mean = np.zeros(len(racing))
        for j, g in enumerate(racing):
            for k, (train, test) in enumerate(folds):
                fit = clone(base).set_params(learning_rate=lrs[g])
                coef, intercept, objective = np.zeros(X.shape[1]), 0.0, 0.0
                for start in range(0, 12 * batches, 12):
                    rows = train[(train >= start) & (train < start + 12)]
                    margin = (2 * y[rows] - 1) * (X[rows] @ coef + intercept)
                    objective += np.logaddexp(0, -margin).sum() + len(rows) * alpha / 2 * (
                        coef @ coef
                    )
                    fit.partial_fit(X[rows], y[rows], classes=[0, 1])
                    coef, intercept = fit.coef_.ravel(), fit.intercept_[0]
                mean[j] += fit.score(X[test], y[test]) / 3
                if dropped[g] == batches / 48 or (batches == 48 and dropped[g] == 0):
                    assert halving.n_iter_grid_[k, g] == batches / 48
                    np.testing.assert_allclose(halving.coef_grid_[k, g], fit.coef_,
                                               rtol=1e-9, atol=1e-10)  # fmt: skip
                    np.testing.assert_allclose(halving.intercept_grid_[k, g], fit.intercept_,
                                               rtol=1e-9, atol=1e-10)  # fmt: skip
                    assert halving.scores_[k, g] == fit.score(X[test], y[test])
                    curve = [objective / len(train)] if batches == 48 else []
                    np.testing.assert_allclose(halving.loss_curve_grid_[k][g], curve, rtol=1e-9)
        order = np.argsort(-mean, kind="stable")  # the first of ties goes on
        going = [racing[j] for j in order[: -(-len(racing) // 3)]]
        out = sorted(set(racing) - set(going))
        assert sorted(np.flatnonzero(dropped == batches / 48).tolist()) == out
        racing = going
    assert racing == [halving.best_index_]


def test_halving_rungs_need_rows_and_steps(cancer):
    # Within the first epoch a rung needs every model to have taken 20 steps on 1,000
    # of its training rows: none on breast cancer (455 training rows), so its race
    # starts at epoch 1.
    X, y = cancer
    search = GDClassifierCV(learning_rates=7, cv=5, batch_size=16, random_state=0, refit=False)
    assert set(search.fit(X, y).cv_results_["dropped_at_epoch"]) <= {0, 1, 3, 9, 27}
    # 12,000 rows, 5 folds, batches of 32 training rows (40 rows of the data): 300 batches.
    big = GDClassifierCV(learning_rates=7, cv=5, batch_size=32, random_state=0, refit=False)
    assert big._first_epoch_rungs(300, 32) == [34, 100]  # 34 steps on 1,088 rows, 100 on 3,200
    assert big._first_epoch_rungs(300, 12) == [100]  # 34 steps on 408 rows: too few rows
    big.set_params(factor=10)  # 1/100: 3 steps, too few; 1/10: 30 steps
    assert big._first_epoch_rungs(300, 40) == [30]


def test_halving_ranks_points_above_the_run_away_ceiling_last():
    # On raw breast cancer (features up to ~4,000) Adam's objective after one epoch is
    # 0.70, 1.32 and 6.19 at the three smallest rates and 28.5 to 2,838 at 0.1 to 10,
    # against a ceiling of 6.93 (10x the start's): rated on held-out accuracy alone,
    # 2.15 led at epoch 3 and its refit raised DivergenceError after 18 epochs above.
    X, y = load_breast_cancer(return_X_y=True)
    search = GDClassifierCV(random_state=0).fit(X, y)  # the refit does not raise
    grid = search.cv_results_["param_learning_rate"]
    assert search.learning_rate_ in grid[:3]
    assert (search.cv_results_["dropped_at_epoch"][3:] == 1).all()
    # SGD: every rate is above the ceiling after an epoch, and the point that wins the
    # race (the least far above) trains on to its own end: the choice of the
    # exhaustive search, which trains every model to its end.
    sgd = dict(optimizer="sgd", random_state=0, refit=False)
    halving = GDClassifierCV(**sgd).fit(X, y)
    assert (
        halving.learning_rate_
        == GDClassifierCV(search="exhaustive", **sgd).fit(X, y).learning_rate_
    )
    assert halving.n_iter_grid_[:, halving.best_index_].min() > 3  # not stopped by the race


def test_halving_raises_when_no_point_trains(diabetes):
    # Both rates run away (R^2 ~ -1e210 after an epoch): the point dropped above the
    # ceiling is not a choice, and the winner, trained on, diverges.
    X, y = diabetes
    search = GDRegressorCV(learning_rates=[1e6, 1e8], optimizer="sgd", safe_steps=False,
                           refit=False, engine="numpy")  # fmt: skip
    with pytest.raises(DivergenceError, match="Every model of the search diverged"):
        search.fit(X, y)


def test_halving_rungs_count_rows_of_weight_zero_as_removed():
    # 6,000 rows, 5 folds, batches of 16 training rows (20 of the data): 300 batches, a
    # rung after 100 of them (1,600 rows a model). With 90% of the rows weighted 0, a
    # model has seen 160 rows there: too few, as when those rows are removed.
    from sklearn.datasets import make_classification

    X, y = make_classification(6000, 5, random_state=0)
    params = dict(learning_rates=5, cv=5, batch_size=16, max_iter=1, random_state=0,
                  refit=False)  # fmt: skip
    dropped = GDClassifierCV(**params).fit(X, y).cv_results_["dropped_at_epoch"]
    assert ((0 < dropped) & (dropped < 1)).any()
    sw = np.where(np.arange(6000) % 10 == 0, 1.0, 0.0)
    search = GDClassifierCV(**params).fit(X, y, sample_weight=sw)
    assert set(search.cv_results_["dropped_at_epoch"]) <= {0.0, 1.0}


def test_a_scorer_gets_the_rows_as_given():
    # As GridSearchCV passes them: a DataFrame's slice, to a model that knows its
    # feature names (a scorer may read columns by name).
    pd = pytest.importorskip("pandas")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = pd.DataFrame(StandardScaler().fit_transform(X), columns=X.columns)
    seen = []

    def scorer(estimator, X_test, y_test):
        seen.append((type(X_test), type(y_test), list(estimator.feature_names_in_)))
        return float(X_test["mean radius"].notna().mean()) * estimator.score(X_test, y_test)

    GDClassifierCV(learning_rates=2, cv=3, scoring=scorer, refit=False).fit(X, y)
    assert seen and all(s == (pd.DataFrame, pd.Series, list(X.columns)) for s in seen)
