"""
Finding a learning rate with the range test
===========================================

``find_learning_rate`` trains a clone of the estimator for a few hundred steps
while the step size grows geometrically, measures the training objective after
each step on a fixed sample of the rows, and stops once it explodes. The
suggestion is where the smoothed objective falls fastest: large enough to learn
quickly, below where training breaks down. The estimator passed in is left
untouched.

What the printed numbers show (both in the full run and with ``--fast``):

* the suggestion gives the fastest start: after one epoch its objective is the
  closest of the three to the optimum (computed exactly by
  ``LogisticRegression``), against a step 100 times smaller that has barely
  begun and one 10 times larger far above it;
* the estimators' default ``schedule='auto'``, used here, halves the step when
  the objective stops improving and stops once a smaller step no longer helps:
  every run ends within 2% of the optimum; in the full run the suggestion gets
  there first (under 1% in a handful of epochs), the 10 times larger step needs
  about three times as many epochs;
* with many steps an epoch (the full run) the 100 times smaller step catches up
  and ends closest, after more epochs; with fewer (``--fast``) it is still
  further away after 30 epochs than the suggestion: the suggestion is the safe
  start, not always the best finish.

A second run on a real regression dataset, ``load_diabetes`` with ``y`` in its
own units, shows that the suggestion trains as well as the default there too.

Run ``python examples/plot_learning_rate_finder.py`` (``--fast`` for CI) to see
the figure.
"""

import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import scale

from sklearn_gd import GDClassifier, GDRegressor, find_learning_rate

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv
X, y = make_classification(5_000 if FAST else 50_000, 40, n_informative=15, random_state=0)
X = scale(X)

estimator = GDClassifier(batch_size=64, random_state=0)
result = find_learning_rate(estimator, X, y, n_steps=150 if FAST else 300, random_state=0)
print(f"suggested learning_rate: {result.suggestion:.3g} "
      f"(tried {result.learning_rates[0]:.0e} to {result.learning_rates[-1]:.2g}, "
      f"stopped early: {result.stopped_early})")  # fmt: skip

# The exact optimum of the same objective: mean log-loss + alpha / 2 * ||w||^2.
alpha = estimator.alpha
exact = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)
optimum = log_loss(y, exact.predict_proba(X)) + alpha / 2 * np.sum(exact.coef_**2)
print(f"optimum of the objective (LogisticRegression): {optimum:.4f}")

epochs = 30
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
result.plot(ax=left)
print(f"objective above the optimum (%), default schedule='auto', at most {epochs} epochs:")
print(f"{'learning_rate':>14} {'epoch 1':>8} {'epoch 2':>8} {'last':>8} {'epochs run':>11}")
for lr in (result.suggestion / 100, result.suggestion, 10 * result.suggestion):
    model = estimator.set_params(learning_rate=lr, max_iter=epochs).fit(X, y)
    gap = 100 * (np.array(model.loss_curve_) / optimum - 1)
    right.plot(range(1, len(gap) + 1), gap, label=f"learning_rate={lr:.2g}")
    print(f"{lr:14.3g} {gap[0]:8.2f} {gap[1]:8.2f} {gap[-1]:8.2f} {model.n_iter_:11d}")
right.set(xlabel="epoch", ylabel="objective above the optimum (%)", yscale="log",
          title="Training from each step size")  # fmt: skip
right.legend()
plt.show()

# A regressor on real data, y in its own units (a mean of 152).
X, y = load_diabetes(return_X_y=True)
X = scale(X)
result = find_learning_rate(GDRegressor(), X, y, random_state=0)
default = GDRegressor(random_state=0).fit(X, y)
suggested = GDRegressor(learning_rate=result.suggestion, random_state=0).fit(X, y)
print(f"diabetes: suggested learning_rate {result.suggestion:.3g}; training R^2 "
      f"{suggested.score(X, y):.4f} at the suggestion, {default.score(X, y):.4f} at "
      f"the default {default.learning_rate}")  # fmt: skip
