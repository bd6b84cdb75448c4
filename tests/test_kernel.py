"""The compiled loop (numba extra) equals the NumPy loop for every registry entry."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd.losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from sklearn_gd.optimizers import OPTIMIZERS, AdamW

pytest.importorskip("numba")


def _both(Estimator, X, y, **params):
    params = dict(max_iter=3, tol=None, random_state=0, **params)
    compiled = Estimator(engine="numba", **params).fit(X, y)
    reference = Estimator(engine="numpy", **params).fit(X, y)
    return compiled, reference


def _assert_same(compiled, reference):
    # On the scale of all the weights: a softmax intercept can sit near 0.
    scale = max(np.abs(reference.coef_).max(), np.abs(reference.intercept_).max())
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(compiled.intercept_, reference.intercept_, rtol=0,
                               atol=1e-12 * scale)  # fmt: skip
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=1e-12)
    assert compiled.t_ == reference.t_


@pytest.mark.parametrize("loss", sorted(REGRESSION_LOSSES))
def test_every_regression_loss(loss):
    X, y = make_regression(300, 6, noise=1.0, random_state=0)
    X /= X.std(0)
    if loss == "poisson":
        y = np.random.RandomState(0).poisson(np.exp(X[:, 0] / 3))
    _assert_same(
        *_both(
            GDRegressor,
            X,
            y,
            loss=loss,
            optimizer="sgd",
            batch_size=1,
            learning_rate=0.001,
            penalty="elasticnet",
            alpha=1e-3,
        )
    )


@pytest.mark.parametrize("loss", sorted(CLASSIFICATION_LOSSES))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_every_classification_loss(loss, n_classes):
    X, y = make_classification(300, 6, n_informative=4, n_classes=n_classes, random_state=0)
    _assert_same(
        *_both(GDClassifier, X, y, loss=loss, optimizer="sgd", batch_size=1, learning_rate=0.01)
    )


@pytest.mark.parametrize("batch_size", [1, 3, 7, 300])
@pytest.mark.parametrize("loss, n_classes", [("log_loss", 2), ("log_loss", 3), ("hinge", 3)])
def test_batches_whose_size_is_not_a_multiple_of_four(batch_size, loss, n_classes):
    # The gradient sweep takes rows four at a time: the remainder must still count.
    # One-row batches take the fused row step on dense rows and the lazy loop on
    # sparse ones (with three one-vs-rest outputs for hinge, or one softmax). (SGD:
    # Adam's first steps are sign-like, and would magnify rounding in a near-zero
    # gradient.)
    X, y = make_classification(300, 6, n_informative=4, n_classes=n_classes, random_state=0)
    for data in (X, sp.csr_matrix(X)):
        params = dict(loss=loss, batch_size=batch_size, optimizer="sgd", learning_rate=0.01)
        _assert_same(*_both(GDClassifier, data, y, **params))


@pytest.mark.parametrize("n_classes", [4, 5, 7])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_sparse_softmax_batches_take_four_outputs_at_a_time(n_classes, fit_intercept,
                                                            batch_size):  # fmt: skip
    # A CSR batch takes its rows' products and gradients four outputs at a time
    # (csr_dots, csr_add_outputs), and so does the lazy per-sample step its products:
    # a whole group, and a last group of one to three outputs whose unused places
    # repeat the last output, which must count once.
    X, y = make_classification(300, 8, n_informative=6, n_classes=n_classes, random_state=4)
    X[np.abs(X) < 0.7] = 0.0
    sw = np.random.RandomState(1).uniform(0.1, 3.0, size=300)
    params = dict(batch_size=batch_size, optimizer="sgd", learning_rate=0.05,
                  fit_intercept=fit_intercept,
                  max_iter=3, tol=None, random_state=0)  # fmt: skip
    compiled = GDClassifier(engine="numba", **params).fit(sp.csr_matrix(X), y, sample_weight=sw)
    reference = GDClassifier(engine="numpy", **params).fit(X, y, sample_weight=sw)
    _assert_same(compiled, reference)


@pytest.mark.parametrize(
    "params",
    [dict(optimizer="adam"), dict(optimizer=AdamW(weight_decay=0.1)),
     dict(optimizer="rmsprop", penalty="elasticnet", alpha=1e-2)],
)  # fmt: skip
def test_per_sample_softmax_row_step(params):
    # A one-row softmax step takes every output's raw prediction before it steps any:
    # the fused row step, dense and sparse (a rule that is not linear: no lazy path),
    # with AdamW's decay and the cumulative L1 penalty of one-row steps.
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=3)
    X[np.abs(X) < 0.5] = 0.0
    for data in (X, sp.csr_matrix(X)):
        _assert_same(*_both(GDClassifier, data, y, batch_size=1, learning_rate=1e-3, **params))


@pytest.mark.parametrize("alpha", [1e-4, 0.5, 10.0, 25.0])
@pytest.mark.parametrize("average", ["auto", 100])
def test_lazy_sparse_per_sample_sgd(alpha, average):
    # Per-sample SGD on sparse rows keeps the L2 decay as one scale and the average
    # lazily. alpha=0.5 makes the scale fall below 1e-9 every ~400 steps, when it is
    # written out; alpha=10 makes lr * alpha = 1, a decay to exactly 0 at every step;
    # alpha=25 makes it 2.5, where the shrink is clamped at 0 (scikit-learn's SGD).
    X, y = make_classification(300, 40, n_informative=5, n_classes=3, random_state=3)
    X[np.abs(X) < 1.2] = 0.0
    sw = np.random.RandomState(0).uniform(0.1, 3.0, size=300)
    params = dict(optimizer="sgd", batch_size=1, learning_rate=0.1, alpha=alpha,
                  average=average, max_iter=3, tol=None, random_state=0)  # fmt: skip
    # multinomial (softmax: each row's outputs stepped together), one-vs-rest, binary
    for loss, target in (("log_loss", y), ("hinge", y), ("log_loss", y == 0)):
        compiled = GDClassifier(engine="numba", loss=loss, **params)
        compiled.fit(sp.csr_matrix(X), target, sample_weight=sw)
        reference = GDClassifier(engine="numpy", loss=loss, **params)
        _assert_same(compiled, reference.fit(X, target, sample_weight=sw))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lazy_sparse_per_sample_sgd_regression_warm_start_and_float32(fit_intercept):
    X, y = make_regression(300, 40, n_informative=5, noise=1.0, random_state=0)
    X[np.abs(X) < 1.0] = 0.0
    params = dict(optimizer="sgd", batch_size=1, learning_rate=0.01, alpha=0.01, max_iter=3,
                  tol=None, random_state=0, fit_intercept=fit_intercept,
                  warm_start=True)  # fmt: skip
    compiled = GDRegressor(engine="numba", **params).fit(sp.csr_matrix(X), y)
    reference = GDRegressor(engine="numpy", **params).fit(X, y)
    _assert_same(compiled, reference)
    _assert_same(compiled.fit(sp.csr_matrix(X), y), reference.fit(X, y))  # from the last weights
    X32 = X.astype(np.float32)
    compiled = GDRegressor(engine="numba", **params).fit(sp.csr_matrix(X32), y)
    reference = GDRegressor(engine="numpy", **params).fit(X32, y)
    assert compiled.coef_.dtype == np.float32
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer(optimizer):
    X, y = make_regression(300, 6, noise=1.0, random_state=1)
    _assert_same(
        *_both(
            GDRegressor,
            X,
            y,
            optimizer=optimizer,
            batch_size=16,
            learning_rate=0.01,
            penalty="l1",
            alpha=1e-2,
            average=20,
            clip_norm=50.0,
        )
    )


def test_sparse_and_float32_and_weights():
    X, y = make_classification(300, 20, n_informative=5, random_state=2)
    X[np.abs(X) < 1.0] = 0.0
    sw = np.random.RandomState(0).uniform(0.1, 3.0, size=300)
    params = dict(max_iter=3, tol=None, random_state=0, batch_size=8)
    a = GDClassifier(engine="numba", **params).fit(sp.csr_matrix(X), y, sample_weight=sw)
    b = GDClassifier(engine="numpy", **params).fit(sp.csr_matrix(X), y, sample_weight=sw)
    _assert_same(a, b)
    c = GDClassifier(engine="numba", **params).fit(X.astype(np.float32), y)
    d = GDClassifier(engine="numpy", **params).fit(X.astype(np.float32), y)
    assert c.coef_.dtype == np.float32
    np.testing.assert_allclose(c.coef_, d.coef_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sparse_x", [False, True])
@pytest.mark.parametrize("batch_size", [1, 16])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_equal_weights_are_read_once(sparse_x, batch_size, n_classes):
    """Where all weights are equal the compiled loop reads the first for every row
    (``Config.weighted``): its fits equal NumPy's with equal weights other than 1, and
    with weights equal but in the last row, which reading the first would get wrong.
    One-row batches take the row step (sparse: the lazy step) and safe steps; three
    classes the softmax's row-wise steps."""
    X, y = make_classification(200, 8, n_informative=4, n_classes=n_classes, random_state=3)
    if sparse_x:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    params = dict(max_iter=3, tol=None, random_state=0, batch_size=batch_size,
                  optimizer="sgd", learning_rate=0.05, alpha=1e-3)  # fmt: skip
    for sw in (np.full(200, 2.5), np.r_[np.full(199, 2.5), 0.5]):
        a = GDClassifier(engine="numba", **params).fit(X, y, sample_weight=sw)
        b = GDClassifier(engine="numpy", **params).fit(X, y, sample_weight=sw)
        _assert_same(a, b)


