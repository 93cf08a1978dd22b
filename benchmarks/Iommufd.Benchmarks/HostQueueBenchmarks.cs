using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>
/// Host command queue throughput: <see cref="IssuingThreads"/> dedicated threads issue <see cref="BatchesPerInvoke"/>
/// batches between them (an equal share each, all released at once) on the SMMU's main queue, each batch
/// <see cref="BatchSize"/> TLBI_NH_VA and its CMD_SYNC, waited for. The work per invocation is the same for every
/// thread count, so the mean per operation is the time per batch the queue sustains: lower with more threads means
/// the issuers overlap rather than serialise.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes what [GlobalSetup] made")]
public class HostQueueBenchmarks
{
    public const int BatchesPerInvoke = 4096; // the barrier costs 9–35 µs an invocation with 1–4 threads: amortised to under 10 ns a batch

    private ServiceProvider _provider = null!;
    private HostCommandQueue _queue = null!;
    private WorkerThreads _threads = null!;
    private SmmuCommand[][] _batches = null!;

    [Params(1, 2, 4)]
    public int IssuingThreads { get; set; }

    [Params(ExecutionMode.Inline, ExecutionMode.Threaded)]
    public ExecutionMode Mode { get; set; }

    [Params(15)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = Mode))
            .BuildIommufdServiceProvider();
        var host = (SmmuV3Host)_provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        _queue = host.MainQueue;
        _batches = new SmmuCommand[IssuingThreads][];
        for (int t = 0; t < IssuingThreads; t++)
        {
            _batches[t] = Enumerable.Range(0, BatchSize)
                .Select(i => SmmuCommandBuilder.TlbiNhVa((ushort)(t + 1), 1, 0x10_0000UL + ((ulong)i << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0))
                .ToArray();
        }

        _threads = new WorkerThreads(IssuingThreads, Issue);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _threads.Dispose();
        _provider.Dispose();
    }

    /// <summary>Every thread issues its share of the batches; the mean is per batch.</summary>
    [Benchmark(OperationsPerInvoke = BatchesPerInvoke)]
    public void IssueBatches() => _threads.Run();

    private void Issue(int thread)
    {
        var batch = _batches[thread];
        for (int i = 0; i < BatchesPerInvoke / IssuingThreads; i++)
        {
            var rc = _queue.Issue(batch, out _);
            if (rc != Errno.Success)
            {
                throw new InvalidOperationException($"Issue: {rc}");
            }
        }
    }
}
