"""The compiled epoch loop (numba): binding, caching and running ``_loop.py``.

``run_epoch`` in ``_engine.py`` walks the batches in Python, gathering each
batch's rows and handing the products to BLAS. That costs an interpreter round
trip per batch and a copy of every row per epoch, which dominates for small
batches (a one-row step in NumPy is ~100x slower than scikit-learn's Cython).
``_loop.py`` is the same loop compiled, as an ordinary module: rows are read in
place (no gather), and the loss gradient, optimizer and proximal steps are the
jitted versions of the very functions in ``losses.py``, ``optimizers.py`` and
``penalties.py`` that the NumPy path calls, so there is one implementation of
the math; a test holds both paths equal.

numba is imported only when the compiled path is used. Compiling one combination
of loss, rule and input format takes seconds, so each is written once as a copy
of ``_loop.py`` whose marked bindings block is filled for it (``kernel_source``),
and numba caches its functions on disk: later processes load it in milliseconds.
The block imports each function from where it is defined (a user's optimizer
included), helpers they call are registered with numba here, and the copy's name
hashes the source of all it compiles, so edited math never runs stale. The folder
is ``SKLEARN_GD_CACHE``, else the user cache folder; a cache that cannot be used
costs a warning and a compilation in memory, never a fit.
"""

import atexit
import dis
import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import shutil
import sys
import tempfile
import traceback
import types
import warnings
from collections import namedtuple
from functools import cache
from pathlib import Path

import numpy as np

from . import losses, optimizers

# The compiled loop's arguments (``_loop.loop``): what an epoch reads, how it trains,
# and what it changes. numba takes named tuples of arrays and numbers as they are.
Data = namedtuple("Data", "X d Y sw sq orders starts lrs raws")
Data.__doc__ = """The epochs' input: ``X`` (an array, or ``(data, indices, indptr)`` of a CSR
matrix) with ``d`` columns, targets ``Y`` (a matrix, or ``(index, low, high)`` of
``losses.Labels``), weights ``sw``, the rows' curvatures ``sq``
(``sw`` when not ``safe``: prefetched only), and per epoch ``e`` the row order
``orders[e]``, the batches' step sizes ``lrs[e]`` (the batches start at ``starts``), and
``raws[e]``, which receives each row's raw prediction (by row, or by position from
the first batch's start: ``Config.by_row``)."""
Config = namedtuple(
    "Config",
    "b hyper param l2 l1 fit_intercept clip_norm decay safe linear cumulative mean_weight "
    "average_start average_per_epoch by_row weighted",
)
Config.__doc__ = """How the epochs train: batch size ``b``, the rule's ``hyper``, the loss's
``param``, the penalty's ``l2`` and ``l1``, ``clip_norm`` (0: off), AdamW's ``decay``,
``safe`` steps, a ``linear`` rule, the ``cumulative`` L1 of one-row steps, the
gradient normaliser ``mean_weight``, ``average_start`` (0: no averaging),
``average_per_epoch`` (each epoch's iterates averaged afresh), ``by_row`` (``raws``
indexed by row, else by position) and ``weighted`` (the weights differ: else every row
reads ``sw[0]``)."""
State = namedtuple("State", "theta slots u q avg t n_avg")
State.__doc__ = """What the epoch changes: the weights ``theta``, the rule's ``slots``, the
cumulative L1 ``(u, q)`` and the average ``avg`` (``theta`` where unused: never read),
the step count ``t`` and the number of averaged iterates ``n_avg``."""

_LOOP_FILE = Path(__file__).with_name("_loop.py")
# The learning-rate search's epoch (GD*CV), bound to the math by the same block.
_SEARCH_FILE = Path(__file__).with_name("_search_loop.py")
_BEGIN = "# --- bindings: filled per combination by sklearn_gd._kernel ---\n"
_END = "# --- end of bindings ---\n"


@cache
def _loop_source(path=_LOOP_FILE):
    """The source of ``_loop.py`` (or ``path``), split around its bindings block."""
    source = path.read_text()
    head, rest = source.split(_BEGIN)
    _, tail = rest.split(_END)
    return head, tail


