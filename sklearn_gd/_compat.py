"""The one place where sklearn-gd touches private scikit-learn API.

The supported scikit-learn range is pinned in ``pyproject.toml``; these names
exist unchanged across it.
"""

from sklearn.utils._param_validation import (  # noqa: F401
    Hidden,
    Interval,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight


def check_sample_weight(sample_weight, X, dtype):
    """Validated non-negative sample weights (ones when None)."""
    return _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)


try:  # scikit-learn >= 1.9: progress bars and monitors through sklearn.callback
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # older scikit-learn: the estimators work, without set_callbacks

    class CallbackSupportMixin:
        pass

    def with_callbacks(method):
        return method
