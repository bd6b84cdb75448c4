"""
Searching the learning rate in one pass with GDClassifierCV
===========================================================

The learning rate is the one parameter of gradient descent that every user has
to search. ``GridSearchCV(GDClassifier(), {"learning_rate": [...]})`` fits one
model per (learning rate, fold), each re-reading the same rows and each
running until its own stopping rule, however hopeless its learning rate.
:class:`~sklearn_gd.GDClassifierCV` trains all of them at once: every
(learning rate, fold) model is a row of one weight matrix and each batch is
read once for all of them. By default (``search='halving'``) the learning
rates also race, as in scikit-learn's ``HalvingGridSearchCV`` with the
batches as the resource: after 1/9 and 1/3 of the first epoch's batches
(where every model has taken at least 20 steps on 1,000 of its rows by then),
then after epochs 1, 3, 9, ..., only the best third of the grid points (by
mean held-out score, all folds together) trains on, until one is left. It
then refits that learning rate on all the data, as ``GridSearchCV`` does.

This example compares the halving search, the exhaustive one
(``search='exhaustive'``, every model until its own stopping rule) and
``GridSearchCV`` on the same grid and folds: time, and the learning rate each
chooses.

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
# Halving, exhaustive, and one fit per model
# ------------------------------------------
# All run compiled (``engine='auto'``). The exhaustive search reads each batch
# once for every model, but each model still takes its own gradient, products
# and update on its rows, and runs as many epochs as its own fit: it saves the
# reading of the rows, not the arithmetic: on data this small it takes about
# the grid search's time (0.7-1.5 of it in our runs), not one over the number
# of models. Halving also stops the models that cannot win: here (3,200
# training rows a fold, 100 batches an epoch; ``--fast`` halves them and races
# from epoch 1) 1/9 of an epoch is too few steps for a rung, so most of the
# grid trains a third of an epoch, two points one
# epoch, and the winner is trained to the end by the refit alone: it takes a
# few hundredths of the grid search's time, and its choice scores within a
# thousandth of the grid search's best there (printed below). The times
# printed are measured, not assumed (a busy machine makes them noisy), after
# an untimed run of each kind that compiles (or loads from numba's cache) the
# loops they run.
GDClassifierCV(learning_rates=learning_rates, cv=cv, **config).fit(X, y)
GDClassifier(**config).fit(X, y)

tic = time.perf_counter()
search = GDClassifierCV(learning_rates=learning_rates, cv=cv, **config).fit(X, y)
t_search = time.perf_counter() - tic

tic = time.perf_counter()
exhaustive = GDClassifierCV(learning_rates=learning_rates, cv=cv, search="exhaustive", **config)
exhaustive.fit(X, y)
t_exhaustive = time.perf_counter() - tic

tic = time.perf_counter()
grid = GridSearchCV(GDClassifier(**config), {"learning_rate": list(learning_rates)}, cv=cv)
grid.fit(X, y)
t_grid = time.perf_counter() - tic

for name, seconds, lr, score in [
    ("GDClassifierCV (halving)", t_search, search.learning_rate_, search.best_score_),
    ("GDClassifierCV (exhaustive)", t_exhaustive, exhaustive.learning_rate_,
     exhaustive.best_score_),
    ("GridSearchCV", t_grid, grid.best_params_["learning_rate"], grid.best_score_),
]:  # fmt: skip
    print(f"{name:28s} {seconds:6.2f} s, learning rate {lr:.3g}, CV accuracy {score:.4f}")
chosen = list(learning_rates).index(search.learning_rate_)
print(f"halving takes {t_search / t_grid:.3f} and the exhaustive search "
      f"{t_exhaustive / t_grid:.2f} of the time of the grid search")  # fmt: skip
print(
    f"GridSearchCV's CV accuracy at the halving search's choice: "
    f"{grid.cv_results_['mean_test_score'][chosen]:.4f} (its best: {grid.best_score_:.4f})"
)

# %%
# The same scores, grid point by grid point
# -----------------------------------------
# Each model of the exhaustive search sees the batches of the full data's
# order, and each grid search model its own fold's order, so the mini-batch
# noise differs; the mean scores agree within the spread over folds, and so
# does the choice. The halving search scores each grid point where it left
# the race (the winner: where it won), so its curve lies below the others for
# the points dropped within the first epoch; what it must get right is the
# choice, whose converged score (``GridSearchCV``'s, printed above) is the best
# or within a few thousandths of it.
fig, (ax, ax_epochs) = plt.subplots(1, 2, figsize=(10, 4))
for label, results in [("halving", search.cv_results_), ("exhaustive", exhaustive.cv_results_),
                       ("GridSearchCV", grid.cv_results_)]:  # fmt: skip
    mean, std = results["mean_test_score"], results["std_test_score"]
    ax.errorbar(learning_rates, mean, yerr=std, capsize=3, marker="o", label=label)
ax.set(xscale="log", xlabel="learning_rate", ylabel="CV accuracy (mean ± std over folds)")
ax.legend()

# %%
# Where the time goes: epochs per grid point
# ------------------------------------------
# In the exhaustive search a model stops on its own ``tol`` /
# ``n_iter_no_change`` rule and then costs nothing further, but the learning
# rates that cannot win run as long as the others, or longer: here the
# smallest (its loss falls slowly, 70 epochs) and the largest (its noisy steps
# keep the loss from settling, 50). Halving gives most of them a third of
# an epoch (``cv_results_['dropped_at_epoch']``, in epochs).
x = np.arange(len(learning_rates))
ax_epochs.bar(x - 0.2, exhaustive.cv_results_["mean_n_iter"], width=0.4, label="exhaustive")
ax_epochs.bar(x + 0.2, search.cv_results_["mean_n_iter"], width=0.4, label="halving")
ax_epochs.set_xticks(x, [f"{lr:.2g}" for lr in learning_rates])
ax_epochs.set(xlabel="learning_rate", ylabel="epochs run (mean over folds)")
ax_epochs.legend()
fig.tight_layout()
print("epochs, exhaustive:", exhaustive.cv_results_["mean_n_iter"].tolist())
print("epochs, halving:   ", search.cv_results_["mean_n_iter"].tolist(),
      "dropped at epoch", search.cv_results_["dropped_at_epoch"].tolist())  # fmt: skip
plt.show()
