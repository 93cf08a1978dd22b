using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Iommufd.Benchmarks;

// The suites carry no job attributes: the job is set here, as a default job, which BenchmarkDotNet drops as soon as
// the command line names one (--job short, --job dry, ...), so --job replaces it instead of running beside it.
var job = Job.Default
    .WithToolchain(InProcessEmitToolchain.Instance)
    .WithWarmupCount(3)
    .WithIterationCount(10)
    .AsDefault();
var config = DefaultConfig.Instance.AddJob(job).AddColumn(new NsPerCommandColumn());
BenchmarkSwitcher.FromAssembly(typeof(NsPerCommandColumn).Assembly).Run(args, config);
