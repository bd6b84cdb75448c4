"""scikit-learn linear models trained by gradient descent, done right."""

from ._classifier import GDClassifier
from ._engine import DivergenceError
from ._minimize import minimize
from ._regressor import GDRegressor

__all__ = ["DivergenceError", "GDClassifier", "GDRegressor", "minimize"]
__version__ = "0.1.0"
