"""Study task ``bytes_lm``: a tiny byte-level language model on CPython's stdlib, through the HF Trainer.

Two models, built from transformers configs with random init (no downloads):

* ``bytes_lm/gpt2``: GPT-2 (pre-LN: LayerNorm before each sublayer, one after the last block);
* ``bytes_lm/bert_postln``: BERT (post-LN: LayerNorm after each residual sum) used as a causal LM,
  ``BertLMHeadModel`` with ``is_decoder=True`` (a causal self-attention mask; the loss shifts the
  labels as GPT-2's does).

Both train on :mod:`.corpus` through the real ``transformers.Trainer``: ``optim="radamw"`` for
``spec.optimizer == "radam"`` (radam_integrations.RAdam with weight decay decoupled, registered by
:func:`~radam_integrations.integrations.transformers.register`) or ``"adamw_torch"`` for
``"adamw"``, so the two arms differ only in the rectification; ``constant_with_warmup``
schedule, or the Trainer's ``linear``/``cosine`` (warmup, then decay to 0) for ``spec.decay``;
``"sf_radam"`` through ``optim="schedule_free_radam"`` (constant, evaluated in the optimizer's
``.eval()`` mode); pytorch_warmup's rules (``spec.schedule``) on AdamW through a callback that
puts the Trainer's scheduler step inside ``warmup.dampening()``. The Trainer's default gradient
clipping (``max_grad_norm=1.0``). Dropout is off. A run
whose training or held-out loss turns non-finite stops there (NaN weights do not recover).

Example (about 2 s; trains 20 steps)::

    from warmup_study.bytes_lm import run
    from warmup_study.spec import RunSpec

    record = run(RunSpec("bytes_lm/gpt2", "radam", warmup_steps=0, lr=3e-3, beta2=0.99,
                         steps=20, seed=0, eval_every=10))
    record["final_eval_loss"] < record["initial_eval_loss"]  # True
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from radam_integrations.warmup import unwrap_optimizer

from .alternatives import eval_mode, pytorch_warmup_rule
from .corpus import VOCAB_SIZE, Corpus, load_corpus
from .spec import PYTORCH_WARMUP, RunSpec, run_record
from .timing import StepTimer

__all__ = ["MODELS", "SETTINGS", "TASKS", "BytesLMSettings", "build_model", "causal_eval", "run"]

#: ``spec.task`` -> model name.
MODELS = {"bytes_lm/gpt2": "gpt2", "bytes_lm/bert_postln": "bert_postln"}
TASKS = tuple(MODELS)

#: ``spec.optimizer`` -> ``TrainingArguments.optim``: all decouple weight decay. ``torch_radam``
#: (``torch.optim.RAdam``, which has no ``optim`` name) goes through the Trainer's public
#: ``optimizer_cls_and_kwargs``; its ``optim`` value is then unused.
OPTIM = {
    "radam": "radamw",
    "adamw": "adamw_torch",
    "torch_radam": "adamw_torch",
    "radam_measured": "radamw",
    "sf_radam": "schedule_free_radam",  # transformers' own route to schedulefree.RAdamScheduleFree
}
#: ``spec.optimizer`` -> ``TrainingArguments.optim_args`` (``radam_measured``: the same optimizer name).
OPTIM_ARGS = {"radam_measured": "rectify=measured"}


@dataclass(frozen=True)
class BytesLMSettings:
    """What every run of the task shares (the spec says what differs).

    With these, 600 steps cost about 12 s (post-LN BERT) to 14 s (GPT-2) on one free CPU core.

    >>> from dataclasses import replace
    >>> SETTINGS.block_size, replace(SETTINGS, n_layer=3).n_layer
    (64, 3)
    """

    block_size: int = 64
    batch_size: int = 16
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    max_train_bytes: int = 2**20
    held_out_blocks: int = 128
    logging_steps: int = 10
    max_grad_norm: float = 1.0  # the Trainer's default
    weight_decay: float = 0.01
    #: torch's intra-op threads during the run (restored after; ``None``: leave them). One thread
    #: is several times faster for models this small on a loaded 2-core machine.
    threads: int | None = 1

    def corpus(self) -> Corpus:
        return load_corpus(
            block_size=self.block_size,
            max_train_bytes=self.max_train_bytes,
            max_held_out_bytes=self.held_out_blocks * self.block_size,
        )


SETTINGS = BytesLMSettings()


def build_model(model: str, settings: BytesLMSettings = SETTINGS, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised causal LM over bytes: ``"gpt2"`` (pre-LN) or ``"bert_postln"`` (post-LN).

    >>> m = build_model("bert_postln")
    >>> m.config.is_decoder, m.config.vocab_size, m.loss_type
    (True, 256, 'ForCausalLM')
    """
    from transformers import BertConfig, BertLMHeadModel, GPT2Config, GPT2LMHeadModel

    s = settings
    torch.manual_seed(seed)
    if model == "gpt2":
        config = GPT2Config(
            vocab_size=VOCAB_SIZE, n_positions=s.block_size, n_embd=s.d_model, n_layer=s.n_layer,
            n_head=s.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            bos_token_id=0, eos_token_id=0, use_cache=False,
        )  # fmt: skip
        lm = GPT2LMHeadModel(config)
    elif model == "bert_postln":
        config = BertConfig(
            vocab_size=VOCAB_SIZE, hidden_size=s.d_model, num_hidden_layers=s.n_layer,
            num_attention_heads=s.n_head, intermediate_size=4 * s.d_model,
            max_position_embeddings=s.block_size, type_vocab_size=1, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, is_decoder=True, use_cache=False,
        )  # fmt: skip
        lm = BertLMHeadModel(config)
    else:
        raise ValueError(f"model must be one of {sorted(MODELS.values())}, got {model!r}")
    # transformers picks the loss from the class name; neither "GPT2LMHeadModel" nor
    # "BertLMHeadModel" names one, so it warns and falls back to the (shifted) causal loss.
    lm.loss_type = "ForCausalLM"
    return lm