def test_auto_engine_compiles_only_long_epochs(monkeypatch):
    from sklearn_gd import _engine

    calls = []
    real = _engine.Trainer._compiled_loop
    monkeypatch.setattr(
        _engine.Trainer, "_compiled_loop", lambda self, *a: calls.append(1) or real(self, *a)
    )
    X, y = make_regression(3000, 4, random_state=0)
    GDRegressor(batch_size=32, max_iter=1).fit(X, y)
    assert not calls  # 94 steps: NumPy, no compilation
    GDRegressor(batch_size=1, max_iter=1, optimizer="sgd", learning_rate=1e-3).fit(X, y)
    assert calls  # 3000 steps: compiled
    calls.clear()
    stream = GDRegressor(batch_size=10)
    for start in range(0, 3000, 10):  # 300 calls of one step: a short stream
        stream.partial_fit(X[start : start + 10], y[start : start + 10])
    assert not calls
    for _ in range(6):  # from the call that takes the stream to 2000 steps, compiled
        for start in range(0, 3000, 10):
            stream.partial_fit(X[start : start + 10], y[start : start + 10])
    assert stream.t_ == 2100 and len(calls) == 101


def test_unwritable_cache_falls_back_to_the_temp_dir(tmp_path, monkeypatch):
    from sklearn_gd import _kernel

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(blocker / "cache"))
    assert _kernel._cache_dir().is_dir()
    assert str(_kernel._cache_dir()).startswith(str(__import__("tempfile").gettempdir()))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
