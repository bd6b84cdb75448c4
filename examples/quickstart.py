"""
Quickstart: what sklearn-gd adds to a linear model
==================================================

``GDRegressor`` and ``GDClassifier`` are linear models trained by gradient
descent, with the scikit-learn API. This script shows, on datasets bundled
with scikit-learn:

1. their scores and fit times beside scikit-learn's exact solvers and its SGD
   estimators, timed fairly (BLAS pinned to one thread for everyone);
2. the loss curve that every fit records;
3. early stopping on a validation split, with the best epoch's weights restored;
4. a stream learned chunk by chunk with ``partial_fit``.

Every estimator is seeded, so the numbers are the same from run to run, and
warnings are left on: a ``ConvergenceWarning`` means what it says. Figures are
drawn when matplotlib is installed (``pip install "sklearn-gd[plot]"``).

Run it with ``python examples/quickstart.py`` (``--fast`` for a quick pass).
"""

import sys

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_gd import GDClassifier, GDRegressor

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: the numbers are printed either way
    plt = None

FAST = "--fast" in sys.argv

# %%
# 1. Scores and fit times beside scikit-learn
# -------------------------------------------
# Each model is a pipeline with ``StandardScaler`` (gradient descent needs
# features on one scale, see the user guide), scored by 5-fold cross-validation
# (3-fold with ``--fast``). BLAS is pinned to one thread: on a small machine,
# ``LogisticRegression`` on all threads spends most of its time synchronising
# them, which would make it look many times slower than it is.

PROBLEMS = [
    ("diabetes (R^2)", load_diabetes, [
        GDRegressor(random_state=0), Ridge(), SGDRegressor(random_state=0)]),
    ("breast cancer (accuracy)", load_breast_cancer, [
        GDClassifier(random_state=0), LogisticRegression(random_state=0),
        SGDClassifier(loss="log_loss", random_state=0)]),
    ("wine (accuracy)", load_wine, [
        GDClassifier(random_state=0), LogisticRegression(random_state=0),
        SGDClassifier(loss="log_loss", random_state=0)]),
    ("digits (accuracy)", load_digits, [
        GDClassifier(random_state=0), LogisticRegression(random_state=0),
        SGDClassifier(loss="log_loss", random_state=0)]),
]  # fmt: skip
FOLDS = 3 if FAST else 5
if FAST:
    PROBLEMS = PROBLEMS[:2]

print(f"{'dataset':<26} {'estimator':<20} {'score':>7} {'fit seconds':>12}")
with threadpool_limits(limits=1):
    for title, load, estimators in PROBLEMS:
        X, y = load(return_X_y=True)
        for estimator in estimators:
            cv = cross_validate(make_pipeline(StandardScaler(), estimator), X, y, cv=FOLDS)
            name = type(estimator).__name__
            print(f"{title:<26} {name:<20} {cv['test_score'].mean():>7.4f} "
                  f"{np.median(cv['fit_time']):>12.4f}")  # fmt: skip
print("(fit seconds: the median over the folds; one BLAS thread for every estimator)")

# %%
# 2. The loss curve
# -----------------
# Every fit records the training objective (mean loss plus penalty) after each
# epoch in ``loss_curve_``, the step size in ``learning_rate_curve_``, and the
# number of epochs in ``n_iter_``: how training went, not only where it ended.

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = GDClassifier(random_state=0).fit(X_train, y_train)
curve = model.loss_curve_
shown = sorted({0, 1, 2, 4, 9, len(curve) - 1} & set(range(len(curve))))
print(f"\nGDClassifier() ran {model.n_iter_} epochs ({model.t_} Adam steps)")
for epoch in shown:
    print(f"  epoch {epoch + 1:>3}: objective {curve[epoch]:.4f}, "
          f"step size {model.learning_rate_curve_[epoch]:.2g}")  # fmt: skip
print(f"test accuracy {model.score(X_test, y_test):.4f}")

if plt is not None:
    from sklearn_gd import LossCurveDisplay

    display = LossCurveDisplay.from_estimator(model, curves=["loss", "learning_rate"])
    display.figure_.suptitle("GDClassifier() on breast cancer")

# %%
# 3. Early stopping with the best weights restored
# ------------------------------------------------
# With ``early_stopping=True`` a stratified ``validation_fraction`` of the
# training rows is held out and scored after every epoch (here on the
# validation loss, ``scoring='loss'``); once it has not improved for
# ``n_iter_no_change`` epochs the default schedule halves the step, and training
# stops when that no longer lowers it. ``restore_best_weights=True`` then hands back
# the weights of the best validation epoch instead of the last one. Both models
# below follow the same seeded path; they differ only in which weights they keep.
# On 426 training rows the two test accuracies differ by a row or two at most;
# restoring pays when the validation score falls well after its best epoch (see
# the early-stopping example).

common = dict(early_stopping=True, scoring="loss", validation_fraction=0.2,
              n_iter_no_change=10, random_state=0)  # fmt: skip
last = GDClassifier(**common).fit(X_train, y_train)
best = GDClassifier(restore_best_weights=True, **common).fit(X_train, y_train)
print(f"\nearly stopping after {best.n_iter_} epochs; best validation epoch {best.best_epoch_}")
print(f"  test accuracy, last weights:     {last.score(X_test, y_test):.4f}")
print(f"  test accuracy, restored weights: {best.score(X_test, y_test):.4f}")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    epochs = np.arange(1, best.n_iter_ + 1)
    ax.plot(epochs, best.validation_score_curve_, marker="o", markersize=3)
    ax.axvline(best.best_epoch_, color="k", linestyle="--", label="restored epoch")
    ax.set(xlabel="epoch", ylabel="validation score (minus the loss)",
           title="Early stopping on the validation loss")  # fmt: skip
    ax.legend()

# %%
# 4. A stream, chunk by chunk
# ---------------------------
# ``partial_fit`` runs one pass over the rows it is given and keeps the optimizer
# state (Adam's moments, the step count) for the next call, so a model can learn
# from data that never fit in memory at once. Each chunk is scored before the
# model learns from it ("test, then train").

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels on [0, 1]: a fixed scaling that needs no pass over the stream
rng = np.random.RandomState(0)
order = rng.permutation(len(y))
chunks = np.array_split(order, 10 if FAST else 30)
stream = GDClassifier(random_state=0)
accuracy = []
for i, rows in enumerate(chunks):
    if i > 0:
        accuracy.append(stream.score(X[rows], y[rows]))
    stream.partial_fit(X[rows], y[rows], classes=np.arange(10))
print(f"\nstream of {len(chunks)} chunks of about {len(chunks[0])} rows:")
print("  accuracy on the next chunk: " + " ".join(f"{a:.2f}" for a in accuracy))

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    ax.plot(np.arange(2, len(chunks) + 1), accuracy, marker="o", markersize=3)
    ax.set(xlabel="chunk", ylabel="accuracy before learning the chunk",
           title="partial_fit on a stream of digits")  # fmt: skip
    plt.show()
