using SharpCnn.Benchmarks.Peers;
using SharpCnn.Benchmarks.Suite;

// `./sharpcnn bench`: every workload for SharpCnn, libtorch (TorchSharp) and ONNX Runtime in the same run.
// The wrapper builds this project and runs it with DOTNET_TieredCompilation=0 (background tiering threads
// would take one of the two cores while the peers' thread teams run). libtorch's native library is loaded
// lazily by TorchEngine, so a child process that runs only SharpCnn never maps it.
Environment.ExitCode = BenchSuite.Run(args, [new SharpCnnEngine(), new TorchEngine(), new OrtEngine()], []);
