"""Schedules: value tables."""

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_gd import schedules as sch
from sklearn_gd.losses import Hinge, SquaredError

CTX = sch.ScheduleContext(max_iter=10, alpha=0.01, loss=Hinge())
T = np.array([1, 2, 3, 10, 100])
EPOCH = np.array([0.0, 0.5, 1.0, 4.0, 10.0])


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (sch.Constant(), [0.1, 0.1, 0.1, 0.1, 0.1]),
        (
            sch.InvScaling(power_t=0.5),
            [0.1, 0.1 / np.sqrt(2), 0.1 / np.sqrt(3), 0.1 / np.sqrt(10), 0.01],
        ),
        (sch.StepDecay(step_size=2, gamma=0.5), [0.1, 0.1, 0.1, 0.025, 0.1 * 0.5**5]),
        (sch.ExponentialDecay(gamma=0.9), [0.1, 0.1, 0.09, 0.1 * 0.9**4, 0.1 * 0.9**10]),
        (
            sch.CosineAnnealing(min_learning_rate=0.0),
            [
                0.1,
                0.1 * (1 + np.cos(np.pi * 0.05)) / 2,
                0.1 * (1 + np.cos(np.pi * 0.1)) / 2,
                0.1 * (1 + np.cos(np.pi * 0.4)) / 2,
                0.0,
            ],
        ),
        (
            sch.CosineAnnealing(t_max=20, min_learning_rate=0.02),
            [
                0.1,
                0.02 + 0.08 * (1 + np.cos(np.pi * 0.025)) / 2,
                0.02 + 0.08 * (1 + np.cos(np.pi * 0.05)) / 2,
                0.02 + 0.08 * (1 + np.cos(np.pi * 0.2)) / 2,
                0.06,
            ],
        ),
        (sch.Warmup(sch.Constant(), warmup_steps=10), [0.01, 0.02, 0.03, 0.1, 0.1]),
        (
            sch.Warmup("invscaling", warmup_steps=4),
            [0.025, 0.1 / np.sqrt(2) / 2, 0.1 / np.sqrt(3) * 0.75, 0.1 / np.sqrt(10), 0.01],
        ),
        (sch.Adaptive(), [0.1] * 5),
        (sch.ReduceOnPlateau(), [0.1] * 5),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, list) else "",
)
def test_value_table(schedule, expected):
    np.testing.assert_allclose(schedule.rates(0.1, T, EPOCH, CTX), expected, rtol=1e-12)


def test_optimal_matches_scikit_learn_rule():
    # eta = 1 / (alpha * (t0 + t - 1)), t0 = 1 / (eta0 * alpha),
    # eta0 = typw / max(1, |dloss(-typw)|), typw = sqrt(1 / sqrt(alpha)).
    alpha = 0.01
    typw = np.sqrt(1 / np.sqrt(alpha))
    for loss, slope in ((Hinge(), 1.0), (SquaredError(), typw + 1)):
        t0 = 1 / (typw / max(1, slope) * alpha)
        got = sch.Optimal().rates(0.5, T, EPOCH, sch.ScheduleContext(10, alpha, loss))
        np.testing.assert_allclose(got, 1 / (alpha * (t0 + T - 1)), rtol=1e-12)


def test_optimal_needs_positive_alpha():
    with pytest.raises(ValueError, match="alpha > 0"):
        sch.Optimal().rates(0.1, T, EPOCH, sch.ScheduleContext(10, 0.0, Hinge()))


@pytest.mark.parametrize("name", sorted(sch.SCHEDULES))
def test_every_name_resolves_and_clones(name):
    schedule = sch.resolve_schedule(name)
    assert isinstance(schedule, sch.SCHEDULES[name])
    assert clone(schedule).get_params() == schedule.get_params()
    rates = schedule.rates(0.1, T, EPOCH, CTX)
    assert rates.shape == T.shape and np.all(rates >= 0)


def test_warmup_nested_params():
    warm = sch.Warmup(sch.CosineAnnealing(t_max=5), warmup_steps=3)
    assert warm.get_params()["schedule__t_max"] == 5
    warm.set_params(schedule__t_max=7)
    assert warm.schedule.t_max == 7
