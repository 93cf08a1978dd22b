using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
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
    // Out of process (BenchmarkDotNet's default toolchain: the suite's own project, a fresh process per case): in one
    // process the JIT's tier-1 code for a case is shaped by the cases before it (HostQueueBenchmarks: one issuer on
    // VINTF0 read 556-577 ns after main-queue cases and 437-472 ns alone). --inProcess brings the in-process one back.
    config = config.AddJob(Job.Default
        .WithWarmupCount(3)
        .WithIterationCount(10)
        .AsDefault());
}

BenchmarkSwitcher.FromAssembly(typeof(NsPerCommandColumn).Assembly).Run(args, config);