class CompileError(RuntimeError):
    """The compiled loop cannot run this loss and optimizer (the message says why)."""


def numba_available():
    """Whether numba can be imported."""
    return importlib.util.find_spec("numba") is not None


@cache
def prepare_numba():
    """Import numba, teach it the NumPy idioms the loss functions use, and return
    ``prefetch(array, index)``, a cache hint for the address of one item."""
    try:
        from llvmlite import ir
        from numba import types
        from numba.core import cgutils
        from numba.extending import intrinsic, overload
    except ImportError as exc:
        raise ImportError(
            "the compiled loop needs numba, which could not be imported: pip install numba"
        ) from exc

    @overload(losses.row_max)
    def _row_max(raw):  # NumPy's keepdims reduction, written out for numba
        def impl(raw):
            out = np.empty((raw.shape[0], 1), dtype=raw.dtype)
            for i in range(raw.shape[0]):
                out[i, 0] = raw[i].max()
            return out

        return impl

    @overload(losses.where)
    def _where(condition, x, y):  # numba's np.where makes a 0-d array of numbers
        if isinstance(condition, types.Array):
            return lambda condition, x, y: np.where(condition, x, y)
        return lambda condition, x, y: x if condition else y

    @intrinsic
    def prefetch(typingctx, array, index):
        def codegen(context, builder, signature, args):
            array_type, index_type = signature.args
            tuple_index = isinstance(index_type, types.BaseTuple)
            indices = cgutils.unpack_tuple(builder, args[1]) if tuple_index else [args[1]]
            # One integer type for the address: an int32 row (the order's) and an int64.
            kinds = index_type.types if tuple_index else [index_type]
            indices = [context.cast(builder, value, kind, types.intp)
                       for value, kind in zip(indices, kinds, strict=True)]  # fmt: skip
            data = context.make_array(array_type)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, array_type, data, indices,
                                           wraparound=False)  # fmt: skip
            i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0i8",
            )  # fmt: skip
            # read, keep in all cache levels, data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return types.void(array, index), codegen

    return prefetch


# --- what a kernel is made of ---------------------------------------------------------

# Functions numba already knows (its own overloads of NumPy and math), or that
# ``prepare_numba`` overloads by hand: never registered as helpers.
_KNOWN_PACKAGES = {"numpy", "scipy", "numba", "math", "cmath", "operator", "builtins"}
_HAND_OVERLOADED = {losses.row_max, losses.where}


@cache
def compilable(loss, optimizer, l1=False):
    """None when the compiled loop runs this ``Loss`` and ``Optimizer`` class exactly
    as the NumPy loop would (``l1``: with an L1 prox), else the reason why not."""
    name = f"optimizer {optimizer.__module__}.{optimizer.__qualname__}"
    if optimizer.rule is None:
        return f"{name} has no rule function (only the NumPy loop runs its step())"
    for method in ("step", "effective_step", "init"):
        if getattr(optimizer, method) is not getattr(optimizers.Optimizer, method):
            return f"{name} overrides {method}(), which the compiled loop cannot run"
    if l1 and optimizer.effective is None:
        return f"{name} has no effective function, which the L1 prox needs"
    name = f"loss {loss.__module__}.{loss.__qualname__}"
    if loss.gradient_function is None:
        return f"{name} has no gradient_function"
    if loss.gradient is not losses.Loss.gradient:
        return f"{name} overrides gradient(), which the compiled loop cannot run"
    if loss.rowwise and loss.row_gradient_function is None:
        return f"{name} is rowwise and has no row_gradient_function (one row, in place)"
    return None