@torch.no_grad()
def causal_eval(model: torch.nn.Module, blocks: Tensor) -> tuple[float, float]:
    """``(mean cross-entropy per predicted byte in nats, next-byte accuracy)`` on ``blocks`` [n, L] (uint8).

    The model is put back in the mode it was in.
    """
    was_training = model.training
    model.eval()
    try:
        ids = blocks.long()
        logits = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
        targets = ids[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).item()
        accuracy = (logits.argmax(-1) == targets).float().mean().item()
    finally:
        model.train(was_training)
    return loss, accuracy


def _probe_class() -> type:
    """The Trainer callback that records a run (built lazily: transformers is imported in run)."""
    from transformers import TrainerCallback

    class Probe(TrainerCallback):
        """Training loss from the logs, held-out evaluations, time inside ``optimizer.step()``."""

        def __init__(self, held_out: Tensor, eval_every: int) -> None:
            self.held_out, self.eval_every = held_out, eval_every
            self.train_loss: list[tuple[int, float]] = []
            self.evals: list[tuple[int, float, float | None]] = []
            self.timer = StepTimer()
            self.optimizer: Any = None  # the one the Trainer steps (inside accelerate's wrapper)
            self.step_seconds: list[float] = []  # each training step, evaluations left out
            self._step_started = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            inner, _ = unwrap_optimizer(kwargs["optimizer"])  # under accelerate's wrapper
            self.optimizer = inner
            self.timer.attach(inner)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                loss = float(logs["loss"])
                self.train_loss.append((state.global_step, loss))
                if not math.isfinite(loss):
                    control.should_training_stop = True  # NaN weights do not recover

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._step_started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.step_seconds.append(time.perf_counter() - self._step_started)
            step = state.global_step
            if step % self.eval_every == 0 or step >= state.max_steps:
                self.evaluate(kwargs["model"], step)
                if not math.isfinite(self.evals[-1][1]):
                    control.should_training_stop = True

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not self.evals or self.evals[-1][0] != state.global_step:  # stopped early
                self.evaluate(kwargs["model"], state.global_step)

        def evaluate(self, model: torch.nn.Module, step: int) -> None:
            # Schedule-free optimizers evaluate at their averaged weights: .eval() swaps them in.
            with eval_mode(self.optimizer):
                loss, accuracy = causal_eval(model, self.held_out)
            self.evals.append((step, loss, accuracy))

    return Probe


def _pytorch_warmup_callback(schedule: str) -> Any:
    """pytorch_warmup's rule on the Trainer's optimizer, as its README applies it: the lr scheduler's
    step inside ``with warmup.dampening():``. The Trainer steps its scheduler between
    ``on_optimizer_step`` and ``on_step_end``: the context is entered in the one, left in the other."""
    from transformers import TrainerCallback

    class Dampening(TrainerCallback):
        def __init__(self) -> None:
            self.warmup: Any = None
            self._context: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            inner, _ = unwrap_optimizer(kwargs["optimizer"])
            self.warmup = pytorch_warmup_rule(inner, schedule)  # dampens the first step at once

        def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._context = self.warmup.dampening()
            self._context.__enter__()  # the undampened learning rates, for the scheduler's step

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self._context is not None:
                self._context.__exit__(None, None, None)  # dampen the next step's
                self._context = None

    return Dampening()


