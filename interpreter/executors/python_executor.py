#!/usr/bin/python3
"""sandboxd Python code-interpreter executor.

One process per code context.  Protocol (line-delimited JSON, UTF-8):

  fd 3  <- commands from the daemon
           {"type":"configure","cwd":"/dir","env":{"K":"V"}}
           {"type":"execute","id":"<id>","code":"<source>"}
           {"type":"shutdown"}            (EOF on fd 3 also exits 0)
  fd 4  -> events to the daemon
           {"type":"ready","language":"python","pid":N}
           {"type":"configured"} | {"type":"configured","error":"..."}
           {"type":"result","id":..,"data":{mime: value},"metadata":{..}}
           {"type":"error","id":..,"ename":..,"evalue":..,"traceback":[..]}
           {"type":"done","id":..,"success":bool,"execution_count":N}

fd 1 / fd 2 stay the user's stdout / stderr (buffered, flushed every few
milliseconds while a cell runs and before every event).  SIGINT during a run
raises KeyboardInterrupt in the user code; SIGINT while idle is ignored.

Run with Debian's /usr/bin/python3 (IPython, numpy, pandas, matplotlib).
"""

import os

# Must happen before anything can import matplotlib.
os.environ["MPLBACKEND"] = "Agg"

import array
import ast
import base64
import ctypes
import fcntl
import inspect
import io
import json
import math
import re
import signal
import subprocess
import sys
import termios
import threading
import time
import traceback
import warnings

CMD_FD = 3
EVT_FD = 4

# Keep the protocol fds out of subprocesses started by user code
# (subprocess closes them anyway; os.system / os.exec* would not).
for _fd in (CMD_FD, EVT_FD):
    try:
        os.set_inheritable(_fd, False)
    except OSError:
        pass


# --------------------------------------------------------------------------
# stdout / stderr: buffered text streams on the real fds 1 and 2, flushed at
# least every few milliseconds, so a tight print loop costs a write per batch
# instead of two per print, and a lone print still arrives at once.
# --------------------------------------------------------------------------

_FLUSH_INTERVAL_S = 0.002


class _Flusher:
    """While a run is in progress, flushes stdout and stderr every interval
    (the tail of a burst, or a print before a long computation).

    A one-shot kernel timer (timerfd) wakes the flushing thread: armed when a
    run starts and re-armed by the thread while the run lasts.  A run
    shorter than one interval never has it compete for the GIL, and ending a
    run costs nothing: a timer left over from it finds no run and stops."""

    class _Itimerspec(ctypes.Structure):  # struct itimerspec: two {tv_sec, tv_nsec}
        _fields_ = [("it_interval", ctypes.c_long * 2), ("it_value", ctypes.c_long * 2)]

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self._settime = libc.timerfd_settime
        self._fd = libc.timerfd_create(1, os.O_CLOEXEC)  # CLOCK_MONOTONIC
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self._once = ctypes.byref(self._Itimerspec((0, 0), (0, int(_FLUSH_INTERVAL_S * 1e9))))
        self.running = False
        threading.Thread(target=self._run, name="stdout-flusher", daemon=True).start()

    def run_started(self):
        self.running = True
        self._settime(self._fd, 0, self._once, None)

    def run_ended(self):
        self.running = False

    def _run(self):
        while True:
            try:
                os.read(self._fd, 8)
            except InterruptedError:
                continue
            if not self.running:
                continue
            for s in (sys.__stdout__, sys.__stderr__):
                try:
                    s.flush()
                except Exception:
                    pass
            if self.running:
                self._settime(self._fd, 0, self._once, None)


def _make_stream(fd):
    raw = io.FileIO(fd, "wb", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw, buffer_size=1 << 16),
        encoding="utf-8",
        errors="backslashreplace",
        newline="\n",
        line_buffering=False,
    )


sys.stdout = sys.__stdout__ = _make_stream(1)
sys.stderr = sys.__stderr__ = _make_stream(2)


def _unusable(stream):
    try:
        return stream is None or stream.closed
    except Exception:  # detached: even `closed` raises
        return True


