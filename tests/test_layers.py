"""The shared layers' fast CPU kernels give what torch's own layers give, and the malloc
setting that `train` makes on CPU really keeps large tensors off fresh mmap pages."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch
from torch import nn

from hangulgan.models.dcgan import DCGAN
from hangulgan.models.dcgan_config import DCGANConfig
from hangulgan.models.layers import FastDropout, FoldConvTranspose2d, OneChannelConv2d
from hangulgan.train.contract import DataInfo


def _compare(reference: nn.Module, fast: nn.Module, x: torch.Tensor) -> None:
    """Outputs and all gradients of ``fast`` match ``reference`` (same weights)."""
    fast.load_state_dict(reference.state_dict())
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_ref, y_fast = reference(x_ref), fast(x_fast)
    assert y_fast.shape == y_ref.shape
    torch.testing.assert_close(y_fast, y_ref, atol=1e-4, rtol=1e-4)
    grad = torch.randn_like(y_ref)
    y_ref.backward(grad)
    y_fast.backward(grad)
    assert x_fast.grad.shape == x.shape
    torch.testing.assert_close(x_fast.grad, x_ref.grad, atol=1e-4, rtol=1e-4)
    for name, param in reference.named_parameters():
        got = dict(fast.named_parameters())[name].grad
        torch.testing.assert_close(got, param.grad, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "stride", "padding", "output_padding", "bias", "layout"),
    [
        (c_in, c_out, k, s, p, op, bias, layout)
        for c_in, c_out, k, s, p, op, bias, layout in itertools.product(
            (64, 3), (1, 2), (5, 3), (1, 2), (0, 2), (0, 1), (True, False), ("nchw", "nhwc")
        )
        if op < s
    ],
)
def test_fold_transposed_convolution_matches_torch(
    c_in, c_out, kernel, stride, padding, output_padding, bias, layout
):
    torch.manual_seed(0)
    args = (c_in, c_out, kernel, stride, padding)
    reference = nn.ConvTranspose2d(*args, output_padding=output_padding, bias=bias)
    fast = FoldConvTranspose2d(*args, output_padding=output_padding, bias=bias)
    x = torch.randn(3, c_in, 7, 6)  # not square: rows and columns must not be swapped
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    _compare(reference, fast, x)


@pytest.mark.parametrize(
    ("c_out", "kernel", "stride", "padding", "height", "layout"),
    list(itertools.product((64, 4), (5, 3), (1, 2), (0, 2), (32, 31), ("nchw", "nhwc"))),
)
def test_one_channel_convolution_matches_torch(c_out, kernel, stride, padding, height, layout):
    torch.manual_seed(0)
    reference = nn.Conv2d(1, c_out, kernel, stride, padding)
    fast = OneChannelConv2d(1, c_out, kernel, stride, padding)
    x = torch.randn(3, 1, height, height - 3)  # odd sizes: the gradient's output padding
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    _compare(reference, fast, x)


def test_fast_layers_take_torchs_path_where_theirs_does_not_apply():
    """bf16 autocast, float64 and several input channels go through torch's own kernels
    (same result as the plain layer, bit for bit)."""
    torch.manual_seed(0)
    pairs = [
        (nn.ConvTranspose2d(8, 1, 5, 2, 2, output_padding=1), FoldConvTranspose2d, (2, 8, 6, 6)),
        (nn.Conv2d(1, 8, 5, 2, 2), OneChannelConv2d, (2, 1, 12, 12)),
        (nn.Conv2d(3, 8, 5, 2, 2), OneChannelConv2d, (2, 3, 12, 12)),
    ]
    for reference, cls, shape in pairs:
        fast = cls(
            reference.in_channels,
            reference.out_channels,
            reference.kernel_size,
            reference.stride,
            reference.padding,
            **({"output_padding": reference.output_padding} if cls is FoldConvTranspose2d else {}),
        )
        fast.load_state_dict(reference.state_dict())
        x = torch.randn(shape)
        # the image gradient too: OneChannelConv2d differs from torch only in its backward
        with torch.autocast("cpu", dtype=torch.bfloat16):
            for got, want in zip(_run(fast, x), _run(reference, x), strict=True):
                assert torch.equal(got, want)
        for got, want in zip(
            _run(fast.double(), x.double()), _run(reference.double(), x.double()), strict=True
        ):
            assert torch.equal(got, want)

    # several input channels: torch's own kernel in float32 too
    _run(OneChannelConv2d(3, 8, 5, 2, 2), torch.randn(2, 3, 12, 12))


def _run(layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output and the gradient of its sum with respect to the input."""
    x = x.clone().requires_grad_()
    y = layer(x)
    if isinstance(layer, (FoldConvTranspose2d, OneChannelConv2d)):
        assert type(y.grad_fn).__name__ == "ConvolutionBackward0"  # torch's own kernel ran
    (grad,) = torch.autograd.grad(y.float().sum(), x)
    return y, grad


def test_dcgan_uses_the_fast_layers_with_torchs_state_dict_keys():
    model = DCGAN(DCGANConfig(), DataInfo(height=32, width=32))
    assert isinstance(model.G.conv[6], FoldConvTranspose2d)
    assert isinstance(model.D.conv1, OneChannelConv2d)
    # checkpoints of runs trained before the fast layers load unchanged: same names, shapes
    plain = nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1)
    assert {k: v.shape for k, v in model.G.conv[6].state_dict().items()} == {
        k: v.shape for k, v in plain.state_dict().items()
    }


def test_fast_dropout_on_channels_last_keeps_the_layout_and_the_rate():
    drop = FastDropout(0.3)
    x = torch.ones(64, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(1)
    y = drop(x)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert abs((y == 0).float().mean().item() - 0.3) < 0.01
    # the mask is i.i.d. across channels too: no channel is dropped all at once
    kept_per_channel = (y != 0).float().mean(dim=(0, 2, 3))
    assert torch.all((kept_per_channel - 0.7).abs() < 0.05)
    x.requires_grad_(True)
    torch.manual_seed(1)
    drop(x).sum().backward()
    assert torch.equal(x.grad, y)


MMAP_COUNT = """
import ctypes, sys, torch
from hangulgan.train.cpu import reuse_freed_memory

class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    assert reuse_freed_memory()
added = []
for _ in range(3):
    before = libc.mallinfo2().hblks  # chunks malloc got from mmap and holds now
    t = torch.empty(64 * 2**20, dtype=torch.uint8)
    added.append(libc.mallinfo2().hblks - before)
    del t
print(max(added))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_reuse_freed_memory_keeps_large_tensors_off_fresh_mmap_pages():
    def mmapped_chunks(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", MMAP_COUNT, mode], capture_output=True, text=True
        )
        if "mallinfo2" in done.stderr:
            pytest.skip("this libc has no mallinfo2 (glibc before 2.33)")
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    assert mmapped_chunks("stock") >= 1  # glibc's default: a 64 MiB tensor is its own mmap
    assert mmapped_chunks("tuned") == 0
