"""The paper's warmup ablation on a post-LN Transformer, trained with Lightning on a CPU.

Five configurations, each over several seeds, all at the same aggressive learning rate:

=====================  =====================================================================
``adam``               Adam, no warmup
``adam-warmup-2k``     Adam, linear warmup over the untuned ``2 / (1 - beta2)`` steps
``adam-warmup-det``    Adam, linear warmup over the length the warmup detector suggests
                       (measured on the RAdam runs, which need no warmup to train)
``adam-eps``           Adam with a large epsilon (1e-4), the paper's "Adam-eps"
``radam``              radam_integrations.RAdam, no warmup
=====================  =====================================================================

Every run attaches the warmup detector (through the Lightning callback) and records the
training loss, held-out loss/accuracy and the detector's metrics. Results go to
``out`` (``runs/demo`` by default): ``demo_results.json`` (all raw metrics),
``metrics.csv``, ``summary.md`` and ``demo.png``; ``radam-integrations report runs/demo``
re-renders the table and the figure from ``demo_results.json``.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import theory
from ..files import write_json
from .model import ModelConfig, PostLNTransformer
from .task import ReversalStream, validation_set

RESULTS_FILE = "demo_results.json"


@dataclass(frozen=True)
class Arm:
    """One configuration of the ablation."""

    key: str
    label: str
    optimizer: str  # "adam" or "radam"
    warmup: str = "none"  # "none", "untuned" or "detector"
    eps: float = 1e-8


ARMS = (
    Arm("radam", "RAdam (ours), no warmup", "radam"),
    Arm("adam", "Adam, no warmup", "adam"),
    Arm("adam-eps", "Adam, eps=1e-4, no warmup", "adam", eps=1e-4),
    Arm("adam-warmup-2k", "Adam + untuned warmup 2/(1-b2)", "adam", warmup="untuned"),
    Arm("adam-warmup-det", "Adam + detector-suggested warmup", "adam", warmup="detector"),
)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo trains. ``quick()`` is the under-two-minutes variant used by the tests."""

    steps: int = 250
    seeds: tuple[int, ...] = (0, 1, 2)
    lr: float = 3e-3
    beta1: float = 0.9
    beta2: float = 0.999
    batch_size: int = 64
    length: int = 20
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(
            vocab_size=24, d_model=96, n_layers=6, n_heads=4, d_ff=384, max_len=20
        )
    )
    target_loss: float = 0.1
    val_every: int = 25
    val_size: int = 512
    detector_every: int = 10

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(steps=150, seeds=(0,), val_every=25, val_size=256)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoSettings:
        data = dict(data)
        data["seeds"] = tuple(data["seeds"])
        data["model"] = ModelConfig(**data["model"])
        return cls(**data)


def warmup_length(arm: Arm, settings: DemoSettings, suggested: int | None) -> int:
    if arm.warmup == "untuned":
        return theory.untuned_linear_warmup(settings.beta2)
    if arm.warmup == "detector":
        if suggested is None:
            raise RuntimeError("the detector-suggested warmup needs a settled RAdam run first")
        return suggested
    return 0


