"""sphinx-gallery hooks, named by their qualified name in conf.py so the config pickles."""

import os
import warnings

# The warning filters as they were before any example ran.
_FILTERS = warnings.filters[:]


def reset_argv(gallery_conf, script_vars):
    """Run every example in its fast mode, unless SKLEARN_GD_DOCS_FULL=1."""
    return [] if os.environ.get("SKLEARN_GD_DOCS_FULL") == "1" else ["--fast"]


def reset_warnings(gallery_conf, fname, when=None):
    """Undo the warning filters an example set, so that they do not leak into the next."""
    warnings.filters[:] = _FILTERS
