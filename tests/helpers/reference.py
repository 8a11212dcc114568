"""An independent, element-by-element RAdam in plain Python floats (the test oracle).

Written from the paper and the authors' code, not from this package: per element it
keeps m, v and its own step count, and applies

* L2 decay (g += wd * theta) or decoupled decay (theta *= 1 - lr * wd, only on steps
  that update the parameter when degenerated_to_sgd is False, as the official code);
* rectified step when rho_t > threshold, else momentum SGD (degenerated_to_sgd) or nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class ReferenceRAdam:
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled: bool = False
    threshold: float = 5.0
    degenerated_to_sgd: bool = True
    maximize: bool = False
    t: int = 0
    m: list[float] = field(default_factory=list)
    v: list[float] = field(default_factory=list)

    def step(self, theta: list[float], grad: list[float]) -> list[float]:
        if not self.m:
            self.m = [0.0] * len(theta)
            self.v = [0.0] * len(theta)
        self.t += 1
        t, b1, b2 = self.t, self.beta1, self.beta2
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho = rho_inf - 2.0 * t * b2**t / (1.0 - b2**t)
        rectified = rho > max(self.threshold, 4.0)
        moves = rectified or self.degenerated_to_sgd
        out = []
        for i, (th, g) in enumerate(zip(theta, grad)):
            if self.maximize:
                g = -g
            if self.weight_decay:
                if self.decoupled:
                    if moves:
                        th = th * (1.0 - self.lr * self.weight_decay)
                else:
                    g = g + self.weight_decay * th
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
            m_hat = self.m[i] / (1.0 - b1**t)
            if rectified:
                r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                th = th - self.lr * r * m_hat * math.sqrt(1.0 - b2**t) / (math.sqrt(self.v[i]) + self.eps)
            elif self.degenerated_to_sgd:
                th = th - self.lr * m_hat
            out.append(th)
        return out
