"""The detector's checkpoint encoding: float arrays as base64, the history as columns.

A detector's state goes into framework checkpoints that are JSON (the Hugging Face Trainer's
``trainer_state.json``) or loaded with ``weights_only=True``, so it must be plain, strict JSON:
no NaN or Infinity literals, no tensors. Arrays of floats (the sample memory, the history's
metric values) are therefore packed little-endian and base64-encoded: exact (NaN included),
compact (4 bytes per float32 value, plus a third for base64) and readable without numpy.

The history is stored column-wise: the metric names once, then one packed float32 matrix per
parameter group, with ``rows`` saying which evaluations the group took part in.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import torch
from torch import Tensor

__all__ = ["decode_floats", "decode_history", "encode_floats", "encode_history"]

_CODES = {"float32": "f", "float64": "d"}


def encode_floats(values: Tensor | list[float], dtype: str = "float32") -> dict[str, Any]:
    """``{"dtype", "n", "b64"}``: ``values`` packed as little-endian ``dtype`` and base64-encoded.

    >>> encode_floats([1.0, float("nan")])["n"]
    2
    >>> decode_floats(encode_floats([1.5, float("inf")])).tolist()
    [1.5, inf]
    """
    if isinstance(values, Tensor):
        values = values.detach().to("cpu", torch.float64).reshape(-1).tolist()
    data = struct.pack(f"<{len(values)}{_CODES[dtype]}", *values)
    return {"dtype": dtype, "n": len(values), "b64": base64.b64encode(data).decode("ascii")}


def decode_floats(obj: dict[str, Any]) -> Tensor:
    """The tensor :func:`encode_floats` packed (float32 or float64, as it was written).

    Raises:
        ValueError: ``obj`` is not a well-formed encoding.
    """
    try:
        code = _CODES[obj.get("dtype", "float64")]
        n = int(obj["n"])
        values = struct.unpack(f"<{n}{code}", base64.b64decode(obj["b64"], validate=True))
    except (AttributeError, KeyError, TypeError, ValueError, struct.error) as err:
        raise ValueError(f"corrupted WarmupDetector state: bad packed floats ({err})") from err
    dtype = torch.float32 if code == "f" else torch.float64
    return torch.tensor(values, dtype=dtype)


def encode_history(history: list[dict[str, Any]], metrics: tuple[str, ...]) -> dict[str, Any]:
    """The history records, column-wise; run-level fields as plain lists (``null`` where unknown).

    Each record is ``{"step", "groups": {label: {metric: value}}, <run-level fields>}``.
    """
    labels: dict[str, list[int]] = {}
    for i, record in enumerate(history):
        for label in record["groups"]:
            labels.setdefault(label, []).append(i)
    run_fields: list[str] = []  # in the records' own key order, so decoded records are identical
    for record in history:
        run_fields += [k for k in record if k not in ("step", "groups") and k not in run_fields]
    return {
        "metrics": list(metrics),
        "steps": [int(record["step"]) for record in history],
        "run": {field: [record.get(field) for record in history] for field in run_fields},
        "groups": {
            label: {
                "rows": rows,
                "values": encode_floats(
                    [float(history[i]["groups"][label].get(m, float("nan"))) for i in rows for m in metrics]
                ),
            }
            for label, rows in labels.items()
        },
    }


def decode_history(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The records :func:`encode_history` encoded (values as Python floats).

    Raises:
        ValueError: ``obj`` is not a well-formed encoding.
    """
    try:
        metrics = [str(m) for m in obj["metrics"]]
        records: list[dict[str, Any]] = [{"step": int(step), "groups": {}} for step in obj["steps"]]
        for field, values in obj.get("run", {}).items():
            for record, value in zip(records, values, strict=True):
                record[field] = value
        for label, column in obj["groups"].items():
            values = decode_floats(column["values"]).tolist()
            rows = [int(i) for i in column["rows"]]
            if len(values) != len(rows) * len(metrics):
                raise ValueError(f"group {label!r}: {len(values)} values for {len(rows)} rows")
            width = len(metrics)
            for j, i in enumerate(rows):
                records[i]["groups"][label] = dict(zip(metrics, values[j * width : (j + 1) * width]))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"corrupted WarmupDetector state: bad history ({err})") from err
    return records
