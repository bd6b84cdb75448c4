"""
Early stopping that hands back the best weights
===============================================

With ``early_stopping=True`` the classifier holds out a stratified
``validation_fraction`` of the training data and watches its score after every
epoch; training stops once it has not improved for ``n_iter_no_change``
epochs. With ``restore_best_weights=True`` the model keeps the weights of its
best validation epoch, not of the last one, which matters when the step size
is large and the validation score wanders.

Run ``python examples/plot_early_stopping.py`` (``--fast`` for CI); the figure
goes to ``examples/output/early_stopping.png``.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDClassifier  # noqa: E402

FAST = "--fast" in sys.argv
OUT = Path(__file__).parent / "output"
OUT.mkdir(exist_ok=True)
X, y = make_classification(3_000 if FAST else 20_000, 60, n_informative=10, flip_y=0.15,
                           random_state=0)  # fmt: skip
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

common = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=10, tol=1e-3,
              learning_rate=0.05, schedule="constant", alpha=1e-5, random_state=0)  # fmt: skip
last = GDClassifier(**common).fit(X_train, y_train)
best = GDClassifier(restore_best_weights=True, **common).fit(X_train, y_train)

print(f"stopped after {best.n_iter_} epochs; best validation epoch: {best.best_epoch_}")
print(f"test accuracy with the last weights: {last.score(X_test, y_test):.4f}")
print(f"test accuracy with the best weights: {best.score(X_test, y_test):.4f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
epochs = range(1, best.n_iter_ + 1)
ax.plot(epochs, best.validation_score_curve_, marker="o", markersize=3, label="validation accuracy")
ax.axvline(best.best_epoch_, color="k", linestyle="--", label=f"best epoch ({best.best_epoch_})")
ax.set(xlabel="epoch", ylabel="accuracy", title="Early stopping with restore_best_weights")
ax.legend()
fig.savefig(OUT / "early_stopping.png", dpi=80)
print(f"figure written to {OUT / 'early_stopping.png'}")
