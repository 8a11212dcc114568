"""Run a training script you did not write, with RAdam registered everywhere: no code changes.

::

    radam-integrations run [--detect] [--detector-dir DIR] SCRIPT [SCRIPT ARGS...]
    python -m radam_integrations [--detect] [--detector-dir DIR] SCRIPT [SCRIPT ARGS...]
    torchrun --nproc_per_node 2 -m radam_integrations [--detect] SCRIPT [SCRIPT ARGS...]
    accelerate launch [...] -m radam_integrations [--detect] SCRIPT [SCRIPT ARGS...]

It registers RAdam with every installed framework that picks optimizers by name (transformers'
``--optim radam``, timm's ``--opt radam``; see :func:`radam_integrations.register_all`), each
right after the script imports it, then runs SCRIPT exactly as ``python SCRIPT`` would: as
``__main__``, with its folder first on ``sys.path`` (sibling imports work), ``sys.argv`` set
to ``[SCRIPT, *ARGS]``, and its exit code passed through. Our own options come before SCRIPT;
everything after it belongs to the script.

``--detect`` (or ``RADAM_WARMUP_DETECTOR=1``) also attaches the warmup detector to whatever the
script trains: the Hugging Face Trainer gets its callback, Lightning and Fabric theirs (through
their entry points), and any other Adam-family optimizer (timm's ``train.py``, Accelerate or
hand-written loops) is watched through torch's optimizer step hooks. At the end the summary is
printed and ``warmup_history.json`` and ``warmup_history.png`` are written to
``--detector-dir`` (default ``./warmup``), on rank 0.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DETECTOR_DIR_ENV", "ENV_VAR", "RunnerError", "main", "run_script"]

#: ``RADAM_WARMUP_DETECTOR=1`` is the same as ``--detect`` (and attaches Lightning's callbacks
#: without the runner too).
ENV_VAR = "RADAM_WARMUP_DETECTOR"
#: Where ``--detect`` writes when ``--detector-dir`` is not given.
DETECTOR_DIR_ENV = "RADAM_WARMUP_DETECTOR_DIR"
#: ``RADAM_INTEGRATIONS_QUIET=1`` drops the runner's one line on stderr that says what it registered.
QUIET_ENV = "RADAM_INTEGRATIONS_QUIET"
#: What the runner's first line says it registered, per framework.
NAMES = {"transformers": "--optim radam/radamw", "timm": "--opt radam/radamw"}

USAGE = (
    "usage: radam-integrations run [--detect] [--detector-dir DIR] SCRIPT [ARGS...]\n"
    "       python -m radam_integrations [--detect] [--detector-dir DIR] SCRIPT [ARGS...]"
)
HELP = f"""{USAGE}

Run SCRIPT as `python SCRIPT ARGS...` would, with RAdam registered in every installed framework
(transformers: --optim radam/radamw; timm: --opt radam/radamw), each when the script imports it.
`python -m radam_integrations.experimental SCRIPT ...` also registers the experimental names.

options (before SCRIPT; everything after SCRIPT is passed to it):
  --detect            attach the warmup detector to every Adam-family optimizer the script trains
                      (also: {ENV_VAR}=1); print its summary and write warmup_history.json and
                      warmup_history.png at the end
  --detector-dir DIR  where --detect writes (default: ./warmup)
  -h, --help          show this message and exit
"""


class RunnerError(Exception):
    """A mistake in the runner's own arguments: one line on stderr, exit code 2."""


def _parse(argv: Sequence[str]) -> tuple[bool, str | None, str, list[str]]:
    """``(detect, detector_dir, script, script_args)`` from the runner's command line."""
    detect, directory = False, None
    args = list(argv)
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option in ("-h", "--help"):
            print(HELP)
            raise SystemExit(0)
        if option == "--detect":
            detect = True
        elif option == "--detector-dir" or option.startswith("--detector-dir="):
            if "=" in option:
                directory = option.split("=", 1)[1]
            elif args:
                directory = args.pop(0)
            else:
                raise RunnerError("--detector-dir needs a folder")
            if not directory:
                raise RunnerError("--detector-dir needs a folder")
        elif option == "--":
            break
        else:
            raise RunnerError(
                f"unknown option {option!r} before the script; the runner's options are --detect and "
                "--detector-dir, and the script's own options go after the script"
            )
    if not args:
        raise RunnerError("no script given")
    return detect, directory, args[0], args[1:]


