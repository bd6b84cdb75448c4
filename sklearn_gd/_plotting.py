"""Lazy matplotlib import, with the message to show when it is missing."""


def import_pyplot(what):
    """``matplotlib.pyplot``, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} draws with matplotlib, an optional extra: pip install 'sklearn-gd[plot]'"
        ) from exc
    return plt
