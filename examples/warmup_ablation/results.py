"""The demo's raw results on disk: ``demo_results.json`` written and read, and its flat ``metrics.csv``.

The results are one dict: ``settings`` (:meth:`DemoSettings.to_dict`), ``arms``, the
``detector_suggested_warmup``, the wall time in ``seconds``, the ``torch`` version and ``runs``
(one dict per arm and seed, as :func:`.training.run_one` returns them). Everything the
statistics and the renderers show is computed from this dict, so ``radam-integrations report
runs/demo`` re-renders a finished demo without training.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from radam_integrations.files import invalid_json_message, write_json

__all__ = ["RESULTS_FILE", "load_results", "save_results", "write_metrics_csv"]

RESULTS_FILE = "demo_results.json"


def save_results(results: dict[str, Any], out: Path) -> Path:
    """Write ``results`` to ``out/demo_results.json`` (atomically, strict JSON: NaN as ``null``)."""
    path = out / RESULTS_FILE
    write_json(path, results)
    return path


def load_results(run_dir: Path) -> dict[str, Any]:
    """Read ``demo_results.json`` from a demo output directory (errors name the file)."""
    from radam_integrations.warmup import HistoryError

    path = run_dir / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise HistoryError(f"{path}: not a text file (binary data at byte {err.start})") from err
    except OSError as err:
        raise HistoryError(f"{path}: cannot read ({err.strerror or err})") from err
    except json.JSONDecodeError as err:
        raise HistoryError(invalid_json_message(path, err)) from err
    if not isinstance(data, dict) or not {"settings", "arms", "runs"} <= set(data):
        raise HistoryError(f"{path}: not a demo results file (needs settings, arms and runs)")
    for run in data["runs"] if isinstance(data["runs"], list) else ():
        # Strict JSON stores an undefined (diverged) loss as null: back to NaN for the statistics.
        if isinstance(run, dict) and isinstance(run.get("train_loss"), list):
            run["train_loss"] = [math.nan if v is None else v for v in run["train_loss"]]
    return data


def write_metrics_csv(results: dict[str, Any], path: Path) -> Path:
    """Every run's curves as one CSV row per step: ``arm,seed,step,train_loss,val_loss,val_accuracy``."""
    with path.open("w") as fh:
        fh.write("arm,seed,step,train_loss,val_loss,val_accuracy\n")
        for run in results["runs"]:
            val = {p["step"]: p for p in run["val"]}
            for i, loss in enumerate(run["train_loss"], start=1):
                v = val.get(i, {})
                row = [run["arm"], run["seed"], i, loss, v.get("val_loss", ""), v.get("val_accuracy", "")]
                fh.write(",".join(str(x) for x in row) + "\n")
    return path