@pytest.mark.parametrize("clip_norm", [None, 1e3])
def test_safe_steps_bound_the_same_steps(optimizer, clip_norm):
    # Rows of very different norms: safe_steps binds on the large ones. Dense and
    # sparse, the fused row step and (with clip_norm) the batch step, the lazy loop.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 8)) * np.where(rng.uniform(size=200) < 0.2, 20.0, 1.0)[:, None]
    X[np.abs(X) < 0.5] = 0.0
    y = X @ rng.normal(size=8) + rng.normal(size=200)
    params = dict(
        optimizer=optimizer,
        batch_size=1,
        learning_rate=0.02,
        penalty="elasticnet",
        alpha=1e-3,
        clip_norm=clip_norm,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    for data in (X, sp.csr_matrix(X)):
        if optimizer != "sgd" and clip_norm is None:
            # Momentum sums the bounded steps of the large rows: the run runs away
            # (1e228 after 3 epochs) and both engines raise the same error.
            errors = []
            for engine in ("numba", "numpy"):
                with pytest.raises(DivergenceError, match="not coming down") as error:
                    GDRegressor(engine=engine, **params).fit(data, y)
                errors.append(str(error.value))
            assert errors[0] == errors[1]
            continue
        with pytest.warns(UserWarning, match="safe_steps bound") as compiled_warnings:
            compiled = GDRegressor(engine="numba", **params).fit(data, y)
        with pytest.warns(UserWarning, match="safe_steps bound") as numpy_warnings:
            reference = GDRegressor(engine="numpy", **params).fit(data, y)
        _assert_same(compiled, reference)
        assert str(compiled_warnings[0].message) == str(numpy_warnings[0].message)
        np.testing.assert_allclose(
            compiled.learning_rate_curve_, reference.learning_rate_curve_, rtol=1e-12
        )
    sgd = dict(params, optimizer="sgd", penalty="l2", clip_norm=None)  # the lazy loop
    with pytest.warns(UserWarning, match="safe_steps bound"):
        compiled = GDRegressor(engine="numba", **sgd).fit(sp.csr_matrix(X), y)
        reference = GDRegressor(engine="numpy", **sgd).fit(X, y)
    _assert_same(compiled, reference)


def test_the_loop_module_is_the_kernel_of_its_default_bindings():
    # _loop.py, as linted and read, is what runs: a kernel is the module with only its
    # bindings block replaced, and the block as written binds the library's own squared
    # error, plain SGD and dense rows (what kernel_source binds for that combination).
    import sklearn_gd._loop as loop_module
    from sklearn_gd import _engine, _kernel, penalties
    from sklearn_gd.losses import SquaredError
    from sklearn_gd.optimizers import SGD

    head, tail = _kernel._loop_source()
    source, _ = _kernel.kernel_source(SquaredError, SGD, sparse=False)
    assert source.startswith(head + _kernel._BEGIN) and source.endswith(_kernel._END + tail)
    bound = _kernel._bound_functions(SquaredError, SGD)
    assert bound == {
        "_gradient": loop_module._gradient,
        "_row_gradient": loop_module._row_gradient,
        "_rule": loop_module._rule,
        "_effective": loop_module._effective,
        "_prox": loop_module._prox,
        "_bound_factor": loop_module._bound_factor,
        "_cumulative": loop_module._cumulative,
    }
    assert loop_module._bound_factor is _engine.bound_factor
    assert loop_module._cumulative is penalties.cumulative_l1
    block = source[len(head + _kernel._BEGIN) : -len(_kernel._END + tail)]
    for name in ("CACHE", "CSR", "ROWWISE", "LAZY"):
        assert f"{name} = {getattr(loop_module, name)}\n" in block
    # The loop's arguments are the three named tuples, by field name.
    assert loop_module.loop.py_func.__code__.co_varnames[:3] == ("data", "c", "state")


def _one_epoch_a_call(monkeypatch):
    from sklearn_gd._engine import Trainer

    monkeypatch.setattr(Trainer, "epochs_at_once", lambda self, n, k, most: 1)


@pytest.mark.parametrize(
    "params, sparse",
    [
        (dict(optimizer="sgd", batch_size=1, learning_rate=0.5), False),  # safe_steps bind
        (dict(optimizer="sgd", batch_size=1, schedule="invscaling", average=50), True),
        (dict(optimizer="adam", batch_size=7, penalty="elasticnet", clip_norm=1.0), False),
        (dict(optimizer="momentum", batch_size=16, shuffle=False, schedule="cosine"), True),
        (dict(optimizer="sgd", batch_size=1), "zero weights"),  # epochs one call each
    ],
)
def test_epochs_run_at_once_equal_epochs_one_call_each(params, sparse, monkeypatch):
    # Several epochs in one compiled call shuffle with the same draws (Generator.permuted
    # along rows, composed with the last order), start each epoch's average afresh, and
    # give each epoch its own loss, step size and bound count.
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=0)
    sw = np.ones(len(y))
    if sparse == "zero weights":  # which one-row batches are skipped depends on the order
        sw[::7] = 0.0
    X = sp.csr_matrix(X) if sparse is True else X
    params = dict(engine="numba", max_iter=40, tol=None, random_state=0, **params)
    calls = []
    from sklearn_gd import _engine

    run = _engine.run_compiled
    monkeypatch.setattr(_engine, "run_compiled", lambda *a: calls.append(1) or run(*a))
    at_once = GDClassifier(**params).fit(X, y, sample_weight=sw)
    assert len(calls) == 40 if sparse == "zero weights" else len(calls) < 40 // 4
    _one_epoch_a_call(monkeypatch)
    one_by_one = GDClassifier(**params).fit(X, y, sample_weight=sw)
    assert len(calls) >= 40
    for name in ("intercept_", "learning_rate_curve_", "t_", "n_iter_"):
        np.testing.assert_array_equal(getattr(at_once, name), getattr(one_by_one, name))
    # The averaged coefficients may differ in the last bit (the average of the
    # epochs' steps is summed in another order); the loss curve sums in chunks.
    np.testing.assert_allclose(at_once.coef_, one_by_one.coef_, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(at_once.loss_curve_, one_by_one.loss_curve_, rtol=1e-13)
    # The generator is left where epoch-by-epoch shuffles leave it.
    X2, y2 = make_classification(50, 6, n_informative=4, n_classes=3, random_state=1)
    np.testing.assert_allclose(
        at_once.partial_fit(X2, y2).coef_, one_by_one.partial_fit(X2, y2).coef_, rtol=1e-13
    )


def test_epochs_run_at_once_name_the_epoch_that_diverged(monkeypatch):
    from sklearn_gd.schedules import Schedule

    class Growing(Schedule):  # the step grows tenfold each epoch, until it diverges
        def rates(self, learning_rate, t, epoch, context):
            return learning_rate * 10.0 ** np.floor(epoch)

    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    params = dict(engine="numba", optimizer="sgd", batch_size=1, learning_rate=1e-9,
                  schedule=Growing(), safe_steps=False, max_iter=60, tol=None,
                  random_state=0)  # fmt: skip
    messages = []
    for patch in (False, True):
        if patch:
            _one_epoch_a_call(monkeypatch)
        with pytest.raises(DivergenceError, match=r"epoch \d+") as info:
            GDRegressor(**params).fit(X, y)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "epoch 1 " not in messages[0]
