"""``show_versions``: the system and dependency versions to paste into a bug report."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

# The package itself, its dependencies, then the optional ones (extras).
DEPENDENCIES = [
    "sklearn-gd",
    "pip",
    "setuptools",
    "numpy",
    "scipy",
    "scikit-learn",
    "numba",
    "joblib",
    "threadpoolctl",
    "pandas",
    "matplotlib",
    "rich",
    "dask",
    "distributed",
    "dask-ml",
    "skl2onnx",
    "onnxruntime",
]


def _get_sys_info():
    """Python version, executable and platform."""
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _get_deps_info():
    """The installed version of each dependency, None when it is not installed."""
    info = {}
    for name in DEPENDENCIES:
        try:
            info[name] = version(name)
        except PackageNotFoundError:
            info[name] = None
    from . import __version__

    info["sklearn-gd"] = __version__  # the imported copy, installed or not
    return info


def show_versions(github=False):
    """Print the system and dependency versions, for bug reports.

    Parameters
    ----------
    github : bool, default=False
        If True, print a collapsible Markdown block ready to paste into a
        GitHub issue; otherwise plain text.

    See Also
    --------
    sklearn.show_versions : The same report for scikit-learn.

    Examples
    --------
    >>> from sklearn_gd import show_versions
    >>> show_versions()  # doctest: +SKIP
    """
    sections = {"System": _get_sys_info(), "Python dependencies": _get_deps_info()}
    if github:
        lines = ["<details><summary>System, Dependency Information</summary>", ""]
        for title, entries in sections.items():
            lines += [f"**{title}**", "", "<pre>"]
            lines += [f"{key:>13}: {value}" for key, value in entries.items()]
            lines += ["</pre>", ""]
        lines.append("</details>")
    else:
        lines = []
        for title, entries in sections.items():
            lines += ["", f"{title}:"]
            lines += [f"{key:>13}: {value}" for key, value in entries.items()]
    print("\n".join(lines))
