# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MATLAB conventions the reference metric code relies on, written once in numpy/OpenCV.

VIFB (Zhang et al., CVPR-W 2020) and the Liu et al. fusion-metric toolbox it borrows from are
MATLAB. Their numbers depend on MATLAB details: `round` goes half away from zero, `conv2`/`filter2`
pad with zeros, `imfilter(..., 'replicate')` repeats the edge, `gradient` uses one-sided
differences at the border, `freqspace` centres frequency grids, `blkproc` zero-pads partial blocks.
Each helper here reproduces one of them so the metric modules can read like the formulas they
implement.
"""

from __future__ import annotations

import cv2
import numpy as np

# MATLAB's rgb2gray weights (ITU-R BT.601, as MATLAB rounds them).
RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def as_float(image: np.ndarray) -> np.ndarray:
    """`double(image)`: float64 copy-free where possible, same values (no rescaling to [0, 1])."""
    return np.asarray(image, dtype=np.float64)


def mround(x: np.ndarray) -> np.ndarray:
    """MATLAB `round`: halves go away from zero (numpy's `round` goes to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def correlate_zero(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`filter2(kernel, image, 'same')`: correlation with zero padding, output the input's size."""
    return cv2.filter2D(
        as_float(image), cv2.CV_64F, np.asarray(kernel, np.float64), borderType=cv2.BORDER_CONSTANT
    )


def correlate_replicate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`imfilter(image, kernel, 'replicate')`: correlation with the border pixel repeated."""
    return cv2.filter2D(
        as_float(image),
        cv2.CV_64F,
        np.asarray(kernel, np.float64),
        borderType=cv2.BORDER_REPLICATE,
    )


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of `fspecial('gaussian', size, sigma)`.

    Whose 2-D kernel is its outer product.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def separable_zero(
    image: np.ndarray, k_rows: np.ndarray, k_cols: np.ndarray | None = None
) -> np.ndarray:
    """`filter2(outer(k_rows, k_cols), image, 'same')` with zero padding, as two 1-D passes."""
    k_cols = k_rows if k_cols is None else k_cols
    return cv2.sepFilter2D(
        as_float(image),
        cv2.CV_64F,
        np.asarray(k_cols, np.float64),
        np.asarray(k_rows, np.float64),
        borderType=cv2.BORDER_CONSTANT,
    )


def separable_valid(
    image: np.ndarray, k_rows: np.ndarray, k_cols: np.ndarray | None = None
) -> np.ndarray:
    """`filter2(outer(k_rows, k_cols), image, 'valid')` as two 1-D passes."""
    k_cols = k_rows if k_cols is None else k_cols
    full = cv2.sepFilter2D(
        as_float(image),
        cv2.CV_64F,
        np.asarray(k_cols, np.float64),
        np.asarray(k_rows, np.float64),
        anchor=(0, 0),
        borderType=cv2.BORDER_CONSTANT,
    )
    return full[: image.shape[0] - len(k_rows) + 1, : image.shape[1] - len(k_cols) + 1]


def gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return MATLAB's `gradient` as [dx, dy]: central differences inside, one-sided at borders."""
    f = as_float(image)
    dx = np.empty_like(f)
    dy = np.empty_like(f)
    if f.shape[1] > 1:
        dx[:, 1:-1] = (f[:, 2:] - f[:, :-2]) / 2.0
        dx[:, 0] = f[:, 1] - f[:, 0]
        dx[:, -1] = f[:, -1] - f[:, -2]
    else:
        dx[:] = 0.0
    if f.shape[0] > 1:
        dy[1:-1, :] = (f[2:, :] - f[:-2, :]) / 2.0
        dy[0, :] = f[1, :] - f[0, :]
        dy[-1, :] = f[-1, :] - f[-2, :]
    else:
        dy[:] = 0.0
    return dx, dy


def freqspace_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """`[u, v] = freqspace([rows, cols], 'meshgrid')`: u varies along columns, v along rows.

    Frequencies are ((0:n-1) - floor(n/2)) * 2/n, i.e. zero at the centre as `fftshift` puts it.
    """
    rows, cols = shape
    fu = (np.arange(cols) - cols // 2) * (2.0 / cols)
    fv = (np.arange(rows) - rows // 2) * (2.0 / rows)
    return np.meshgrid(fu, fv)


def apply_centred_filter(image: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """`real(ifft2(ifftshift(fftshift(fft2(image)) .* centred)))` for a real, even filter.

    The filters used (CSF, DoG) are even in frequency, so the imaginary part MATLAB keeps is
    rounding noise (~1e-16 relative); dropping it changes nothing measurable.
    """
    image = as_float(image)
    half = np.fft.ifftshift(centred)[:, : image.shape[1] // 2 + 1]
    return np.fft.irfft2(np.fft.rfft2(image) * half, s=image.shape)


def block_reduce(image: np.ndarray, block: int, reducer: str) -> np.ndarray:
    """`blkproc(image, [block block], fun)` with fun = sum or mean2; partial blocks zero-padded.

    blkproc pads the bottom/right with zeros, so a partial block's mean still divides by block^2.
    """
    rows, cols = image.shape
    pr, pc = -rows % block, -cols % block
    padded = np.pad(as_float(image), ((0, pr), (0, pc)))
    tiles = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block)
    sums = tiles.sum(axis=(1, 3))
    if reducer == 'sum':
        return sums
    if reducer == 'mean':
        return sums / float(block * block)
    raise ValueError(f'unknown reducer {reducer!r}')


def minmax_normalise_255(image: np.ndarray) -> np.ndarray:
    """Liu's `normalize1`: stretch to 0..255 and round (MATLAB round); all-zero input unchanged.

    Used by Qcb and Qcv. A constant non-zero image divides 0 by 0 in MATLAB (NaN); we return
    zeros instead so the metric stays defined.
    """
    data = as_float(image)
    hi, lo = float(data.max()), float(data.min())
    if hi == 0.0 and lo == 0.0:
        return data.copy()
    if hi == lo:
        return np.zeros_like(data)
    return mround((data - lo) / (hi - lo) * 255.0)