def reopen_closed_streams():
    """A cell that closed, detached or deleted sys.stdout or sys.stderr
    (directly, or with a `with sys.stdout:` block) would make every later
    print in the context fail: the next run gets fresh streams on fds 1 and
    2 instead."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        real = "__%s__" % name
        old = getattr(sys, real, None)
        if _unusable(old):
            setattr(sys, real, _make_stream(fd))
        if not hasattr(sys, name) or getattr(sys, name) is old:
            setattr(sys, name, getattr(sys, real))


def user_stderr():
    """Where the executor writes for the user (tracebacks, warnings):
    sys.stderr, or the real stream if a cell deleted or cleared it."""
    return getattr(sys, "stderr", None) or sys.__stderr__


def install_print_module(argv):
    """Takes --print-module=PATH out of argv and makes that module's print
    (sandboxd_print.c: one write per call to a text stream, the builtin's
    behaviour otherwise) builtins.print.  Without it, or if it does not load,
    the builtin print stays."""
    prefix = "--print-module="
    paths = [a[len(prefix):] for a in argv if a.startswith(prefix)]
    argv[:] = [a for a in argv if not a.startswith(prefix)]
    if not paths:
        return
    import builtins
    import importlib.machinery
    import importlib.util

    try:
        loader = importlib.machinery.ExtensionFileLoader("sandboxd_print", paths[-1])
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader("sandboxd_print", loader))
        loader.exec_module(module)
    except Exception as exc:  # a module built for another Python
        sys.__stderr__.write("python_executor: print module not loaded: %s\n" % (exc,))
        sys.__stderr__.flush()
        return
    sys.modules["sandboxd_print"] = module
    builtins.print = module.print

# Programs started from user code write straight to fds 1/2: what Python has
# printed before goes first.
_system = os.system


def _flushed_system(command):
    flush_std()
    return _system(command)


def _flushed_execute_child(self, *args, **kwargs):
    flush_std()
    return _execute_child(self, *args, **kwargs)


os.system = _flushed_system
_execute_child = subprocess.Popen._execute_child
subprocess.Popen._execute_child = _flushed_execute_child
os.register_at_fork(before=lambda: flush_std())

# User code imports modules from its working directory, like `python3 -c`,
# not from this file's directory.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here or p == ""]
if "" not in sys.path:
    sys.path.insert(0, "")

# matplotlib's "non-GUI backend, cannot show the figure" warnings on plt.show()
# / fig.show() are noise here: figures are collected after every run.
warnings.filterwarnings("ignore", message=r".*non-GUI backend.*")
warnings.filterwarnings("ignore", message=r".*is non-interactive, and thus cannot be shown.*")
# IPython's reaction to SystemExit in a cell.
warnings.filterwarnings("ignore", message=r"To exit: use 'exit', 'quit', or Ctrl-D\.")


# --------------------------------------------------------------------------
# Event channel (fd 4) and interrupt bookkeeping.
# --------------------------------------------------------------------------

class _State:
    running = False          # True while user code may be executing
    pending_interrupt = False
    in_emit = 0              # main thread is writing an event: defer SIGINT
    current_id = None        # id of the execute being run (or last one)
    execution_count = 0
    captured_error = None    # (etype, evalue, stb) from IPython's _showtraceback
    last_expr_result = None  # (data, metadata) from the display hook
    suppress_tracebacks = False
    last_interrupt = -1e9    # time.monotonic() of the last KeyboardInterrupt raised


STATE = _State()
_FLUSHER = _Flusher()
_emit_lock = threading.Lock()

# A process forked by user code (os.fork(), multiprocessing's fork start
# method) is not the executor.  It drops the protocol fds, so it can neither
# take the daemon's commands nor keep the pipes open after the executor ends,
# and once the cell it was forked in returns it exits, as a forked script
# would.
_IS_FORK_CHILD = False


def _after_fork_in_child():
    global _IS_FORK_CHILD
    _IS_FORK_CHILD = True
    for fd in (CMD_FD, EVT_FD):
        try:
            os.close(fd)
        except OSError:
            pass


os.register_at_fork(after_in_child=_after_fork_in_child)

_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(s):
    return _ANSI_RE.sub("", s)


def _json_safe(value, depth=0):
    """Make a value encodable as strict JSON (no NaN, no bytes, str keys)."""
    if depth > 200:
        return None
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _json_safe(item(), depth + 1)
        except Exception:
            pass
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        try:
            return _json_safe(tolist(), depth + 1)
        except Exception:
            pass
    return str(value)


def _write_all(data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(EVT_FD, view)
        except BrokenPipeError:
            os._exit(0)  # the daemon went away: nothing left to report to
        view = view[n:]


_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _encode(obj):
    """One event as a JSON line in UTF-8."""
    try:
        text = _JSON.encode(obj)
    except (TypeError, ValueError):
        text = _JSON.encode(_json_safe(obj))
    text += "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from "\ud800") cannot be UTF-8: each becomes
        # one U+FFFD.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _wait_until_read(limit_s=1.0):
    """Returns once the daemon has read everything written to fd 4 (the pipe
    holds none of it), or after limit_s.  The daemon drains fd 1 and 2 before
    it reads an event, so what is printed after this stays after the event."""
    __tracebackhide__ = True  # an interrupt landing here is the cell's
    unread = array.array("i", [0])
    deadline = None
    checks = 0
    while True:
        try:
            fcntl.ioctl(EVT_FD, termios.FIONREAD, unread, True)
        except OSError:
            return
        if unread[0] == 0:
            return
        now = time.monotonic()
        if deadline is None:
            deadline = now + limit_s
        elif now > deadline:
            return
        # The daemon usually reads within tens of microseconds: yield for
        # a while before sleeping in earnest.
        checks += 1
        time.sleep(0 if checks < 200 else 0.0001)


def emit(*objs, wait_read=False):
    """Write event lines to fd 4, several in one write.  Atomic with respect
    to SIGINT: an interrupt arriving while the main thread writes is
    re-raised afterwards.  With wait_read, a run's event written in the
    middle of it (a display) is read by the daemon before the run prints on."""
    __tracebackhide__ = True  # an interrupt landing here is the cell's
    if _IS_FORK_CHILD:
        return  # a forked process has no event channel
    data = b"".join([_encode(obj) for obj in objs])
    main = threading.current_thread() is threading.main_thread()
    if main:
        # Output printed before a result or display stays before it.
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
    with _emit_lock:
        if main:
            STATE.in_emit += 1
        try:
            _write_all(data)
        finally:
            if main:
                STATE.in_emit -= 1
    if main and STATE.pending_interrupt and STATE.running and not STATE.in_emit:
        STATE.pending_interrupt = False
        STATE.last_interrupt = time.monotonic()
        raise KeyboardInterrupt
    if wait_read and main and STATE.running:
        _wait_until_read()


# After a KeyboardInterrupt has been raised, further SIGINTs within this many
# seconds of the same run are ignored: they would only hit IPython while it
# formats the first traceback.  (User code that catches KeyboardInterrupt and carries on can
# still be interrupted by a later SIGINT.)
_SIGINT_DEBOUNCE_S = 0.5


def _on_sigint(signum, frame):
    if not STATE.running:
        return  # idle: ignore
    now = time.monotonic()
    if now - STATE.last_interrupt < _SIGINT_DEBOUNCE_S:
        return
    if STATE.in_emit:
        STATE.pending_interrupt = True
        return
    STATE.last_interrupt = now
    raise KeyboardInterrupt


def _strip_handler_frames(tb):
    """Drop the SIGINT handler's own frame from a KeyboardInterrupt traceback."""
    prev, cur = None, tb
    while cur is not None:
        if cur.tb_frame.f_code is _on_sigint.__code__:
            if prev is None:
                return None
            prev.tb_next = None
            break
        prev, cur = cur, cur.tb_next
    return tb


