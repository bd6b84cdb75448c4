"""numpydoc validation of every public object, filtered as scikit-learn filters its own.

The approach of ``sklearn/tests/test_docstrings.py`` (also used by imbalanced-learn
and skglm): each public class, each of its public methods and properties, and each
public function is validated with ``numpydoc.validate``; the errors scikit-learn
tolerates are dropped by ``filter_errors`` (copied from scikit-learn, whose test
module is not importable on every supported version).

The public objects are discovered, not listed, so that a new estimator, optimizer,
schedule or function is validated as soon as it is exported: everything in
``sklearn_gd.__all__`` (and in the ``__all__`` of the public submodules that have
one), plus every optimizer and schedule class.
"""

import importlib
import inspect
from pathlib import Path

import pytest

numpydoc_validation = pytest.importorskip("numpydoc.validate")

import sklearn_gd  # noqa: E402
from sklearn_gd import optimizers, schedules  # noqa: E402

# Public submodules: their ``__all__`` (or, without one, the public classes and
# functions they define); one that cannot be imported (its extra is not installed,
# or it does not exist yet) is skipped.
SUBMODULES = ["sklearn_gd.onnx", "sklearn_gd.exceptions"]


def _public_objects():
    objects = {}
    for name in sklearn_gd.__all__:
        objects[name] = getattr(sklearn_gd, name)
    for module, base in ((optimizers, optimizers.Optimizer), (schedules, schedules.Schedule)):
        for name, obj in vars(module).items():
            if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, base):
                objects[f"{module.__name__}.{name}"] = obj
    for module_name in SUBMODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                name
                for name, obj in vars(module).items()
                if not name.startswith("_")
                and (inspect.isclass(obj) or inspect.isfunction(obj))
                and obj.__module__ == module_name
            ]
        for name in names:
            objects[f"{module_name}.{name}"] = getattr(module, name)
    # Classes returned by public functions are public too.
    from sklearn_gd.lr_finder import LearningRateFinderResult

    objects["LearningRateFinderResult"] = LearningRateFinderResult
    return objects


def _import_path(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _inherited_from_builtins(klass, name):
    """True for methods such as ``Exception.add_note``: documented by Python."""
    owner = next(k for k in klass.__mro__ if name in vars(k))
    return owner.__module__ == "builtins"


# The extension protocol of optimizers and schedules is documented once, on the base
# class; subclasses implement it without repeating that text (as scikit-learn skips
# the callback hooks documented in its Callback protocol).
PROTOCOL = {
    optimizers.Optimizer: ("init", "step", "effective_step", "hyper", "decoupled_decay"),
    schedules.Schedule: ("rates", "horizon"),
}


def _protocol_override(klass, name):
    return any(
        issubclass(klass, base) and klass is not base and name in names
        for base, names in PROTOCOL.items()
    )


def _cases():
    for obj in _public_objects().values():
        if inspect.isclass(obj):
            yield obj, None
            for name in sorted(dir(obj)):
                if (
                    name.startswith("_")
                    or _inherited_from_builtins(obj, name)
                    or _protocol_override(obj, name)
                ):
                    continue
                attr = getattr(obj, name)
                if isinstance(attr, property) or callable(attr):
                    if isinstance(inspect.getattr_static(obj, name), staticmethod) and (
                        name in ("rule", "effective")
                    ):
                        # The optimizers' pure rule functions, validated where defined.
                        continue
                    yield obj, name
        else:
            yield obj, "function"


def filter_errors(errors, method, Klass=None):
    """Drop the errors scikit-learn's own docstring test tolerates (its rules, verbatim)."""
    for code, message in errors:
        # RT02: the Returns line may name the returned object; GL01, GL02: layout.
        if code in ["RT02", "GL01", "GL02"]:
            continue
        # PR02, GL08 on properties (duck-typed methods, documented attributes).
        if code in ("PR02", "GL08") and Klass is not None and method is not None:
            if isinstance(inspect.getattr_static(Klass, method), property):
                continue
        # Extended summary, See Also and Examples are required on classes only.
        if method is not None and code in ["EX01", "SA01", "ES01"]:
            continue
        yield code, message


def validate(obj, method):
    """The filtered numpydoc errors of ``obj`` (or of its ``method``)."""
    if method == "function":
        path, klass, method = _import_path(obj), None, "function"
    else:
        klass = obj
        path = _import_path(obj) if method is None else f"{_import_path(obj)}.{method}"
    result = numpydoc_validation.validate(path)
    return result, list(filter_errors(result["errors"], method, Klass=klass))


def _case_id(case):
    obj, method = case
    name = obj.__qualname__
    return name if method in (None, "function") else f"{name}.{method}"


CASES = list(_cases())


@pytest.mark.parametrize("obj, method", CASES, ids=[_case_id(c) for c in CASES])
def test_docstring(obj, method):
    result, errors = validate(obj, method)
    if errors:
        listing = "\n".join(f" - {code}: {message}" for code, message in errors)
        raise AssertionError(f"{_case_id((obj, method))}:\n{result['docstring']}\n{listing}")


def test_every_public_object_is_validated():
    """The discovery above finds the estimators, every optimizer and schedule, the rest."""
    names = {_case_id(c) for c in CASES}
    for required in [
        "GDClassifier",
        "GDRegressor",
        "GDClassifier.fit",
        "LossCurveDisplay.from_estimator",
        "find_learning_rate",
        "minimize",
        "DivergenceError",
        "LearningRateFinderResult.plot",
        *(cls.__name__ for cls in optimizers.OPTIMIZERS.values()),
        *(cls.__name__ for cls in schedules.SCHEDULES.values()),
        "Warmup",
    ]:
        assert required in names


def test_api_reference_lists_every_public_object():
    """doc/api.rst has an entry for every public object, so a new one gets its page."""
    api = (Path(__file__).parent.parent / "doc" / "api.rst").read_text()
    entries = {line.strip() for line in api.splitlines() if line.startswith("   ")}
    for key, obj in _public_objects().items():
        short = key.rsplit(".", 1)[-1]
        qualified = f"{obj.__module__.removeprefix('sklearn_gd.')}.{obj.__name__}"
        assert short in entries or qualified in entries, f"{key} is missing from doc/api.rst"
