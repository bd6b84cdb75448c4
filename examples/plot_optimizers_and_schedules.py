"""
Choosing an optimizer and a schedule
====================================

Every optimizer and schedule of ``GDClassifier`` trains the same logistic
regression; they differ in how fast the training objective falls and where it
settles. This example trains one model per optimizer (left) and per schedule
(right) on the same standardized digits data, and draws their loss curves with
``LossCurveDisplay``.

Reading the figure: Adam's family, AdaGrad and RMSProp fall fastest with their
default step size; plain SGD depends most on the step size; a decaying schedule
(cosine, step, adaptive) ends lower than a constant one, which keeps bouncing
in the noise of its mini-batches.

Run ``python examples/plot_optimizers_and_schedules.py`` (``--fast`` for CI).
"""

import sys
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import scale

from sklearn_gd import GDClassifier, LossCurveDisplay

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv
X, y = load_digits(return_X_y=True)
X = scale(X)
epochs = 10 if FAST else 40

optimizers = [
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "amsgrad",
]
step = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.1}
by_optimizer = [
    GDClassifier(optimizer=name, learning_rate=step.get(name, 0.01), schedule="constant",
                 batch_size=64, max_iter=epochs, tol=None, random_state=0).fit(X, y)
    for name in optimizers
]  # fmt: skip
schedules = ["constant", "invscaling", "step", "exponential", "cosine", "adaptive", "plateau"]
by_schedule = [
    GDClassifier(schedule=name, learning_rate=0.05, batch_size=64, max_iter=epochs,
                 tol=None if name != "adaptive" else 1e-4, random_state=0).fit(X, y)
    for name in schedules
]  # fmt: skip

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
LossCurveDisplay.from_estimators(by_optimizer, names=optimizers, ax=axes[0], curves=["loss"])
LossCurveDisplay.from_estimators(by_schedule, names=schedules, ax=axes[1], curves=["loss"])
axes[0].set_title("Optimizers (constant step, batches of 64)")
axes[1].set_title("Schedules (Adam, base step 0.05)")

print(f"{'model':<12} {'final objective':>16} {'accuracy':>9}")
runs = [*zip(optimizers, by_optimizer, strict=True), *zip(schedules, by_schedule, strict=True)]
for name, model in runs:
    print(f"{name:<12} {model.loss_curve_[-1]:>16.4f} {model.score(X, y):>9.3f}")
plt.show()
