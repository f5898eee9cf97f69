"""One way for every job (simulate, data, convert, train, evaluate, sweep) to report a user's mistake: one
line on stderr naming the value or file, what was expected and what to do; no traceback unless asked for
(`--debug` where a job has the flag, or the environment variable TURBJAX_DEBUG=1).

    from turbjax import cli
    with cli.user_errors("turbjax.train"):
        train_and_evaluate(config, workdir)

A bug in turbjax (any other exception) still raises with its traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
import zipfile

DEBUG_ENV = "TURBJAX_DEBUG"

# What a user can cause: bad values (ValueError), missing/unreadable/damaged files (OSError, BadZipFile,
# EOFError from a short file), a mistyped config override path (KeyError, AttributeError from ml_collections),
# a run that stopped by itself (RuntimeError subclasses turbjax raises on purpose, e.g. divergence), and a
# simulation that became non-finite (FloatingPointError: the step, Re and tau are in the message).
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, AttributeError, TypeError, RuntimeError,
    FloatingPointError,
)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false", "False")


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (KeyError's repr quotes are dropped); its type if it has none."""
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    msg = " ".join(str(msg).replace("\\n", " ").split())
    return msg or f"{type(exc).__name__} (no message; rerun with {DEBUG_ENV}=1 for the traceback)"


def report(prog: str, exc: BaseException, *, what: str = "error") -> None:
    print(f"{prog}: {what}: {one_line(exc)}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def user_errors(prog: str, *, code: int = 1, what: str = "error", debug: bool = False):
    """Turn a user's error raised inside the block into one line on stderr and exit `code`."""
    try:
        yield
    except USER_ERRORS as e:
        if debug or debug_enabled():
            raise
        report(prog, e, what=what)
        sys.exit(code)


def absl_flags_parser(prog: str):
    """A flags_parser for absl.app.run: a mistyped flag or --config.* override is one line, exit 2."""
    from absl import flags  # lazy: absl is only needed by the jobs that use it

    def parse(args):
        with user_errors(prog, code=2, what="error in the command line"):
            try:
                return flags.FLAGS(args)
            except flags.Error as e:  # not one of USER_ERRORS
                raise ValueError(str(e)) from e

    return parse
