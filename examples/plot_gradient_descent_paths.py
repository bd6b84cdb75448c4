"""
Gradient descent paths and the choice of step size
==================================================

``sklearn_gd.minimize`` runs the estimators' own optimizers and schedules on
any differentiable function. This example draws the picture every
gradient-descent tutorial draws:

* left, the paths of several optimizers on the contours of an elongated
  quadratic bowl: plain gradient descent zig-zags across the valley, momentum
  overshoots and comes back, Adam heads for the minimum along the diagonal;
* right, the loss against iterations of plain gradient descent on
  ``f(w) = (w - 3)**2`` for a step size that is too small (slow), about right
  (fast), and too large (the error grows geometrically; run long enough,
  the values overflow and ``minimize`` reports the divergence with
  ``success=False``).

Run ``python examples/plot_gradient_descent_paths.py`` (``--fast`` for CI).
"""

import sys

import numpy as np

from sklearn_gd import minimize

try:
    import matplotlib.pyplot as plt
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise SystemExit("This example draws figures: pip install 'sklearn-gd[plot]'") from exc

FAST = "--fast" in sys.argv

# An elongated bowl: curvature 1 along x, 10 along y.
A = np.array([[1.0, 0.0], [0.0, 10.0]])


def bowl(w):
    return 0.5 * w @ A @ w, A @ w


start = np.array([-4.0, 1.5])
paths = {
    "gradient descent (0.18)": dict(optimizer="sgd", learning_rate=0.18),
    "momentum (0.03)": dict(optimizer="momentum", learning_rate=0.03),
    "Adam (0.3)": dict(optimizer="adam", learning_rate=0.3),
}
n_steps = 30 if FAST else 60

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
grid = np.linspace(-4.5, 4.5, 200)
gx, gy = np.meshgrid(grid, np.linspace(-2, 2, 120))
left.contour(gx, gy, 0.5 * (gx**2 + 10 * gy**2), levels=20, cmap="Greys", linewidths=0.7)
for label, params in paths.items():
    res = minimize(bowl, start, jac=True, max_iter=n_steps, tol=None, **params)
    left.plot(res.x_history[:, 0], res.x_history[:, 1], marker="o", markersize=3, label=label)
    print(f"{label:<26} ends at {np.round(res.x, 4)} after {res.nit} steps")
left.plot(0, 0, "k*", markersize=12)
left.set(title="Paths on an elongated bowl", xlabel="w1", ylabel="w2")
left.legend()


def square(w):
    return float(np.sum((w - 3.0) ** 2)), 2.0 * (w - 3.0)


for step, label in [
    (0.01, "too small (0.01)"),
    (0.3, "about right (0.3)"),
    (1.05, "too large (1.05)"),
]:
    res = minimize(
        square,
        0.0,
        jac=True,
        optimizer="sgd",
        learning_rate=step,
        max_iter=40 if FAST else 80,
        tol=None,
    )
    right.semilogy(np.maximum(res.fun_history, 1e-16), label=label)
    print(f"step {step:<5}: {res.message}")
right.set(title="f(w) = (w - 3)^2, plain gradient descent", xlabel="iteration", ylabel="f(w)")
right.legend()
fig.tight_layout()
plt.show()