def _detect_requested(flag: bool) -> bool:
    value = os.environ.get(ENV_VAR, "")
    if value not in ("", "0", "1"):
        raise RunnerError(f"{ENV_VAR}={value!r}: set it to 1 to attach the warmup detector, or unset it")
    return flag or value == "1"


def run_script(
    script: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    detect: bool = False,
    detector_dir: str | os.PathLike[str] = "warmup",
    register: Callable[..., list[str]] | None = None,
    names: dict[str, str] | None = None,
) -> int:
    """Run ``script`` as ``python script *args`` would, with RAdam registered; return its exit code.

    See the module docstring. ``register`` replaces :func:`~radam_integrations.register_all`
    (called with ``when_imported=True``) and ``names`` what the first line says it registered per
    framework (the experimental package's runner passes its own). Raises :class:`RunnerError`
    when ``script`` is not a file.
    """
    path = Path(script)
    if not path.is_file():
        what = "a folder, not a script" if path.is_dir() else "no such file"
        raise RunnerError(f"{script}: {what}")

    from .registration import installed_frameworks, register_all

    register = register or register_all
    names = names or NAMES
    if os.environ.get("RANK", "0") == "0" and os.environ.get(QUIET_ENV) != "1":
        found = [f"{name} ({names[name]})" for name in installed_frameworks(names)]
        print(
            "radam-integrations: RAdam registered with "
            + (", ".join(found) if found else "no installed framework")
            + (" when the script imports it" if found else "")
            + ("; warmup detector attached" if detect else ""),
            file=sys.stderr,
        )
    session = None
    if detect:
        os.environ[ENV_VAR] = "1"  # Lightning's and Fabric's entry points, also in child processes
        from .warmup.autodetect import DetectSession

        session = DetectSession(detector_dir)
        session.start()
    register(when_imported=True)
    if detect:
        from ._compat.transformers import TRAINER_MODULE
        from ._import_hooks import when_imported

        when_imported(TRAINER_MODULE, _attach_hf_callback)

    sys.argv = [str(script), *args]
    sys.path[0] = str(path.resolve().parent)  # as `python SCRIPT`: its folder, not the cwd
    code, failed = 0, True
    try:
        runpy.run_path(str(path.absolute()), run_name="__main__")  # __file__ absolute, as Python's
        failed = False
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
        failed = code != 0
    except Exception as err:  # as the interpreter would: the traceback (of the script), exit 1
        _print_script_traceback(err)
        code = 1
    finally:
        if session is not None:
            session.finish(failed=failed)
    return code


def _print_script_traceback(err: BaseException) -> None:
    """The traceback Python prints for ``python SCRIPT``: from the script's frames, not ours or runpy's."""
    tb = err.__traceback__
    ours = {__file__, runpy.__file__, "<frozen runpy>"}
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    traceback.print_exception(type(err), err, tb)


def _attach_hf_callback(module: object) -> None:
    from .integrations.transformers import attach_by_default

    attach_by_default(module)


def _exit_code(code: object) -> int:
    """What the interpreter would exit with for ``sys.exit(code)`` (printing a non-int message)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main(
    argv: Sequence[str] | None = None,
    prog: str = "radam-integrations run",
    *,
    register: Callable[..., list[str]] | None = None,
    names: dict[str, str] | None = None,
) -> int:
    """Entry point of ``radam-integrations run`` and ``python -m radam_integrations``
    (``register`` and ``names``: as for :func:`run_script`)."""
    try:
        detect, directory, script, script_args = _parse(sys.argv[1:] if argv is None else argv)
        return run_script(
            script,
            script_args,
            detect=_detect_requested(detect),
            detector_dir=directory or os.environ.get(DETECTOR_DIR_ENV) or "warmup",
            register=register,
            names=names,
        )
    except RunnerError as err:
        print(f"{prog}: error: {err} (see --help)", file=sys.stderr)
        return 2
