"""Schedules: value tables from scikit-learn's source and torch's documented formulas."""

import math

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_gd import schedules as sch
from sklearn_gd.losses import (
    BinaryLogLoss,
    Hinge,
    Huber,
    ModifiedHuber,
    SquaredError,
    SquaredHinge,
)

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


@pytest.mark.parametrize(
    "loss",
    [Hinge(), SquaredError(), SquaredHinge(), BinaryLogLoss(), ModifiedHuber(), Huber(epsilon=1.0)],
    ids=lambda loss: type(loss).__name__,
)
@pytest.mark.parametrize("alpha", [1e-4, 0.01, 1.0])
def test_optimal_matches_scikit_learn_source(loss, alpha):
    # scikit-learn's _sgd_fast.pyx.tp:
    #   typw = sqrt(1 / sqrt(alpha)); eta0 = typw / max(1, dloss(y=1, p=-typw))
    #   optimal_init = 1 / (eta0 * alpha); eta = 1 / (alpha * (optimal_init + t - 1))
    # The signed dloss at p = -typw < y = 1 is negative for every loss, so
    # eta0 = typw and the first step is alpha ** -0.25 (squared_hinge at
    # alpha=0.01: 3.162, not 0.38 as with |dloss|).
    typw = np.sqrt(1 / np.sqrt(alpha))
    optimal_init = 1 / (typw * alpha)
    got = sch.Optimal().rates(0.5, T, EPOCH, sch.ScheduleContext(10, alpha, loss))
    np.testing.assert_allclose(got, 1 / (alpha * (optimal_init + T - 1)), rtol=1e-12)
    assert got[0] == pytest.approx(alpha**-0.25, rel=1e-12)


def test_invscaling_matches_scikit_learn_source():
    # _sgd_fast.pyx.tp: eta = eta0 / pow(t, power_t), t = 1.0 at the first sample.
    t = np.arange(1, 8)
    got = sch.InvScaling(power_t=0.25).rates(0.3, t, np.zeros(7), CTX)
    np.testing.assert_allclose(got, [0.3 / k**0.25 for k in range(1, 8)], rtol=1e-12)


def _torch_step_lr(base, step_size, gamma, epoch):
    """torch StepLR's closed form: base * gamma ** (epoch // step_size)."""
    return base * gamma ** (epoch // step_size)


def _torch_cosine(base, t_max, eta_min, epoch):
    """torch CosineAnnealingLR's closed form."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2


def test_per_epoch_schedules_match_torch_schedulers():
    # One step per epoch (full batch): the step size of epoch e (0-based) is the
    # torch scheduler's after e calls of scheduler.step().
    epochs = np.arange(12)
    t = epochs + 1
    cases = [
        (sch.StepDecay(step_size=3, gamma=0.3), [_torch_step_lr(0.2, 3, 0.3, e) for e in epochs]),
        (sch.ExponentialDecay(gamma=0.8), [0.2 * 0.8**e for e in epochs]),
        (sch.CosineAnnealing(t_max=10, min_learning_rate=0.01),
         [_torch_cosine(0.2, 10, 0.01, min(e, 10)) for e in epochs]),
    ]  # fmt: skip
    for schedule, want in cases:
        got = schedule.rates(0.2, t, epochs.astype(float), CTX)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=type(schedule).__name__)


def test_horizons():
    # Horizon schedules are not stopped by tol before their end.
    assert sch.Constant().horizon(CTX, 5) == 0
    assert sch.CosineAnnealing().horizon(CTX, 5) == CTX.max_iter
    assert sch.CosineAnnealing(t_max=4).horizon(CTX, 5) == 4
    assert sch.Warmup("constant", warmup_steps=12).horizon(CTX, 5) == 3
    assert sch.Warmup(sch.CosineAnnealing(t_max=4), warmup_steps=3).horizon(CTX, 5) == 4


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
