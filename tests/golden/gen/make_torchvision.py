"""Writes the torchvision reference files the model-zoo tests read:

  tests/golden/torchvision/keys/<model>.txt         one line per state-dict entry: key, dtype, shape
  tests/golden/torchvision/logits.safetensors       eval-mode logits of every model for a fixed input

Run by a developer, never by CI, with Debian's python3, python3-torch (1.13) and python3-torchvision (0.14):
    /usr/bin/python3 tests/golden/gen/make_torchvision.py [model ...]

Every state-dict tensor is filled with a deterministic formula (fill() below) that the C# tests
(tests/SharpCnn.Vision.Tests/Models/TorchvisionGoldenTests.cs) reproduce bit for bit, so the weights are
the same on both sides without shipping hundreds of megabytes. The formula is an integer hash of
(tensor index in state-dict order, element index) mapped to [-0.5, 0.5), then scaled per kind of tensor
so activations stay of order one through 150 layers.

The CIFAR ResNets of He et al. are not in torchvision; resnet20 here is written from the paper (§4.2,
option A shortcuts) with the key names of the widely used akamaster/pytorch_resnet_cifar10 layout.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

import safetensors_f32

MASK = (1 << 32) - 1
INPUT_SALT = 1_000_003


def hash_uniform(count, salt):
    """u[i] in [-0.5, 0.5): a 32-bit integer hash of (i, salt), exactly as the C# twin computes it."""
    x = (np.arange(count, dtype=np.uint64) * np.uint64(0x9E3779B1) + np.uint64((salt * 0x85EBCA77 + 0x165667B1) & MASK)) & np.uint64(MASK)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x2C1B3C6D)) & np.uint64(MASK)
    x ^= x >> np.uint64(12)
    x = (x * np.uint64(0x297A2D39)) & np.uint64(MASK)
    x ^= x >> np.uint64(15)
    return x.astype(np.float64) / 4294967296.0 - 0.5


def fill(key, index, shape, gain):
    """The value of state-dict entry number `index` (named `key`) as float64, before the cast to float32.

    Weights of two or more dimensions get variance gain / fan_in: gain 2 (He) keeps plain ReLU stacks at
    order one; the ResNets use gain 1 because eval-mode batch norm with made-up statistics does not
    renormalise, so every residual block would otherwise double the variance.
    """
    count = int(np.prod(shape)) if len(shape) > 0 else 1
    u = hash_uniform(count, index)
    if key.endswith("num_batches_tracked"):
        return np.zeros(count)
    if key.endswith("running_var"):
        return 1.0 + 0.5 * u
    if key.endswith("running_mean"):
        return 0.2 * u
    if key.endswith("bias"):
        return 0.2 * u
    if len(shape) == 1:  # batch-norm weight
        return 1.0 + 0.4 * u
    fan_in = count // shape[0]
    return u * np.sqrt(12.0 * gain / fan_in)  # u has variance 1/12


def make_input(shape):
    count = int(np.prod(shape))
    return torch.from_numpy((2.0 * hash_uniform(count, INPUT_SALT)).astype(np.float32).reshape(shape))


class CifarBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + shortcut)


class CifarResNet(nn.Module):
    def __init__(self, depth, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        widths, cin = [16, 32, 64], 16
        for stage, width in enumerate(widths):
            blocks = []
            for b in range(n):
                blocks.append(CifarBlock(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


M = torchvision.models
MODELS = {
    "alexnet": (lambda: M.alexnet(), 224, 2),
    "vgg11": (lambda: M.vgg11(), 224, 2),
    "vgg11_bn": (lambda: M.vgg11_bn(), 224, 2),
    "vgg13": (lambda: M.vgg13(), 224, 2),
    "vgg13_bn": (lambda: M.vgg13_bn(), 224, 2),
    "vgg16": (lambda: M.vgg16(), 224, 2),
    "vgg16_bn": (lambda: M.vgg16_bn(), 224, 2),
    "vgg19": (lambda: M.vgg19(), 224, 2),
    "vgg19_bn": (lambda: M.vgg19_bn(), 224, 2),
    "googlenet": (lambda: M.googlenet(aux_logits=True, init_weights=False), 224, 2),
    "resnet18": (lambda: M.resnet18(), 224, 1),
    "resnet34": (lambda: M.resnet34(), 224, 1),
    "resnet50": (lambda: M.resnet50(), 224, 1),
    "resnet101": (lambda: M.resnet101(), 224, 1),
    "resnet152": (lambda: M.resnet152(), 224, 1),
    "resnet20": (lambda: CifarResNet(20), 32, 1),
}
BATCH = 2

root = Path(__file__).resolve().parent.parent / "torchvision"
(root / "keys").mkdir(parents=True, exist_ok=True)
out_file = root / "logits.safetensors"
tensors = {}
if out_file.exists():  # keep the models not asked for this time
    tensors = dict(safetensors_f32.read(out_file))

torch.set_grad_enabled(False)
for name in (sys.argv[1:] or MODELS):
    build, size, gain = MODELS[name]
    model = build().eval()
    state = model.state_dict()
    lines = []
    for index, (key, t) in enumerate(state.items()):
        lines.append(f"{key}\t{str(t.dtype).replace('torch.', '')}\t{','.join(map(str, t.shape))}")
        values = fill(key, index, tuple(t.shape), gain)
        t.copy_(torch.from_numpy(values.reshape(tuple(t.shape))).to(t.dtype))
    (root / "keys" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    logits = model(make_input((BATCH, 3, size, size)))
    tensors[f"{name}.logits"] = logits.numpy().astype("<f4")
    tensors[f"{name}.gain"] = np.array([gain], dtype="<f4")
    tensors[f"{name}.input_size"] = np.array([size], dtype="<f4")
    print(f"{name}: {len(state)} entries, logits {tuple(logits.shape)}, |max| {logits.abs().max().item():.4g}, "
          f"std {logits.std().item():.4g}", flush=True)

# Probes so a test can tell a broken fill formula from a broken model: the first values of fill() for a few cases.
tensors["probe.input"] = make_input((64,)).numpy()
tensors["probe.conv_weight"] = fill("w", 3, (4, 2, 3, 3), 2).astype("<f4")
tensors["probe.bn_weight"] = fill("bn.weight", 5, (16,), 2).astype("<f4")
tensors["probe.running_var"] = fill("bn.running_var", 7, (16,), 2).astype("<f4")

safetensors_f32.write(out_file, tensors, {"generator": "tests/golden/gen/make_torchvision.py", "torch": torch.__version__,
                                         "torchvision": torchvision.__version__})
print(f"wrote {out_file} ({out_file.stat().st_size} bytes)")
