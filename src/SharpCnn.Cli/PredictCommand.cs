using System.Globalization;
using SharpCnn.Functional;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Cli;

/// <summary>
/// <c>sharpcnn predict --checkpoint FILE IMAGE...</c>: classifies image files with a trained model and prints the
/// top-k classes with their softmax probabilities.
/// </summary>
/// <remarks>
/// Each image is decoded (PNG, JPEG, BMP, WebP, PPM/PGM), converted to the channels the model was trained on, brought
/// to the training images' size exactly as the data pipeline does (28×28 digits: resized to 28×28 and padded like the
/// training set; CIFAR-10: 32×32; image folders: resize of the shorter side to size·256/224 and a centre crop, the
/// evaluation pipeline), and normalised with the dataset's mean and standard deviation.
/// </remarks>
internal static class PredictCommand
{
    public const string Usage = """
        usage: sharpcnn predict --checkpoint FILE [options] IMAGE...

          --checkpoint FILE     checkpoint written by 'sharpcnn train'
          --top K               classes to print per image                 (default 5, at most the class count)
          --invert MODE         auto | yes | no: for MNIST-style models, turn dark-on-light images into
                                MNIST's light-on-dark (auto: when the border is brighter than the middle)
                                                                           (default auto)
          --data-dir DIR        an image-folder run's data, for its class names (default: the recorded path)
          --threads N           kernel threads                             (default: all cores)

        Prints one block per image: its path, then the top-k classes with softmax probabilities.

        examples:
          sharpcnn predict --checkpoint runs/20260101-120000/best.safetensors digit.png
          sharpcnn predict --checkpoint best.safetensors --top 3 --invert no a.png b.jpg
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        OptionSpec[] specs = [new("checkpoint", true), new("top", true), new("invert", true), new("data-dir", true), new("threads", true), new("help", false)];
        ParsedOptions o = ParsedOptions.Parse(args, specs, Usage);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage);
            return Commands.Ok;
        }

        string path = o.String("checkpoint") ?? throw new UsageException("predict needs --checkpoint FILE", Usage);
        if (o.Positionals.Count == 0)
        {
            throw new UsageException("predict needs at least one IMAGE file", Usage);
        }

        int top = o.Int("top", 5, min: 1);
        string invert = o.Choice("invert", "auto", "auto", "yes", "no");
        if (o.Has("threads"))
        {
            KernelParallel.MaxThreads = o.Int("threads", 1, min: 1);
        }

        foreach (string image in o.Positionals)
        {
            if (!File.Exists(image))
            {
                throw new FileNotFoundException($"image \"{image}\" does not exist.");
            }
        }

        CheckpointData checkpoint = Checkpoint.Read(path);
        string modelName = checkpoint.Info.ModelName;
        string dataName = Commands.RecordedData(checkpoint.Info);
        IReadOnlyList<string> classes = ClassNames(dataName, o.String("data-dir"));
        int channels = DatasetCatalog.Names.Contains(dataName) || Directory.Exists(dataName) ? DatasetCatalog.Channels(dataName) : 3;
        var generator = new Generator(0);
        using IDisposable seeded = Generator.UseAsDefault(generator);
        Module model = ModelZoo.Create(modelName, classes.Count, inChannels: channels);
        model.LoadStateDict(checkpoint.Model);
        model.Eval();

        Normalize normalize = DatasetCatalog.Normalization(dataName);
        int padding = Commands.DataPadding(dataName, modelName);
        output.WriteLine($"checkpoint: {path} ({modelName}, trained on {dataName}, {classes.Count} classes)");
        foreach (string image in o.Positionals)
        {
            Tensor x = Prepare(image, dataName, modelName, channels, padding, invert, normalize, out bool inverted);
            Tensor probabilities;
            using (Autograd.Autograd.NoGrad())
            {
                probabilities = F.Softmax(model.Call(x.Unsqueeze(0)), 1);
            }

            float[] keys = probabilities.ToArray();
            // Highest probability first; ties keep the lower class index.
            int[] ranked = [.. Enumerable.Range(0, keys.Length).OrderByDescending(i => keys[i]).ThenBy(i => i)];
            output.WriteLine();
            output.WriteLine(inverted ? $"{image} (inverted to light-on-dark)" : image);
            for (int k = 0; k < Math.Min(top, ranked.Length); k++)
            {
                int c = ranked[k];
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k + 1}. {classes[c],-16} {keys[c] * 100,7:F2}%"));
            }
        }

        return Commands.Ok;
    }

    /// <summary>The class names of a dataset, from the library for named datasets and from the folders for image folders.</summary>
    private static IReadOnlyList<string> ClassNames(string dataName, string? dataDir)
    {
        switch (dataName)
        {
            case "mnist":
                return [.. Enumerable.Range(0, MnistData.ClassCount).Select(i => i.ToString(CultureInfo.InvariantCulture))];
            case FashionMnist.Name:
                return FashionMnist.Classes;
            case Cifar10Dataset.Name:
                string meta = Path.Combine(dataDir ?? DatasetCatalog.DefaultDirectory(dataName), "batches.meta.txt");
                return File.Exists(meta) ? Cifar10Dataset.ReadClassNames(meta) : Cifar10Dataset.StandardClasses;
            default:
                string root = dataDir ?? dataName;
                if (!Directory.Exists(root))
                {
                    throw new FileNotFoundException(
                        $"the checkpoint was trained on the image folder \"{dataName}\", which is not here; its class names come from its train/ sub-folders: pass --data-dir DIR.");
                }

                return ImageFolderDataset.FindClasses(DatasetCatalog.FolderSplit(root, train: true));
        }
    }

    /// <summary>Decodes and preprocesses one image into the model's input (C, H, W).</summary>
    internal static Tensor Prepare(string image, string dataName, string modelName, int channels, int padding, string invert, Normalize normalize, out bool inverted)
    {
        Tensor x = channels == 1 ? ImageDecoder.DecodeGrayscale(image) : ImageDecoder.DecodeRgb(image);
        inverted = false;
        if (dataName is "mnist" or FashionMnist.Name)
        {
            // The training digits are 28×28 (then padded for models that take 32×32): squash to that size.
            x = TF.Resize(x, MnistData.ImageSize, MnistData.ImageSize);
            inverted = invert == "yes" || (invert == "auto" && BorderBrighterThanCentre(x));
            if (inverted)
            {
                x = new Tensor([.. x.ToArray().Select(v => 1f - v)], x.Shape);
            }

            if (padding > 0)
            {
                x = TF.Pad(x, [padding]);
            }
        }
        else if (dataName == Cifar10Dataset.Name)
        {
            x = TF.Resize(x, 32, 32);
        }
        else
        {
            int size = ModelZoo.Find(modelName).Input.H;
            x = TF.CenterCrop(TF.Resize(x, size * 256 / 224), size, size);
        }

        return normalize.Apply(x);
    }

    /// <summary>Whether the mean of the outer ring of pixels exceeds the mean of the centre (a dark digit on light paper).</summary>
    private static bool BorderBrighterThanCentre(Tensor x)
    {
        ReadOnlySpan<float> v = x.Data;
        int h = x.Size(-2), w = x.Size(-1);
        double border = 0, centre = 0;
        int nb = 0, nc = 0;
        for (int i = 0; i < h; i++)
        {
            for (int j = 0; j < w; j++)
            {
                bool edge = i < 2 || j < 2 || i >= h - 2 || j >= w - 2;
                bool middle = i >= h / 4 && i < h - h / 4 && j >= w / 4 && j < w - w / 4;
                if (edge)
                {
                    border += v[(i * w) + j];
                    nb++;
                }
                else if (middle)
                {
                    centre += v[(i * w) + j];
                    nc++;
                }
            }
        }

        return border / nb > centre / nc;
    }
}
