"""The monitor: after each epoch, continue, cut the step size, or stop.

It watches one value where lower is better (the training objective, or minus
the validation score with early stopping), keeps a copy of the best epoch's
weights when asked, and applies the plateau cuts of ``Adaptive`` and
``ReduceOnPlateau``. The rules follow scikit-learn's SGD: an epoch counts as an
improvement when it beats the best value so far by more than ``tol``.
"""

import numpy as np


class Monitor:
    """Epoch-level decisions of one ``fit``.

    Parameters
    ----------
    tol : float or None
        None never stops early.
    n_iter_no_change : int
    plateau : ReduceOnPlateau or None
        The plateau-reducing schedule in use, if any.
    learning_rate : float
        The base step size, to express the floor of the plateau cuts.
    keep_best : bool
        Copy the weights at each new best epoch.
    """

    def __init__(self, tol, n_iter_no_change, plateau, learning_rate, keep_best):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.keep_best = keep_best
        self.learning_rate = learning_rate
        self.plateau = plateau
        if plateau is not None:
            self.patience = plateau.patience or n_iter_no_change
            threshold = plateau.threshold if plateau.threshold is not None else tol
            self.threshold = threshold or 0.0
            self.floor = max(plateau.min_learning_rate, 1e-6 * learning_rate)
        self.best = np.inf
        self.best_epoch = None
        self.best_weights = None
        self.stall = 0
        self.plateau_best = np.inf
        self.plateau_stall = 0

    def update(self, value, epoch, weights, lr_scale):
        """Record epoch ``epoch``'s monitored ``value``; return ``(stop, lr_scale)``.

        ``weights`` is a callable returning copies of the current weights,
        called only at a new best epoch.
        """
        tol = self.tol if self.tol is not None else 0.0
        self.stall = self.stall + 1 if not value < self.best - tol else 0
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            if self.keep_best:
                self.best_weights = weights()

        if self.plateau is not None:
            improved = value < self.plateau_best - self.threshold
            self.plateau_stall = 0 if improved else self.plateau_stall + 1
            self.plateau_best = min(self.plateau_best, value)
            can_cut = self.learning_rate * lr_scale > self.floor
            if self.plateau_stall >= self.patience and can_cut:
                lr_scale *= self.plateau.factor
                if self.plateau.min_learning_rate > 0:
                    lr_scale = max(lr_scale, self.plateau.min_learning_rate / self.learning_rate)
                self.plateau_stall = self.stall = 0
            if can_cut:
                # While the step size can still be cut, a stall cuts it
                # instead of ending training.
                return False, lr_scale

        stop = self.tol is not None and self.stall >= self.n_iter_no_change
        return stop, lr_scale
