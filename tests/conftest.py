import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture
def poisson_runaway():
    """``(X, y, model)``: Poisson has no curvature bound, so plain SGD with a huge step
    runs away (shuffled with ``random_state=0``)."""
    from sklearn_gd import GDRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    y = rng.poisson(3.0, size=50)
    model = GDRegressor(loss="poisson", optimizer="sgd", learning_rate=1e3, batch_size=5,
                        random_state=0)  # fmt: skip
    return X, y, model


# Property-based tests: a quick profile for CI (the default) and a long one for
# local runs: HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
try:
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=40, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )  # fmt: skip
    settings.register_profile("long", max_examples=1000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # hypothesis is in the test extra
    pass
