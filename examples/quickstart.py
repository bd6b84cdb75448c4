"""
Quickstart: sklearn-gd beside scikit-learn
==========================================

``GDRegressor`` and ``GDClassifier`` are drop-in linear models trained by
gradient descent. This script fits them with their defaults (Adam on
mini-batches) in a pipeline with ``StandardScaler`` on datasets bundled with
scikit-learn, and prints their 5-fold cross-validated scores beside
scikit-learn's exact solvers and its own SGD estimators.

Run it with ``python examples/quickstart.py`` (``--fast`` for a quick pass).
"""

import sys
import time
import warnings

from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

FAST = "--fast" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)

PROBLEMS = [
    ("diabetes (R^2)", load_diabetes, [GDRegressor(random_state=0), Ridge(), SGDRegressor()]),
    (
        "breast cancer (accuracy)",
        load_breast_cancer,
        [GDClassifier(random_state=0), LogisticRegression(), SGDClassifier(loss="log_loss")],
    ),
    (
        "wine (accuracy)",
        load_wine,
        [GDClassifier(random_state=0), LogisticRegression(), SGDClassifier(loss="log_loss")],
    ),
    (
        "digits (accuracy)",
        load_digits,
        [GDClassifier(random_state=0), LogisticRegression(), SGDClassifier(loss="log_loss")],
    ),
]
if FAST:
    PROBLEMS = PROBLEMS[:2]

print(f"{'dataset':<26} {'estimator':<20} {'5-fold score':>12} {'seconds':>8}")
for title, load, estimators in PROBLEMS:
    X, y = load(return_X_y=True)
    for estimator in estimators:
        tic = time.perf_counter()
        scores = cross_val_score(make_pipeline(StandardScaler(), estimator), X, y, cv=5)
        seconds = time.perf_counter() - tic
        name = type(estimator).__name__
        print(f"{title:<26} {name:<20} {scores.mean():>12.4f} {seconds:>8.2f}")
