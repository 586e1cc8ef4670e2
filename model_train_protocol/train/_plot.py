"""The loss-curve PNG of a training run (matplotlib's Agg canvas: no display, no global backend change)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

__all__ = ["save_loss_curve"]


def save_loss_curve(
    path: Path, train: Sequence[tuple[int, float]], val: Sequence[tuple[int, float]], title: str
) -> None:
    """Plot training loss per step (raw and smoothed) and validation loss per evaluation."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if train:
        steps, losses = zip(*train)
        ax.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="train (per step)")
        window = max(1, len(losses) // 20)
        smooth = [_mean(losses[max(0, i - window + 1): i + 1]) for i in range(len(losses))]
        ax.plot(steps, smooth, color="tab:blue", linewidth=1.6, label=f"train (mean of {window})")
    if val:
        vsteps, vlosses = zip(*val)
        ax.plot(vsteps, vlosses, color="tab:orange", marker="o", markersize=3, linewidth=1.4, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy per token")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
