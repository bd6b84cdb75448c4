"""The compiled loop binds to the math by module and content, and its cache cannot hurt."""

import importlib
import pathlib
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_regression

from sklearn_gd import GDRegressor, _engine, _kernel
from sklearn_gd.losses import SquaredError
from sklearn_gd.optimizers import SGD, Optimizer

pytest.importorskip("numba")


# A user's optimizer, written like the library's own: a rule calling a helper of its
# own (which the compiled loop must find by itself), its effective step and a class.
def _velocity(grad, velocity, mu):
    return mu * velocity + grad


def heavy_ball_rule(theta, grad, slots, lr, t, hyper):
    velocity = _velocity(grad, slots[0], hyper[0])
    return theta - lr * velocity, (velocity,)


def heavy_ball_effective(slots, lr, t, hyper):
    return lr / (1.0 - hyper[0])


class HeavyBall(Optimizer):
    slots = ("velocity",)
    hyper_names = ("mu",)
    rule = staticmethod(heavy_ball_rule)
    effective = staticmethod(heavy_ball_effective)

    def __init__(self, mu=0.5):
        self.mu = mu


def _data(n=500):
    X, y = make_regression(n, 5, noise=1.0, random_state=0)
    return X / X.std(0), y / y.std()


def _spy(monkeypatch):
    """Record each run of the compiled loop."""
    calls = []
    real = _engine.run_compiled
    monkeypatch.setattr(_engine, "run_compiled", lambda *a: calls.append(a[:2]) or real(*a))
    return calls


def _assert_equal(a, b):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=1e-12 * np.abs(b.coef_).max())
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=1e-12)


# 500 rows x 5 epochs of one-row steps: 2,500 steps, past the compile threshold.
PARAMS = dict(batch_size=1, max_iter=5, tol=None, learning_rate=0.01, random_state=0)


