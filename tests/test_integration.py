"""sklearn-gd inside scikit-learn's tools, its callbacks, the Display and the finder."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale

from sklearn_gd import GDClassifier, GDRegressor, LossCurveDisplay, find_learning_rate
from sklearn_gd.optimizers import Adam

X_C, Y_C = load_breast_cancer(return_X_y=True)
X_R, Y_R = load_diabetes(return_X_y=True)


def test_pipeline_grid_search_over_learning_rate_and_nested_optimizer_params():
    pipe = make_pipeline(StandardScaler(), GDClassifier(optimizer=Adam(), max_iter=20))
    grid = {"gdclassifier__learning_rate": [1e-3, 1e-2],
            "gdclassifier__optimizer__beta1": [0.8, 0.9]}  # fmt: skip
    search = GridSearchCV(pipe, grid, cv=3).fit(X_C, Y_C)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_[-1]
    assert best.optimizer.beta1 in (0.8, 0.9) and search.best_score_ > 0.9


def test_halving_grid_search_and_cross_validate():
    search = HalvingGridSearchCV(
        make_pipeline(StandardScaler(), GDRegressor(max_iter=50, random_state=0)),
        {"gdregressor__learning_rate": [0.01, 0.1, 1.0], "gdregressor__optimizer": ["adam", "sgd"]},
        cv=3, random_state=0,
    ).fit(X_R, Y_R)  # fmt: skip
    assert search.best_score_ > 0.4
    scores = cross_validate(make_pipeline(StandardScaler(), GDRegressor(random_state=0)),
                            X_R, Y_R, cv=3, return_estimator=True)  # fmt: skip
    assert scores["test_score"].mean() > 0.4 and len(scores["estimator"]) == 3


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trips_predict_the_same(tmp_path, dump):
    model = GDClassifier(random_state=0).fit(scale(X_C), Y_C)
    if dump == "pickle":
        again = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "model.joblib")
        again = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(again.predict_proba(scale(X_C)), model.predict_proba(scale(X_C)))
    assert clone(model).get_params() == model.get_params()


def test_pandas_frames_and_html_repr():
    pd = pytest.importorskip("pandas")
    data = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), GDClassifier(optimizer=Adam(beta1=0.8)))
    model.set_output(transform="pandas").fit(data.data, data.target)
    assert list(model[-1].feature_names_in_) == list(data.data.columns)
    assert isinstance(data.data, pd.DataFrame) and model.score(data.data, data.target) > 0.95
    html = model._repr_html_()
    assert "GDClassifier" in html and "Adam" in html


# --- scikit-learn's callbacks (scikit-learn >= 1.9) ---------------------------------


def test_scoring_monitor_records_a_score_per_epoch():
    callback = pytest.importorskip("sklearn.callback")
    monitor = callback.ScoringMonitor(scoring="accuracy")
    model = GDClassifier(max_iter=12, tol=None, random_state=0).set_callbacks(monitor)
    model.fit(scale(X_C), Y_C)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(rows) == 12
    # The last epoch's score is the fitted model's.
    assert rows[-1]["accuracy"] == pytest.approx(model.score(scale(X_C), Y_C))


def test_progress_bar_runs_and_propagates_through_meta_estimators(capsys):
    callback = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    GDRegressor(max_iter=3, tol=None).set_callbacks(callback.ProgressBar()).fit(X_R, Y_R)
    search = GridSearchCV(make_pipeline(StandardScaler(), GDRegressor(max_iter=3, tol=None)),
                          {"gdregressor__learning_rate": [0.01, 0.1]}, cv=2)  # fmt: skip
    search.set_callbacks(callback.ProgressBar()).fit(X_R, Y_R)
    assert hasattr(search, "best_estimator_")


def test_a_callback_can_stop_training():
    callback = pytest.importorskip("sklearn.callback")

    class StopAfterThree:
        def setup(self, estimator, context):
            self.epochs = 0

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, **kwargs):
            if context.task_name == "epoch":
                self.epochs += 1
                return self.epochs >= 3
            return False

        def teardown(self, estimator, context):
            pass

    assert isinstance(StopAfterThree(), callback.FitCallback)
    model = GDRegressor(max_iter=50, tol=None).set_callbacks(StopAfterThree()).fit(X_R, Y_R)
    assert model.n_iter_ == 3


# --- the learning-curve Display ---------------------------------------------------------


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_display_from_estimator_draws_each_curve(pyplot):
    model = GDClassifier(early_stopping=True, random_state=0, max_iter=30)
    model.fit(scale(X_C), Y_C)
    display = LossCurveDisplay.from_estimator(model, name="adam")
    assert [axis.get_ylabel() for axis in display.axes_] == [
        "training objective", "validation score", "step size"]  # fmt: skip
    for kind, attr in [("loss", "loss_curve_"), ("validation", "validation_score_curve_"),
                       ("learning_rate", "learning_rate_curve_")]:  # fmt: skip
        (line,) = display.lines_[kind]
        np.testing.assert_allclose(line.get_ydata(), getattr(model, attr))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, model.n_iter_ + 1))
        assert line.get_label() == "adam"


def test_display_from_estimators_compares_on_given_axes(pyplot):
    models = [
        make_pipeline(StandardScaler(), GDRegressor(optimizer=name, random_state=0)).fit(X_R, Y_R)
        for name in ("adam", "sgd")
    ]
    _, ax = pyplot.subplots()
    display = LossCurveDisplay.from_estimators(
        models, names=["adam", "sgd"], ax=ax, curves=["loss"]
    )
    assert display.axes_[0] is ax
    assert [line.get_label() for line in display.lines_["loss"]] == ["adam", "sgd"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["adam", "sgd"]
    with pytest.raises(ValueError, match="ax has 1 Axes for 2 curves"):
        display.plot(ax=ax, curves=["loss", "learning_rate"])
    with pytest.raises(ValueError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(StandardScaler().fit(X_R))


def test_display_needs_matplotlib_only_to_draw(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    model = GDRegressor(max_iter=3).fit(X_R, Y_R)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-gd\[plot\]'"):
        LossCurveDisplay.from_estimator(model)


# --- the learning-rate finder ---------------------------------------------------------------


def test_finder_suggests_a_rate_that_trains_and_leaves_the_estimator_alone(pyplot):
    estimator = GDClassifier(batch_size=16, random_state=0)
    before = pickle.dumps(estimator)
    result = find_learning_rate(estimator, scale(X_C), Y_C, random_state=0)
    assert pickle.dumps(estimator) == before and not hasattr(estimator, "coef_")
    rates = result.learning_rates
    assert rates[0] == pytest.approx(1e-6) and np.all(np.diff(rates) > 0)
    assert len(rates) == len(result.losses) == len(result.smoothed_losses)
    assert rates[0] < result.suggestion < rates[-1]
    # The suggested step trains well; the smallest barely moves.
    good = (
        clone(estimator)
        .set_params(learning_rate=result.suggestion, max_iter=5)
        .fit(scale(X_C), Y_C)
    )
    slow = clone(estimator).set_params(learning_rate=1e-6, max_iter=5).fit(scale(X_C), Y_C)
    assert good.score(scale(X_C), Y_C) > 0.95 > slow.score(scale(X_C), Y_C) - 0.3
    assert good.loss_curve_[-1] < slow.loss_curve_[-1]
    ax = result.plot()
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 3


def test_finder_stops_when_the_loss_explodes():
    # Poisson has no curvature bound: plain SGD blows up at large steps.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 4))
    y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1, 0.0]))
    result = find_learning_rate(GDRegressor(loss="poisson", optimizer="sgd", batch_size=32),
                                X, y, max_learning_rate=100.0, random_state=0)  # fmt: skip
    assert result.stopped_early and len(result.learning_rates) < 200
    assert result.suggestion < result.learning_rates[-1]
    with pytest.raises(ValueError, match="min_learning_rate < max_learning_rate"):
        find_learning_rate(GDRegressor(), X, y, min_learning_rate=1.0, max_learning_rate=0.1)


def test_long_epochs_report_progress_in_tenths():
    callback = pytest.importorskip("sklearn.callback")

    class Recorder:
        def setup(self, estimator, context):
            self.tasks = []

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, **kwargs):
            self.tasks.append(context.task_name)

        def teardown(self, estimator, context):
            pass

    assert isinstance(Recorder(), callback.FitCallback)
    X = np.random.RandomState(0).normal(size=(3_000, 3))
    y = X @ [1.0, 2.0, 3.0]
    recorder = Recorder()
    params = dict(batch_size=2, max_iter=2, tol=None, random_state=0, engine="numpy")
    model = GDRegressor(**params).set_callbacks(recorder).fit(X, y)
    assert recorder.tasks.count("batches") == 20 and recorder.tasks.count("epoch") == 2
    # Reporting in segments does not change a single step.
    np.testing.assert_array_equal(model.coef_, GDRegressor(**params).fit(X, y).coef_)