def run(spec: RunSpec, settings: BytesLMSettings = SETTINGS) -> dict[str, Any]:
    """Train one arm with one seed; return its :func:`~warmup_study.spec.run_record`.

    Beyond the record's fields (which name the class the Trainer stepped): ``steps_done``
    (a run whose loss turned non-finite stops there), ``median_step_seconds`` (a training step
    from the Trainer's ``on_step_begin`` to ``on_step_end``: forward, backward, clipping,
    optimizer and scheduler; evaluations left out) and ``data`` (:meth:`.Corpus.describe`).
    """
    from radam_integrations.experimental import register_all

    if spec.task not in MODELS:
        raise ValueError(f"bytes_lm.run: task must be one of {TASKS}, got {spec.task!r}")
    register_all()  # radam, and the experimental names: rectify=measured, auto_warmup
    threads = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    try:
        return _run(spec, settings)
    finally:
        torch.set_num_threads(threads)


def _scheduler_type(spec: RunSpec) -> str:
    """The Trainer's ``lr_scheduler_type`` for ``spec`` (its ``warmup_steps`` go beside it)."""
    if spec.schedule == "auto":
        return "auto_warmup"
    if spec.optimizer == "sf_radam":
        return "constant"  # schedule-free: no schedule at all
    return "constant_with_warmup" if spec.decay == "constant" else spec.decay


def _run(spec: RunSpec, settings: BytesLMSettings) -> dict[str, Any]:
    from transformers import PrinterCallback, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    from radam_integrations.integrations.transformers import WarmupDetectorCallback

    corpus = settings.corpus()
    model = build_model(MODELS[spec.task], settings, spec.seed)
    initial_eval_loss, _ = causal_eval(model, corpus.held_out)
    probe = _probe_class()(corpus.held_out, spec.eval_every)
    callbacks: list[Any] = [probe]
    if spec.schedule in PYTORCH_WARMUP:
        callbacks.append(_pytorch_warmup_callback(spec.schedule))
    detector_cb = None
    if spec.detect:
        detector_cb = WarmupDetectorCallback(
            print_summary=False, save_history=False, plot=False, metrics="compact"
        )
        callbacks.append(detector_cb)

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with tempfile.TemporaryDirectory(prefix="bytes_lm_") as out:
            args = TrainingArguments(
                out,
                optim=OPTIM[spec.optimizer],
                optim_args=OPTIM_ARGS.get(spec.optimizer),
                learning_rate=spec.lr,
                adam_beta1=0.9,
                adam_beta2=spec.beta2,
                adam_epsilon=1e-8,
                weight_decay=settings.weight_decay,
                max_grad_norm=settings.max_grad_norm,
                lr_scheduler_type=_scheduler_type(spec),
                warmup_steps=spec.warmup_steps,
                max_steps=spec.steps,
                per_device_train_batch_size=settings.batch_size,
                logging_steps=settings.logging_steps,
                logging_nan_inf_filter=False,  # the default hides NaN losses behind the running mean
                use_cpu=True,
                report_to="none",
                save_strategy="no",
                eval_strategy="no",
                disable_tqdm=True,
                seed=spec.seed,
                data_seed=spec.seed,
                dataloader_num_workers=0,
            )
            torch_radam = None
            if spec.optimizer == "torch_radam":
                torch_radam = (
                    torch.optim.RAdam,
                    {"lr": spec.lr, "betas": (0.9, spec.beta2), "eps": 1e-8, "decoupled_weight_decay": True},
                )
            trainer = Trainer(
                model=model, args=args, train_dataset=corpus.train_dataset(spec.seed), callbacks=callbacks,
                optimizer_cls_and_kwargs=torch_radam,
            )  # fmt: skip
            trainer.remove_callback(PrinterCallback)  # disable_tqdm swaps the bar for print(logs)
            start = time.perf_counter()
            trainer.train()
            seconds = time.perf_counter() - start
            steps_done = trainer.state.global_step
    finally:
        hf_logging.set_verbosity(verbosity)

    detector = None
    if detector_cb is not None and detector_cb.detector is not None:
        detector = detector_cb.detector.run_summary()
    record = run_record(
        spec,
        train_loss=probe.train_loss,
        evals=probe.evals,
        initial_eval_loss=initial_eval_loss,
        seconds=seconds,
        optimizer_seconds=probe.timer.seconds,
        detector=detector,
        baseline_loss=corpus.unigram_loss(),
        optimizer=probe.optimizer,
    )
    record.update(
        steps_done=steps_done,
        median_step_seconds=statistics.median(probe.step_seconds) if probe.step_seconds else None,
        data=corpus.describe(),
    )
    return record
