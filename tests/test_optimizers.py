"""Optimizers: their first steps against the formulas written out here."""

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_gd import optimizers as opt

GRADS = [np.array([[0.5, -1.0, 2.0]]), np.array([[0.1, 0.3, -0.2]]), np.array([[-0.4, 0.0, 1.0]])]
LR = 0.1


def _run(optimizer):
    theta = np.array([[1.0, -2.0, 0.5]])
    state = optimizer.init(theta)
    out = []
    for t, g in enumerate(GRADS, start=1):
        optimizer.step(theta, g, state, LR, t)
        out.append(theta.copy())
    return out


def _expected(name):
    """The same three steps, written out from the papers' formulas."""
    theta = np.array([[1.0, -2.0, 0.5]])
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    v_max = np.zeros_like(theta)
    b1, b2, eps, mu = 0.9, 0.999, 1e-8, 0.9
    out = []
    for t, g in enumerate(GRADS, start=1):
        if name == "sgd":
            theta = theta - LR * g
        elif name == "momentum":
            m = mu * m + g
            theta = theta - LR * m
        elif name == "nesterov":
            m = mu * m + g
            theta = theta - LR * (g + mu * m)
        elif name == "adagrad":
            v = v + g**2
            theta = theta - LR * g / (np.sqrt(v) + eps)
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g**2
            theta = theta - LR * g / (np.sqrt(v) + eps)
        else:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            v_hat = v / (1 - b2**t)
            if name in ("adam", "adamw"):
                theta = theta - LR * (m / (1 - b1**t)) / (np.sqrt(v_hat) + eps)
            elif name == "nadam":
                m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
                theta = theta - LR * m_bar / (np.sqrt(v_hat) + eps)
            elif name == "amsgrad":
                v_max = np.maximum(v_max, v)
                theta = theta - LR * (m / (1 - b1**t)) / (np.sqrt(v_max / (1 - b2**t)) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("name", sorted(opt.OPTIMIZERS))
def test_first_steps_follow_the_formula(name):
    for got, want in zip(_run(opt.OPTIMIZERS[name]()), _expected(name), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_first_adam_step_is_learning_rate_times_sign():
    # A property of bias correction: the first Adam step is lr * sign(g).
    first = _run(opt.Adam())[0]
    np.testing.assert_allclose(first - [[1.0, -2.0, 0.5]], -LR * np.sign(GRADS[0]), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(opt.OPTIMIZERS))
def test_params_round_trip_and_clone(name):
    optimizer = opt.OPTIMIZERS[name]()
    params = optimizer.get_params()
    clone_ = clone(optimizer)
    assert clone_.get_params() == params and clone_ is not optimizer
    if params:
        key = next(iter(params))
        optimizer.set_params(**{key: 0.5})
        assert optimizer.get_params()[key] == 0.5


@pytest.mark.parametrize("name", sorted(opt.OPTIMIZERS))
def test_effective_step_is_the_fixed_point_scale(name):
    # At a fixed point (constant gradient, long run) every rule moves by
    # effective_step * grad: that is what the L1 proximal step relies on.
    optimizer = opt.OPTIMIZERS[name]()
    g = np.array([[0.3, -0.7]])
    theta = np.zeros_like(g)
    state = optimizer.init(theta)
    lr = 1e-3
    for t in range(1, 20001):
        before = theta.copy()
        optimizer.step(theta, g, state, lr, t)
    move = before - theta
    if name == "adagrad":  # AdaGrad's step keeps shrinking; compare the same step
        np.testing.assert_allclose(
            move, optimizer.effective_step(state, lr, t, np.empty_like(g)) * g, rtol=1e-3
        )
    else:
        np.testing.assert_allclose(
            move, optimizer.effective_step(state, lr, t, np.empty_like(g)) * g, rtol=1e-2
        )


def _adamw_reference(grad_at, theta, steps, lr, wd, decayed, b1=0.9, b2=0.999, eps=1e-8):
    """torch.optim.AdamW's documented loop (Loshchilov & Hutter, Algorithm 2):
    g = grad(theta_{t-1}); theta *= 1 - lr*wd; m, v; theta -= lr * m_hat / (sqrt(v_hat) + eps)."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = []
    for t in range(1, steps + 1):
        g = grad_at(theta)
        theta = np.where(decayed, theta * (1 - lr * wd), theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_adamw_decays_before_the_step_in_both_loops(engine):
    # Full-batch squared error, no intercept: five steps equal the reference loop.
    if engine == "numba":
        pytest.importorskip("numba")
    from sklearn_gd import GDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ [1.0, -2.0, 3.0] + rng.normal(size=20)
    lr, wd = 0.3, 0.5  # large, so that the order of decay and step matters

    def grad_at(w):  # half squared error, mean over rows
        return (X @ w - y) @ X / len(y)

    want = _adamw_reference(grad_at, np.zeros(3), 5, lr, wd, decayed=True)
    for steps in (1, 5):
        model = GDRegressor(
            optimizer=opt.AdamW(weight_decay=wd), learning_rate=lr, schedule="constant",
            batch_size="full", penalty=None, fit_intercept=False, tol=None,
            max_iter=steps, engine=engine, init="zero",  # the textbook run on y itself
        ).fit(X, y)  # fmt: skip
        np.testing.assert_allclose(model.coef_, want[steps - 1], rtol=1e-10)


def test_adamw_in_minimize_decays_every_coordinate_first():
    from sklearn_gd import minimize

    target = np.array([1.0, -2.0])
    lr, wd = 0.2, 0.5
    result = minimize(
        lambda x: 0.5 * np.sum((x - target) ** 2), np.array([3.0, 1.0]),
        jac=lambda x: x - target, optimizer=opt.AdamW(weight_decay=wd),
        learning_rate=lr, schedule="constant", max_iter=4, tol=None,
    )  # fmt: skip
    want = _adamw_reference(lambda x: x - target, np.array([3.0, 1.0]), 4, lr, wd, decayed=True)
    np.testing.assert_allclose(result.x, want[-1], rtol=1e-12)


def test_adamw_leaves_the_intercept_undecayed():
    # With an intercept, the reference decays the coefficients only.
    from sklearn_gd import GDRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(15, 2)) + 2.0
    y = X @ [1.0, 2.0]
    y -= y.mean()
    Xt = np.hstack([X, np.ones((15, 1))])
    lr, wd = 0.3, 0.5
    model = GDRegressor(
        optimizer=opt.AdamW(weight_decay=wd), learning_rate=lr, schedule="constant",
        batch_size="full", penalty=None, tol=None, max_iter=3, engine="numpy", init="zero",
    ).fit(X, y)  # fmt: skip
    want = _adamw_reference(
        lambda w: (Xt @ w - y) @ Xt / len(y),
        np.zeros(3),
        3,
        lr,
        wd,
        decayed=np.array([1, 1, 0]) > 0,
    )
    # y's mean is 0 up to rounding, which Adam's first intercept step sees (1e-9)
    np.testing.assert_allclose(np.r_[model.coef_, model.intercept_], want[-1], atol=1e-7)
