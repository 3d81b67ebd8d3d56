"""Writes tests/golden/transforms.safetensors: torchvision's functional image transforms on small fixed tensors.

Run with Debian's python3-torch 1.13 / python3-torchvision 0.14:
    /usr/bin/python3 tests/golden/gen/make_transforms.py
CI never runs this script; SharpCnn.Vision.Tests (Transforms/TransformGoldenTests.cs) reads the file and repeats
each call below by its name. Every case stores its input as NAME.x and torchvision's output as NAME.y.
"""
import math
from pathlib import Path

import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

import safetensors_f32

torch.manual_seed(0)
tensors = {}

BILINEAR = InterpolationMode.BILINEAR
NEAREST = InterpolationMode.NEAREST


def case(name, x, fn):
    tensors[name + ".x"] = x.contiguous()
    tensors[name + ".y"] = fn(x).contiguous()


# Odd sides so that centres fall on pixels in one axis and between them in the other after crops.
img = torch.rand(3, 7, 9)
big = torch.rand(2, 23, 31)
grey = torch.rand(1, 6, 5)
# Hand-made pixels that hit every branch of rgb->hsv: grey (max == min), max shared by r and g, by g and b, by r
# and b, each channel the unique max, black, white, and values that clamp.
ties = torch.tensor([
    [[0.5, 0.8, 0.2, 0.7], [0.3, 0.0, 1.0, 0.9]],
    [[0.5, 0.8, 0.9, 0.1], [0.3, 0.0, 1.0, 0.9]],
    [[0.5, 0.1, 0.9, 0.7], [0.6, 0.0, 1.0, 0.2]],
])

case("hflip", img, TF.hflip)
case("vflip", img, TF.vflip)
case("crop_inside", img, lambda x: TF.crop(x, 1, 2, 4, 5))
case("crop_outside", img, lambda x: TF.crop(x, -2, 3, 6, 8))
case("center_crop_5x4", img, lambda x: TF.center_crop(x, [5, 4]))
case("center_crop_6x6", img, lambda x: TF.center_crop(x, [6, 6]))
case("center_crop_10x12", img, lambda x: TF.center_crop(x, [10, 12]))
case("center_crop_4x12", img, lambda x: TF.center_crop(x, [4, 12]))
case("pad_constant", img, lambda x: TF.pad(x, [1, 2, 3, 0], fill=0.5, padding_mode="constant"))
case("pad_edge", img, lambda x: TF.pad(x, [2, 1], padding_mode="edge"))
case("pad_reflect", img, lambda x: TF.pad(x, [2, 3, 1, 6], padding_mode="reflect"))
case("pad_symmetric", img, lambda x: TF.pad(x, [3], padding_mode="symmetric"))

for aa in (False, True):
    tag = "aa" if aa else "noaa"
    case(f"resize_{tag}_5x4", img, lambda x: TF.resize(x, [5, 4], BILINEAR, antialias=aa))
    case(f"resize_{tag}_11x14", img, lambda x: TF.resize(x, [11, 14], BILINEAR, antialias=aa))
    case(f"resize_{tag}_4x13", img, lambda x: TF.resize(x, [4, 13], BILINEAR, antialias=aa))
    case(f"resize_{tag}_short5", img, lambda x: TF.resize(x, 5, BILINEAR, antialias=aa))
    case(f"resize_{tag}_big_8x10", big, lambda x: TF.resize(x, [8, 10], BILINEAR, antialias=aa))
    case(f"resize_{tag}_big_23x9", big, lambda x: TF.resize(x, [23, 9], BILINEAR, antialias=aa))
    case(f"resize_{tag}_big_short7", big, lambda x: TF.resize(x, 7, BILINEAR, antialias=aa))
case("resize_nearest_5x4", img, lambda x: TF.resize(x, [5, 4], NEAREST))
case("resize_nearest_11x14", img, lambda x: TF.resize(x, [11, 14], NEAREST))
case("resize_nearest_14x18", img, lambda x: TF.resize(x, [14, 18], NEAREST))
case("resized_crop", big, lambda x: TF.resized_crop(x, 2, 3, 15, 20, [9, 9], BILINEAR, antialias=True))

