"""
Searching the learning rate in one pass with GDClassifierCV
===========================================================

The learning rate is the one parameter of gradient descent that every user has
to search. ``GridSearchCV(GDClassifier(), {"learning_rate": [...]})`` fits one
model per (learning rate, fold), each re-reading the same rows.
:class:`~sklearn_gd.GDClassifierCV` trains all of them at once: every
(learning rate, fold) model is a row of one weight matrix, each batch is read
once for all of them, and a model that has converged drops out. It then refits
the best learning rate on all the data, as ``GridSearchCV`` does.

This example compares the two on the same grid and folds: time, and the
learning rate each chooses.

Run ``python examples/plot_learning_rate_search.py`` (``--fast`` for CI).
"""

import sys
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDClassifierCV

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv

# %%
# The data and the grid
# ---------------------
# A logistic problem of a few thousand rows, standardized, and six learning
# rates spaced over four decades around the default (0.1), with 5 folds.
X, y = make_classification(2_000 if FAST else 4_000, 20, n_informative=8, random_state=0)
X = StandardScaler().fit_transform(X)
learning_rates = GDClassifier().learning_rate * 10.0 ** np.linspace(-2, 2, 6)
cv = StratifiedKFold(5)
config = dict(batch_size=32, random_state=0)

# %%
# One pass against one fit per model
# ----------------------------------
# Both run compiled (``engine='auto'``): each fit of the grid search in the
# single-fit loop, the search in a loop over all its models at once. The
# search reads each batch once for every model, but each model still takes its
# own gradient, products and update on its rows, so it saves the reading of
# the rows, not the arithmetic: expect it to take a fraction of the grid
# search's time, not one over the number of models. The ratio printed is
# measured, not assumed.
tic = time.perf_counter()
search = GDClassifierCV(learning_rates=learning_rates, cv=cv, **config).fit(X, y)
t_search = time.perf_counter() - tic

tic = time.perf_counter()
grid = GridSearchCV(GDClassifier(**config), {"learning_rate": list(learning_rates)}, cv=cv)
grid.fit(X, y)
t_grid = time.perf_counter() - tic

print(f"GDClassifierCV: {t_search:6.2f} s, learning rate {search.learning_rate_:.3g}, "
      f"CV accuracy {search.best_score_:.4f}")  # fmt: skip
print(f"GridSearchCV:   {t_grid:6.2f} s, learning rate {grid.best_params_['learning_rate']:.3g}, "
      f"CV accuracy {grid.best_score_:.4f}")  # fmt: skip
print(f"one pass takes {t_search / t_grid:.2f} of the time of the grid search")

# %%
# The same scores, grid point by grid point
# -----------------------------------------
# Each model of the search sees the batches of the full data's order, and
# each grid search model its own fold's order, so the mini-batch noise differs;
# the mean scores agree within the spread over folds, and so does the choice.
fig, (ax, ax_epochs) = plt.subplots(1, 2, figsize=(10, 4))
for label, results in [("GDClassifierCV", search.cv_results_), ("GridSearchCV", grid.cv_results_)]:
    mean, std = results["mean_test_score"], results["std_test_score"]
    ax.errorbar(learning_rates, mean, yerr=std, capsize=3, marker="o", label=label)
ax.set(xscale="log", xlabel="learning_rate", ylabel="CV accuracy (mean ± std over folds)")
ax.legend()

# %%
# Where the time goes: the small learning rates
# ---------------------------------------------
# A model stops on its own ``tol`` / ``n_iter_no_change`` rule, and then costs
# nothing further. The smallest learning rates need the most epochs, so the
# last epochs of the search train only a few models.
ax_epochs.bar(np.arange(len(learning_rates)), search.cv_results_["mean_n_iter"])
ax_epochs.set_xticks(np.arange(len(learning_rates)), [f"{lr:.2g}" for lr in learning_rates])
ax_epochs.set(xlabel="learning_rate", ylabel="epochs to stop (mean over folds)")
fig.tight_layout()
plt.show()
