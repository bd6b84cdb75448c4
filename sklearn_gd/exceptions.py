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
