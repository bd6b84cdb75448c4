"""
Grid-searching the learning rate in a pipeline
==============================================

``GDClassifier`` is a scikit-learn estimator, so its step size, its optimizer
and the optimizer's own hyperparameters are searched like any other
parameter. Optimizer objects expose their hyperparameters through
``get_params``, so nested keys such as ``gdclassifier__optimizer__beta1``
work in a grid.

Run ``python examples/grid_search_learning_rate.py`` (``--fast`` for CI).
"""

import sys
import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier
from sklearn_gd.optimizers import Adam

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv
X, y = load_breast_cancer(return_X_y=True)

pipe = make_pipeline(StandardScaler(), GDClassifier(optimizer=Adam(), random_state=0))
grid = {
    "gdclassifier__learning_rate": [1e-3, 1e-2, 1e-1] if FAST else [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "gdclassifier__optimizer__beta1": [0.8, 0.9] if FAST else [0.5, 0.8, 0.9, 0.99],
}
search = GridSearchCV(pipe, grid, cv=3 if FAST else 5).fit(X, y)

results = search.cv_results_
print(f"{'learning_rate':>13} {'beta1':>6} {'accuracy':>9}")
for params, score in zip(results["params"], results["mean_test_score"], strict=True):
    print(f"{params['gdclassifier__learning_rate']:>13g} "
          f"{params['gdclassifier__optimizer__beta1']:>6} {score:>9.4f}")  # fmt: skip
print("best:", search.best_params_, f"accuracy {search.best_score_:.4f}")
