"""Evidence for the estimators' defaults.

Prints, for candidate default settings, the 5-fold cross-validated score of
``StandardScaler() + GD*`` minus that of ``StandardScaler() + LogisticRegression()``
(classification) or ``+ Ridge()`` (regression) on the problems the defaults
must serve. The defaults in ``_classifier.py`` / ``_regressor.py`` are the
candidates whose worst gap is smallest at a low cost.

    python benchmarks/defaults.py [--quick]
"""

import sys
import time
import warnings

from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

warnings.simplefilter("ignore", ConvergenceWarning)
QUICK = "--quick" in sys.argv


def problems(kind):
    if kind == "classification":
        yield "breast_cancer", *load_breast_cancer(return_X_y=True)
        yield "wine", *load_wine(return_X_y=True)
        yield "digits", *load_digits(return_X_y=True)
        n = 5_000 if QUICK else 50_000
        yield (
            f"make_classification {n}x50",
            *make_classification(n, 50, n_informative=20, random_state=0),
        )
    else:
        yield "diabetes", *load_diabetes(return_X_y=True)
        n = 2_000 if QUICK else 20_000
        yield f"make_regression {n}x50", *make_regression(n, 50, noise=10, random_state=0)


CANDIDATES = {
    "classification": (
        LogisticRegression(),
        [
            {"learning_rate": 0.01},
            {"learning_rate": 0.01, "alpha": 1e-3},
            {"learning_rate": 0.01, "alpha": 1e-3, "schedule": "adaptive"},
            {"learning_rate": 0.03, "alpha": 1e-3, "schedule": "adaptive"},
            {"learning_rate": 0.03, "schedule": "adaptive"},
        ],
        GDClassifier,
    ),
    "regression": (
        Ridge(),
        [
            {"learning_rate": 0.01},
            {"learning_rate": 0.1},
            {"learning_rate": 0.1, "schedule": "adaptive"},
        ],
        GDRegressor,
    ),
}

for kind, (reference, candidates, cls) in CANDIDATES.items():
    print(f"\n## {kind}: CV score minus {type(reference).__name__}'s (seconds)\n")
    data = list(problems(kind))
    print("| candidate | " + " | ".join(name for name, *_ in data) + " |")
    print("|---" * (len(data) + 1) + "|")
    ref = [
        cross_val_score(make_pipeline(StandardScaler(), reference), X, y, cv=5).mean()
        for _, X, y in data
    ]
    for params in candidates:
        cells = []
        for (_, X, y), r in zip(data, ref, strict=True):
            tic = time.perf_counter()
            est = make_pipeline(StandardScaler(), cls(random_state=0, **params))
            s = cross_val_score(est, X, y, cv=5).mean()
            cells.append(f"{s - r:+.4f} ({time.perf_counter() - tic:.1f}s)")
        print(f"| {params} | " + " | ".join(cells) + " |")
    print("| reference score | " + " | ".join(f"{r:.4f}" for r in ref) + " |")
