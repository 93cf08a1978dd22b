using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Iommufd.Benchmarks;

// The suites carry no job attributes (those were merged with a command-line job, so both ran). The job is set here
// as the default job, which is the base that options such as --iterationCount refine. BenchmarkDotNet takes a
// config's default job as the base even when the command line names one, so with --job (or -j) it is left out and
// the named job replaces it.
if (args is ["handoff-probe", ..])
{
    HandOffProbe.Run(args[1..]);
    return;
}

bool jobOnCommandLine = args.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
var config = DefaultConfig.Instance.AddColumn(new NsPerCommandColumn());
if (!jobOnCommandLine)
{
    config = config.AddJob(Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithWarmupCount(3)
        .WithIterationCount(10)
        .AsDefault());
}

BenchmarkSwitcher.FromAssembly(typeof(NsPerCommandColumn).Assembly).Run(args, config);
