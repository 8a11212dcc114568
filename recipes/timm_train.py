"""timm + radam_integrations: a small ViT trained with ``create_optimizer_v2(model, opt="radamw")``.

The model is timm's ViT-Tiny cut to 4 blocks on 32x32 images in 8x8 patches (16 tokens). Data are
generated (no download): 10 classes, each a fixed random 3x32x32 template,
samples are a randomly shifted template plus noise. The optimizer comes from timm's own
factory (weight-decay grouping and layer-wise lr decay included) after registering our
RAdam; no learning-rate warmup; the warmup detector reports when warmup would have
stopped mattering.

    python recipes/timm_train.py                    # 600 steps
    python recipes/timm_train.py --steps 200        # quick: the last blocks' groups settle
    python recipes/timm_train.py --opt adamw        # timm's AdamW, same schedule, to compare

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the default 600
steps take 115 s with ``OMP_NUM_THREADS=1`` and 135-255 s with torch's default two threads, ``--steps 200``
30-45 s. The model used to
cut the images into 4x4 patches (64 tokens): 0.7 s a step with one thread and 1-3 s with two, so 7 to
20 minutes for the default, too long for a recipe. With 8x8 patches a step is 4 to 8 times cheaper
and the default run still learns (validation accuracy 0.42, chance 0.1) and settles (T = 340).

Writes ``result.json``, ``warmup_history.json`` and, when matplotlib is installed (``--no-plot``:
never), ``warmup_history.png`` into ``--output-dir``. ``--opt`` keeps timm's own flag name. timm's
``train.py`` (or any script that picks optimizers by name) needs no edit to get the same RAdam:
``radam-integrations run train.py --opt radamw ...`` registers it before running the script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.integrations import timm as radam_timm
from radam_integrations.warmup import MissingDependencyError


def synthetic_images(n: int, classes: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    templates = torch.randn(classes, 3, 32, 32, generator=torch.Generator().manual_seed(1234))
    labels = torch.randint(0, classes, (n,), generator=generator)
    shifts = torch.randint(-3, 4, (n, 2), generator=generator)
    images = torch.stack(
        [torch.roll(templates[c], tuple(s.tolist()), dims=(1, 2)) for c, s in zip(labels, shifts)]
    )
    return images + 1.5 * torch.randn(images.shape, generator=generator), labels


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps (default 600)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--beta2", type=float, default=None, help="betas=(0.9, BETA2) (default: the optimizer's own)"
    )
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--opt", default="radamw", help="any timm optimizer name; radam/radamw are ours")
    parser.add_argument("--layer-decay", type=float, default=0.75)
    parser.add_argument("--every", type=int, default=10, help="detector evaluation period (steps)")
    parser.add_argument("--no-plot", action="store_true", help="do not write warmup_history.png")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/timm_train"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    radam_timm.register()
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8, depth=4, num_classes=10
    )
    betas = {} if args.beta2 is None else {"betas": (0.9, args.beta2)}
    optimizer = create_optimizer_v2(
        model, opt=args.opt, lr=args.lr, weight_decay=args.weight_decay, layer_decay=args.layer_decay, **betas
    )
    scheduler = CosineLRScheduler(optimizer, t_initial=args.steps, lr_min=args.lr * 0.01, warmup_t=0)
    detector = WarmupDetector(optimizer, every=args.every)
    name = f"{type(optimizer).__module__}.{type(optimizer).__name__}"
    print(f"optimizer: {name}, {len(optimizer.param_groups)} parameter groups")

    gen = torch.Generator().manual_seed(args.seed)
    x_val, y_val = synthetic_images(512, 10, torch.Generator().manual_seed(99))
    for step in range(1, args.steps + 1):
        x, y = synthetic_images(args.batch_size, 10, gen)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step_update(step)  # timm schedulers apply each group's lr_scale (layer decay)
        detector.update()
        if step % max(args.steps // 10, 1) == 0 or step == args.steps:
            print(f"step {step:5d}  loss {loss.item():.4f}")

    model.eval()
    with torch.no_grad():
        accuracy = (model(x_val).argmax(-1) == y_val).float().mean().item()
    print(f"validation accuracy {accuracy:.3f}")
    print(detector.summary())
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    detector.save_history(str(out / "warmup_history.json"))
    if not args.no_plot:
        with contextlib.suppress(MissingDependencyError):  # no matplotlib: no plot
            detector.plot(str(out / "warmup_history.png"))
    result = {
        "optimizer": name,
        "is_radam": isinstance(optimizer, RAdam),
        "final_loss": loss.item(),
        "val_accuracy": accuracy,
        "settled_step": detector.settled_step,
        "evaluations": detector.evaluations,
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
