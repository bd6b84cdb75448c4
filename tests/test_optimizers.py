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
