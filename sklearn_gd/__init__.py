"""scikit-learn linear models trained by gradient descent, done right."""

from ._classifier import GDClassifier
from ._cv import GDClassifierCV, GDRegressorCV
from ._minimize import minimize
from ._regressor import GDRegressor
from ._show_versions import show_versions
from .display import LossCurveDisplay
from .exceptions import DivergenceError
from .lr_finder import find_learning_rate

__all__ = [
    "DivergenceError",
    "GDClassifier",
    "GDClassifierCV",
    "GDRegressor",
    "GDRegressorCV",
    "LossCurveDisplay",
    "find_learning_rate",
    "minimize",
    "show_versions",
]
# The one version source: pyproject.toml reads it (setuptools dynamic version).
__version__ = "0.1.0"
