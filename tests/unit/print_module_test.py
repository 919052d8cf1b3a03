"""The Python executor's print (interpreter/executors/sandboxd_print.c) behaves
as the builtin print: for every case below, both leave the same bytes, the same
write calls on files that are not text wrappers, the same flushes, and raise
the same error.

usage: python3 print_module_test.py path/to/sandboxd_print.so
Prints one line per case and "N passed, N failed"; exits 1 on a failure.
"""

import builtins
import contextlib
import importlib.machinery
import importlib.util
import io
import sys

ORIGINAL = builtins.print


def load(path):
    loader = importlib.machinery.ExtensionFileLoader("sandboxd_print", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("sandboxd_print", loader))
    loader.exec_module(module)
    return module.print


class RawRecorder(io.RawIOBase):
    """The bytes reaching the file, one entry per raw write."""

    def __init__(self):
        self.writes = []

    def writable(self):
        return True

    def write(self, b):
        self.writes.append(bytes(b))
        return len(b)


class CallRecorder:
    """A file that is not a text wrapper: every call is part of the outcome."""

    def __init__(self):
        self.calls = []

    def write(self, s):
        self.calls.append(("write", s))
        return len(s)

    def flush(self):
        self.calls.append(("flush",))


def text_file(line_buffering=False, encoding="utf-8", errors="strict", buffer_size=8192):
    raw = RawRecorder()
    f = io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=buffer_size), encoding=encoding,
                         errors=errors, newline="\n", line_buffering=line_buffering)
    return f, raw


class BadStr:
    def __str__(self):
        raise ValueError("no text")


class OddStr(str):
    def __str__(self):
        return "odd"


class BadBool:
    def __bool__(self):
        raise RuntimeError("no truth")


class SwapsStdout:
    """str() of it replaces sys.stdout: print keeps writing to the file it found."""

    def __init__(self, other):
        self.other = other

    def __str__(self):
        sys.stdout = self.other
        return "swapped"


class OwnStrInt(int):
    def __str__(self):
        return "own"


def outcome(print_fn, case):
    """Runs case(print_fn) and returns everything it could observe."""
    saved = sys.stdout
    try:
        observed = case(print_fn)
        error = None
    except BaseException as exc:  # the error is part of the outcome
        observed, error = getattr(exc, "observed", None), (type(exc).__name__, str(exc))
    finally:
        sys.stdout = saved
    return observed, error


def on_text_file(*args, file_kw=True, make=text_file, before_flush=True, **kw):
    """The bytes written, and those that reached the file before it was
    flushed (unless the case makes a long write: one joined write sends all
    of it through, where the builtin's last write of the end stays buffered)."""

    def case(p):
        f, raw = make()
        try:
            if file_kw:
                p(*args, file=f, **kw)
            else:
                sys.stdout = f
                p(*args, **kw)
        except BaseException as exc:
            f.flush()
            exc.observed = b"".join(raw.writes)
            raise
        reached = b"".join(raw.writes) if before_flush else None
        f.flush()
        return reached, b"".join(raw.writes)

    return case


def on_recorder(*args, **kw):
    def case(p):
        r = CallRecorder()
        try:
            p(*args, file=r, **kw)
        except BaseException as exc:
            exc.observed = r.calls
            raise
        return r.calls

    return case


def on_stdout(value, *args):
    def case(p):
        if value == "deleted":
            del sys.stdout
        else:
            sys.stdout = value
        p(*args)
        return None

    return case


def swapping():
    def case(p):
        f, raw = text_file()
        other, other_raw = text_file()
        sys.stdout = f
        p("a", SwapsStdout(other), "b")
        p("after")
        f.flush()
        other.flush()
        return raw.writes, other_raw.writes

    return case


class SwapsStdoutWhenAsked:
    """Its truth replaces sys.stdout: the text file print found must survive."""

    def __init__(self, other):
        self.other = other

    def __bool__(self):
        sys.stdout = self.other
        return True