# (name, angle, translate, scale, shear, interpolation, fill)
AFFINE = [
    ("affine_bilinear_nofill", 30.0, [1, -2], 1.1, [0.0, 0.0], BILINEAR, None),
    ("affine_bilinear_fill0", 30.0, [1, -2], 1.1, [0.0, 0.0], BILINEAR, [0.0]),
    ("affine_bilinear_shear_fill3", -17.5, [0.5, 1.25], 0.8, [10.0, -5.0], BILINEAR, [0.2, 0.4, 0.6]),
    ("affine_bilinear_small", 7.0, [0, 1], 1.0, [0.0, 0.0], BILINEAR, [0.0]),
    ("affine_nearest_fill0", 45.0, [0, 0], 1.0, [0.0, 0.0], NEAREST, [0.0]),
    ("affine_nearest_nofill", 12.0, [2, 1], 0.9, [5.0, 0.0], NEAREST, None),
    ("affine_nearest_fill_shear", -33.0, [-1, 0], 1.3, [0.0, 8.0], NEAREST, [0.7]),
]


def inverse_matrix(angle, translate, scale, shear):
    # torchvision's _get_inverse_affine_matrix with the centre at 0, in double precision.
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in [d, -b, 0.0, -c, a, 0.0]]
    m[2] += m[0] * -translate[0] + m[1] * -translate[1]
    m[5] += m[3] * -translate[0] + m[4] * -translate[1]
    return m


def check_no_ties(h, w, m):
    # Nearest sampling rounds the source coordinate; float32 (torch) and float64 (SharpCnn) must round alike, so
    # no coordinate may lie within 1e-3 of a half-integer.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    for y in range(h):
        for x in range(w):
            ix = m[0] * (x - cx) + m[1] * (y - cy) + m[2] + cx
            iy = m[3] * (x - cx) + m[4] * (y - cy) + m[5] + cy
            for v in (ix, iy):
                assert abs((v - math.floor(v)) - 0.5) > 1e-3, (x, y, v)


for name, angle, translate, scale, shear, mode, fill in AFFINE:
    if mode == NEAREST:
        check_no_ties(img.shape[1], img.shape[2], inverse_matrix(angle, translate, scale, shear))
    case(name, img, lambda x: TF.affine(x, angle=angle, translate=translate, scale=scale, shear=shear,
                                        interpolation=mode, fill=fill))

case("grayscale", img, TF.rgb_to_grayscale)
case("grayscale3", img, lambda x: TF.rgb_to_grayscale(x, num_output_channels=3))
case("brightness_1.3", img, lambda x: TF.adjust_brightness(x, 1.3))
case("brightness_0.6", img, lambda x: TF.adjust_brightness(x, 0.6))
case("contrast_0.5", img, lambda x: TF.adjust_contrast(x, 0.5))
case("contrast_1.7", img, lambda x: TF.adjust_contrast(x, 1.7))
case("contrast_grey_1.4", grey, lambda x: TF.adjust_contrast(x, 1.4))
case("saturation_0.3", img, lambda x: TF.adjust_saturation(x, 0.3))
case("saturation_1.8", img, lambda x: TF.adjust_saturation(x, 1.8))
case("hue_0.1", img, lambda x: TF.adjust_hue(x, 0.1))
case("hue_-0.35", img, lambda x: TF.adjust_hue(x, -0.35))
case("hue_0.5", img, lambda x: TF.adjust_hue(x, 0.5))
case("hue_ties_0.2", ties, lambda x: TF.adjust_hue(x, 0.2))
case("hue_ties_-0.45", ties, lambda x: TF.adjust_hue(x, -0.45))
case("normalize", img, lambda x: TF.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))

out = Path(__file__).resolve().parent.parent / "transforms.safetensors"
safetensors_f32.write(out, {k: v.numpy() for k, v in tensors.items()},
                      {"generator": "tests/golden/gen/make_transforms.py",
                       "torch": torch.__version__, "torchvision": __import__("torchvision").__version__})
print(f"wrote {out} ({len(tensors) // 2} cases)")
