namespace SharpCnn.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.WriteLine($"sharpcnn {args.Length}");
        return 0;
    }
}
