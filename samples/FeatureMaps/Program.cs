// Extracts the feature maps of a trained model for one test image and saves them: every convolution and pooling
// layer's output goes into feature-maps.safetensors (name = module path), and each layer's channels into a PNG grid.
// Usage: dotnet run --project samples/FeatureMaps -c Release -- CHECKPOINT [DATA_DIR] [INDEX] [OUT_DIR]
// e.g. after `./sharpcnn train`: dotnet run --project samples/FeatureMaps -c Release -- runs/<timestamp>/best.safetensors
using SharpCnn;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SkiaSharp;

string checkpointPath = args.Length > 0 ? args[0] : throw new ArgumentException("usage: FeatureMaps CHECKPOINT [DATA_DIR] [INDEX] [OUT_DIR]");
string dataDir = args.Length > 1 ? args[1] : Path.Combine("data", "mnist");
int index = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
string outDir = args.Length > 3 ? args[3] : "feature-maps";

CheckpointData checkpoint = Checkpoint.Read(checkpointPath);       // model name and weights of a `sharpcnn train` run
MnistDataset test = MnistDataset.Load(dataDir, train: false);
Module model = ModelZoo.Create(checkpoint.Info.ModelName, numClasses: 10, inChannels: 1);
model.LoadStateDict(checkpoint.Model);
model.Eval();

// A forward hook on every convolution and pooling layer records its output.
var maps = new List<(string Name, Tensor Output)>();
var hooks = new List<IDisposable>();
foreach ((string name, Module module) in model.NamedModules())
{
    if (module is Conv2d or MaxPool2d or AvgPool2d)
    {
        hooks.Add(module.RegisterForwardHook((_, _, output) => maps.Add((name, output.Detach()))));
    }
}

(Tensor image, int label) = test.Get(index);
using (SharpCnn.Autograd.Autograd.NoGrad())
{
    Tensor logits = model.Call(image.Unsqueeze(0));
    Console.WriteLine($"test image {index}: label {label}, predicted {logits.Argmax(1).Item():F0}");
}

hooks.ForEach(h => h.Dispose());
Directory.CreateDirectory(outDir);
Safetensors.Save(Path.Combine(outDir, "feature-maps.safetensors"),
    maps.Select(m => SafetensorsTensor.FromFloats(m.Name, [.. m.Output.Shape.Select(d => (long)d)], m.Output.Data)));
foreach ((string name, Tensor output) in maps)
{
    string png = Path.Combine(outDir, name.Replace('.', '_') + ".png");
    SaveGrid(output, png);
    Console.WriteLine($"{name,-14} {string.Join('x', output.Shape),-12} -> {png}");
}

// Channels side by side, each scaled to its own range, enlarged 4× (nearest neighbour).
static void SaveGrid(Tensor map, string path)
{
    int c = map.Size(1), h = map.Size(2), w = map.Size(3), scale = 4, gap = 2;
    using var bitmap = new SKBitmap((c * ((w * scale) + gap)) - gap, h * scale, SKColorType.Gray8, SKAlphaType.Opaque);
    ReadOnlySpan<float> v = map.Data;
    for (int k = 0; k < c; k++)
    {
        ReadOnlySpan<float> plane = v.Slice(k * h * w, h * w);
        float min = float.MaxValue, max = float.MinValue;
        foreach (float x in plane)
        {
            (min, max) = (Math.Min(min, x), Math.Max(max, x));
        }

        for (int y = 0; y < h * scale; y++)
        {
            for (int x = 0; x < w * scale; x++)
            {
                float t = max > min ? (plane[(y / scale * w) + (x / scale)] - min) / (max - min) : 0;
                byte b = (byte)(255 * t);
                bitmap.SetPixel((k * ((w * scale) + gap)) + x, y, new SKColor(b, b, b));
            }
        }
    }

    using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
    File.WriteAllBytes(path, data.ToArray());
}