_libc = None


def flush_std():
    """Flush Python's streams and C stdio (output of C extensions)."""
    global _libc
    for name in ("stdout", "stderr", "__stdout__", "__stderr__"):
        try:
            getattr(sys, name).flush()
        except Exception:  # deleted, replaced by None, closed, detached
            pass
    try:
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except Exception:
        _libc = False


# --------------------------------------------------------------------------
# MIME bundle normalisation
# --------------------------------------------------------------------------

_BINARY_MIMES = ("image/png", "image/jpeg", "image/gif", "application/pdf")


def normalize_bundle(data, metadata):
    out = {}
    for mime, value in (data or {}).items():
        if value is None:
            continue
        mime = str(mime)
        if mime in _BINARY_MIMES:
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = base64.b64encode(bytes(value)).decode("ascii")
            else:
                value = str(value).replace("\n", "")
        elif mime == "application/json" or mime.endswith("+json"):
            if isinstance(value, (bytes, bytearray)):
                value = bytes(value).decode("utf-8", "replace")
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            value = _json_safe(value)
        else:
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value).decode("utf-8", "replace")
            elif not isinstance(value, str):
                value = str(value)
        out[mime] = value
    md = _json_safe(metadata) if isinstance(metadata, dict) else {}
    return out, md


def _plain_data(value, budget=100_000):
    """True when value is JSON data as it is: dicts with str keys, lists,
    str, int, finite float, bool and None, nested at most 100 deep and at
    most `budget` values in all (beyond that the json copy is not worth it)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > 100:
            return False
        t = type(v)
        if t is dict:
            for k, item in v.items():
                if type(k) is not str:
                    return False
                stack.append((item, depth + 1))
        elif t is list:
            stack.extend((item, depth + 1) for item in v)
        elif t is float:
            if not math.isfinite(v):
                return False
        elif v is not None and t not in (str, int, bool):
            return False
    return True


def result_event(data, metadata):
    """A result event for a MIME bundle, or None when nothing is left of it."""
    data, md = normalize_bundle(data, metadata)
    if not data:
        return None
    return {"type": "result", "id": STATE.current_id, "data": data, "metadata": md}


def emit_result(data, metadata, wait_read=False):
    __tracebackhide__ = True  # an interrupt landing here is the cell's
    ev = result_event(data, metadata)
    if ev is not None:
        emit(ev, wait_read=wait_read)


# --------------------------------------------------------------------------
# IPython shell with display hook / publisher / traceback redirected to fd 4.
# --------------------------------------------------------------------------

# IPython's completer imports jedi eagerly (a good share of start-up time);
# completion is never used here.  Hide jedi while IPython loads, then make it
# importable again for user code.
_HIDE_JEDI = "jedi" not in sys.modules
if _HIDE_JEDI:
    sys.modules["jedi"] = None

from IPython.core.displayhook import DisplayHook  # noqa: E402
from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.history import HistoryManager  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets import Type  # noqa: E402
from traitlets.config import Config  # noqa: E402

# --------------------------------------------------------------------------
# Cheaper equivalents of IPython internals on the path of every run.  Each
# gives the same result as the code it stands in for and falls back to it
# whenever it cannot tell.
# --------------------------------------------------------------------------

from IPython.core import formatters as _formatters  # noqa: E402
from IPython.core import prefilter as _prefilter  # noqa: E402
from IPython.core import splitinput as _splitinput  # noqa: E402
from IPython.core.inputtransformer2 import TransformerManager  # noqa: E402
from IPython.lib.pretty import _get_mro, _repr_pprint  # noqa: E402
from IPython.utils.dir2 import get_real_method  # noqa: E402

# IPython wraps each formatter's __call__ with the `decorator` package, which
# binds the arguments of every call through inspect.Signature: that costs
# more than formatting a small value.  The same error handling, called
# directly.
_format_error_caller = _formatters.catch_format_error.__wrapped__


def _direct_format_call(cls):
    inner = cls.__dict__["__call__"].__wrapped__

    def __call__(self, obj, *args, **kwargs):
        return _format_error_caller(inner, self, obj, *args, **kwargs)

    __call__.__wrapped__ = inner
    __call__.__doc__ = inner.__doc__
    cls.__call__ = __call__
    return __call__


_FORMATTER_CALLS = set()
_PLAIN_TEXT_CALL = None
try:
    _FORMATTER_CALLS.add(_direct_format_call(_formatters.BaseFormatter))
    _FORMATTER_CALLS.add(_direct_format_call(_formatters.IPythonDisplayFormatter))
    _FORMATTER_CALLS.add(_direct_format_call(_formatters.MimeBundleFormatter))
    _PLAIN_TEXT_CALL = _direct_format_call(_formatters.PlainTextFormatter)
except (AttributeError, KeyError):  # another IPython: keep its own
    _FORMATTER_CALLS.clear()

# Exact builtin types: their instances have no attributes beyond the
# immutable type's, so no _repr_*_ method and no side effect of looking.
_BUILTIN_VALUE_TYPES = frozenset(
    {int, float, complex, bool, str, bytes, bytearray, list, tuple, dict, set, frozenset, range, type(None)}
)
# Exact types that IPython's pretty printer shows as their one-line repr().
_REPR_TEXT_TYPES = frozenset({int, str, bytes})

_MISSING = object()


def _trait(obj, name):
    value = obj._trait_values.get(name, _MISSING)
    return getattr(obj, name) if value is _MISSING else value


def _finds_nothing(f, obj):
    """True when IPython's own __call__ of formatter `f` would find no printer
    and no print method for obj (and so return nothing).  Reads the traits'
    values directly and raises no KeyError: a dozen formatters look at every
    displayed value, and nearly all of them find nothing."""
    if type(f).__call__ not in _FORMATTER_CALLS:
        return False
    try:
        values = f._trait_values
        enabled = values.get("enabled", _MISSING)
        if not (f.enabled if enabled is _MISSING else enabled):
            return True
        singletons = values.get("singleton_printers", _MISSING)
        if singletons is _MISSING:
            singletons = f.singleton_printers
        if singletons and id(obj) in singletons:
            return False
        builtin = type(obj) in _BUILTIN_VALUE_TYPES
        typ = type(obj) if builtin else _formatters._get_type(obj)
        if isinstance(typ, str):
            return False
        type_printers = values.get("type_printers", _MISSING)
        if type_printers is _MISSING:
            type_printers = f.type_printers
        deferred = values.get("deferred_printers", _MISSING)
        if deferred is _MISSING:
            deferred = f.deferred_printers
        if type_printers or deferred:
            for cls in typ.__mro__ if builtin else _get_mro(typ):
                if cls in type_printers:
                    return False
                if deferred and _formatters._mod_name_key(cls) in deferred:
                    return False
        return builtin or get_real_method(obj, _trait(f, "print_method")) is None
    except Exception:
        return False  # let the formatter itself deal with it


def _repr_text(f, obj):
    """What PlainTextFormatter `f` makes of an exact int, str or bytes when
    its stock pretty printer applies (the object's one-line repr()); None
    when that cannot be told cheaply."""
    typ = type(obj)
    if typ not in _REPR_TEXT_TYPES or type(f).__call__ is not _PLAIN_TEXT_CALL:
        return None
    try:
        if id(obj) in _trait(f, "singleton_printers"):
            return None
        if _trait(f, "type_printers").get(typ) is not _repr_pprint:
            return None
        text = repr(obj)
    except Exception:
        return None  # the formatter reports it
    if len(text.splitlines()) != 1:
        return None
    return text


class SandboxDisplayFormatter(_formatters.DisplayFormatter):
    """DisplayFormatter.format, skipping the calls of formatters that have
    nothing for the value."""

    def format(self, obj, include=None, exclude=None):
        f = self.ipython_display_formatter
        handled = f._check_return(None, obj) if _finds_nothing(f, obj) else f(obj)
        if handled:
            # object handled itself, don't proceed
            return {}, {}

        f = self.mimebundle_formatter
        if _finds_nothing(f, obj):
            format_dict, md_dict = f._check_return(None, obj)
        else:
            format_dict, md_dict = f(obj, include=include, exclude=exclude)

        if format_dict or md_dict:
            if include:
                format_dict = {k: v for k, v in format_dict.items() if k in include}
                md_dict = {k: v for k, v in md_dict.items() if k in include}
            if exclude:
                format_dict = {k: v for k, v in format_dict.items() if k not in exclude}
                md_dict = {k: v for k, v in md_dict.items() if k not in exclude}

        for format_type, formatter in self.formatters.items():
            if format_type in format_dict:
                # already got it from mimebundle, maybe don't render again.
                # exception: manually registered per-mime renderer
                try:
                    formatter.lookup(obj)
                except KeyError:
                    # no special formatter, use mime-bundle-provided value
                    continue
            if include and format_type not in include:
                continue
            if exclude and format_type in exclude:
                continue

            md = None
            if _finds_nothing(formatter, obj):
                data = formatter._check_return(None, obj)
            else:
                data = _repr_text(formatter, obj)
                if data is None:
                    data = formatter(obj)

            # formatters can return raw data or (data, metadata)
            if isinstance(data, tuple) and len(data) == 2:
                data, md = data

            if data is not None:
                format_dict[format_type] = data
            if md is not None:
                md_dict[format_type] = md
        return format_dict, md_dict


# IPython tokenises every cell in pure Python to find its special syntax
# (%magic, !cmd, obj?, the , ; / autocall escapes, `a = %magic`, `a = !cmd`).
# None of it can be there without one of these characters; the regular
# expression errs on the side of matching.
_LINE_START = r"(?:\A|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])\s*"
_SPECIAL_SYNTAX_RE = re.compile(r"\?|!(?!=)|=[\s\\]*%|" + _LINE_START + r"[,;/%]")
_STOCK_TOKEN_TRANSFORMERS = list(TransformerManager().token_transformers)
_TOP_LEVEL_AWAIT = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
_STOCK_CHECKERS = (
    _prefilter.EmacsChecker,
    _prefilter.MacroChecker,
    _prefilter.IPyAutocallChecker,
    _prefilter.AssignmentChecker,
    _prefilter.AutoMagicChecker,
    _prefilter.PythonOpsChecker,
    _prefilter.AutocallChecker,
)
_NOT_PLAIN_NAMES = (_prefilter.Macro, _prefilter.IPyAutocall)


def _prefilter_leaves(shell, line):
    """True when IPython's prefilter would return this single line (with no
    special syntax) unchanged: only a macro or autocall object named by its
    first word, an automagic name, the Emacs tag or autocall can change it,
    and those cases are left to the prefilter itself."""
    manager = shell.prefilter_manager
    if type(manager) is not _prefilter.PrefilterManager or manager.transformers or shell.autocall:
        return False
    checkers = manager.checkers
    if tuple(type(c) for c in checkers) != _STOCK_CHECKERS:
        return False
    if checkers[0].enabled and line.endswith("# PYTHON-MODE"):
        return False
    if type(manager.get_handler_by_name("normal")) is not _prefilter.PrefilterHandler:
        return False
    match = _splitinput.line_split.match(line)
    if match is None or match.group(2):
        return False
    ifun, rest = match.group(3).strip(), match.group(4).lstrip()
    if isinstance(shell.user_ns.get(ifun), _NOT_PLAIN_NAMES):
        return False
    if rest[:1] in ("=", ","):
        return True  # an assignment: the normal handler
    return not (shell.automagic and shell.find_magic(ifun))


class SandboxDisplayHook(DisplayHook):
    """Last-expression value: keep the bundle, never print `Out[n]:`."""

    # Set twice per run and observed by nothing: a plain attribute, not a
    # trait (see SandboxHistory).
    exec_result = None

    def compute_format_data(self, result):
        format_dict, md_dict = super().compute_format_data(result)
        # A dict or list of plain data is JSON as well, as a JavaScript
        # object is: results[0].json in the SDK.
        if type(result) in (dict, list) and "application/json" not in format_dict and _plain_data(result):
            format_dict = dict(format_dict)
            format_dict["application/json"] = result
        return format_dict, md_dict

    def cull_cache(self):
        # IPython warns on the user's stderr whenever its output cache (Out,
        # _N) is full and it drops the oldest entries; in a long-lived
        # context that is routine, not something the cell did.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            super().cull_cache()

    def start_displayhook(self):
        pass

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        STATE.last_expr_result = (format_dict, md_dict or {})

    def finish_displayhook(self):
        pass

    def quiet(self):
        # Only a trailing ';' silences the value: no tokenising without one.
        try:
            cell = self.shell.history_manager.input_hist_parsed[-1]
        except IndexError:
            return False
        return ";" in cell and super().quiet()


class SandboxDisplayPublisher(DisplayPublisher):
    """display(...) calls: one result event each, emitted immediately."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        __tracebackhide__ = True  # an interrupt landing here is the cell's
        emit_result(data, metadata, wait_read=True)

    def clear_output(self, wait=False):
        pass


