"""Small building blocks the models share: a fast dropout, a per-sample gradient scale, and
convolutions with one image channel that run faster on CPU than oneDNN's kernels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _MaskMul(torch.autograd.Function):
    """``x * mask`` whose backward multiplies by the same saved mask."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (mask,) = ctx.saved_tensors
        return grad * mask, None


class FastDropout(nn.Module):
    """Inverted dropout whose mask costs ~1/5 of ``torch.bernoulli_`` on CPU.

    The mask comes from 16 random bits per element (one ``int64.random_()`` fill gives four
    of them), compared with ``round(p × 65536)``: the drop rate is ``p`` to within 1/65536.
    It draws from torch's default generator, so ``torch.manual_seed`` makes it repeatable.
    On CUDA it is plain :func:`torch.nn.functional.dropout`.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate {p} must lie in [0, 1)")
        self.p = float(p)
        self._threshold = round(self.p * 65536) - 32768

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return nn.functional.dropout(x, self.p, training=True)
        n = x.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
        bits = bits.view(torch.int16)
        if x.dim() == 4 and not x.is_contiguous():
            # The bits are i.i.d.: read them in the tensor's own (channels-last) memory order,
            # so the mask needs no transposing copy
            b, c, h, w = x.shape
            bits = bits[:n].view(b, h, w, c).permute(0, 3, 1, 2)
        else:
            bits = bits[:n].view(x.shape)
        mask = (bits >= self._threshold).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return _MaskMul.apply(x, mask)


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; backward multiplies each sample's gradient by ``holder[0][i]``.

    The factor is read at backward time, so it may be filled in after the forward pass
    (from the very logits the forward produced).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, holder: list) -> torch.Tensor:  # type: ignore[override]
        ctx.holder = holder
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        factor = ctx.holder[0].to(grad.dtype)
        return grad * factor.view(-1, *([1] * (grad.dim() - 1))), None


def scale_grad(x: torch.Tensor, holder: list) -> torch.Tensor:
    """Pass ``x`` through unchanged; its gradient is scaled per sample by ``holder[0]``."""
    return _ScaleGrad.apply(x, holder)


def _transpose_by_fold(
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: int,
    padding: int,
    output_padding: tuple[int, int],
) -> torch.Tensor:
    """``conv_transpose2d(x, weight)`` (square stride and padding; no bias) as one matrix
    product and a fold: for few output channels this is ~3× oneDNN's kernel on CPU.

    Each input pixel's C_in vector times the C_in × (C_out·k·k) kernel matrix gives the patch
    it adds to the output; ``F.fold`` sums the overlapping patches; the padding is cropped.
    ``output_padding`` is (rows, columns), each below ``stride``.
    """
    b, c_in, h, w = x.shape
    k = weight.shape[2]
    patches = x.permute(0, 2, 3, 1).reshape(b * h * w, c_in) @ weight.reshape(c_in, -1)
    patches = patches.view(b, h * w, -1).transpose(1, 2)
    sizes = []
    for n, extra in ((h, output_padding[0]), (w, output_padding[1])):
        # fold's canvas holds every patch; output padding beyond the padding extends it
        canvas = (n - 1) * stride + k + max(0, extra - padding)
        sizes.append((canvas, (n - 1) * stride - 2 * padding + k + extra))
    canvas = F.fold(patches, (sizes[0][0], sizes[1][0]), k, stride=stride)
    return canvas[:, :, padding : padding + sizes[0][1], padding : padding + sizes[1][1]]


def _fast_path(x: torch.Tensor, module: nn.Module) -> bool:
    """The fold kernels serve float32 on CPU, square strides and paddings, no groups or
    dilation; anything else (bf16 autocast included) takes torch's own convolution."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.dim() == 4
        and not torch.is_autocast_enabled("cpu")
        and module.groups == 1
        and module.dilation == (1, 1)
        and module.padding_mode == "zeros"
        and not isinstance(module.padding, str)
        and module.stride[0] == module.stride[1]
        and module.padding[0] == module.padding[1]
    )


class _FoldConvTranspose(torch.autograd.Function):
    """Transposed convolution: forward by fold, backward by torch's convolution backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding):  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, padding, output_padding, bias is not None)
        out = _transpose_by_fold(x, weight, stride, padding, (output_padding,) * 2)
        return out if bias is None else out + bias.view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        stride, padding, output_padding, has_bias = ctx.geometry
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], has_bias]
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad, x, weight, [weight.shape[1]] if has_bias else None,
            [stride] * 2, [padding] * 2, [1, 1], True, [output_padding] * 2, 1, mask,
        )  # fmt: skip
        return grad_x, grad_w, grad_b if has_bias else None, None, None, None


class _OneChannelConv(torch.autograd.Function):
    """Convolution of a one-channel image: forward and weight gradient by torch, the image
    gradient (a transposed convolution to one channel) by fold."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, padding, bias is not None)
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        stride, padding, has_bias = ctx.geometry
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[1] or has_bias:
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if has_bias else None,
                [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1,
                [False, ctx.needs_input_grad[1], has_bias],
            )  # fmt: skip
        if ctx.needs_input_grad[0]:
            k = weight.shape[2]
            # the rows and columns the forward's floor division left out of its output
            output_padding = tuple(
                x.shape[d] - ((grad.shape[d] - 1) * stride - 2 * padding + k) for d in (2, 3)
            )
            grad_x = _transpose_by_fold(grad, weight, stride, padding, output_padding)
            grad_x = grad_x.contiguous(memory_format=_format_of(x))
        return grad_x, grad_w, grad_b if has_bias else None, None, None


def _format_of(x: torch.Tensor) -> torch.memory_format:
    if x.is_contiguous():
        return torch.contiguous_format
    return torch.channels_last


class FoldConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (same parameters and state) whose float32 CPU forward runs
    by matrix product and fold: the fast kernel for a last layer to one or a few channels."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        square = self.output_padding[0] == self.output_padding[1]
        if output_size is not None or not square or not _fast_path(x, self):
            return super().forward(x, output_size)
        return _FoldConvTranspose.apply(
            x, self.weight, self.bias, self.stride[0], self.padding[0], self.output_padding[0]
        )


class OneChannelConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and state) for one-channel images whose float32 CPU
    backward computes the image gradient by fold, ~3× oneDNN's kernel for it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels != 1 or not _fast_path(x, self):
            return super().forward(x)
        return _OneChannelConv.apply(x, self.weight, self.bias, self.stride[0], self.padding[0])


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