def test_user_optimizer_with_a_helper_compiles_under_auto(monkeypatch):
    X, y = _data()
    calls = _spy(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        compiled = GDRegressor(optimizer=HeavyBall(), **PARAMS).fit(X, y)
    assert calls and calls[0][1] is HeavyBall
    reference = GDRegressor(optimizer=HeavyBall(), engine="numpy", **PARAMS).fit(X, y)
    _assert_equal(compiled, reference)


def test_a_rule_defined_in_a_function_compiles():
    # Not importable by name: bound through the module's BINDINGS, keyed by its code.
    scale = 0.5

    def halved(grad):
        return scale * grad

    def local_rule(theta, grad, slots, lr, t, hyper):
        return theta - lr * halved(grad), slots

    class Local(SGD):
        linear = False
        rule = staticmethod(local_rule)

    X, y = _data()
    params = dict(PARAMS, optimizer=Local())
    compiled = GDRegressor(engine="numba", **params).fit(X, y)
    _assert_equal(compiled, GDRegressor(engine="numpy", **params).fit(X, y))


STEPS = []


class CountingSGD(SGD):
    """Overrides step(): only the NumPy loop can honour it."""

    def step(self, theta, grad, state, lr, t):
        STEPS.append(t)
        super().step(theta, grad, state, lr, t)


class StepOnly(Optimizer):
    def step(self, theta, grad, state, lr, t):
        STEPS.append(t)
        theta -= lr * grad


@pytest.mark.parametrize("Opt, reason", [(CountingSGD, "overrides step"), (StepOnly, "no rule")])
def test_an_optimizer_the_loop_cannot_run_trains_in_numpy(Opt, reason):
    X, y = _data()
    STEPS.clear()
    with pytest.warns(UserWarning, match=reason) as record:
        GDRegressor(optimizer=Opt(), **PARAMS).fit(X, y)
    assert len([w for w in record if reason in str(w.message)]) == 1
    assert STEPS == list(range(1, 2501))  # its step() ran at every step
    with pytest.raises(_kernel.CompileError, match=f"engine='numba'.*{reason}"):
        GDRegressor(optimizer=Opt(), engine="numba", **PARAMS).fit(X, y)


def test_a_rule_numba_cannot_compile_falls_back_with_one_warning():
    def stringly_rule(theta, grad, slots, lr, t, hyper):
        return theta - lr * grad * (id(theta) > 0), slots  # id() is Python-only

    class Stringly(SGD):
        linear = False
        rule = staticmethod(stringly_rule)

    X, y = _data()
    with pytest.warns(UserWarning, match="stringly_rule") as record:
        fallback = GDRegressor(optimizer=Stringly(), **PARAMS).fit(X, y)
    assert len(record) == 1
    _assert_equal(fallback, GDRegressor(optimizer=Stringly(), engine="numpy", **PARAMS).fit(X, y))
    with pytest.raises(_kernel.CompileError, match="stringly_rule"):
        GDRegressor(optimizer=Stringly(), engine="numba", **PARAMS).fit(X, y)


RULE = """
def helper(grad):
    return {factor} * grad


def rule(theta, grad, slots, lr, t, hyper):
    return theta - lr * helper(grad), slots
"""


def test_the_cache_key_covers_the_source_of_everything_compiled(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    source = tmp_path / "user_rule_module.py"
    source.write_text(RULE.format(factor="1.0"))
    module = importlib.import_module("user_rule_module")

    def key():
        class User(SGD):
            rule = staticmethod(module.rule)

        return _kernel.kernel_key(SquaredError, User, False)

    first = key()
    assert key() == first  # stable
    source.write_text(RULE.format(factor="0.5"))  # only the helper changes
    module = importlib.reload(module)
    second = key()
    assert second != first
    assert _kernel.kernel_key(SquaredError, SGD, False) != second
    import sklearn_gd

    monkeypatch.setattr(sklearn_gd, "__version__", "99.0")
    assert key() != second


def test_auto_decides_on_the_whole_fit(monkeypatch):
    calls = _spy(monkeypatch)
    X, y = _data(650)
    # 650 one-row steps an epoch: compiled for 5 epochs, NumPy for 3 (1,950 steps).
    GDRegressor(optimizer="sgd", **dict(PARAMS, max_iter=3)).fit(X, y)
    assert not calls
    GDRegressor(optimizer="sgd", **PARAMS).fit(X, y)
    assert calls


# --- the cache ----------------------------------------------------------------------


# The cache tests' fit: compiled, two short epochs.
CACHE_TEST_PARAMS = dict(
    optimizer="sgd",
    engine="numba",
    batch_size=1,
    max_iter=2,
    tol=None,
    random_state=0,
    safe_steps=False,  # the tests are about the cache: no bound warnings
)


def _fit_with_warning(match):
    X, y = _data(300)
    params = CACHE_TEST_PARAMS
    with pytest.warns(UserWarning, match=match):
        model = GDRegressor(**params).fit(X, y)
    reference = GDRegressor(**dict(params, engine="numpy")).fit(X, y)
    _assert_equal(model, reference)


def test_an_unwritable_cache_folder_warns_and_still_fits(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(blocker / "cache"))
    _fit_with_warning(f"{blocker / 'cache'}.*cannot be written")
    folder = _kernel._cache_dir()  # a private folder, not a fixed path in /tmp
    assert folder.name.startswith("sklearn_gd_kernels_") and folder.stat().st_mode & 0o077 == 0


@pytest.mark.skipif(sys.platform == "win32" or _kernel.os.geteuid() == 0,
                    reason="permissions do not stop root")  # fmt: skip
def test_a_read_only_cache_folder_warns_and_still_fits(tmp_path, monkeypatch):
    tmp_path.chmod(0o500)
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(tmp_path))
    try:
        _fit_with_warning(f"{tmp_path}.*cannot be written")
    finally:
        tmp_path.chmod(0o700)


def test_no_home_directory_warns_and_still_fits(monkeypatch):
    for name in ("SKLEARN_GD_CACHE", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # not installed

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "home", no_home)
    _fit_with_warning("no user cache folder")


def test_the_cache_variable_is_read_before_the_home_directory(tmp_path, monkeypatch):
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "home", no_home)
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _kernel._cache_dir() == tmp_path / "kernels"


def test_a_damaged_cache_warns_names_the_folder_and_still_fits(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(tmp_path))
    X, y = _data(300)
    params = CACHE_TEST_PARAMS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GDRegressor(**params).fit(X, y)  # compiled into tmp_path
    folder = tmp_path / "kernels"
    (module,) = folder.glob("loop_*.py")
    cached = list((folder / "__pycache__").glob("loop_*"))
    assert cached
    for path in [module, *cached]:
        path.write_bytes(b"\x80\x05garbage")
    monkeypatch.setattr(_kernel, "_loops", {})  # a new process
    monkeypatch.setattr(_kernel, "_ready", {})
    with pytest.warns(UserWarning) as record:
        model = GDRegressor(**params).fit(X, y)
    messages = " ".join(str(w.message) for w in record)
    assert f"{module} was damaged" in messages
    assert f"cache in {folder} could not be used" in messages
    _assert_equal(model, GDRegressor(**dict(params, engine="numpy")).fit(X, y))
    # The damaged entries are gone: the next process compiles and caches afresh.
    assert not any(path.exists() for path in cached)