class SandboxHistory(HistoryManager):
    """In[] and the _i* names as IPython keeps them, minus the database cache:
    nothing is saved (history is off), so it would only grow."""

    # Set on every run and observed by nothing: plain attributes, not traits
    # (a trait assignment validates and notifies, a few microseconds each).
    _i00 = _i = _ii = _iii = ""

    def store_inputs(self, line_num, source, source_raw=None):
        super().store_inputs(line_num, source, source_raw)
        self.db_input_cache.clear()

    def store_output(self, line_num):
        super().store_output(line_num)
        self.db_output_cache.clear()


class SandboxShell(InteractiveShell):
    displayhook_class = Type(SandboxDisplayHook)
    display_pub_class = Type(SandboxDisplayPublisher)
    # As in SandboxHistory: set on every run, observed by nothing.
    execution_count = 1
    last_execution_succeeded = True
    last_execution_result = None

    def init_history(self):
        self.history_manager = SandboxHistory(shell=self, parent=self)
        self.configurables.append(self.history_manager)
    # (cell, is_async) for should_run_async, from transform_cell's compile
    _async_hint = None

    def init_display_formatter(self):
        self.display_formatter = SandboxDisplayFormatter(parent=self)
        self.configurables.append(self.display_formatter)

    def transform_cell(self, raw_cell):
        # InteractiveShell.transform_cell, without tokenising cells that
        # cannot contain IPython syntax.
        self._async_hint = None
        manager = self.input_transformer_manager
        if (
            type(manager) is not TransformerManager
            or manager.token_transformers != _STOCK_TOKEN_TRANSFORMERS
            or self.input_transformers_post
        ):
            return super().transform_cell(raw_cell)
        cell = raw_cell if raw_cell.endswith("\n") else raw_cell + "\n"
        lines = cell.splitlines(keepends=True)
        for transform in manager.cleanup_transforms + manager.line_transforms:
            lines = transform(lines)
        cell = "".join(lines)
        if _SPECIAL_SYNTAX_RE.search(cell):
            cell = "".join(manager.do_token_transforms(lines))
        elif len(lines) > 1:
            # The tokeniser would still raise IndentationError for an
            # inconsistent dedent, which does not compile either.  Compile
            # the way should_run_async is about to (and keep its answer).
            if len(cell.splitlines()) == 1 or not self.autoawait or self.trio_runner:
                return super().transform_cell(raw_cell)
            try:
                code = compile(cell, "<>", "exec", flags=_TOP_LEVEL_AWAIT)
            except (SyntaxError, MemoryError):
                code = None
            if code is None:
                manager.do_token_transforms(lines)  # raises what IPython would
            self._async_hint = (cell, code is not None and bool(code.co_flags & inspect.CO_COROUTINE))
            return cell
        if len(cell.splitlines()) == 1:
            line = cell.rstrip("\n")
            if _prefilter_leaves(self, line):
                self._last_input_line = line  # as prefilter_line records it
                return line + "\n"
            with self.builtin_trap:
                cell = self.prefilter_manager.prefilter_lines(cell) + "\n"
        return cell

    def should_run_async(self, raw_cell, *, transformed_cell=None, preprocessing_exc_tuple=None):
        hint, self._async_hint = self._async_hint, None
        if (
            hint is not None
            and hint[0] is transformed_cell
            and preprocessing_exc_tuple is None
            and self.autoawait
        ):
            return hint[1]
        # Top-level await needs one of these keywords; without them IPython's
        # check (a compile of the whole cell) can only say no.
        if transformed_cell is not None and "await" not in transformed_cell and "async" not in transformed_cell:
            return False
        return super().should_run_async(
            raw_cell, transformed_cell=transformed_cell, preprocessing_exc_tuple=preprocessing_exc_tuple
        )

    def _showtraceback(self, etype, evalue, stb):
        if STATE.suppress_tracebacks:
            return
        if STATE.captured_error is None:
            STATE.captured_error = (etype, evalue, stb)
        else:  # a second traceback in the same run (e.g. from an event hook)
            try:
                user_stderr().write(strip_ansi(self.InteractiveTB.stb2text(stb)) + "\n")
            except Exception:
                pass

    # `!cmd`: run through a plain shell that inherits fds 1/2 (streams
    # directly, no pseudo-terminal and so no CRLF line endings).
    def system(self, cmd):
        return self.system_raw(cmd)

    def _get_exc_info(self, exc_tuple=None):
        etype, value, tb = super()._get_exc_info(exc_tuple)
        if etype is not None and issubclass(etype, KeyboardInterrupt):
            tb = _strip_handler_frames(tb)
            try:
                value.__traceback__ = tb
            except Exception:
                pass
        return etype, value, tb

    def ask_exit(self):
        # exit() / quit() in a cell: stop the cell like a script would.  The
        # executor itself keeps running (the daemon owns its lifetime).
        raise SystemExit(None)

    def enable_gui(self, gui=None):  # %matplotlib <gui> must not try a GUI loop
        pass


