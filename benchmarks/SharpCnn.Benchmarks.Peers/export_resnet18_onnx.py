"""Writes torchvision's ResNet-18 (random weights, eval mode) as ONNX for the ONNX Runtime rows of `./sharpcnn bench`.

Usage: /usr/bin/python3 export_resnet18_onnx.py OUT.onnx [OPSET]
Needs Debian's python3-torch and python3-torchvision (1.13 / 0.14); no `onnx` module is needed. The batch
dimension is dynamic, so one file serves batch 1 and 16. Eval-mode export folds BatchNorm into the convolutions,
as ONNX Runtime would do itself.
"""
import sys

import torch
import torchvision

out = sys.argv[1]
opset = int(sys.argv[2]) if len(sys.argv) > 2 else 17
torch.manual_seed(1)
model = torchvision.models.resnet18().eval()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    torch.onnx.export(model, x, out, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
print(f"wrote {out} (opset {opset}, torch {torch.__version__}, torchvision {torchvision.__version__})")
