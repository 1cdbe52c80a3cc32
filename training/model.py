"""A small fully convolutional grounding model: for each finding label a heat map of "inside
the box"; the predicted box frames the strongest blob of the asked label's map. Dense
supervision makes it learn from a few hundred examples on a CPU."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class HeatmapGrounder(nn.Module):
    """A two-level U-Net: image (1, H, W) -> one logit map per label (L, H, W)."""

    def __init__(self, n_labels: int, width: int = 16):
        super().__init__()
        self.enc1 = _block(1, width)
        self.enc2 = _block(width, width * 2)
        self.mid = _block(width * 2, width * 4)
        self.up2 = nn.ConvTranspose2d(width * 4, width * 2, 2, stride=2)
        self.dec2 = _block(width * 4, width * 2)
        self.up1 = nn.ConvTranspose2d(width * 2, width, 2, stride=2)
        self.dec1 = _block(width * 2, width)
        self.head = nn.Conv2d(width, n_labels, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def box_mask(boxes, size: int) -> np.ndarray:
    """A (size, size) float mask of the pixels that any of the canonical boxes covers."""
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    mask = np.zeros((size, size), dtype=bool)
    for x1, y1, x2, y2 in boxes:
        mask |= ((grid >= y1) & (grid <= y2))[:, None] & ((grid >= x1) & (grid <= x2))[None, :]
    return mask.astype(np.float32)


def box_from_heatmap(prob: np.ndarray, threshold: float = 0.5) -> tuple[float, float, float, float]:
    """The box around the connected blob holding the map's maximum (canonical 0-1 coords);
    a blob is the pixels above ``threshold`` times the maximum."""
    from scipy import ndimage

    size = prob.shape[0]
    peak = np.unravel_index(int(np.argmax(prob)), prob.shape)
    labels, _ = ndimage.label(prob >= threshold * prob[peak])
    ys, xs = np.nonzero(labels == labels[peak])
    return (xs.min() / size, ys.min() / size, (xs.max() + 1) / size, (ys.max() + 1) / size)
