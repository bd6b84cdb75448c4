"""
Early stopping that hands back the best weights
===============================================

A linear model with 400 features and 1 100 training rows overfits when it is
trained to convergence with a weak penalty: its test log-loss climbs while the
training loss keeps falling. With ``early_stopping=True`` the classifier holds
out a stratified ``validation_fraction`` of the training rows and watches the
validation loss (``scoring='loss'``, the default) after every epoch; training
stops once it has not improved for ``n_iter_no_change`` epochs. With
``restore_best_weights=True`` the model keeps the weights of its best
validation epoch, not those of the last one.

Printed by this script (scikit-learn 1.9, seed 0)::

    trained 200 epochs without early stopping: test log-loss 0.958, accuracy 0.685
    early stopping after 19 epochs, last weights: test log-loss 0.597, accuracy 0.704
    early stopping, best weights (epoch 10):      test log-loss 0.583, accuracy 0.699

Early stopping cuts the test log-loss from 0.96 to 0.60 in a tenth of the
epochs, and restoring the best epoch's weights lowers it further, to 0.58. The
accuracies differ by less than the noise of a 375-row test set (one row is
0.27 points): here early stopping is what keeps the probabilities honest.

Monitoring the validation *accuracy* instead (``scoring=None``) is a poorer
guide: on a small validation split many epochs tie, the first of them wins,
and the restored weights are those of an early, under-trained epoch.

Run ``python examples/plot_early_stopping.py`` to see the figure.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier

X, y = make_classification(1_500, 400, n_informative=30, flip_y=0.05, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

common = dict(alpha=1e-5, schedule="constant", learning_rate=0.002, n_iter_no_change=10,
              max_iter=200, random_state=0)  # fmt: skip
full = GDClassifier(tol=None, **common).fit(X_train, y_train)
stopping = dict(early_stopping=True, validation_fraction=0.2, **common)
last = GDClassifier(**stopping).fit(X_train, y_train)
best = GDClassifier(restore_best_weights=True, **stopping).fit(X_train, y_train)


def report(model):
    loss = log_loss(y_test, model.predict_proba(X_test))
    return f"test log-loss {loss:.3f}, accuracy {model.score(X_test, y_test):.3f}"


print(f"trained {full.n_iter_} epochs without early stopping: {report(full)}")
print(f"early stopping after {last.n_iter_} epochs, last weights: {report(last)}")
print(f"early stopping, best weights (epoch {best.best_epoch_}):      {report(best)}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
epochs = range(1, best.n_iter_ + 1)
ax.plot(epochs, [-s for s in best.validation_score_curve_], marker="o", markersize=3,
        label="validation log-loss")  # fmt: skip
ax.plot(epochs, best.loss_curve_, label="training objective")
ax.axvline(best.best_epoch_, color="k", linestyle="--", label=f"best epoch ({best.best_epoch_})")
ax.set(xlabel="epoch", ylabel="log-loss", title="Early stopping with restore_best_weights")
ax.legend()
plt.show()