def _code_objects(code):
    """``code`` and the code objects nested in it (comprehensions, lambdas)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _referenced(fn):
    """The global and closure values ``fn`` reads, by name (numba freezes them)."""
    loads = ("LOAD_GLOBAL", "LOAD_NAME")
    names = {ins.argval for code in _code_objects(fn.__code__)
             for ins in dis.get_instructions(code) if ins.opname in loads}  # fmt: skip
    values = {name: fn.__globals__[name] for name in names if name in fn.__globals__}
    cells = zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True)
    values.update((name, cell.cell_contents) for name, cell in cells)
    return dict(sorted(values.items()))


def _is_helper(value):
    """A plain Python function numba must be taught to compile."""
    return (
        isinstance(value, types.FunctionType)
        and value not in _HAND_OVERLOADED
        and (value.__module__ or "").partition(".")[0] not in _KNOWN_PACKAGES
    )


def _helpers(functions):
    """The helpers ``functions`` call, directly or through one another."""
    found, todo = [], list(functions)
    while todo:
        for value in _referenced(todo.pop()).values():
            if _is_helper(value) and value not in found and value not in functions:
                found.append(value)
                todo.append(value)
    return found


def _digest(functions):
    """A hash of what numba compiles of ``functions``: their code, their source (when
    it can be read) and the plain values they read from their globals."""
    h = hashlib.sha256()
    for fn in functions:
        h.update(f"{fn.__module__}.{fn.__qualname__}\0".encode())
        for code in _code_objects(fn.__code__):
            h.update(code.co_code)
            h.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
            consts = [c for c in code.co_consts if not isinstance(c, types.CodeType)]
            h.update(repr(consts).encode())
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):  # defined in a string or a REPL: the code says it all
            pass
        for name, value in _referenced(fn).items():
            if isinstance(value, (bool, int, float, complex, str, bytes, tuple)):
                h.update(f"{name}={value!r}\0".encode())
    return h.hexdigest()


def _bound_functions(loss, optimizer):
    """The functions the loop compiles, by the name the generated module gives them."""
    from ._engine import bound_factor  # _engine imports this module
    from .penalties import cumulative_l1, soft_threshold

    return {
        "_gradient": loss.gradient_function,
        # Called only for rowwise losses (numba compiles a function when it is called).
        "_row_gradient": loss.row_gradient_function or loss.gradient_function,
        "_rule": optimizer.rule,
        "_effective": optimizer.effective or optimizers.sgd_effective,  # unused without L1
        "_prox": soft_threshold,
        "_bound_factor": bound_factor,
        "_cumulative": cumulative_l1,
    }


def _importable(fn):
    """Whether ``from fn.__module__ import ...`` finds ``fn`` itself."""
    if "<" in fn.__qualname__ or fn.__module__ not in sys.modules:
        return False
    value = sys.modules[fn.__module__]
    for part in fn.__qualname__.split("."):
        value = getattr(value, part, None)
    return value is fn


def _bindings(bound, n_slots, sparse, rowwise, lazy, cache, labels=False):
    """The bindings block of ``_loop.py`` for one combination: each function imported
    from where it is defined, or, if it cannot be imported (defined inside a function),
    taken from ``BINDINGS``; the constants; the rule's slot access at ``(k, f)``."""
    lines = []
    for name, fn in bound.items():
        if _importable(fn):
            head, _, rest = fn.__qualname__.partition(".")
            lines.append(f"from {fn.__module__} import {head} as {name}")
            if rest:
                lines.append(f"{name} = {name}.{rest}")
        else:
            lines.append(f"{name} = BINDINGS[{name!r}]  # {fn.__module__}.{fn.__qualname__}")
    read = "".join(f"slots[{i}][k, f], " for i in range(n_slots))
    write = "".join(f"\n    slots[{i}][k, f] = new[{i}]" for i in range(n_slots))
    lines += [
        "",
        f"CACHE = {cache}",
        f"CSR = {sparse}",
        f"ROWWISE = {rowwise}",
        f"LAZY = {lazy}",
        f"LABELS = {labels}",
        "",
        "",
        '@njit(cache=True, inline="always")',
        "def read_slots(slots, k, f):",
        f"    return ({read})",
        "",
        "",
        '@njit(cache=True, inline="always")',
        "def write_slots(slots, k, f, new):",
        f"    {write.strip() or 'pass'}",
        "",
        "",
    ]
    return "\n".join(lines)


