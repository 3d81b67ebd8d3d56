"""Writes tests/golden/torch_ops.safetensors: inputs, outputs and gradients computed by PyTorch.

Run with Debian's python3 and python3-torch (1.13): /usr/bin/python3 tests/golden/gen/make_golden.py
CI never runs this script; the tests read the file it wrote. Gradients are of L = sum(y * r) for a random r.
The file is written by hand (struct + json) because torch 1.13 has no safetensors package.
"""
from pathlib import Path

import torch
import torch.nn.functional as F

import safetensors_f32

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
tensors = {}


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).contiguous()


def case(name, fn, *inputs):
    """Runs fn on inputs that require grad; stores inputs, output, r and input gradients."""
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    for i, x in enumerate(xs):
        put(f"{name}.x{i}", x)
        put(f"{name}.grad{i}", x.grad)
    put(f"{name}.y", y)
    put(f"{name}.r", r)


case("conv2d_s2_p1_d1_g2", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
     torch.randn(2, 4, 7, 6), torch.randn(6, 2, 3, 3), torch.randn(6))
case("conv2d_dil2_p2", lambda x, w: F.conv2d(x, w, None, padding=2, dilation=2),
     torch.randn(1, 3, 8, 9), torch.randn(2, 3, 3, 3))
case("conv2d_same_even", lambda x, w: F.conv2d(x, w, None, padding="same"),
     torch.randn(1, 2, 5, 6), torch.randn(3, 2, 4, 2))
case("conv1d_same_dil2", lambda x, w, b: F.conv1d(x, w, b, padding="same", dilation=2),
     torch.randn(2, 3, 11), torch.randn(4, 3, 3), torch.randn(4))
case("maxpool2d_k3_s2_p1_ceil", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), torch.randn(2, 3, 8, 7))
case("maxpool2d_k2_dil2", lambda x: F.max_pool2d(x, 2, 1, 0, dilation=2), torch.randn(1, 2, 6, 6))
case("maxpool1d_k3_s2_p1", lambda x: F.max_pool1d(x, 3, 2, 1), torch.randn(2, 2, 9))
case("avgpool2d_k3_s2_p1_ceil_excl", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     torch.randn(1, 2, 6, 6))
case("avgpool2d_k3_s2_p1_incl", lambda x: F.avg_pool2d(x, 3, 2, 1), torch.randn(1, 2, 7, 7))
case("adaptive_avgpool_5x7_to_3x2", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), torch.randn(2, 2, 5, 7))
case("lrn_size3", lambda x: F.local_response_norm(x, 3, alpha=0.1, beta=0.75, k=1.0), torch.randn(2, 5, 3, 3))
case("lrn_size4", lambda x: F.local_response_norm(x, 4, alpha=0.2, beta=0.5, k=2.0), torch.randn(1, 6, 2, 2))
case("gelu", lambda x: F.gelu(x), torch.randn(37) * 2)
case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), torch.randn(37) * 2)
case("softmax_dim1", lambda x: F.softmax(x, 1), torch.randn(3, 5, 2))
case("log_softmax_dim0", lambda x: F.log_softmax(x, 0), torch.randn(4, 3))
case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), torch.randn(20))
case("sigmoid_tanh", lambda x: torch.sigmoid(x) * torch.tanh(x), torch.randn(20))

# Cross-entropy with label smoothing and an ignored target; targets are stored as floats.
logits = torch.randn(6, 5)
target = torch.tensor([1, 4, -100, 0, 2, 2])
put("cross_entropy.target", target.to(torch.float32))
case("cross_entropy", lambda x: F.cross_entropy(x, target, label_smoothing=0.1), logits)
case("cross_entropy_sum", lambda x: F.cross_entropy(x, target.clamp(min=0), reduction="sum"), logits)

# Batch norm in training: output, gradients and running statistics after one step (momentum 0.1).
bn = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(torch.randn(3))
    bn.bias.copy_(torch.randn(3))
x = torch.randn(4, 3, 3, 2)
put("batchnorm2d.weight", bn.weight)
put("batchnorm2d.bias", bn.bias)
xg = x.clone().requires_grad_(True)
y = bn(xg)
r = torch.randn_like(y)
(y * r).sum().backward()
put("batchnorm2d.x0", x)
put("batchnorm2d.y", y)
put("batchnorm2d.r", r)
put("batchnorm2d.grad0", xg.grad)
put("batchnorm2d.grad_weight", bn.weight.grad)
put("batchnorm2d.grad_bias", bn.bias.grad)
put("batchnorm2d.running_mean", bn.running_mean)
put("batchnorm2d.running_var", bn.running_var)
bn.eval()
put("batchnorm2d.eval_y", bn(x))

# Optimizers: three steps on a fixed parameter with fixed gradients.
p0 = torch.randn(5)
grads = torch.randn(3, 5)
put("optim.p0", p0)
put("optim.grads", grads)
configs = {
    "sgd_nesterov_wd": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd_dampening": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.8, dampening=0.3),
    "adam": lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
    "adam_amsgrad": lambda p: torch.optim.Adam([p], lr=0.01, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1),
}
for name, make in configs.items():
    p = p0.clone().requires_grad_(True)
    opt = make(p)
    for k in range(3):
        p.grad = grads[k].clone()
        opt.step()
    put(f"optim.{name}", p)

# OneCycleLR as the CLI uses it (SGD momentum 0.9, max lr 0.05): learning rate and momentum per step.
p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20)
lrs, moms = [], []
for _ in range(20):
    lrs.append(opt.param_groups[0]["lr"])
    moms.append(opt.param_groups[0]["momentum"])
    opt.step()
    sched.step()
put("onecycle.lr", torch.tensor(lrs, dtype=torch.float64))
put("onecycle.momentum", torch.tensor(moms, dtype=torch.float64))

# Class-weighted losses (appended last so every tensor above keeps its seeded values).
class_weight = torch.rand(5) + 0.25
put("weighted.weight", class_weight)
put("weighted.target", target.to(torch.float32))
case("cross_entropy_weighted", lambda x: F.cross_entropy(x, target, weight=class_weight, label_smoothing=0.1), torch.randn(6, 5))
case("cross_entropy_weighted_none", lambda x: F.cross_entropy(x, target, weight=class_weight, reduction="none"), torch.randn(6, 5))
case("nll_weighted", lambda x: F.nll_loss(F.log_softmax(x, 1), target, weight=class_weight), torch.randn(6, 5))

out = Path(__file__).resolve().parent.parent / "torch_ops.safetensors"
safetensors_f32.write(out, {name: t.numpy() for name, t in tensors.items()},
                      {"generator": "tests/golden/gen/make_golden.py", "torch": torch.__version__})
print(f"wrote {out} ({out.stat().st_size} bytes, {len(tensors)} tensors)")