def flush_swapping():
    def case(p):
        f, raw = text_file()
        other, other_raw = text_file()
        sys.stdout = f
        del f  # sys.stdout holds the only reference until flush's truth drops it
        p("kept", flush=SwapsStdoutWhenAsked(other))
        return other_raw.writes

    return case


class CountedTruth:
    def __init__(self):
        self.asked = 0

    def __bool__(self):
        self.asked += 1
        return True


def flush_asked_once(**kw):
    """flush's __bool__ runs once, also when the builtin print does the work."""

    def case(p):
        truth = CountedTruth()
        r = CallRecorder()
        try:
            p("a", file=r, flush=truth, **kw)
        except BaseException as exc:
            exc.observed = (truth.asked, r.calls)
            raise
        return truth.asked, r.calls

    return case


class WritesWhenStr:
    """str() of it writes to sys.stdout, or prints: the order must be the builtin's."""

    def __init__(self, how):
        self.how = how

    def __str__(self):
        if self.how == "write":
            sys.stdout.write("W")
        else:
            print("inner")
        return "S"


def side_effects(how):
    def case(p):
        f, raw = text_file()
        sys.stdout = f
        p("x", WritesWhenStr(how), "y")
        f.flush()
        return b"".join(raw.writes)

    return case


class Reencodes:
    def __init__(self, f):
        self.f = f

    def __str__(self):
        self.f.reconfigure(encoding="latin-1")
        return "\u00e9"


def reencoding():
    def case(p):
        f, raw = text_file()
        p("\u00e9", Reencodes(f), file=f)
        f.flush()
        return b"".join(raw.writes)

    return case


def closed_file():
    def case(p):
        f, _ = text_file()
        f.close()
        p("x", file=f)

    return case


def redirected():
    def case(p):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            p("to", "a", "StringIO", sep="|")
        return buf.getvalue()

    return case


def many_args():
    args = tuple(range(300))
    return on_text_file(*args, sep=",")