def kernel_source(loss, optimizer, sparse, cache=True, search=False, labels=False):
    """The module ``_loop.py`` (``search``: ``_search_loop.py``) with its bindings block
    filled for one combination (``labels``: the target is ``losses.Labels``), and its
    stem (a name that hashes what it compiles: the module's source, every bound
    function and helper, the versions of sklearn-gd and numba)."""
    from . import __version__

    bound = _bound_functions(loss, optimizer)
    lazy = bool(optimizer.linear) and sparse
    block = _bindings(bound, len(optimizer.slots), sparse, bool(loss.rowwise), lazy, cache,
                      labels)  # fmt: skip
    head, tail = _loop_source(_SEARCH_FILE if search else _LOOP_FILE)
    source = f"{head}{_BEGIN}{block}{_END}{tail}"
    functions = [*bound.values()]
    functions += _helpers(functions)
    h = hashlib.sha256(source.encode())
    h.update(_digest(functions).encode())
    h.update(f"{__version__} {importlib.metadata.version('numba')}".encode())
    names = "_".join(re.sub(r"\W", "_", fn.__name__) for fn in (bound["_rule"], bound["_gradient"]))
    fmt = ("csr" if sparse else "dense") + ("_labels" if labels else "")
    return source, f"{'search' if search else 'loop'}_{names}_{fmt}_{h.hexdigest()[:20]}"


def kernel_key(loss, optimizer, sparse, search=False, labels=False):
    """The name the compiled loop is cached under (changes with any source it compiles)."""
    return kernel_source(loss, optimizer, sparse, search=search, labels=labels)[1]


# --- the cache folder ------------------------------------------------------------------


def _warn(message):
    warnings.warn(message, UserWarning, stacklevel=2)


_warned = set()


def warn_once(key, message):
    """Warn about ``key`` once per process (a stream of calls would repeat it)."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


class Helper:
    """A plain function that numba compiles on first use, for the engine's work
    outside the loop (``_shuffle``, ``_products``). It is fixed code, not generated
    as the loop is, so numba's own disk cache serves, pointed at the loop's folder
    (``_cache_dir``: ``SKLEARN_GD_CACHE`` first, the same fallbacks and warning).

    ``get()`` gives the compiled function, or None until something else (the
    compiled loop) has imported numba, where numba is missing, or where the
    function failed before; the caller then takes its NumPy path, which gives the
    same numbers. Importing numba for a helper alone would cost a NumPy-engine fit
    more than it saves (0.1 s and 28 MB, against 8 ms a shuffle of 10^6 rows). A
    caller whose call fails before it changed anything (numba's cache could not
    be loaded) says so with ``failed(exc)``: one warning, and NumPy's path for the
    rest of the process.
    """

    def __init__(self, function):
        self.function = function
        self._compiled = None
        self._tried = False

    def get(self):
        if not self._tried:
            numba = sys.modules.get("numba")
            if numba is None:
                return None
            self._tried = True
            folder = _cache_dir()
            if folder is None:  # nothing can be written: compiled in memory
                self._compiled = numba.njit(self.function)
                return self._compiled
            # numba reads its cache folder when the function is decorated: set for
            # that moment only, so that a user's own cached functions are untouched.
            previous, numba.config.CACHE_DIR = numba.config.CACHE_DIR, str(folder / "helpers")
            try:
                self._compiled = numba.njit(cache=True)(self.function)
            except RuntimeError:  # numba could not use the folder after all
                self._compiled = numba.njit(self.function)
            finally:
                numba.config.CACHE_DIR = previous
        return self._compiled

    def failed(self, exc):
        self._compiled, self._tried = None, True
        name = self.function.__qualname__
        warn_once(name, f"sklearn-gd: the compiled {name} failed ({type(exc).__name__}: "
                        f"{exc}); its NumPy version, which gives the same numbers, is used "
                        "instead.")  # fmt: skip


def _user_cache_root():
    """The platform's per-user cache folder, or None when there is no home to find it."""
    try:
        import platformdirs
    except ImportError:
        pass
    else:
        try:
            return Path(platformdirs.user_cache_dir("sklearn_gd", appauthor=False))
        except (RuntimeError, KeyError, OSError):
            return None
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except (RuntimeError, KeyError, OSError):  # no HOME and no entry in the password database
        return None
    return Path(base) / "sklearn_gd"


