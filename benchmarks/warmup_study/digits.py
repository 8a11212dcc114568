"""digits: a small timm model on scikit-learn's 8x8 digits, through timm's optimizer factory and scheduler.

``run(spec)`` for ``spec.task == "digits/<timm model name>"``. Everything ships offline:

* data: ``sklearn.datasets.load_digits()`` (1797 grey 8x8 images, 10 classes), one fixed
  stratified split (:data:`HELD_OUT` of each class held out, :data:`SPLIT_SEED`, whatever the run's
  seed), pixels scaled to [0, 1] and normalised with the training pixels' mean and std, resized
  once to the model's :attr:`ModelSetup.image_size` (bilinear) when that is not 8; no augmentation;
  batches of :data:`BATCH_SIZE` in an order seeded by ``spec.seed``, a fresh permutation per epoch
  (the incomplete last batch of an epoch is dropped);
* model: ``timm.create_model(name, pretrained=False, num_classes=10, in_chans=1, **MODELS[name].kwargs)``;
  a name outside :data:`MODELS` gets 32x32 images and no overrides (fine for convnets);
* optimizer: ``timm.optim.create_optimizer_v2`` with ``opt="radamw"`` (our RAdam, registered by
  :func:`radam_integrations.experimental.register_all` with the experimental ``"measuredradamw"``,
  decoupled weight decay) or timm's
  ``"adamw"`` (torch.optim.AdamW), weight decay 0.01 (timm groups it: none for biases and
  norms), betas ``(0.9, spec.beta2)``, eps 1e-8: the arms differ only in rectification;
  Schedule-free RAdam (``"sf_radam"``) has no timm route: ``schedulefree.RAdamScheduleFree`` over
  the same parameter groups (timm's ``param_groups_weight_decay``), evaluated in ``.eval()`` mode;
* warmup: timm's :class:`~timm.scheduler.StepLRScheduler` with no decay, stepped per update the
  way timm's ``train.py`` does (``step_update(num_updates)`` after each ``optimizer.step()``):
  update ``k`` (1-based) runs at ``lr * (k - 1) / warmup_steps`` while ``k <= warmup_steps``, at
  ``lr`` afterwards (the same schedule as Hugging Face's constant-with-warmup). With
  ``spec.decay == "cosine"`` (timm ``train.py``'s default), timm's
  :class:`~timm.scheduler.CosineLRScheduler` instead: the same warmup, then the cosine from ``lr``
  to 0 at ``spec.steps`` (``warmup_prefix=False``, ``lr_min=0``, as ``train.py``'s defaults);
  pytorch_warmup's rules (``spec.schedule``) step that scheduler inside ``warmup.dampening()``.

The model, ``vit_tiny_patch16_224`` cut down (:data:`MODELS`), is a pre-LN transformer small enough
for a CPU: 4 blocks of width 64, 2 heads, on the 8x8 image in 4x4 patches (4 tokens and the class
token), 0.2 M parameters; about 12 ms a step with one torch thread on a 2-core machine, and it
reaches 96-97% held-out accuracy in 600 steps at lr 1e-3 to 3e-3. 2x2 patches (16 tokens) cost
twice as much and learn more slowly. Measured (800 steps, 1-3 seeds): with beta2 = 0.99 it does not
need warmup at any lr from 1e-3 to 3e-2 (no arm diverges; from 1e-2 up every arm ends worse, by seed);
with beta2 = 0.999 and lr 3e-2, AdamW without warmup ends worse than with 100 steps of it in 2 of 3 seeds.

Use one torch thread (``torch.set_num_threads(1)``) on a small shared CPU: steps this small are
2 to 50 times slower with two threads when other processes hold the cores.

Example (``run`` and :func:`load_split` need scikit-learn and timm)::

    >>> from warmup_study.spec import RunSpec
    >>> spec = RunSpec("digits/vit_tiny_patch16_224", "radam", warmup_steps=0, lr=3e-3, beta2=0.99,
    ...                steps=800, seed=0)
    >>> name = model_name(spec.task)
    >>> name, MODELS[name].image_size, TIMM_OPTIMIZERS[spec.optimizer]
    ('vit_tiny_patch16_224', 8, 'radamw')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from radam_integrations import WarmupDetector

from .alternatives import eval_mode, pytorch_warmup_rule, schedule_free_radam
from .spec import PYTORCH_WARMUP, RunSpec, run_record

__all__ = [
    "BATCH_SIZE",
    "HELD_OUT",
    "MODELS",
    "SPLIT_SEED",
    "ModelSetup",
    "Split",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "build_scheduler",
    "load_split",
    "model_name",
    "run",
]

BATCH_SIZE = 64
#: The share of each class held out for evaluation.
HELD_OUT = 0.25
#: Seeds the split only: every run, whatever its seed, sees the same split.
SPLIT_SEED = 0
WEIGHT_DECAY = 0.01
EPS = 1e-8
#: Training loss is recorded as the mean over this many steps.
TRAIN_LOSS_EVERY = 10
#: spec.optimizer -> the name timm's factory knows it by.
TIMM_OPTIMIZERS = {
    "radam": "radamw",
    "adamw": "adamw",
    "torch_radam": "torchradamw",
    "radam_measured": "measuredradamw",
}


@dataclass(frozen=True)
class ModelSetup:
    """How a timm model is created for 8x8 digits: the image side it gets and ``create_model`` overrides."""

    image_size: int
    kwargs: dict[str, Any] = field(default_factory=dict)


#: Models with overrides; any other timm name gets :data:`_OTHER`.
MODELS: dict[str, ModelSetup] = {
    "vit_tiny_patch16_224": ModelSetup(
        image_size=8, kwargs={"img_size": 8, "patch_size": 4, "depth": 4, "embed_dim": 64, "num_heads": 2}
    ),
}
_OTHER = ModelSetup(image_size=32)


@dataclass(frozen=True)
class Split:
    """The fixed split: ``x_*`` are ``(n, 1, side, side)`` float32, ``index_*`` index ``load_digits()``."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    index_train: Tensor
    index_test: Tensor


