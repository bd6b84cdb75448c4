"""Regularisation: the L2 gradient term and the L1 proximal step.

``R(w) = l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2`` on the coefficients
only (never the intercept column). The L2 part enters the gradient that every
optimizer sees; the L1 part is a soft-threshold applied after the optimizer's
step, so coefficients reach exact zeros. One-row steps, whose per-step
threshold is too small to hold a noisy weight at zero, apply the L1 part
as a cumulative penalty instead (``cumulative_l1``), as scikit-learn's SGD does.
"""

import numpy as np


def soft_threshold(coef, threshold):
    """The L1 prox ``sign(coef) * max(|coef| - threshold, 0)``, elementwise."""
    return np.sign(coef) * np.maximum(np.abs(coef) - threshold, 0.0)


def cumulative_l1(coef, u, q):
    """Tsuruoka, Tsujii & Ananiadou (2009), as scikit-learn's ``_sgd_fast.l1penalty``.

    ``u`` is the L1 penalty each weight could have received so far (the sum
    of ``l1 * step``), ``q`` the penalty it did receive. A weight is pulled
    towards 0 by what it is owed, ``u + q`` or ``u - q``, and stops at 0
    rather than crossing it. Returns the new ``(coef, q)``, elementwise.
    """
    lower = np.maximum(0.0, coef - (u + q))
    upper = np.minimum(0.0, coef + (u - q))
    new = (coef > 0.0) * lower + (coef < 0.0) * upper
    return new, q + (new - coef)


PENALTIES = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": None}


class Penalty:
    """Strengths of the two parts of ``alpha * R(w)``.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet'} or None
    alpha : float
    l1_ratio : float
        Only used by ``'elasticnet'``.
    """

    def __init__(self, penalty, alpha, l1_ratio):
        if penalty is None:
            self.l1 = self.l2 = 0.0
        else:
            ratio = l1_ratio if penalty == "elasticnet" else PENALTIES[penalty]
            self.l1 = alpha * ratio
            self.l2 = alpha * (1.0 - ratio)

    def in_units(self, scale, degree):
        """The strengths on ``w' = w / scale`` of the objective divided by ``scale**degree``.

        With ``w = scale * w'``, ``alpha * R(w) = scale**degree * (l2 * scale**(2 - degree)
        * R2(w') + l1 * scale**(1 - degree) * R1(w'))``: the L2 part is of degree 2
        in ``w``, the L1 part of degree 1. A loss of degree ``degree`` on ``y / scale``
        plus this penalty then has the same minimiser, in units of ``scale``.
        """
        new = Penalty(None, 0.0, 0.0)
        new.l2 = self.l2 * scale ** (2 - degree)
        new.l1 = self.l1 * scale ** (1 - degree)
        return new

    def value(self, coef):
        """``alpha * R(coef)``."""
        out = 0.0
        if self.l2:
            # einsum: np.vdot copies a strided view (coef is theta[:, :-1]), 60x slower
            out += 0.5 * self.l2 * float(np.einsum("ij,ij->", coef, coef))
        if self.l1:
            out += self.l1 * float(np.abs(coef).sum())
        return out

    def add_gradient(self, grad_coef, coef):
        """Add the L2 part's gradient ``l2 * coef`` in place."""
        if self.l2:
            grad_coef += self.l2 * coef

    def prox(self, coef, step):
        """Soft-threshold ``coef`` in place by ``l1 * step``.

        ``step`` is the optimizer's effective per-coordinate step size, so the
        fixed point is the true L1-penalised optimum for every optimizer.
        """
        if self.l1:
            coef[...] = soft_threshold(coef, self.l1 * step)