def _writable(folder):
    """Create ``folder`` if needed and check that a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


@cache
def _private_dir():
    """A folder of this process's own (``mkdtemp``: mode 0700), removed at exit."""
    try:
        folder = tempfile.mkdtemp(prefix="sklearn_gd_kernels_")
    except OSError:
        return None
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


@cache
def _resolve_cache_dir(env, xdg, home):
    """The kernel folder for these values of ``SKLEARN_GD_CACHE``, ``XDG_CACHE_HOME`` and
    ``HOME`` (arguments only to key the memo); None to compile in memory."""
    root = Path(env) if env else _user_cache_root()
    if root is not None and _writable(root / "kernels"):
        return root / "kernels"
    fallback = _private_dir()
    where = (
        f"the kernel cache folder {root / 'kernels'} cannot be written"
        if root is not None
        else "no user cache folder could be found (no home directory)"
    )
    _warn(
        f"sklearn-gd: {where}; compiled kernels go to "
        + (f"the private temporary folder {fallback}" if fallback else "memory only")
        + " for this process and will be compiled again by the next one. Set "
        "SKLEARN_GD_CACHE to a writable folder to keep them."
    )
    return fallback


_CACHE_VARIABLES = ("SKLEARN_GD_CACHE", "XDG_CACHE_HOME", "HOME")


def _cache_dir():
    """Where compiled kernels are kept: ``SKLEARN_GD_CACHE``, else the user cache folder
    (``platformdirs``, else ``XDG_CACHE_HOME`` or ``~/.cache``), else a private
    temporary folder (with a warning); None when nothing can be written."""
    return _resolve_cache_dir(*(os.environ.get(name) for name in _CACHE_VARIABLES))


# --- loading and running ---------------------------------------------------------------

# (loss, optimizer, sparse, folder) -> the loop (folder None: compiled in memory), or
# _IN_MEMORY where the folder's cache failed it.
_loops = {}
_IN_MEMORY = object()
_ready = {}  # (loss, optimizer, sparse, *the cache variables) -> the loop that ran last
_failures = {}  # (loss, optimizer, sparse) -> why it cannot compile


def _load(loss, optimizer, sparse, folder, search=False, labels=False):
    """Write (if needed) and import the generated module; return its ``loop`` (its
    ``search_epoch`` when ``search``)."""
    bound = _bound_functions(loss, optimizer)
    for helper in _helpers(list(bound.values())):
        _register(helper)
    source, stem = kernel_source(loss, optimizer, sparse, cache=folder is not None,
                                 search=search, labels=labels)  # fmt: skip
    name = f"sklearn_gd_kernel_{stem}" + ("" if folder is not None else "_memory")
    module = types.ModuleType(name)
    module.BINDINGS = bound
    if folder is None:
        module.__file__ = f"<{name}>"
        code = compile(source, module.__file__, "exec")
    else:
        path = folder / f"{stem}.py"
        try:
            current = path.read_text() if path.exists() else source
        except (OSError, UnicodeDecodeError):
            current = None
        if current != source:  # its name hashes its content: it was damaged
            _warn(f"sklearn-gd: the compiled kernel {path} was damaged; writing it again.")
        # Rewrite only when the source changed: numba's cache is keyed to the file.
        if not path.exists() or current != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        module.__file__ = str(path)
        code = compile(source, str(path), "exec")
    # numba's disk cache finds the functions' module again by name.
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module.search_epoch if search else module.loop


@cache
def _register(helper):
    """Let numba compile ``helper`` where a rule or loss function calls it."""
    from numba.extending import register_jitable

    register_jitable(helper)


def _origin(exc):
    """Where ``exc`` came from: 'cache' (numba's disk cache), 'compile' (numba), or
    'run' (the compiled loop itself, which raises with no numba frame)."""
    import numba

    root = os.path.dirname(numba.__file__)
    files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    if any(f.startswith(root) and f.endswith("caching.py") for f in files):
        return "cache"
    return "compile" if any(f.startswith(root) for f in files) else "run"


