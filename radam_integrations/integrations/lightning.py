r"""Lightning adapters: the warmup detector as a Trainer callback and as a Fabric callback.

* :class:`WarmupDetectorCallback`: ``Trainer(callbacks=[WarmupDetectorCallback()])``, for
  ``lightning.pytorch.Trainer`` and ``pytorch_lightning.Trainer`` alike.
* :class:`FabricWarmupDetectorCallback`: ``Fabric(callbacks=[FabricWarmupDetectorCallback()])``.
* :func:`callbacks_factory` / :func:`fabric_callbacks_factory`: Lightning's
  ``*.callbacks_factory`` entry points. With ``RADAM_WARMUP_DETECTOR=1`` in the environment
  every Trainer and Fabric gets the detector without a code change.

Choosing the optimizer needs no adapter: ``configure_optimizers`` may return
:class:`radam_integrations.RAdam`, and ``LightningCLI`` takes
``--optimizer radam_integrations.RAdam`` (or ``class_path: radam_integrations.RAdam``).

Importing this module imports whichever of ``lightning`` and ``pytorch_lightning`` is
installed (both when both are); it works with either one alone.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import warnings
from typing import Any, Literal

import torch

from .._compat import lightning as lightning_compat
from .._console import say
from ..warmup import (
    DetectorConfig,
    MetricChoice,
    UnsupportedOptimizerError,
    WarmupDetector,
    check_metric_choice,
    claims,
    select_metrics,
    unwrap_optimizer,
)
from ..warmup.autodetect import current_session
from ..warmup.config import lists_config_fields
from ..warmup.detector import DEFAULT_EVERY
from ..warmup.outputs import HISTORY_FILE, summary_text, write_outputs

__all__ = [
    "ENV_VAR",
    "FabricWarmupDetectorCallback",
    "WarmupDetectorCallback",
    "callbacks_factory",
    "fabric_callbacks_factory",
]

_log = logging.getLogger(__name__)

#: Set to ``1`` to attach the detector to every Trainer and Fabric (through the entry points).
ENV_VAR = "RADAM_WARMUP_DETECTOR"
_STATE_VERSION = 1
_STATE_KEY = "WarmupDetectorCallback"
# The auto-attached instance saves under its own key so that it can sit next to a user's
# instance without tripping the Trainer's "more than one stateful callback" check.
_AUTO_STATE_KEY = "WarmupDetectorCallback{'auto_attached': True}"

# Trainer = lightning.pytorch.Trainer or pytorch_lightning.Trainer; Fabric likewise.
Trainer = Any
LightningModule = Any
Fabric = Any


# ``Callback`` of every installed Lightning package: one class with both bases is a callback for
# both Trainers (the entry point cannot know which one asks). See _compat/lightning.py.
_TRAINER_CALLBACK_BASES = lightning_compat.trainer_callback_bases()


def _unique_names(optimizers: list[Any], taken: list[str] | None = None) -> list[str]:
    """Class names, ``Adam``, ``Adam-1``, ... as Lightning's ``LearningRateMonitor`` names them."""
    names = list(taken or [])
    out = []
    for optimizer in optimizers:
        try:
            base = type(unwrap_optimizer(optimizer)[0]).__name__
        except UnsupportedOptimizerError:
            base = type(optimizer).__name__
        name, k = base, 0
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.append(name)
        out.append(name)
    return out


