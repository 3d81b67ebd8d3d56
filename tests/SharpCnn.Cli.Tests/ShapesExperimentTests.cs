using SharpCnn.Cli.Experiments;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Vision.Models;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary><c>sharpcnn experiment shapes</c>: the lecture's hand-worked examples, receptive fields, and the error paths.</summary>
public sealed class ShapesExperimentTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-shapes-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static IReadOnlyList<ShapeRow> Rows(string input, params string[] layers) =>
        ShapesExperiment.ForLayers(ShapesExperiment.ParseInput(input), [.. layers.Select(l => LayerSpec.Parse(l, "usage"))]);

    [Theory]
    [InlineData("conv:3@5x5", "28×28×3", 228)]                 // ⌊(32 − 5 + 0)/1⌋ + 1 = 28; 3·(5·5·3 + 1)
    [InlineData("conv:3@5x5,pad2", "32×32×3", 228)]            // ⌊(32 − 5 + 4)/1⌋ + 1 = 32
    [InlineData("conv:10@5x5,pad2", "32×32×10", 760)]          // the lecture's 10 filters: 10·76 = 760
    [InlineData("conv:10@5x5,same", "32×32×10", 760)]
    [InlineData("conv:10@5x5,s3,pad2", "11×11×10", 760)]       // ⌊(32 − 5 + 4)/3⌋ + 1 = 11
    [InlineData("conv:4@3x3,d2", "28×28×4", 112)]              // F = 2·2 + 1 = 5
    [InlineData("pool:2x2/2", "16×16×3", 0)]
    [InlineData("pool:3x3/2,pad1", "16×16×3", 0)]              // ⌊(32 − 3 + 2)/2⌋ + 1 = 16
    [InlineData("avgpool:4x4/4", "8×8×3", 0)]
    [InlineData("avgpool", "1×1×3", 0)]
    [InlineData("fc:10", "10", 30_730)]                        // 10·(32·32·3 + 1)
    public void ForLayers_LectureExamplesOn32x32x3_OutputAndParams(string layer, string output, long parameters)
    {
        ShapeRow row = Assert.Single(Rows("32x32x3", layer));
        Assert.Equal(output, ShapesExperiment.Size(row.Output));
        Assert.Equal(parameters, row.Params);
    }

    [Fact]
    public void ForLayers_TenFiltersThenPool_16x16x10()
    {
        IReadOnlyList<ShapeRow> rows = Rows("32x32x3", "conv:10@5x5,pad2", "pool:2x2/2");
        Assert.Equal(["32×32×10", "16×16×10"], rows.Select(r => ShapesExperiment.Size(r.Output)));
        Assert.Equal("⌊(32 − 2 + 2·0)/2⌋ + 1 = 16", rows[1].Formula);
    }

    [Theory]
    [InlineData(new[] { "conv:1@3x3", "conv:1@3x3" }, 5, 1)]
    [InlineData(new[] { "conv:1@3x3", "conv:1@3x3", "conv:1@3x3" }, 7, 1)]   // three 3×3 see as far as one 7×7
    [InlineData(new[] { "conv:1@3x3,s2", "conv:1@3x3" }, 7, 2)]              // 3 + (3 − 1)·2
    [InlineData(new[] { "conv:1@5x5,pad2", "pool:2x2/2", "conv:1@5x5", "pool:2x2/2" }, 16, 4)]   // LeNet-5's features
    [InlineData(new[] { "conv:1@3x3,d2" }, 5, 1)]
    [InlineData(new[] { "conv:1@3x3", "relu", "conv:1@3x3" }, 5, 1)]
    public void ForLayers_ReceptiveField_SizeAndJump(string[] layers, int size, int jump)
    {
        ReceptiveField field = Rows("32x32x1", layers)[^1].Field!.Value;
        Assert.Equal((size, size, jump, jump), (field.SizeH, field.SizeW, field.JumpH, field.JumpW));
    }

    [Fact]
    public void ForLayers_FcAfterMaps_SeesTheWholeInput()
    {
        ReceptiveField field = Rows("32x32x3", "conv:4@5x5", "pool:2x2/2", "fc:10")[^1].Field!.Value;
        Assert.Equal((32, 32), (field.SizeH, field.SizeW));   // 6 + (14 − 1)·2
    }

    [Fact]
    public void ForLayers_NonSquare_FormulaPerAxis()
    {
        ShapeRow row = Assert.Single(Rows("20x30x1", "conv:2@3x5,s2"));
        Assert.Equal([9, 13, 2], row.Output);
        Assert.Equal("H: ⌊(20 − 3 + 2·0)/2⌋ + 1 = 9; W: ⌊(30 − 5 + 2·0)/2⌋ + 1 = 13", row.Formula);
        Assert.Equal((3, 5, 2, 2), (row.Field!.Value.SizeH, row.Field.Value.SizeW, row.Field.Value.JumpH, row.Field.Value.JumpW));
    }

    [Fact]
    public void ForLayers_SameWithEvenKernel_ExtraPaddingAfter()
    {
        ShapeRow row = Assert.Single(Rows("10x10x1", "conv:1@4x4,same"));
        Assert.Equal([10, 10, 1], row.Output);
        Assert.Equal("⌊(10 − 4 + (1+2))/1⌋ + 1 = 10", row.Formula);
    }

    /// <summary>The printed arithmetic against the engine's one formula (<see cref="Conv2dGeometry"/>, <see cref="Pool2dGeometry"/>) over a grid.</summary>
    [Fact]
    public void OutSize_AgreesWithEngineGeometry()
    {
        int checkedCount = 0;
        foreach (int size in new[] { 1, 2, 5, 7, 28, 31 })
        {
            foreach (int k in new[] { 1, 2, 3, 5, 7 })
            {
                foreach (int s in new[] { 1, 2, 3 })
                {
                    foreach (int p in new[] { 0, 1, 2, 3 })
                    {
                        foreach (int d in new[] { 1, 2 })
                        {
                            var conv = new Conv2dGeometry(1, 1, size, size, 1, k, k, s, s, p, p, p, p, d, d);
                            Assert.Equal(conv.OutHeight, ShapeArithmetic.OutSize(size, (d * (k - 1)) + 1, p, p, s));
                            if (2 * p <= k && size + (2 * p) >= (d * (k - 1)) + 1)
                            {
                                foreach (bool ceil in new[] { false, true })
                                {
                                    var pool = new Pool2dGeometry(1, 1, size, size, k, k, s, s, p, p, d, d, ceil);
                                    Assert.Equal(pool.OutHeight, ShapeArithmetic.OutSize(size, (d * (k - 1)) + 1, p, p, s, ceil));
                                    checkedCount++;
                                }
                            }
                        }
                    }
                }
            }
        }

        Assert.True(checkedCount > 500, $"{checkedCount}");
    }

    [Fact]
    public void Shapes_LectureChain_TableWithWorkedFormulas()
    {
        (int code, string output, string error) = Run("experiment", "shapes", "--input", "32x32x3",
            "--layer", "conv:3@5x5", "--layer", "conv:3@5x5,pad2", "--layer", "conv:10@5x5,pad2", "--layer", "pool:2x2/2");
        Assert.True(code == 0, error);
        Assert.Contains("⌊(32 − 5 + 2·0)/1⌋ + 1 = 28", output, StringComparison.Ordinal);
        Assert.Matches(@"4  pool:2x2/2\s+14×14×10\s+⌊\(28 − 2 \+ 2·0\)/2⌋ \+ 1 = 14\s+0\s+14×14\s+2", output);
        Assert.Contains("760 = 10·(5·5·3 + 1)", output, StringComparison.Ordinal);
        Assert.Contains("output: 14×14×10; parameters: 1,216", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Shapes_ImpossibleLayer_ErrorNamesTheLayer()
    {
        (int code, string output, string error) = Run("experiment", "shapes", "--input", "8x8x1", "--layer", "conv:1@5x5", "--layer", "conv:1@5x5");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("sharpcnn: error: layer 2 (conv:1@5x5) on 4×4×1: output 0×0×1 is empty", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("conv:1@5x5", "pool:1x1/1", "fc:3", "conv:1@1x1")]
    [InlineData("fc:3", "avgpool")]
    public void Shapes_MapLayerAfterFc_Error(params string[] layers)
    {
        (int code, _, string error) = Run(["experiment", "shapes", "--input", "8x8x1", .. layers.SelectMany(l => new[] { "--layer", l })]);
        Assert.Equal(1, code);
        Assert.Contains("follows a fully connected layer", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--layer", "conv:3@5x5,q2", "unknown option 'q2'")]
    [InlineData("--layer", "conv:0@5x5", "the number of filters must be a positive integer")]
    [InlineData("--layer", "conv:3@5x5,s2,same", "'same' padding needs stride 1")]
    [InlineData("--layer", "pool:2x2/2,pad2", "at most half the window")]
    [InlineData("--layer", "dense:10", "invalid layer 'dense:10'")]
    [InlineData("--input", "32x32x3x1", "invalid value '32x32x3x1' for --input")]
    public void Shapes_BadArgument_UsageError(string option, string value, string message)
    {
        string[] args = option == "--input"
            ? ["experiment", "shapes", "--input", value, "--layer", "relu"]
            : ["experiment", "shapes", "--input", "32x32x3", option, value];
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        string[] lines = error.Split('\n');
        Assert.StartsWith("sharpcnn: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(message, lines[0], StringComparison.Ordinal);
        Assert.Contains("usage: sharpcnn experiment shapes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Shapes_NoLayers_UsageError()
    {
        Assert.Equal(2, Run("experiment", "shapes", "--input", "32x32x3").Code);
        Assert.Equal(2, Run("experiment", "shapes", "--layer", "relu").Code);
        Assert.Equal(2, Run("experiment", "shapes", "--model", "lenet5", "--layer", "relu").Code);
        Assert.Equal(2, Run("experiment", "shapes", "--model", "nonet").Code);
    }

    [Fact]
    public void ForModel_LeNet5_EngineShapesAndReceptiveField()
    {
        IReadOnlyList<ShapeRow> rows = ShapesExperiment.ForModel("lenet5", (28, 28, 1));
        ModelSummary summary = ModelSummary.Create(new LeNet5(), 1, 28, 28);
        Assert.Equal(summary.Rows.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            IReadOnlyList<int> s = summary.Rows[i].OutputShape;
            int[] expected = s.Count == 4 ? [s[2], s[3], s[1]] : [.. s.Skip(1)];
            Assert.Equal(expected, rows[i].Output);
            Assert.Equal(summary.Rows[i].Params, rows[i].Params);
        }

        Assert.StartsWith("features.0 conv:6@5x5,pad2", rows[0].Layer, StringComparison.Ordinal);
        Assert.Equal("⌊(14 − 5 + 2·0)/1⌋ + 1 = 10", rows[3].Formula);
        Assert.Equal(new ReceptiveField(16, 16, 4, 4), rows[5].Field);   // after the second pool
        Assert.Equal(new ReceptiveField(16, 16, 4, 4), rows[^1].Field);
    }

    [Fact]
    public void ForModel_ResNet18_FieldStopsWhereTheChainBreaks()
    {
        IReadOnlyList<ShapeRow> rows = ShapesExperiment.ForModel("resnet18", (64, 64, 3));
        Assert.Equal(new ReceptiveField(7, 7, 2, 2), rows[0].Field);       // conv1 7×7/2
        Assert.Contains(rows, r => r.Field is null);
        Assert.All(rows.SkipWhile(r => r.Field is not null), r => Assert.Null(r.Field));
        Assert.Equal([2, 2, 512], rows.Last(r => r.Output.Count == 3 && r.Layer.Contains("conv", StringComparison.Ordinal)).Output);
    }

    [Fact]
    public void Shapes_Out_WritesCsvJsonAndPng()
    {
        string dir = Path.Combine(_root, "out");
        (int code, string output, string error) = Run("experiment", "shapes", "--model", "lenet5", "--out", dir);
        Assert.True(code == 0, error);
        Assert.Contains("files: ", output, StringComparison.Ordinal);
        string[] csv = File.ReadAllLines(Path.Combine(dir, "shapes.csv"));
        Assert.Equal("index,layer,out_h,out_w,out_c,formula,params,rf_h,rf_w,jump_h,jump_w", csv[0]);
        Assert.Equal(13, csv.Length);
        Assert.StartsWith("1,\"features.0 conv:6@5x5,pad2\",28,28,6,", csv[1], StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "shapes.json")));
        Assert.Equal(61_706, json.RootElement.GetProperty("total_params").GetInt64());
        PngAssert.Valid(Path.Combine(dir, "shapes.png"));
    }
}

/// <summary>Checks that a file is a PNG that decodes, at the experiments' plot size.</summary>
internal static class PngAssert
{
    public static void Valid(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        using SkiaSharp.SKBitmap? bitmap = SkiaSharp.SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal((ExperimentFiles.PlotWidth, ExperimentFiles.PlotHeight), (bitmap.Width, bitmap.Height));

        // A plot is not one flat colour.
        Assert.True(bitmap.Pixels.Distinct().Take(3).Count() > 2, "the image has fewer than three colours");
    }
}