@lru_cache(maxsize=4)
def load_split(image_size: int = 8) -> Split:
    """The fixed stratified split, normalised and resized to ``image_size`` (cached: do not modify it)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    index_train, index_test = train_test_split(
        range(len(digits.target)), test_size=HELD_OUT, stratify=digits.target, random_state=SPLIT_SEED
    )
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(digits.target, dtype=torch.long)
    index_train, index_test = torch.as_tensor(index_train), torch.as_tensor(index_test)
    mean, std = images[index_train].mean(), images[index_train].std()
    images = (images - mean) / std
    if image_size != images.shape[-1]:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return Split(
        images[index_train],
        labels[index_train],
        images[index_test],
        labels[index_test],
        index_train,
        index_test,
    )


def model_name(task: str) -> str:
    """``"digits/<name>"`` -> ``<name>``."""
    prefix, _, name = task.partition("/")
    if prefix != "digits" or not name:
        raise ValueError(f"digits runs tasks named 'digits/<timm model>', got {task!r}")
    return name


def _setup(name: str) -> ModelSetup:
    return MODELS.get(name, _OTHER)


def build_model(name: str) -> nn.Module:
    """The timm model for 10 classes of 1-channel images (seed torch first for a fixed init)."""
    import timm

    return timm.create_model(name, pretrained=False, num_classes=10, in_chans=1, **_setup(name).kwargs)


def build_optimizer(model: nn.Module, spec: RunSpec) -> torch.optim.Optimizer:
    """timm's ``create_optimizer_v2``: our RAdam (``"radamw"``) or timm's ``"adamw"``, as ``spec`` says;
    schedule-free RAdam (no timm route) over the same parameter groups."""
    from timm.optim import create_optimizer_v2, param_groups_weight_decay

    from radam_integrations.experimental import register_all

    if spec.optimizer == "sf_radam":
        groups = param_groups_weight_decay(model, WEIGHT_DECAY)
        return schedule_free_radam(groups, lr=spec.lr, beta2=spec.beta2, eps=EPS, weight_decay=WEIGHT_DECAY)
    register_all()  # radamw, and the experimental names: measuredradamw, sched="auto_warmup"
    return create_optimizer_v2(
        model,
        opt=TIMM_OPTIMIZERS[spec.optimizer],
        lr=spec.lr,
        weight_decay=WEIGHT_DECAY,
        betas=(0.9, spec.beta2),
        eps=EPS,
    )


def build_scheduler(optimizer: torch.optim.Optimizer, spec: RunSpec) -> Any:
    """timm's step scheduler without decay: linear warmup from 0 over ``spec.warmup_steps``, then ``lr``.

    Call ``step_update(num_updates)`` after each ``optimizer.step()``. With ``spec.schedule ==
    "auto"``: timm's ``create_scheduler_v2(sched="auto_warmup")`` (the measured warmup, then
    ``lr``; registered with the optimizer names), stepped the same way.
    """
    import timm.scheduler
    from timm.scheduler import CosineLRScheduler, StepLRScheduler

    if spec.decay == "linear":
        raise ValueError("digits decays as timm's train.py does by default: decay='cosine' (or 'constant')")
    if spec.decay == "cosine":
        if spec.schedule == "auto":
            raise ValueError("digits: schedule='auto' brings its own schedule; decay must be 'constant'")
        return CosineLRScheduler(
            optimizer, t_initial=spec.steps, lr_min=0.0, warmup_t=spec.warmup_steps, warmup_lr_init=0.0,
            warmup_prefix=False, t_in_epochs=False,
        )  # fmt: skip
    if spec.schedule == "auto":
        scheduler, _ = timm.scheduler.create_scheduler_v2(
            optimizer, sched="auto_warmup", num_epochs=1, step_on_epochs=False, updates_per_epoch=spec.steps
        )
        return scheduler

    return StepLRScheduler(
        optimizer,
        decay_t=max(spec.steps, 1),
        decay_rate=1.0,
        warmup_t=spec.warmup_steps,
        warmup_lr_init=0.0,
        t_in_epochs=False,
    )


def build_schedule(optimizer: torch.optim.Optimizer, spec: RunSpec) -> Callable[[int], None]:
    """What runs after each ``optimizer.step()``, given the updates done so far: the scheduler's
    ``step_update``, inside ``warmup.dampening()`` for pytorch_warmup's rules (its README's way)."""
    scheduler = build_scheduler(optimizer, spec)
    if spec.schedule not in PYTORCH_WARMUP:
        return scheduler.step_update
    warmup = pytorch_warmup_rule(optimizer, spec.schedule)  # after the scheduler's first lr: dampens it

    def step(num_updates: int) -> None:
        with warmup.dampening():
            scheduler.step_update(num_updates)

    return step


def _batches(n: int, seed: int):
    """Index batches forever: a seeded permutation per epoch, the incomplete last batch dropped."""
    generator = torch.Generator().manual_seed(seed)
    size = min(BATCH_SIZE, n)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - size + 1, size):
            yield order[start : start + size]


def _evaluate(model: nn.Module, split: Split, optimizer: torch.optim.Optimizer) -> tuple[float, float]:
    model.eval()
    with torch.no_grad(), eval_mode(optimizer):  # schedule-free: at its averaged weights
        logits = model(split.x_test)
        loss = F.cross_entropy(logits, split.y_test).item()
        accuracy = (logits.argmax(-1) == split.y_test).float().mean().item()
    model.train()
    return loss, accuracy


def run(spec: RunSpec) -> dict[str, Any]:
    """Train one arm with one seed; the :func:`~warmup_study.spec.run_record`."""
    name = model_name(spec.task)
    split = load_split(_setup(name).image_size)
    torch.manual_seed(spec.seed)
    model = build_model(name)
    optimizer = build_optimizer(model, spec)
    after_step = build_schedule(optimizer, spec)
    detector = WarmupDetector(optimizer) if spec.detect else None  # its defaults, as users get them

    initial_eval_loss, _ = _evaluate(model, split, optimizer)
    train_loss: list[tuple[int, float]] = []
    evals: list[tuple[int, float, float | None]] = []
    pending: list[float] = []
    optimizer_seconds = 0.0
    batches = _batches(len(split.y_train), spec.seed)
    start = time.perf_counter()
    for step in range(1, spec.steps + 1):
        index = next(batches)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(split.x_train[index]), split.y_train[index])
        loss.backward()
        tick = time.perf_counter()
        optimizer.step()
        optimizer_seconds += time.perf_counter() - tick
        after_step(step)  # timm's train.py: after the step, with the updates done so far
        if detector is not None:
            detector.update()
        pending.append(loss.item())
        last = step == spec.steps
        if step % TRAIN_LOSS_EVERY == 0 or last:
            train_loss.append((step, math.fsum(pending) / len(pending)))
            pending.clear()
        if step % spec.eval_every == 0 or last:
            evals.append((step, *_evaluate(model, split, optimizer)))
    seconds = time.perf_counter() - start

    found = None
    if detector is not None:
        found = detector.run_summary()
    return run_record(
        spec,
        train_loss=train_loss,
        evals=evals,
        initial_eval_loss=initial_eval_loss,
        seconds=seconds,
        optimizer_seconds=optimizer_seconds,
        detector=found,
        baseline_loss=math.log(10),  # the classes are balanced: class frequencies score ln 10
        optimizer=optimizer,
    )