class _DetectorSet:
    """The detectors of one training run (one per optimizer), their checkpoint state and report.

    Shared by the Trainer and the Fabric callbacks, which only decide when to call it.
    """

    def __init__(
        self, config: DetectorConfig, process_group: Any = None, sharded: bool | None = None
    ) -> None:
        self.config = config
        self.process_group = process_group
        self.sharded = sharded
        self.optimizers: list[Any] = []
        self.detectors: list[WarmupDetector] = []
        self.pending: dict[str, dict[str, Any]] = {}  # name -> detector state awaiting its detector
        self.level = claims.EXPLICIT  # FRAMEWORK for the entry points' instances

    def add(self, optimizer: Any, name: str) -> WarmupDetector:
        with claims.attaching(self.level):
            detector = WarmupDetector(
                optimizer, self.config, name=name, process_group=self.process_group, sharded=self.sharded
            )
        saved = self.pending.pop(name, None)
        if saved is not None:
            detector.load_state_dict(saved)
        self.optimizers.append(optimizer)
        self.detectors.append(detector)
        session = current_session()
        if session is not None and self.level == claims.FRAMEWORK:
            session.add(detector)  # the runner's --detect reports it at the end
        return detector

    def find(self, optimizer: Any) -> WarmupDetector | None:
        for known, detector in zip(self.optimizers, self.detectors):
            if known is optimizer:
                return detector
        return None

    def clear(self) -> None:
        self.optimizers, self.detectors = [], []

    def warn_unused_pending(self, owner: str) -> None:
        if self.pending:
            warnings.warn(
                f"{owner}: the checkpoint holds warmup-detector state for {sorted(self.pending)} but the "
                f"optimizers now are {[d.name for d in self.detectors]}; that state is not used, so those "
                "detections start over.",
                RuntimeWarning,
                stacklevel=3,
            )
            self.pending = {}

    # ---------------------------------------------------------------- checkpoint
    def state_dict(self) -> dict[str, Any]:
        entries = [{"name": d.name, "state": d.state_dict(all_ranks=True)} for d in self.detectors]
        entries += [{"name": name, "state": state} for name, state in self.pending.items()]
        return {"version": _STATE_VERSION, "detectors": entries} if entries else {}

    def load_state_dict(self, state: dict[str, Any], owner: str) -> None:
        if (
            not isinstance(state, dict)
            or state.get("version") != _STATE_VERSION
            or not isinstance(state.get("detectors"), list)
        ):
            raise ValueError(
                f"{owner}.load_state_dict: not a {owner} state (expected a dict with version "
                f"{_STATE_VERSION} and a 'detectors' list, got {type(state).__name__}); pass what "
                f"{owner}.state_dict() returned"
            )
        self.pending = {entry["name"]: entry["state"] for entry in state["detectors"]}
        # Detectors that already exist (state loaded after they were created) take theirs now.
        for detector in self.detectors:
            saved = self.pending.pop(detector.name, None)
            if saved is not None:
                detector.load_state_dict(saved)

    # ---------------------------------------------------------------- report
    @property
    def settled_step(self) -> int | None:
        steps = [d.settled_step for d in self.detectors]
        settled = [s for s in steps if s is not None]
        if not steps or len(settled) < len(steps):
            return None
        return max(settled)

    def summary(self) -> str:
        return summary_text(self.detectors)

    def finish(
        self,
        directory: str | os.PathLike[str] | None,
        print_summary: bool,
        history: bool,
        plot: bool | None,
        say: Any,
    ) -> None:
        """End of training (rank 0): the summary and the files, or hand both to the runner's session."""
        session = current_session()
        if session is not None and self.level == claims.FRAMEWORK:
            for detector in self.detectors:
                session.remember(detector)
            return
        if print_summary:
            say(self.summary())
        if directory is not None and (history or plot):
            for path in write_outputs(self.detectors, directory, history=history, plot=plot):
                _log.info(f"warmup detector: wrote {path}")


# With neither package installed the bases are empty: the class still exists (so this module
# imports), and constructing it says what to install.
class _DetectorViews:
    """What both callbacks expose of their :class:`_DetectorSet` (``self._set``)."""

    _set: _DetectorSet

    @property
    def config(self) -> DetectorConfig:
        """The options every detector of this callback is built with."""
        return self._set.config

    @property
    def detectors(self) -> list[WarmupDetector]:
        """The detectors, one per optimizer (Trainer: ``trainer.optimizers`` order; Fabric: first step)."""
        return list(self._set.detectors)

    @property
    def settled_step(self) -> int | None:
        """The latest settled step over all optimizers; ``None`` until every one has settled."""
        return self._set.settled_step

    def summary(self) -> str:
        """The summary table of every detector (what is printed at the end of training)."""
        return self._set.summary()