def _quiet_lightning() -> None:
    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "lightning",
        "pytorch_lightning",
        "lightning_fabric",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*IterableDataset.*__len__.*")
    # Lightning 2.6 on torch 2.14 warns about its own use of torch's pytree API on every fit.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def run_one(
    arm: Arm,
    seed: int,
    settings: DemoSettings,
    warmup: int,
    on_step: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train one configuration with one seed; return its curves and the detector's findings."""
    import lightning.pytorch as pl

    from ..integrations.lightning import WarmupDetectorCallback

    _quiet_lightning()
    module = _demo_module(arm, seed, settings, warmup)
    detector_cb = WarmupDetectorCallback(
        every=settings.detector_every, print_summary=False, save_history=False
    )
    callbacks: list[Any] = [detector_cb]
    if on_step is not None:
        callbacks.append(_step_hook(pl.Callback, on_step))
    trainer = pl.Trainer(
        max_steps=settings.steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    loader = torch.utils.data.DataLoader(
        ReversalStream(settings.batch_size, settings.length, settings.model.vocab_size, seed=1000 + seed),
        batch_size=None,
    )
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    detector = detector_cb.detectors[0]
    return {
        "arm": arm.key,
        "seed": seed,
        "warmup": warmup,
        "seconds": time.perf_counter() - start,
        "train_loss": module.train_losses,
        "val": module.val_points,
        "settled_step": detector.settled_step,
        "suggested_warmup_steps": detector.suggested_warmup_steps,
        "relapses": detector.relapses,
        "detector": detector.history_records(),
    }


def _step_hook(base: type, fn: Callable[[], None]) -> Any:
    """A Lightning callback calling ``fn`` after every training batch (drives the progress bar)."""

    class StepHook(base):  # type: ignore[misc, valid-type]
        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            fn()

    return StepHook()


def _make_module_class() -> type:
    import lightning.pytorch as pl

    class DemoModule(pl.LightningModule):
        def __init__(self, arm: Arm, seed: int, settings: DemoSettings, warmup: int) -> None:
            super().__init__()
            torch.manual_seed(seed)
            self.arm, self.settings, self.warmup = arm, settings, warmup
            self.net = PostLNTransformer(settings.model)
            self.val_x, self.val_y = validation_set(
                settings.val_size, settings.length, settings.model.vocab_size
            )
            self.train_losses: list[float] = []
            self.val_points: list[dict[str, float]] = []

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
            x, y = batch
            logits = self.net(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            self.train_losses.append(loss.item())
            return loss

        def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
            step = self.trainer.global_step
            if step % self.settings.val_every == 0 or step == self.settings.steps:
                self.val_points.append({"step": step, **self.evaluate()})

        @torch.no_grad()
        def evaluate(self) -> dict[str, float]:
            was_training = self.net.training
            self.net.eval()
            logits = self.net(self.val_x)
            self.net.train(was_training)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.val_y.reshape(-1)).item()
            accuracy = (logits.argmax(-1) == self.val_y).float().mean().item()
            return {"val_loss": loss, "val_accuracy": accuracy}

        def configure_optimizers(self) -> Any:
            s, arm = self.settings, self.arm
            kwargs = {"lr": s.lr, "betas": (s.beta1, s.beta2), "eps": arm.eps}
            if arm.optimizer == "radam":
                from ..optim import RAdam

                optimizer: torch.optim.Optimizer = RAdam(self.parameters(), **kwargs)
            else:
                optimizer = torch.optim.Adam(self.parameters(), **kwargs)
            if self.warmup <= 0:
                return optimizer
            length = self.warmup
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: min(1.0, (step + 1) / length)
            )
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    return DemoModule


_MODULE_CLASS: type | None = None


def _demo_module(*args: Any) -> Any:
    """Build the LightningModule (its class is created on first use: Lightning is optional)."""
    global _MODULE_CLASS
    if _MODULE_CLASS is None:
        _MODULE_CLASS = _make_module_class()
    return _MODULE_CLASS(*args)


# ---------------------------------------------------------------------- the whole ablation
def run_ablation(settings: DemoSettings, out: Path, progress: bool = True) -> dict[str, Any]:
    """Run every configuration and seed, write the results, the table and the figure."""
    out.mkdir(parents=True, exist_ok=True)
    total = len(ARMS) * len(settings.seeds) * settings.steps
    bar = _progress_bar(total, enabled=progress)
    runs: list[dict[str, Any]] = []
    suggested: int | None = None
    started = time.perf_counter()
    for arm in ARMS:
        if arm.warmup == "detector":
            suggested = _detector_suggestion(runs, settings)
        for seed in settings.seeds:
            bar.set_description(f"{arm.key} seed {seed}")
            length = warmup_length(arm, settings, suggested)
            runs.append(run_one(arm, seed, settings, length, on_step=lambda: bar.update(1)))
    bar.close()
    results = {
        "settings": settings.to_dict(),
        "arms": [asdict(a) for a in ARMS],
        "detector_suggested_warmup": suggested,
        "seconds": time.perf_counter() - started,
        "torch": torch.__version__,
        "runs": runs,
    }
    write_json(out / RESULTS_FILE, results)
    write_reports(results, out)
    return results


def _detector_suggestion(runs: list[dict[str, Any]], settings: DemoSettings) -> int:
    """Median of the RAdam runs' suggestions; the untuned length if none settled."""
    values = [
        r["suggested_warmup_steps"] for r in runs if r["arm"] == "radam" and r["suggested_warmup_steps"]
    ]
    if not values:
        return theory.untuned_linear_warmup(settings.beta2)
    return int(statistics.median_low(values))


