"""
Finding a learning rate with the range test
===========================================

``find_learning_rate`` trains a clone of the estimator for a few hundred steps
while the step size grows geometrically, records the loss of each batch, and
stops once the loss explodes. The suggestion is where the smoothed loss falls
fastest: large enough to learn quickly, safely below where training breaks
down. The estimator passed in is left untouched.

Run ``python examples/plot_learning_rate_finder.py`` (``--fast`` for CI); the
figure goes to ``examples/output/learning_rate_finder.png``.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import scale  # noqa: E402

from sklearn_gd import GDClassifier, find_learning_rate  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv
OUT = Path(__file__).parent / "output"
OUT.mkdir(exist_ok=True)
X, y = make_classification(5_000 if FAST else 50_000, 40, n_informative=15, random_state=0)
X = scale(X)

estimator = GDClassifier(optimizer="adam", batch_size=64, random_state=0)
result = find_learning_rate(estimator, X, y, n_steps=150 if FAST else 300, random_state=0)
print(f"suggested learning_rate: {result.suggestion:.3g} "
      f"(tried {result.learning_rates[0]:.0e} to {result.learning_rates[-1]:.2g}, "
      f"stopped early: {result.stopped_early})")  # fmt: skip

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
result.plot(ax=left)
for lr in sorted({1e-4, result.suggestion, min(10 * result.suggestion, 1.0)}):
    model = estimator.set_params(learning_rate=lr, max_iter=8, tol=None).fit(X, y)
    right.plot(range(1, 9), model.loss_curve_, label=f"learning_rate={lr:.2g}")
    print(f"learning_rate={lr:<8.3g} objective after 8 epochs: {model.loss_curve_[-1]:.4f}")
right.set(xlabel="epoch", ylabel="training objective", title="Training with each step size")
right.legend()
fig.savefig(OUT / "learning_rate_finder.png", dpi=80)
print(f"figure written to {OUT / 'learning_rate_finder.png'}")
