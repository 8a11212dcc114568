"""timm + radam_integrations: a small ViT trained with ``create_optimizer_v2(model, opt="radamw")``.

Data are generated (no download): 10 classes, each a fixed random 3x32x32 template,
samples are a randomly shifted template plus noise. The optimizer comes from timm's own
factory (weight-decay grouping and layer-wise lr decay included) after registering our
RAdam; no learning-rate warmup; the warmup detector reports when warmup would have
stopped mattering.

    python recipes/timm_train.py                    # a few minutes on a laptop CPU
    python recipes/timm_train.py --steps 30         # seconds
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.integrations import timm as radam_timm


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
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--opt", default="radamw", help="any timm optimizer name; radam/radamw are ours")
    parser.add_argument("--layer-decay", type=float, default=0.75)
    parser.add_argument("--out", type=Path, default=Path("runs/timm_train"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    radam_timm.register()
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=4, depth=4, num_classes=10
    )
    optimizer = create_optimizer_v2(
        model, opt=args.opt, lr=args.lr, weight_decay=0.05, layer_decay=args.layer_decay
    )
    scheduler = CosineLRScheduler(optimizer, t_initial=args.steps, lr_min=args.lr * 0.01, warmup_t=0)
    detector = WarmupDetector(optimizer, every=10)
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
    args.out.mkdir(parents=True, exist_ok=True)
    detector.save_history(str(args.out / "warmup_history.json"))
    result = {
        "optimizer": name,
        "is_radam": isinstance(optimizer, RAdam),
        "final_loss": loss.item(),
        "val_accuracy": accuracy,
        "settled_step": detector.settled_step,
        "evaluations": detector.evaluations,
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