def make_shell():
    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.HistoryManager.hist_file = ":memory:"
    cfg.InteractiveShell.colors = "NoColor"
    cfg.InteractiveShell.xmode = "Context"
    cfg.InteractiveShell.autocall = 0
    cfg.InteractiveShell.automagic = True
    cfg.InteractiveShell.separate_in = ""
    cfg.InteractiveShell.separate_out = ""
    cfg.InteractiveShell.separate_out2 = ""
    cfg.InteractiveShell.show_rewritten_input = False
    cfg.InteractiveShell.banner1 = ""
    cfg.InteractiveShell.banner2 = ""
    shell = SandboxShell.instance(config=cfg)
    shell.colors = "NoColor"
    try:
        shell.InteractiveTB.set_colors("NoColor")
        shell.SyntaxTB.set_colors("NoColor")
    except Exception:
        pass
    return shell


# --------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------

_OWN_FRAME = "File %s:" % os.path.abspath(__file__)


def _without_executor_frames(chunks):
    """An interrupt that lands while the executor writes out a display for
    the cell: IPython's traceback (one chunk per frame, the exception line
    last) ends at the cell's call into IPython, as if it had landed there."""
    for i, chunk in enumerate(chunks[:-1]):
        head = chunk.lstrip()
        if head.startswith(_OWN_FRAME) or head.startswith("[... skipping hidden"):
            return chunks[:i] + chunks[-1:]
    return chunks


