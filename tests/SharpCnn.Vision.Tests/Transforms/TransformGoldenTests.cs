using SharpCnn.Serialization;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Tests.Transforms;

/// <summary>
/// The functional transforms against torchvision 0.14 (<c>tests/golden/gen/make_transforms.py</c>): each case below
/// repeats the script's call of the same name on its stored input and compares with torchvision's output to
/// |a − b| ≤ 1e-5 + 1e-4·|b|, the project's float32 tolerance (the sides compute in float32 with different
/// operation orders, e.g. double vs float source coordinates in affine and resize, a pairwise vs double sum in
/// the contrast mean; the differences seen are ≲ 1e-6).
/// </summary>
public sealed class TransformGoldenTests
{
    private static readonly Lazy<SafetensorsFile> s_golden = new(() =>
        Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "golden", "transforms.safetensors")));

    private const Interpolation Bilinear = Interpolation.Bilinear;
    private const Interpolation Nearest = Interpolation.Nearest;

    private static readonly Dictionary<string, Func<Tensor, Tensor>> s_cases = new()
    {
        ["hflip"] = TF.HorizontalFlip,
        ["vflip"] = TF.VerticalFlip,
        ["crop_inside"] = x => TF.Crop(x, 1, 2, 4, 5),
        ["crop_outside"] = x => TF.Crop(x, -2, 3, 6, 8),
        ["center_crop_5x4"] = x => TF.CenterCrop(x, 5, 4),
        ["center_crop_6x6"] = x => TF.CenterCrop(x, 6, 6),
        ["center_crop_10x12"] = x => TF.CenterCrop(x, 10, 12),
        ["center_crop_4x12"] = x => TF.CenterCrop(x, 4, 12),
        ["pad_constant"] = x => TF.Pad(x, [1, 2, 3, 0], PaddingMode.Constant, [0.5f]),
        ["pad_edge"] = x => TF.Pad(x, [2, 1], PaddingMode.Edge),
        ["pad_reflect"] = x => TF.Pad(x, [2, 3, 1, 6], PaddingMode.Reflect),
        ["pad_symmetric"] = x => TF.Pad(x, [3], PaddingMode.Symmetric),
        ["resize_noaa_5x4"] = x => TF.Resize(x, 5, 4, Bilinear, antialias: false),
        ["resize_noaa_11x14"] = x => TF.Resize(x, 11, 14, Bilinear, antialias: false),
        ["resize_noaa_4x13"] = x => TF.Resize(x, 4, 13, Bilinear, antialias: false),
        ["resize_noaa_short5"] = x => TF.Resize(x, 5, null, Bilinear, antialias: false),
        ["resize_noaa_big_8x10"] = x => TF.Resize(x, 8, 10, Bilinear, antialias: false),
        ["resize_noaa_big_23x9"] = x => TF.Resize(x, 23, 9, Bilinear, antialias: false),
        ["resize_noaa_big_short7"] = x => TF.Resize(x, 7, null, Bilinear, antialias: false),
        ["resize_aa_5x4"] = x => TF.Resize(x, 5, 4, Bilinear, antialias: true),
        ["resize_aa_11x14"] = x => TF.Resize(x, 11, 14, Bilinear, antialias: true),
        ["resize_aa_4x13"] = x => TF.Resize(x, 4, 13, Bilinear, antialias: true),
        ["resize_aa_short5"] = x => TF.Resize(x, 5, null, Bilinear, antialias: true),
        ["resize_aa_big_8x10"] = x => TF.Resize(x, 8, 10, Bilinear, antialias: true),
        ["resize_aa_big_23x9"] = x => TF.Resize(x, 23, 9, Bilinear, antialias: true),
        ["resize_aa_big_short7"] = x => TF.Resize(x, 7, null, Bilinear, antialias: true),
        ["resize_nearest_5x4"] = x => TF.Resize(x, 5, 4, Nearest),
        ["resize_nearest_11x14"] = x => TF.Resize(x, 11, 14, Nearest),
        ["resize_nearest_14x18"] = x => TF.Resize(x, 14, 18, Nearest),
        ["resized_crop"] = x => TF.ResizedCrop(x, 2, 3, 15, 20, 9, 9, Bilinear, antialias: true),
        ["affine_bilinear_nofill"] = x => TF.Affine(x, 30, (1, -2), 1.1, (0, 0), Bilinear),
        ["affine_bilinear_fill0"] = x => TF.Affine(x, 30, (1, -2), 1.1, (0, 0), Bilinear, [0f]),
        ["affine_bilinear_shear_fill3"] = x => TF.Affine(x, -17.5, (0.5, 1.25), 0.8, (10, -5), Bilinear, [0.2f, 0.4f, 0.6f]),
        ["affine_bilinear_small"] = x => TF.Affine(x, 7, (0, 1), 1.0, (0, 0), Bilinear, [0f]),
        ["affine_nearest_fill0"] = x => TF.Affine(x, 45, (0, 0), 1.0, (0, 0), Nearest, [0f]),
        ["affine_nearest_nofill"] = x => TF.Affine(x, 12, (2, 1), 0.9, (5, 0), Nearest),
        ["affine_nearest_fill_shear"] = x => TF.Affine(x, -33, (-1, 0), 1.3, (0, 8), Nearest, [0.7f]),
        ["grayscale"] = x => TF.RgbToGrayscale(x),
        ["grayscale3"] = x => TF.RgbToGrayscale(x, 3),
        ["brightness_1.3"] = x => TF.AdjustBrightness(x, 1.3),
        ["brightness_0.6"] = x => TF.AdjustBrightness(x, 0.6),
        ["contrast_0.5"] = x => TF.AdjustContrast(x, 0.5),
        ["contrast_1.7"] = x => TF.AdjustContrast(x, 1.7),
        ["contrast_grey_1.4"] = x => TF.AdjustContrast(x, 1.4),
        ["saturation_0.3"] = x => TF.AdjustSaturation(x, 0.3),
        ["saturation_1.8"] = x => TF.AdjustSaturation(x, 1.8),
        ["hue_0.1"] = x => TF.AdjustHue(x, 0.1),
        ["hue_-0.35"] = x => TF.AdjustHue(x, -0.35),
        ["hue_0.5"] = x => TF.AdjustHue(x, 0.5),
        ["hue_ties_0.2"] = x => TF.AdjustHue(x, 0.2),
        ["hue_ties_-0.45"] = x => TF.AdjustHue(x, -0.45),
        ["normalize"] = x => new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]).Apply(x),
    };

    public static TheoryData<string> Names { get; } = new(s_cases.Keys);

    private static Tensor Load(string key)
    {
        SafetensorsTensor t = s_golden.Value[key];
        return Tensor.FromArray(t.ToFloats(), [.. t.Shape.Select(d => (int)d)]);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Functional_SameCallAsTorchvision_SameOutput(string name)
    {
        Tensor x = Load(name + ".x");
        float[] input = x.ToArray();
        Tensor expected = Load(name + ".y");
        Tensor actual = s_cases[name](x);
        Assert.Equal(expected.Shape, actual.Shape);
        float[] a = actual.ToArray();
        float[] b = expected.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            float tolerance = 1e-5f + (1e-4f * Math.Abs(b[i]));
            Assert.True(Math.Abs(a[i] - b[i]) <= tolerance, $"{name}: element {i} is {a[i]} but torchvision gives {b[i]}");
        }

        Assert.Equal(input, x.ToArray()); // the input is left untouched
    }

    [Fact]
    public void GoldenFile_EveryCaseIsTested()
    {
        string[] inFile = [.. s_golden.Value.Tensors.Select(t => t.Name[..t.Name.LastIndexOf('.')]).Distinct().Order(StringComparer.Ordinal)];
        Assert.Equal(inFile, s_cases.Keys.Order(StringComparer.Ordinal));
    }
}
