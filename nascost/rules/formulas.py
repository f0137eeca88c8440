"""Pure integer shape and cost formulas, written once and shared by the kernels, the slow
reference and the torch checks (they are numba-compiled; ``.py_func`` is the plain version)."""

from __future__ import annotations

from nascost.kernels.jit import jit

FIELD_MAX = 2**31 - 1  # nascost.space.spec.MAX_VALUE: the largest value of any field
SCALE_PRODUCT_MAX = 2**59  # channels * numerator in scale_channels stays below this


@jit
def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """PyTorch's Conv2d output size: floor((H + 2P - D*(K-1) - 1) / S) + 1 (may be < 1)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    return span // stride + 1


@jit
def pool_out_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: int) -> int:
    """PyTorch's pooling output size, including ceil_mode's rule that a last window starting
    inside the right padding is dropped (aten pooling_output_shape)."""
    span = size + 2 * padding - (kernel - 1) - 1
    if ceil_mode:
        # ceil(span / stride) + 1, also for -stride < span < 0 (a window overhanging a tiny
        # input still gives one output in aten)
        out = (span + stride - 1) // stride + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = span // stride + 1
    return max(out, 0)


@jit
def scale_channels(
    channels: int, num: int, den: int, rounding: int, divisor: int, minimum: int
) -> int:
    """channels * num / den, rounded (0 none, 1 floor, 2 round half to even, 3 ceil), then made
    divisible by ``divisor`` as torchvision's _make_divisible does, then clipped below at
    ``minimum``. Exact rational arithmetic: the result never depends on float rounding.

    -1 (a bad field, status 2) where the result would pass 2**31 - 1, the bound of every
    field, or channels * num would pass 2**59: no step below can wrap int64 (channels <=
    2**62, num, den, divisor <= 2**31 - 1, as space validation ensures)."""
    if channels > SCALE_PRODUCT_MAX // num:
        return -1
    p = channels * num
    q = den
    if rounding == 1:
        p = p // q
        q = 1
    elif rounding == 2:
        f = p // q
        rem2 = 2 * (p - f * q)
        if rem2 > q or (rem2 == q and f % 2 == 1):
            f += 1
        p = f
        q = 1
    elif rounding == 3:
        p = -(-p // q)
        q = 1
    if divisor > 0:
        # max(divisor, int(v + divisor / 2) // divisor * divisor); += divisor if < 0.9 v
        v = (2 * p + divisor * q) // (2 * q) // divisor * divisor
        if v < divisor:
            v = divisor
        if v > FIELD_MAX:
            return -1
        if v * q <= (9 * p - 1) // 10:  # 10 v q < 9 p, without the products passing 2**63
            v += divisor
    else:
        v = p // q
    if v < minimum:
        v = minimum
    if v > FIELD_MAX:
        return -1
    return v