def format_error(etype, evalue, stb=None):
    if etype is None and evalue is not None:
        etype = type(evalue)
    ename = getattr(etype, "__name__", None) or "Error"
    try:
        text = str(evalue) if evalue is not None else ""
    except Exception:
        text = "<unprintable %s object>" % ename
    if isinstance(evalue, SyntaxError) and getattr(evalue, "msg", None):
        # "invalid syntax (<ipython-input-...>, line 1)" -> keep it readable
        text = str(evalue.msg)
        if evalue.lineno:
            text += " (line %d)" % evalue.lineno
    lines = []
    if stb:
        chunks = [strip_ansi(str(chunk)) for chunk in ([stb] if isinstance(stb, str) else stb)]
        if ename == "KeyboardInterrupt":
            chunks = _without_executor_frames(chunks)
        for chunk in chunks:
            lines.extend(chunk.split("\n"))
    elif evalue is not None:
        lines = "".join(traceback.format_exception(etype, evalue, evalue.__traceback__)).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return {"ename": ename, "evalue": strip_ansi(text), "traceback": lines}


def _cancel_interrupted_cell_tasks():
    """An interrupted top-level-await cell leaves its task pending in
    IPython's asyncio loop; it would resume during the next async cell.
    Cancel it now (bounded wait) so an interrupted cell really stops."""
    try:
        mod = sys.modules.get("IPython.core.async_helpers")
        get_loop = getattr(mod, "get_asyncio_loop", None)
        if get_loop is None:
            return
        loop = get_loop()
        if loop.is_closed() or loop.is_running():
            return
        import asyncio

        tasks = [
            t for t in asyncio.all_tasks(loop)
            if getattr(t.get_coro(), "__qualname__", "").endswith("run_cell_async")
        ]
        if not tasks:
            return
        for t in tasks:
            t.cancel()
        STATE.suppress_tracebacks = True
        loop.run_until_complete(asyncio.wait(tasks, timeout=2))
    except BaseException:
        pass
    finally:
        STATE.suppress_tracebacks = False
        STATE.captured_error = None
        STATE.last_expr_result = None