class _CacheError(OSError):
    """Writing a kernel into the cache folder failed."""


def _forget(folder, stem):
    """Remove one kernel's files from the cache (a damaged index would fail forever)."""
    for path in [folder / f"{stem}.py", *(folder / "__pycache__").glob(f"{stem}.*")]:
        try:
            path.unlink()
        except OSError:
            pass


def run_compiled(loss, optimizer, sparse, args, loop=None, search=False, labels=False):
    """Run the compiled loop of one ``Loss`` and ``Optimizer`` class and one input format
    (CSR when ``sparse``) on ``args``; return what it returns and the loop that ran.
    ``search``: the search's epoch (``_search_loop.search_epoch``) instead; ``labels``:
    the target is ``losses.Labels``, passed as ``(index, low, high)``.

    The loop is compiled on first use, or loaded from the cache folder. A cache that
    cannot be used (unwritable, damaged) costs a warning naming the folder and a
    compilation in memory. Raises ``CompileError`` when numba cannot compile the
    functions (the loop has then not started: nothing has changed). ``loop``, the loop
    an earlier call returned, is tried first: the epochs of one fit skip looking up
    the environment's cache folder again.
    """
    ready = None
    if loop is None:
        # The loop last used for these classes and this environment: one lookup per
        # call, which matters to a stream of one-row partial_fit calls.
        env = os.environ
        ready = (loss, optimizer, sparse, search, labels,
                 *(env.get(name) for name in _CACHE_VARIABLES))  # fmt: skip
        loop = _ready.get(ready)
    if loop is not None:
        try:
            return loop(*args), loop
        except Exception as exc:
            if _origin(exc) == "run":
                raise
            _ready.pop(ready, None)  # a new argument type failed to compile or load
    env = os.environ
    ready = (loss, optimizer, sparse, search, labels,
             *(env.get(name) for name in _CACHE_VARIABLES))  # fmt: skip
    key = (loss, optimizer, sparse, search, labels)
    if key in _failures:
        raise CompileError(_failures[key])
    reason = compilable(loss, optimizer)
    if reason is not None:
        raise CompileError(reason)
    try:
        prepare_numba()
    except ImportError as exc:  # found by numba_available, yet broken
        raise CompileError(str(exc)) from exc
    folder = _cache_dir()
    for attempt in (folder, None) if folder is not None else (None,):
        loop = _loops.get((*key, attempt))
        if loop is _IN_MEMORY:  # this folder failed this kernel before
            continue
        try:
            if loop is None:
                try:
                    loop = _loops[(*key, attempt)] = _load(loss, optimizer, sparse, attempt,
                                                           search, labels)  # fmt: skip
                except OSError as exc:  # the folder stopped being writable
                    raise _CacheError(str(exc)) from exc
            result = loop(*args)
            _ready[ready] = loop
            return result, loop
        except Exception as exc:
            origin = "cache" if isinstance(exc, _CacheError) else _origin(exc)
            if origin == "run":
                raise
            if origin == "cache" and attempt is not None:
                stem = kernel_key(loss, optimizer, sparse, search, labels)
                _warn(
                    f"sklearn-gd: the kernel cache in {attempt} could not be used "
                    f"({type(exc).__name__}: {exc}); compiling in memory instead, and "
                    f"removing the kernel {stem} from it."
                )
                _loops[(*key, attempt)] = _IN_MEMORY
                _forget(attempt, stem)
                continue
            names = ", ".join(
                f"{fn.__module__}.{fn.__qualname__}"
                for fn in _bound_functions(loss, optimizer).values()
                if fn.__module__ not in ("sklearn_gd._engine", "sklearn_gd.penalties")
            )
            _failures[key] = (
                f"numba cannot compile the loop for {names} "
                f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]})"
            )
            raise CompileError(_failures[key]) from exc
    raise AssertionError("unreachable")  # the in-memory attempt returns or raises