@lists_config_fields()
class WarmupDetectorCallback(_DetectorViews, *_TRAINER_CALLBACK_BASES):  # type: ignore[misc]
    r"""Logs how Adam's adaptive learning rate settles, and when warmup stops mattering.

    One :class:`~radam_integrations.WarmupDetector` per optimizer of the Trainer
    (``trainer.optimizers``): Adam, AdamW, NAdam, ``torch.optim.RAdam`` or
    :class:`radam_integrations.RAdam`. It only reads the optimizer state after each optimizer
    step and never changes training. Works with ``lightning.pytorch.Trainer`` and
    ``pytorch_lightning.Trainer``.

    The metrics are logged at the detector's evaluations (optimizer steps 1, 2, 4, 8, then every
    ``every`` steps). By default (``metrics="compact"``) these are, per optimizer,
    ``warmup/<Optimizer>/noise`` and ``staleness`` (the worst parameter group's) and, once known,
    ``settled_step`` and ``suggested_warmup_steps``; ``metrics="all"`` adds every per-group metric
    ``warmup/<Optimizer>/<group>/<metric>`` (``<group>`` is ``pg<i>``, 0-based, or the param
    group's ``"name"``) and ``relapses`` (see :mod:`radam_integrations.warmup.selection`).
    Several optimizers of the same class are named ``Adam``, ``Adam-1``, ... as
    ``LearningRateMonitor`` names them. Every Lightning logger of the Trainer gets them, by one of
    two routes (``log_with``):

    * ``"log_dict"`` (default): ``pl_module.log_dict(..., on_step=True, on_epoch=False)``. The
      values also land in ``trainer.callback_metrics``, so they can be monitored
      (``ModelCheckpoint(monitor="warmup/RAdam/settled_step")``). Lightning's rules apply:
      logged values reach the loggers only every ``Trainer(log_every_n_steps)`` steps (default
      50; choose a divisor of ``every``, ``1`` also keeps steps 1, 2, 4, 8), a value logged
      after optimizer step ``t`` is written at the logger's step ``t - 1``, and Lightning
      re-sends the last value at every later logging step of the same epoch, so between two
      evaluations the logs repeat the previous one.
    * ``"loggers"``: ``logger.log_metrics(metrics, step=t)`` for each of ``trainer.loggers``
      (as ``LearningRateMonitor`` does), on rank 0: one row per evaluation, at the optimizer step
      ``t`` the values describe, whatever ``log_every_n_steps``; not in ``callback_metrics``.

    ``warmup_history.json``, written at the end of training, holds every evaluation either way.

    Args:
        config: the detector's :class:`~radam_integrations.warmup.DetectorConfig` (or the dict
            of its fields); ``**options`` are its fields too (``every=10``, ``tol=0.1``, ``hold``,
            ``sample_size``, ...), validated here.
        log: log the metrics (``False``: only keep them in the detectors and the history file).
        log_with: ``"log_dict"`` or ``"loggers"``, see above.
        metrics: ``"compact"`` (default), ``"all"`` or a list of metric names to log.
        output_dir: where ``warmup_history.json`` and the plot go at the end of training
            (default: ``trainer.log_dir``, which is ``default_root_dir`` without a logger).
        save_history: write ``warmup_history.json`` (read it with ``radam-integrations report``).
        plot: also write ``warmup_history.png`` (``None``: when matplotlib is installed; ``True``
            warns if it is not).
        print_summary: print the detector's summary table at the end of training (rank 0).
        process_group: process group of sharded optimizer state (default: the world).
        sharded: whether ranks hold different parts of the state (default: detected).

    Raises:
        UnsupportedOptimizerError: at the start of training, if an optimizer keeps no Adam-style
            state (SGD, Adagrad, ...).

    Every rank runs the detector (sharded state needs one ``all_reduce`` per evaluation); with
    ``"log_dict"`` every rank logs the same values (``rank_zero_only=False``), so a monitor sees
    them on every rank. The state (settled step, counters, sample memory, history) goes into
    checkpoints, and ``Trainer.fit(ckpt_path=...)`` continues the same detection.

    ``RADAM_WARMUP_DETECTOR=1`` adds an instance with the defaults to every Trainer (see
    :func:`callbacks_factory`). That one steps aside when the Trainer has your own, and it warns
    about, rather than fails on, an optimizer it cannot read.

    Example::

        >>> import torch
        >>> import lightning.pytorch as L
        >>> from radam_integrations import RAdam
        >>> from radam_integrations.integrations.lightning import WarmupDetectorCallback
        >>> class Regression(L.LightningModule):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.net = torch.nn.Linear(8, 1)
        ...     def training_step(self, batch, batch_idx):
        ...         x, y = batch
        ...         return torch.nn.functional.mse_loss(self.net(x), y)
        ...     def configure_optimizers(self):
        ...         return RAdam(self.parameters(), lr=1e-2)
        >>> data = torch.utils.data.TensorDataset(torch.randn(64, 8), torch.randn(64, 1))
        >>> warmup = WarmupDetectorCallback(every=5, save_history=False, print_summary=False)
        >>> trainer = L.Trainer(max_steps=10, callbacks=[warmup], logger=False, enable_checkpointing=False,
        ...                     enable_progress_bar=False, enable_model_summary=False)
        >>> trainer.fit(Regression(), torch.utils.data.DataLoader(data, batch_size=8))
        >>> [d.evaluations for d in warmup.detectors]  # steps 1, 2, 4, 8, 10
        [5]
    """

    def __init__(
        self,
        config: DetectorConfig | dict[str, Any] | None = None,
        *,
        log: bool = True,
        log_with: Literal["log_dict", "loggers"] = "log_dict",
        metrics: MetricChoice = "compact",
        output_dir: str | None = None,
        save_history: bool = True,
        plot: bool | None = None,
        print_summary: bool = True,
        process_group: Any = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        if log_with not in ("log_dict", "loggers"):
            raise ValueError(f"log_with must be 'log_dict' or 'loggers', got {log_with!r}")
        if not _TRAINER_CALLBACK_BASES:
            raise ImportError(
                "WarmupDetectorCallback needs Lightning: pip install lightning "
                "(or pytorch-lightning, or 'radam-integrations[lightning]')"
            )
        self._set = _DetectorSet(DetectorConfig.build(config, **options), process_group, sharded)
        self.log = log
        self.log_with = log_with
        self.metrics = check_metric_choice(metrics, "WarmupDetectorCallback")
        self.output_dir = output_dir
        self.save_history = save_history
        self.plot = plot
        self.print_summary = print_summary
        self._auto_attached = False  # set by callbacks_factory
        self._inert = False  # an auto-attached instance that found the user's own

    @property
    def state_key(self) -> str:
        return _AUTO_STATE_KEY if self._auto_attached else _STATE_KEY

    # ---------------------------------------------------------------- hooks
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        self._inert = self._auto_attached and any(
            isinstance(cb, WarmupDetectorCallback) and cb is not self and not cb._auto_attached
            for cb in trainer.callbacks
        )
        if self._inert:
            _log.info(f"{ENV_VAR}=1: the Trainer already has a WarmupDetectorCallback; not adding another")
            return
        n = trainer.log_every_n_steps
        logs_every_n = self.log and self.log_with == "log_dict" and trainer.loggers and n
        every = self._set.config.every or DEFAULT_EVERY
        if logs_every_n and every % n and trainer.is_global_zero:
            period = every * n // math.gcd(every, n)
            warnings.warn(
                f"WarmupDetectorCallback(every={every}) with Trainer(log_every_n_steps={n}): Lightning "
                f"passes logged values to the loggers every {n} steps, so only the evaluations at multiples "
                f"of {period} reach them. Set log_every_n_steps to a divisor of {every} (1 also keeps "
                f"steps 1, 2, 4, 8); {HISTORY_FILE} holds every evaluation either way.",
                UserWarning,
                stacklevel=2,
            )

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._inert:
            return
        optimizers = list(trainer.optimizers)
        if len(optimizers) == len(self._set.optimizers) and all(
            a is b for a, b in zip(optimizers, self._set.optimizers)
        ):
            return
        self._set.clear()
        for index, (optimizer, name) in enumerate(zip(optimizers, _unique_names(optimizers))):
            try:
                self._set.add(optimizer, name)
            except UnsupportedOptimizerError as err:
                message = (
                    f"WarmupDetectorCallback: optimizer {index} ({type(optimizer).__name__}) is not an "
                    f"Adam-family optimizer: {err}"
                )
                if not self._auto_attached:
                    raise UnsupportedOptimizerError(
                        f"{message}. Remove the callback or use Adam, AdamW, NAdam or "
                        "radam_integrations.RAdam."
                    ) from err
                warnings.warn(f"{message}; it is not monitored ({ENV_VAR}=1).", RuntimeWarning, stacklevel=2)
        self._set.warn_unused_pending("WarmupDetectorCallback")
        _warn_if_cli_picked_torch_radam(pl_module, optimizers, trainer.is_global_zero)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # Runs after every micro-batch; update() returns None unless the optimizer's step
        # count advanced (accumulation, skipped AMP steps) and an evaluation is due.
        for detector in self._set.detectors:
            if detector.outranked:
                continue
            metrics = detector.update()  # an evaluation reaches the runner's session by itself
            if not metrics or not self.log:
                continue
            metrics = select_metrics(metrics, self.metrics)
            if self.log_with == "loggers":
                if trainer.is_global_zero:
                    for logger in trainer.loggers:
                        logger.log_metrics(metrics, step=_optimizer_step(detector))
            else:
                # Every rank calls with the same values (rank_zero_only=False keeps them usable
                # as a monitor on every rank); batch_size=1 skips batch-size inference.
                pl_module.log_dict(metrics, on_step=True, on_epoch=False, rank_zero_only=False, batch_size=1)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._inert or not self._set.detectors:
            return
        wants_files = self.save_history or bool(self.plot) or self.plot is None
        # trainer.log_dir is a collective (broadcast): every rank asks, rank 0 writes.
        directory = self.output_dir or (trainer.log_dir if wants_files else None) or trainer.default_root_dir
        if not trainer.is_global_zero:
            return
        # pl_module.print goes through the progress bar, so the table does not land on its line.
        self._set.finish(directory, self.print_summary, self.save_history, self.plot, pl_module.print)

    # ---------------------------------------------------------------- checkpoint
    def state_dict(self) -> dict[str, Any]:
        """Detector states, by optimizer name. A collective with sharded state: call on every rank."""
        return {} if self._inert else self._set.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; detectors created later (at train start) pick their part up."""
        if not self._inert:
            self._set.load_state_dict(state_dict, "WarmupDetectorCallback")

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # A run started with RADAM_WARMUP_DETECTOR=1 and resumed with an explicit callback (or the
        # reverse) saved under the other key: take that state when ours is missing.
        states = checkpoint.get("callbacks") or {}
        if self._inert or self.state_key in states:
            return
        other = _STATE_KEY if self._auto_attached else _AUTO_STATE_KEY
        if states.get(other):
            self.load_state_dict(copy.deepcopy(states[other]))


@lists_config_fields()
class FabricWarmupDetectorCallback(_DetectorViews):
    r"""The warmup detector for a Lightning Fabric training loop.

    Pass it in ``Fabric(callbacks=[...])``. Fabric calls :meth:`on_after_optimizer_step` after
    every ``optimizer.step()`` of an optimizer set up with ``fabric.setup(...)``; the callback
    keeps one :class:`~radam_integrations.WarmupDetector` per optimizer (created at its first
    step) and logs the metrics (``warmup/<Optimizer>/<group>/<metric>``, as
    :class:`WarmupDetectorCallback` names them) with ``fabric.log_dict(metrics, step=t)`` on
    rank 0, where ``t`` is the optimizer's step count. It captures the Fabric in
    :meth:`on_after_setup`, which ``fabric.setup(model, optimizer)`` triggers; if you use
    ``fabric.setup_module``/``setup_optimizers`` instead, call
    ``fabric.call("on_after_setup", fabric=fabric, module=model)`` yourself.

    Fabric has no end-of-training hook: call ``fabric.call("on_train_end")`` after your loop to
    print :meth:`summary` and write ``warmup_history.json`` (and the plot) into ``output_dir``
    or the first logger's ``log_dir``, or use :meth:`summary` and :meth:`write` directly.

    Checkpointing: the callback has ``state_dict``/``load_state_dict``, so put it into the
    state Fabric saves: ``fabric.save(path, {"model": model, "optimizer": opt, "warmup":
    callback})`` and ``fabric.load(path, {..., "warmup": callback})``. The state is JSON-safe
    (loads with ``weights_only=True``). ``fabric.save`` calls ``state_dict`` on every rank,
    which the sharded case needs.

    Args:
        config, options: the detector's :class:`~radam_integrations.warmup.DetectorConfig` or its
            fields (``every=10``, ...), as for :class:`WarmupDetectorCallback`.
        process_group, sharded: as in :class:`~radam_integrations.WarmupDetector`.
        log: log the metrics with ``fabric.log_dict``.
        metrics: ``"compact"`` (default), ``"all"`` or a list of metric names to log.
        output_dir: where :meth:`on_train_end` writes its files (default: the first logger's
            ``log_dir``; nothing is written without either).
        save_history: write ``warmup_history.json`` in :meth:`on_train_end`.
        plot: also write ``warmup_history.png`` (``None``: when matplotlib is installed).
        print_summary: print the summary table in :meth:`on_train_end` (rank 0).

    Example:
        >>> import torch
        >>> from lightning.fabric import Fabric
        >>> from radam_integrations import RAdam
        >>> from radam_integrations.integrations.lightning import FabricWarmupDetectorCallback
        >>> warmup = FabricWarmupDetectorCallback(every=5)
        >>> fabric = Fabric(accelerator="cpu", devices=1, callbacks=[warmup])
        >>> model = torch.nn.Linear(8, 1)
        >>> model, optimizer = fabric.setup(model, RAdam(model.parameters(), lr=1e-2))
        >>> for step in range(10):
        ...     optimizer.zero_grad()
        ...     fabric.backward(model(torch.randn(16, 8)).pow(2).mean())
        ...     optimizer.step()
        >>> warmup.detectors[0].evaluations  # steps 1, 2, 4, 8, 10
        5
        >>> state = warmup.state_dict()  # what fabric.save stores under your key
        >>> FabricWarmupDetectorCallback(every=5).load_state_dict(state)
    """

    def __init__(
        self,
        config: DetectorConfig | dict[str, Any] | None = None,
        *,
        log: bool = True,
        metrics: MetricChoice = "compact",
        output_dir: str | None = None,
        save_history: bool = True,
        plot: bool | None = None,
        print_summary: bool = True,
        process_group: Any = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        self.metrics = check_metric_choice(metrics, "FabricWarmupDetectorCallback")
        self._set = _DetectorSet(DetectorConfig.build(config, **options), process_group, sharded)
        self.log = log
        self.output_dir = output_dir
        self.save_history = save_history
        self.plot = plot
        self.print_summary = print_summary
        self.fabric: Fabric | None = None
        self._auto_attached = False  # set by fabric_callbacks_factory
        self._inert = False
        self._warned_no_fabric = False
        self._skipped: list[Any] = []  # unsupported optimizers of an auto-attached instance

    def write(self, directory: str | os.PathLike[str]) -> list[str]:
        """Write ``warmup_history.json`` (and the PNG if ``plot``) into ``directory``; the paths."""
        return write_outputs(self._set.detectors, directory, history=True, plot=self.plot)

    # ---------------------------------------------------------------- hooks
    def on_after_setup(self, fabric: Fabric, module: Any = None, **kwargs: Any) -> None:
        self.fabric = fabric
        others = lightning_compat.fabric_callbacks(fabric)
        self._inert = self._auto_attached and any(
            isinstance(cb, FabricWarmupDetectorCallback) and cb is not self and not cb._auto_attached
            for cb in others
        )

    def on_after_optimizer_step(self, strategy: Any = None, optimizer: Any = None, **kwargs: Any) -> None:
        if self._inert or optimizer is None or any(o is optimizer for o in self._skipped):
            return
        detector = self._set.find(optimizer)
        if detector is None:
            name = _unique_names([optimizer], taken=[d.name for d in self._set.detectors])[0]
            try:
                detector = self._set.add(optimizer, name)
            except UnsupportedOptimizerError as err:
                if not self._auto_attached:
                    raise UnsupportedOptimizerError(
                        f"FabricWarmupDetectorCallback: {err}. Remove the callback or use Adam, AdamW, "
                        "NAdam or radam_integrations.RAdam."
                    ) from err
                warnings.warn(f"{err}; it is not monitored ({ENV_VAR}=1).", RuntimeWarning, stacklevel=2)
                self._skipped.append(optimizer)
                return
        if detector.outranked:
            return
        metrics = detector.update()  # an evaluation reaches the runner's session by itself
        if not metrics or not self.log:
            return
        metrics = select_metrics(metrics, self.metrics)
        if self.fabric is None:
            if not self._warned_no_fabric:
                self._warned_no_fabric = True
                warnings.warn(
                    "FabricWarmupDetectorCallback has not seen the Fabric (fabric.setup(model, optimizer) "
                    "triggers on_after_setup; setup_module/setup_optimizers do not), so its metrics are "
                    "not logged. Call fabric.call('on_after_setup', fabric=fabric, module=model) once.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return
        if self.fabric.is_global_zero:
            self.fabric.log_dict(metrics, step=_optimizer_step(detector))

    def on_train_end(self, **kwargs: Any) -> None:
        """Print the summary and write the history (rank 0): call ``fabric.call("on_train_end")``."""
        if self._inert or not self._set.detectors:
            return
        if self.fabric is not None and not self.fabric.is_global_zero:
            return
        directory = self.output_dir
        if directory is None and self.fabric is not None and self.fabric.loggers:
            directory = getattr(self.fabric.logger, "log_dir", None)
        self._set.finish(directory, self.print_summary, self.save_history, self.plot, say)

    # ---------------------------------------------------------------- checkpoint
    def state_dict(self) -> dict[str, Any]:
        """Detector states, by optimizer name (JSON-safe). A collective with sharded state."""
        return {} if self._inert else self._set.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; a detector created at its optimizer's next step picks its part up."""
        self._set.load_state_dict(state_dict, "FabricWarmupDetectorCallback")


def _warn_if_cli_picked_torch_radam(pl_module: Any, optimizers: list[Any], is_global_zero: bool) -> None:
    """Say so when LightningCLI resolved ``--optimizer RAdam`` to ``torch.optim.RAdam``.

    LightningCLI resolves a bare class name among ``torch.optim``'s optimizers first, silently; the
    auto-configured ``configure_optimizers`` it installs is how we tell that the CLI built it.
    """
    built_by_cli = lightning_compat.configure_optimizers_from_cli(pl_module)
    torch_radam = [o for o in optimizers if type(getattr(o, "optimizer", o)) is torch.optim.RAdam]
    if built_by_cli and torch_radam and is_global_zero:
        warnings.warn(
            "LightningCLI built torch.optim.RAdam: a bare `--optimizer RAdam` (or class_path: RAdam) "
            "resolves to torch's class, not radam_integrations.RAdam. Pass --optimizer "
            "radam_integrations.RAdam (class_path: radam_integrations.RAdam) for ours.",
            UserWarning,
            stacklevel=3,
        )


def _optimizer_step(detector: WarmupDetector) -> int:
    """The optimizer step count the detector last saw: the step its metrics describe."""
    return int(detector.last_step)


# -------------------------------------------------------------------- entry points
def _enabled() -> bool:
    value = os.environ.get(ENV_VAR, "")
    if value not in ("", "0", "1"):
        warnings.warn(
            f"{ENV_VAR}={value!r} is ignored: set it to 1 to attach the warmup detector", stacklevel=3
        )
    return value == "1"


def callbacks_factory() -> list[Any]:
    """Entry point of ``lightning.pytorch.callbacks_factory`` and ``pytorch_lightning.callbacks_factory``.

    Lightning calls it when a Trainer is built. It returns ``[WarmupDetectorCallback()]`` when
    ``RADAM_WARMUP_DETECTOR=1`` is set, else ``[]``. If the Trainer also has a user's
    ``WarmupDetectorCallback``, the added one stays idle. It never raises.
    """
    if not _enabled() or not _TRAINER_CALLBACK_BASES:
        return []
    try:
        callback = WarmupDetectorCallback()
    except Exception as err:  # called by Lightning inside Trainer(): never break it
        warnings.warn(f"{ENV_VAR}=1: could not create the warmup detector callback: {err}", stacklevel=2)
        return []
    callback._auto_attached = True
    callback._set.level = claims.FRAMEWORK
    return [callback]


def fabric_callbacks_factory() -> list[Any]:
    """Entry point of ``lightning.fabric.callbacks_factory`` and ``lightning_fabric.callbacks_factory``.

    Returns ``[FabricWarmupDetectorCallback()]`` when ``RADAM_WARMUP_DETECTOR=1`` is set, else
    ``[]``. It never raises.
    """
    if not _enabled():
        return []
    try:
        callback = FabricWarmupDetectorCallback()
    except Exception as err:
        warnings.warn(
            f"{ENV_VAR}=1: could not create the Fabric warmup detector callback: {err}", stacklevel=2
        )
        return []
    callback._auto_attached = True
    callback._set.level = claims.FRAMEWORK
    return [callback]