def _exit_fork_child(result, failure):
    """Ends a process forked in the cell just run, with a script's status:
    sys.exit's code, or 1 after an uncaught exception (its traceback on
    stderr)."""
    status = 0
    exc = None
    if result is not None and not result.success:
        exc = result.error_in_exec or result.error_before_exec
    if isinstance(exc, SystemExit):
        if isinstance(exc.code, int):
            status = exc.code & 0xFF
        elif exc.code is not None:
            user_stderr().write("%s\n" % (exc.code,))
            status = 1
    elif exc is not None or failure is not None or STATE.captured_error is not None:
        status = 1
        if STATE.captured_error is not None:
            user_stderr().write("\n".join(format_error(*STATE.captured_error)["traceback"]) + "\n")
    flush_std()
    os._exit(status)


def _is_clean_exit(exc):
    return isinstance(exc, SystemExit) and exc.code in (None, 0)


def collect_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        nums = list(plt.get_fignums())
    except Exception:
        return
    for num in nums:
        try:
            fig = plt.figure(num)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            emit_result(
                {"image/png": buf.getvalue(), "text/plain": repr(fig)},
                {},
            )
        except KeyboardInterrupt:
            raise
        except Exception:
            user_stderr().write("Failed to render matplotlib figure %s:\n" % num)
            user_stderr().write(traceback.format_exc())
    try:
        plt.close("all")
    except Exception:
        pass


