using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Tests.Transforms;

/// <summary>The presets, the deterministic wrappers and the argument checks of the transforms.</summary>
public sealed class AugmentationTests
{
    private static Tensor Image(int c, int h, int w, int seed = 1) => Tensor.Rand(new Generator((ulong)seed), c, h, w);

    [Fact]
    public void Train_Mnist_KeepsShapeAndEndsNormalised()
    {
        ITransform t = Augmentation.Train("mnist", [0.1307f], [0.3081f]);
        Tensor zeros = Tensor.Zeros(1, 28, 28);
        Tensor y = t.Apply(zeros, new Generator(3));
        Assert.Equal([1, 28, 28], y.Shape);
        // A black image stays black whatever the affine map does (fill 0), then normalises to (0 − mean)/std.
        Assert.All(y.ToArray(), v => Assert.Equal(Normalize.Mnist.Apply(0f, 0), v, 1e-6f));
    }

    [Fact]
    public void Train_InputNormalized_FillsWithTheNormalisedBlack()
    {
        // Today's MnistDataset hands out normalised values: the preset must fill with them, not with 0.
        float black = Normalize.Mnist.Apply(0f, 0);
        ITransform t = Augmentation.Train("mnist", [0.1307f], [0.3081f], inputNormalized: true);
        for (ulong seed = 0; seed < 20; seed++)
        {
            Tensor y = t.Apply(Tensor.Full([1, 32, 32], black), new Generator(seed));
            Assert.All(y.ToArray(), v => Assert.Equal(black, v, 1e-5f));
        }

        var normalize = new Normalize([0.5f, 0.4f, 0.3f], [0.2f, 0.25f, 0.5f]);
        ITransform cifar = Augmentation.Train("cifar10", normalize.Mean, normalize.Std, inputNormalized: true);
        Tensor cy = cifar.Apply(Tensor.Full([3, 32, 32], -9f), new Generator(1));
        float[] expected = [.. Enumerable.Range(0, 3).Select(c => normalize.Apply(0f, c))]; // (0 − mean)/std, where the padding shows
        Assert.Equal(-2.5f, expected[0], 1e-5f);
        float[] values = cy.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(values[i] == -9f || values[i] == expected[i / 1024], $"element {i} is {values[i]}");
        }
    }

    [Fact]
    public void Train_Presets_ShapesAndRandomness()
    {
        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        Tensor cifar = Image(3, 32, 32);
        ITransform c = Augmentation.Train("CIFAR-10", mean, std);
        Assert.Equal([3, 32, 32], c.Apply(cifar, new Generator(1)).Shape);
        Assert.NotEqual(c.Apply(cifar, new Generator(1)).ToArray(), c.Apply(cifar, new Generator(2)).ToArray());
        Assert.Equal(c.Apply(cifar, new Generator(7)).ToArray(), c.Apply(cifar, new Generator(7)).ToArray());
        Assert.Equal([3, 224, 224], Augmentation.Train("imagefolder", mean, std).Apply(Image(3, 50, 61), new Generator(1)).Shape);
        Assert.Equal([3, 96, 96], Augmentation.Train("imagefolder", mean, std, imageSize: 96).Apply(Image(3, 50, 61), new Generator(1)).Shape);
        Assert.Equal([1, 28, 28], Augmentation.Train("fashion-mnist", [0.286f], [0.353f]).Apply(Image(1, 28, 28), new Generator(1)).Shape);
        var e = Assert.Throws<ArgumentException>(() => Augmentation.Train("svhn", mean, std));
        Assert.Contains("\"svhn\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("cifar10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_ImageFolder_ResizeCenterCropNormalize_SmallDatasetsNormalizeOnly()
    {
        float[] mean = [0.5f, 0.5f, 0.5f];
        float[] std = [0.25f, 0.25f, 0.25f];
        Tensor x = Image(3, 300, 400);
        ITransform eval = Augmentation.Eval("imagefolder", mean, std)!;
        Tensor expected = new Normalize(mean, std).Apply(TF.CenterCrop(TF.Resize(x, 256), 224, 224));
        Assert.Equal(expected.ToArray(), eval.Apply(x).ToArray());
        Assert.Equal([3, 224, 224], expected.Shape);
        Assert.Null(Augmentation.Eval("mnist", [0.1307f], [0.3081f], inputNormalized: true));
        Assert.IsType<Normalize>(Augmentation.Eval("cifar10", mean, std));
    }

    [Fact]
    public void Preset_InLoaderWithWorkers_SameBatchesAsOnTheCallersThread()
    {
        var data = new TensorDataset(Tensor.Rand(new Generator(4), 30, 3, 32, 32), [.. Enumerable.Range(0, 30).Select(i => i % 10)]);
        ITransform aug = Augmentation.Train("cifar10", [0.5f, 0.5f, 0.5f], [0.2f, 0.2f, 0.2f]);
        float[][] Run(int workers) => [.. new DataLoader(data, 8, shuffle: true, seed: 1, transform: aug, numWorkers: workers).GetEpoch(1).Select(b => b.Inputs.ToArray())];
        Assert.Equal(Run(0), Run(3));
    }

    [Fact]
    public void ResizedSize_ShorterSideAndMaxSize_AsTorchvision()
    {
        Assert.Equal((256, 341), TF.ResizedSize(480, 640, 256));
        Assert.Equal((341, 256), TF.ResizedSize(640, 480, 256));
        Assert.Equal((256, 256), TF.ResizedSize(10, 10, 256));
        Assert.Equal((225, 300), TF.ResizedSize(480, 640, 256, maxSize: 300)); // ⌊300·256/341⌋ = 225
        Assert.Equal((256, 341), TF.ResizedSize(480, 640, 256, maxSize: 341));
        Assert.Throws<ArgumentException>(() => TF.ResizedSize(480, 640, 256, maxSize: 256));
        Assert.Equal([2, 256, 341], TF.Resize(Image(2, 48, 64), 256).Shape);
        Assert.Equal([2, 5, 7], new Resize(5, 7).Apply(Image(2, 48, 64)).Shape);
    }

    [Fact]
    public void Resize_SameSize_IsACopy_CenterCrop_OfTheSameSize_TooAndCropBeyondFills()
    {
        Tensor x = Image(3, 6, 8);
        Tensor same = TF.Resize(x, 6, 8);
        Assert.Equal(x.ToArray(), same.ToArray());
        Assert.NotSame(x, same);
        Assert.Equal(x.ToArray(), new CenterCrop(6, 8).Apply(x).ToArray());
        Tensor c = TF.Crop(x, -1, 7, 2, 3, fill: [1f, 2f, 3f]);
        Assert.Equal([2f, 2f, 2f], c.ToArray()[6..9]); // channel 1, the row above the image
        Assert.Equal(x[2, 0, 7], c[2, 1, 0]);
    }

    [Fact]
    public void Pad_Modes_SmallExample()
    {
        Tensor x = Tensor.FromArray([1f, 2f, 3f], 1, 1, 3);
        Assert.Equal([9f, 9f, 1f, 2f, 3f, 9f], TF.Pad(x, [2, 0, 1, 0], PaddingMode.Constant, [9f]).ToArray());
        Assert.Equal([1f, 1f, 1f, 2f, 3f, 3f], TF.Pad(x, [2, 0, 1, 0], PaddingMode.Edge).ToArray());
        Assert.Equal([3f, 2f, 1f, 2f, 3f, 2f], TF.Pad(x, [2, 0, 1, 0], PaddingMode.Reflect).ToArray());
        Assert.Equal([2f, 1f, 1f, 2f, 3f, 3f], TF.Pad(x, [2, 0, 1, 0], PaddingMode.Symmetric).ToArray());
    }

    [Fact]
    public void BadArguments_ClearErrors()
    {
        Tensor rgb = Image(3, 4, 5);
        Assert.Contains("less than the image width 5; got 5 and 0",
            Assert.Throws<ArgumentException>(() => TF.Pad(rgb, [5, 0, 0, 0], PaddingMode.Reflect)).Message, StringComparison.Ordinal);
        Assert.Contains("got 3", Assert.Throws<ArgumentException>(() => TF.Pad(rgb, [1, 2, 3])).Message, StringComparison.Ordinal);
        Assert.Contains("non-negative", Assert.Throws<ArgumentException>(() => TF.Pad(rgb, [-1])).Message, StringComparison.Ordinal);
        Assert.Contains("2 values but the image (3, 4, 5) has 3 channel(s)",
            Assert.Throws<ArgumentException>(() => TF.Pad(rgb, [1], PaddingMode.Constant, [1f, 2f])).Message, StringComparison.Ordinal);
        Assert.Contains("(..., H, W)", Assert.Throws<ArgumentException>(() => TF.HorizontalFlip(Tensor.Zeros(5))).Message, StringComparison.Ordinal);
        Assert.Contains("C = 1 or 3 but got shape (2, 4, 5)",
            Assert.Throws<ArgumentException>(() => TF.AdjustHue(Image(2, 4, 5), 0.1)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => TF.AdjustHue(rgb, 0.6));
        Assert.Throws<ArgumentOutOfRangeException>(() => TF.AdjustBrightness(rgb, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TF.Affine(rgb, 0, (0, 0), 0, (0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TF.Resize(rgb, 0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CenterCrop(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(hue: 0.7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(brightness: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(5, translate: (1.5, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(8, scale: (0.9, 0.1)));
        Assert.Throws<ArgumentException>(() => new Compose(new RandomHorizontalFlip(), null!));
    }

    [Fact]
    public void Normalize_Vectorised_BitIdenticalToScalar()
    {
        var n = new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        Tensor x = Image(3, 13, 21);
        float[] y = n.Apply(x).ToArray();
        float[] input = x.ToArray();
        for (int i = 0; i < y.Length; i++)
        {
            Assert.Equal(n.Apply(input[i], i / (13 * 21)), y[i]);
        }
    }
}
