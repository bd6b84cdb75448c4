"""Warnings and errors of sklearn-gd that users may want to catch or filter."""

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning


class InconsistentVersionWarning(_SklearnVersionWarning):
    """A model is unpickled under another sklearn-gd version than the one that saved it.

    A subclass of scikit-learn's ``InconsistentVersionWarning``, so that a filter
    set for scikit-learn's warning (e.g. ``warnings.simplefilter("error",
    sklearn.exceptions.InconsistentVersionWarning)``) also catches this one.

    Parameters
    ----------
    estimator_name : str
        The class of the loaded estimator.
    current_version : str
        The sklearn-gd version that loads it.
    original_version : str
        The sklearn-gd version that saved it (``'unknown'`` for models saved
        before versions were recorded).

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : The scikit-learn warning it extends.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_gd.exceptions import InconsistentVersionWarning
    >>> warnings.simplefilter("error", InconsistentVersionWarning)  # refuse such models
    >>> warnings.resetwarnings()
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_version,
            original_sklearn_version=original_version,
        )
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklearn-gd version "
            f"{self.original_version} when using version {self.current_version}. This "
            "might lead to breaking code or invalid results: refit the model under "
            f"{self.current_version}, or load it with the version that saved it. Use at "
            "your own risk."
        )


class DivergenceError(FloatingPointError, ValueError):
    """Training diverged: the weights or the loss ran away.

    Raised by ``fit`` and ``partial_fit`` when a step makes the weights or the
    objective non-finite, and by ``fit`` when the training objective, still
    finite, stays far above where it started without coming down (above ten
    times the larger of its values at the start weights and at the best
    constant model), or ends there. The message names the epoch and the
    ``learning_rate`` and suggests a smaller one or scaling the features. The
    estimator is left as it was before the call. It subclasses both
    ``FloatingPointError`` and ``ValueError``, so either ``except`` clause
    catches it.

    See Also
    --------
    sklearn_gd.find_learning_rate : Find a step size below the one that diverges.

    Examples
    --------
    >>> from sklearn_gd import DivergenceError
    >>> issubclass(DivergenceError, ValueError)
    True
    """