def execute(shell, msg):
    exec_id = msg.get("id")
    code = msg.get("code")
    if not isinstance(code, str):
        code = "" if code is None else str(code)
    reopen_closed_streams()
    STATE.current_id = exec_id
    STATE.execution_count += 1
    count = STATE.execution_count
    STATE.captured_error = None
    STATE.last_expr_result = None
    STATE.pending_interrupt = False
    STATE.last_interrupt = -1e9  # the debounce is for one run's interrupt, not the last run's

    success = True
    error = None
    interrupted = None
    result = None
    try:
        if shell.execution_count != count:
            shell.execution_count = count  # keeps "Cell In [n]" == execution_count
        STATE.running = True
        _FLUSHER.run_started()
        try:
            result = shell.run_cell(code, store_history=True, silent=False)
        finally:
            STATE.running = False
            _FLUSHER.run_ended()
    except KeyboardInterrupt as exc:  # SIGINT outside the user's frames
        STATE.running = False
        interrupted = exc
    except BaseException as exc:  # should not happen: IPython catches
        STATE.running = False
        error = format_error(type(exc), exc)
        success = False
    STATE.pending_interrupt = False
    _FLUSHER.run_ended()  # again: an interrupt may have cut the first call short
    if _IS_FORK_CHILD:
        _exit_fork_child(result, interrupted or error)

    # From here on SIGINT is ignored (STATE.running is False).
    if interrupted is not None:
        success = False
        error = {"ename": "KeyboardInterrupt", "evalue": "", "traceback": ["KeyboardInterrupt"]}
    elif result is not None and not result.success and _is_clean_exit(result.error_in_exec):
        pass  # sys.exit(0) / exit(): the cell stopped cleanly
    elif result is not None and not result.success:
        success = False
        if STATE.captured_error is not None:
            error = format_error(*STATE.captured_error)
        else:
            exc = result.error_before_exec or result.error_in_exec
            if exc is None:
                error = {"ename": "Error", "evalue": "execution failed", "traceback": []}
            else:
                error = format_error(type(exc), exc)
    elif STATE.captured_error is not None and error is None:
        # a traceback was shown but the run still counts as successful
        # (e.g. an exception inside a post-execute hook)
        etype, evalue, stb = STATE.captured_error
        try:
            user_stderr().write("\n".join(format_error(etype, evalue, stb)["traceback"]) + "\n")
        except Exception:
            pass

    if error is not None and error.get("ename") == "KeyboardInterrupt":
        _cancel_interrupted_cell_tasks()

    try:
        collect_figures()
    except BaseException:
        pass

    # The run's last events leave in one write (one wake-up of the reader).
    tail = []
    if STATE.last_expr_result is not None:
        data, md = STATE.last_expr_result
        STATE.last_expr_result = None
        try:
            ev = result_event(data, md)
            if ev is not None:
                tail.append(ev)
        except Exception:
            user_stderr().write(traceback.format_exc())

    if error is not None:
        tail.append({"type": "error", "id": exec_id, **error})

    tail.append({"type": "done", "id": exec_id, "success": success, "execution_count": count})
    flush_std()
    emit(*tail)
    STATE.captured_error = None


def configure(msg):
    err = None
    env = msg.get("env")
    if isinstance(env, dict):
        for k, v in env.items():
            try:
                if v is None:
                    os.environ.pop(str(k), None)
                else:
                    os.environ[str(k)] = v if isinstance(v, str) else json.dumps(v)
            except Exception as exc:  # e.g. NUL byte in a value
                err = "env %s: %s" % (k, exc)
    cwd = msg.get("cwd")
    if isinstance(cwd, str) and cwd:
        try:
            os.chdir(cwd)
        except OSError as exc:
            err = "chdir %s: %s" % (cwd, exc.strerror or exc)
    ev = {"type": "configured"}
    if err:
        ev["error"] = err
    emit(ev)


def main():
    install_print_module(sys.argv)
    shell = make_shell()
    if _HIDE_JEDI and "jedi" in sys.modules and sys.modules["jedi"] is None:
        del sys.modules["jedi"]
    signal.signal(signal.SIGINT, _on_sigint)
    # SIGPIPE default for Python is ignore (EPIPE -> BrokenPipeError); keep.

    cmd_in = os.fdopen(CMD_FD, "rb", buffering=0, closefd=False)
    reader = io.BufferedReader(cmd_in, buffer_size=1 << 16)

    emit({"type": "ready", "language": "python", "pid": os.getpid()})

    while True:
        try:
            line = reader.readline()
        except KeyboardInterrupt:
            continue
        except OSError:
            break
        if not line:
            break  # EOF on fd 3
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            user_stderr().write("python_executor: bad command line ignored\n")
            continue
        if not isinstance(msg, dict):
            continue
        kind = msg.get("type")
        try:
            if kind == "execute":
                execute(shell, msg)
            elif kind == "configure":
                configure(msg)
            elif kind == "shutdown":
                break
            else:
                user_stderr().write("python_executor: unknown command %r ignored\n" % (kind,))
        except KeyboardInterrupt:
            # A second SIGINT racing with the end of a run (before `done`
            # was written): make sure the daemon still gets its `done`.
            STATE.running = False
            if kind == "execute":
                try:
                    emit({"type": "done", "id": msg.get("id"), "success": False,
                          "execution_count": STATE.execution_count})
                except Exception:
                    pass
    flush_std()
    os._exit(0)


if __name__ == "__main__":
    main()
