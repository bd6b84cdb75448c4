"""sklearn_gd.minimize: textbook iterates, convergence, divergence and history."""

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from sklearn_gd import minimize
from sklearn_gd.optimizers import OPTIMIZERS, Adam
from sklearn_gd.schedules import CosineAnnealing


def square(w):
    return float(np.sum((w - 3.0) ** 2))


def square_grad(w):
    return 2.0 * (w - 3.0)


def rosenbrock(x):
    value = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    grad = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return value, grad


def test_plain_gradient_descent_reproduces_textbook_iterates():
    res = minimize(
        square, 0.0, jac=square_grad, optimizer="sgd", learning_rate=0.1, max_iter=4, tol=None
    )
    # w_{k+1} = w_k - 0.1 * 2 * (w_k - 3) = 0.8 w_k + 0.6
    np.testing.assert_allclose(res.x_history, [0.0, 0.6, 1.08, 1.464, 1.7712], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.fun_history, (np.array([0, 0.6, 1.08, 1.464, 1.7712]) - 3) ** 2)
    assert isinstance(res, OptimizeResult)
    assert res.nit == 4 and res.status == 1 and not res.success
    assert len(res.x_history) == len(res.fun_history) == res.nit + 1
    assert len(res.learning_rate_history) == res.nit


def test_too_large_step_is_reported_as_divergence():
    res = minimize(square, 0.0, jac=square_grad, optimizer="sgd", learning_rate=1.5, max_iter=5000)
    assert not res.success and res.status == 2
    assert f"Diverged at iteration {res.nit}" in res.message
    assert "smaller learning_rate" in res.message


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_solves_a_convex_quadratic(name):
    rng = np.random.RandomState(0)
    Q = rng.normal(size=(4, 4))
    A = Q @ Q.T + np.eye(4)
    b = rng.normal(size=4)
    exact = np.linalg.solve(A, b)

    def f(x):
        return 0.5 * x @ A @ x - b @ x, A @ x - b

    # RMSProp's steps do not shrink near the minimum: it needs a decaying schedule.
    lr = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5}.get(name, 0.01)
    opt = OPTIMIZERS[name](weight_decay=0.0) if name == "adamw" else name
    res = minimize(
        f,
        np.zeros(4),
        jac=True,
        optimizer=opt,
        learning_rate=lr,
        max_iter=20_000,
        tol=1e-8,
        schedule="cosine" if name == "rmsprop" else "constant",
    )
    np.testing.assert_allclose(res.x, exact, atol=1e-5)


# Rosenbrock from (-1.5, 2): the step size each rule needs, and how close it
# gets in 20 000 steps. AdamW's decoupled decay moves its fixed point towards 0.
ROSENBROCK = {
    "sgd": (1e-3, 1e-3),
    "momentum": (1e-3, 1e-5),
    "nesterov": (1e-3, 1e-5),
    "adagrad": (0.1, 1e-3),
    "rmsprop": (3e-4, 1e-3),
    "adam": (0.1, 1e-5),
    "adamw": (1e-3, 1e-3),
    "nadam": (0.01, 1e-5),
    "amsgrad": (0.01, 1e-5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_reaches_the_rosenbrock_minimum(name):
    lr, tolerance = ROSENBROCK[name]
    res = minimize(
        rosenbrock, [-1.5, 2.0], jac=True, optimizer=name, learning_rate=lr, max_iter=20_000
    )
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=tolerance)


def test_finite_differences_warn_and_work():
    with pytest.warns(UserWarning, match="finite differences"):
        res = minimize(square, np.zeros(3), optimizer="sgd", learning_rate=0.1, max_iter=200)
    assert res.success and res.nfev == (res.nit + 1) * (1 + 2 * 3)
    np.testing.assert_allclose(res.x, 3.0, atol=1e-6)


def test_callback_can_stop_and_sees_each_iteration():
    seen = []

    def callback(intermediate):
        seen.append(intermediate.nit)
        return intermediate.fun < 1.0

    res = minimize(
        square, 0.0, jac=square_grad, optimizer="sgd", learning_rate=0.1, callback=callback
    )
    assert res.status == 3 and seen == list(range(1, res.nit + 1)) and res.fun < 1.0


def test_objects_schedules_and_shapes():
    x0 = np.zeros((2, 2))
    res = minimize(
        lambda w: float(np.sum((w - 1) ** 2)),
        x0,
        jac=lambda w: 2 * (w - 1),
        optimizer=Adam(beta1=0.8),
        learning_rate=0.1,
        schedule=CosineAnnealing(t_max=300),
        max_iter=300,
        tol=None,
    )
    assert res.x.shape == (2, 2) and res.x_history.shape == (301, 2, 2)
    assert res.learning_rate_history[0] == pytest.approx(0.1)
    assert res.learning_rate_history[-1] < 1e-4
    np.testing.assert_allclose(res.x, 1.0, atol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'optimal'"):
        minimize(square, 0.0, jac=square_grad, schedule="optimal")
    with pytest.raises(ValueError, match="learning_rate must be a float > 0"):
        minimize(square, 0.0, jac=square_grad, learning_rate=0.0)
    with pytest.raises(ValueError, match="'beta1' parameter of Adam"):
        minimize(square, 0.0, jac=square_grad, optimizer=Adam(beta1=2.0))