CASES = {
    "one int": on_text_file(42),
    "no arguments": on_text_file(),
    "no arguments, empty end": on_text_file(end=""),
    "several, default sep": on_text_file("a", 1, 2.5, None, [1, "x"]),
    "sep and end": on_text_file("a", "b", "c", sep="--", end="!\n"),
    "sep None, end None": on_text_file("a", "b", sep=None, end=None),
    "empty sep and end": on_text_file("a", "b", sep="", end=""),
    "str subclass sep": on_text_file("a", "b", sep=OddStr("+")),
    "str subclass end": on_text_file("a", end=OddStr("\n")),
    "str subclass argument": on_text_file(OddStr("plain")),
    "non-ASCII": on_text_file("héllo", "😀", "中文"),
    "sep not a string": on_text_file("a", "b", sep=1),
    "end not a string": on_text_file("a", end=5),
    "unknown keyword": on_text_file("a", foo=1),
    "keywords built at run time": on_text_file("a", "b", **{"".join(["s", "e", "p"]): "/"}),
    "flush": on_text_file("a", flush=True),
    "flush given 0": on_text_file("a", flush=0),
    "flush whose truth fails": on_text_file("a", flush=BadBool()),
    "str fails first": on_text_file(BadStr(), "b"),
    "str fails later": on_text_file("a", "b", BadStr(), "d"),
    "lone surrogate, strict": on_text_file("ok", "\ud800", "after"),
    "lone surrogate, backslashreplace": on_text_file(
        "ok", "\ud800", make=lambda: text_file(errors="backslashreplace")),
    "latin-1 file, unencodable later": on_text_file("é", "ok", "€", make=lambda: text_file(encoding="latin-1")),
    "line buffered": on_text_file("a", "b", make=lambda: text_file(line_buffering=True)),
    "line buffered, no newline": on_text_file("a", end="", make=lambda: text_file(line_buffering=True)),
    "small buffer, long line": on_text_file(
        "x" * 100_000, make=lambda: text_file(buffer_size=16), before_flush=False),
    "300 arguments": many_args(),
    "sys.stdout is the text file": on_text_file("via", "stdout", file_kw=False),
    "file=None means sys.stdout": on_text_file("a", file_kw=False, file=None),
    "recorder file": on_recorder("a", "b", sep="-", end="."),
    "recorder file, flush": on_recorder("a", flush=True),
    "recorder file, str fails later": on_recorder("a", BadStr()),
    "sys.stdout None": on_stdout(None, "lost"),
    "sys.stdout deleted": on_stdout("deleted", "lost"),
    "redirect_stdout to StringIO": redirected(),
    "closed file": closed_file(),
    "str() replaces sys.stdout": swapping(),
    "flush's truth replaces sys.stdout": flush_swapping(),
    "flush's truth asked once, other file": flush_asked_once(),
    "str() writes to sys.stdout": side_effects("write"),
    "str() prints": side_effects("print"),
    "str() changes the file's encoding": reencoding(),
    "plain arguments: bool, None, float, int": on_text_file(True, None, 1.5, 10**30, -0.0),
    "flush's truth asked once, bad sep": flush_asked_once(sep=3),
    "ints: zero, signs, the edges of a long long and past them": on_text_file(
        0, -1, 7, -(2**63), 2**63 - 1, 2**63, -(2**63) - 1, 10**30, -(10**30)),
    "ints and bools": on_text_file(1, True, 0, False),
    "int subclass with its own str": on_text_file(OwnStrInt(3), 4),
    "ints with a non-ASCII sep": on_text_file(1, 22, -333, sep="→"),
    "ints between non-ASCII text": on_text_file(5, "é", -7, "😀", 8, end="…\n"),
    "ASCII file, unencodable after an int": on_text_file(12, "é", 3, make=lambda: text_file(encoding="ascii")),
}


WRITE_REPLACES_STDOUT = """
import sys, importlib.machinery, importlib.util
loader = importlib.machinery.ExtensionFileLoader("sandboxd_print", sys.argv[1])
m = importlib.util.module_from_spec(importlib.util.spec_from_loader("sandboxd_print", loader))
loader.exec_module(m)
real = sys.stdout
class W:
    def write(self, x):
        sys.stdout = real
        real.write("[" + x + "]")
sys.stdout = W()
m.print("a", "b")
real.flush()
"""


def write_replacing_stdout(path):
    """A write that replaces sys.stdout frees the file under CPython 3.11's
    own print (a crash); this print holds it."""
    import subprocess

    r = subprocess.run([sys.executable, "-c", WRITE_REPLACES_STDOUT, path], capture_output=True)
    return r.returncode, r.stdout


def main():
    fast = load(sys.argv[1])
    passed = failed = 0
    for name, case in CASES.items():
        want, got = outcome(ORIGINAL, case), outcome(fast, case)
        if want == got:
            passed += 1
            print("ok   %s" % name)
        else:
            failed += 1
            print("FAIL %s\n  builtin: %.300r\n  module:  %.300r" % (name, want, got))
    for attr in ("__name__", "__qualname__", "__module__", "__doc__", "__text_signature__"):
        if getattr(ORIGINAL, attr) == getattr(fast, attr):
            passed += 1
        else:
            failed += 1
            print("FAIL print.%s differs" % attr)
    got = write_replacing_stdout(sys.argv[1])
    if got == (0, b"[a][ ][b][\n]"):
        passed += 1
        print("ok   a write that replaces sys.stdout")
    else:
        failed += 1
        print("FAIL a write that replaces sys.stdout: %r" % (got,))
    if repr(fast) == repr(ORIGINAL):
        passed += 1
    else:
        failed += 1
        print("FAIL repr: %r" % (fast,))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