def _progress_bar(total: int, enabled: bool) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with lightning/transformers
        tqdm = None
    if tqdm is None or not enabled:
        return _NullBar()
    return tqdm(total=total, unit="step", dynamic_ncols=True)


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------- tables and figures
def _smoothed(values: list[float], window: int = 10) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def steps_to_target(losses: list[float], target: float, window: int = 10) -> int | None:
    """First step (1-based) at which the ``window``-step moving average of the loss is below ``target``."""
    for i, value in enumerate(_smoothed(losses, window)):
        if i + 1 >= window and value < target:
            return i + 1
    return None


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per configuration: means and spreads over seeds."""
    settings = DemoSettings.from_dict(results["settings"])
    rows = []
    for arm in (Arm(**a) for a in results["arms"]):
        mine = [r for r in results["runs"] if r["arm"] == arm.key]
        if not mine:
            continue
        final_loss = [statistics.fmean(r["train_loss"][-10:]) for r in mine]
        final_acc = [r["val"][-1]["val_accuracy"] for r in mine if r["val"]]
        reach = [steps_to_target(r["train_loss"], settings.target_loss) for r in mine]
        rows.append(
            {
                "key": arm.key,
                "label": arm.label,
                "warmup": mine[0]["warmup"],
                "final_loss_mean": statistics.fmean(final_loss),
                "final_loss_std": statistics.pstdev(final_loss),
                "val_accuracy_mean": statistics.fmean(final_acc) if final_acc else math.nan,
                "val_accuracy_std": statistics.pstdev(final_acc) if final_acc else math.nan,
                "steps_to_target": reach,
                "reached": sum(r is not None for r in reach),
                "seeds": len(mine),
                "settled_step": [r["settled_step"] for r in mine],
                "suggested_warmup": [r["suggested_warmup_steps"] for r in mine],
            }
        )
    return rows


def markdown_table(rows: list[dict[str, Any]], settings: DemoSettings) -> str:
    def fmt_list(values: list[Any]) -> str:
        return ", ".join("never" if v is None else str(v) for v in values)

    target = f"steps to loss < {settings.target_loss:g}"
    header = (
        f"| configuration | warmup steps | final train loss | val accuracy | {target} | detector T "
        "| suggested warmup |"
    )
    lines = [header, "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['warmup']} | {r['final_loss_mean']:.3f} ± {r['final_loss_std']:.3f} "
            f"| {r['val_accuracy_mean']:.3f} ± {r['val_accuracy_std']:.3f} "
            f"| {fmt_list(r['steps_to_target'])} | {fmt_list(r['settled_step'])} "
            f"| {fmt_list(r['suggested_warmup'])} |"
        )
    return "\n".join(lines)


def terminal_table(rows: list[dict[str, Any]], settings: DemoSettings) -> str:
    headers = ["configuration", "warmup", "final loss", "val acc", f"steps to <{settings.target_loss:g}", "T"]
    body = [
        [
            r["label"],
            str(r["warmup"]),
            f"{r['final_loss_mean']:.3f}±{r['final_loss_std']:.3f}",
            f"{r['val_accuracy_mean']:.3f}±{r['val_accuracy_std']:.3f}",
            ",".join("never" if v is None else str(v) for v in r["steps_to_target"]),
            ",".join("-" if v is None else str(v) for v in r["settled_step"]),
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [headers, *body]) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [headers, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_reports(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """``summary.md``, ``metrics.csv`` and ``demo.png`` from ``results``; prints the table."""
    settings = DemoSettings.from_dict(results["settings"])
    rows = summarize(results)
    table = markdown_table(rows, settings)
    model = settings.model
    intro = (
        f"Post-LN Transformer ({model.n_layers} layers, d_model={model.d_model}), sequence reversal "
        f"(length {settings.length}, vocabulary {model.vocab_size - 2}), lr={settings.lr:g}, "
        f"betas=({settings.beta1}, {settings.beta2}), batch {settings.batch_size}, {settings.steps} steps, "
        f"seeds {list(settings.seeds)}. Detector-suggested warmup: "
        f"{results.get('detector_suggested_warmup')} steps (median over the RAdam runs). "
        f"Wall time {results.get('seconds', 0):.0f} s."
    )
    (out / "summary.md").write_text(f"{intro}\n\n{table}\n")
    with (out / "metrics.csv").open("w") as fh:
        fh.write("arm,seed,step,train_loss,val_loss,val_accuracy\n")
        for run in results["runs"]:
            val = {p["step"]: p for p in run["val"]}
            for i, loss in enumerate(run["train_loss"], start=1):
                v = val.get(i, {})
                row = [run["arm"], run["seed"], i, loss, v.get("val_loss", ""), v.get("val_accuracy", "")]
                fh.write(",".join(str(x) for x in row) + "\n")
    print(intro)
    print(terminal_table(rows, settings))
    paths = {"summary": out / "summary.md", "metrics": out / "metrics.csv"}
    try:
        paths["figure"] = Path(plot_results(results, out / "demo.png"))
    except ImportError as err:
        print(f"(no figure: {err})")
    return paths


def plot_results(results: dict[str, Any], path: Path) -> str:
    """Loss curves, held-out accuracy, and the detector's noise and staleness with T marked."""
    from ..warmup.report import _pyplot

    plt = _pyplot()
    settings = DemoSettings.from_dict(results["settings"])
    arms = [Arm(**a) for a in results["arms"]]
    colors = dict(zip((a.key for a in arms), plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    (ax_loss, ax_acc), (ax_noise, ax_stale) = axes
    for arm in arms:
        mine = [r for r in results["runs"] if r["arm"] == arm.key]
        if not mine:
            continue
        color = colors[arm.key]
        curves = [_smoothed(r["train_loss"]) for r in mine]
        steps = list(range(1, len(curves[0]) + 1))
        mean = [statistics.fmean(c[i] for c in curves) for i in range(len(steps))]
        ax_loss.plot(steps, mean, color=color, label=f"{arm.label} (warmup {mine[0]['warmup']})")
        if len(curves) > 1:
            lo = [min(c[i] for c in curves) for i in range(len(steps))]
            hi = [max(c[i] for c in curves) for i in range(len(steps))]
            ax_loss.fill_between(steps, lo, hi, color=color, alpha=0.15)
        val_steps = [p["step"] for p in mine[0]["val"]]
        acc = [statistics.fmean(r["val"][i]["val_accuracy"] for r in mine) for i in range(len(val_steps))]
        ax_acc.plot(val_steps, acc, color=color, marker="o", markersize=3)
        run = mine[0]  # the detector of the first seed
        rows = [d for d in run["detector"] if d["group"] == "pg0"]
        noise = [(d["step"], d["noise"]) for d in rows if _finite(d.get("noise"))]
        stale = [(d["step"], d["staleness"]) for d in rows if _finite(d.get("staleness"))]
        if noise:
            ax_noise.plot(*zip(*noise), color=color)
        if stale:
            ax_stale.plot(*zip(*stale), color=color)
        if run["settled_step"] is not None:
            for ax in (ax_noise, ax_stale):
                ax.axvline(run["settled_step"], color=color, linestyle="--", alpha=0.7)
    ax_loss.set_yscale("log")
    ax_loss.axhline(settings.target_loss, color="grey", linestyle=":", linewidth=1)
    ax_loss.set_title(f"training loss (10-step mean; band: min-max over {len(settings.seeds)} seeds)")
    ax_loss.legend(fontsize=8)
    ax_acc.set_title("held-out accuracy (mean over seeds)")
    ax_acc.set_ylim(0, 1.02)
    ax_noise.set_yscale("log")
    ax_noise.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    ax_noise.set_title("detector: sampling noise of log psi (dashed: settled step T, seed 0)")
    ax_stale.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    ax_stale.axhline(0.0, color="grey", linewidth=0.8)
    ax_stale.set_title("detector: staleness (> 0: psi over-estimated)")
    for ax in axes.flat:
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
    model = settings.model
    fig.suptitle(
        f"Warmup ablation: post-LN Transformer ({model.n_layers} layers), lr={settings.lr:g}, "
        f"beta2={settings.beta2}, sequence reversal"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def load_results(run_dir: Path) -> dict[str, Any]:
    """Read ``demo_results.json`` from a demo output directory (errors name the file)."""
    from ..warmup.report import HistoryError

    path = run_dir / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise HistoryError(f"{path}: not a text file (binary data at byte {err.start})") from err
    except OSError as err:
        raise HistoryError(f"{path}: cannot read ({err.strerror or err})") from err
    except json.JSONDecodeError as err:
        raise HistoryError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}); truncated?") from err
    if not isinstance(data, dict) or not {"settings", "arms", "runs"} <= set(data):
        raise HistoryError(f"{path}: not a demo results file (needs settings, arms and runs)")
    for run in data["runs"] if isinstance(data["runs"], list) else ():
        # Strict JSON stores an undefined (diverged) loss as null: back to NaN for the statistics.
        if isinstance(run, dict) and isinstance(run.get("train_loss"), list):
            run["train_loss"] = [math.nan if v is None else v for v in run["train_loss"]]
    return data


__all__ = [
    "ARMS",
    "Arm",
    "DemoSettings",
    "load_results",
    "plot_results",
    "run_ablation",
    "run_one",
    "steps_to_target",
    "summarize",
    "write_reports",
]
