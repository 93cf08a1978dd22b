using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>Which command queue a host invalidation goes to.</summary>
public enum HostQueueRoute
{
    /// <summary>The SMMU's one main queue, shared by every issuing thread (arm-smmu-v3.c arm_smmu_cmdq_issue_cmdlist()).</summary>
    MainQueue,

    /// <summary>
    /// A Tegra241 CMDQV beside the SMMU: <see cref="SmmuV3Host.Issue"/> takes the hypervisor-owned VINTF0 logical queue
    /// of the issuing CPU (tegra241-cmdqv.c tegra241_cmdqv_get_cmdq(): CPU number modulo the LVCMDQs per VINTF), so
    /// issuers on different cores fill different queues.
    /// </summary>
    Vintf0PerCpu,
}

/// <summary>
/// Host command queue throughput: <see cref="IssuingThreads"/> dedicated threads issue <see cref="BatchesPerInvoke"/>
/// batches between them (an equal share each, all released at once) on the queue <see cref="Route"/> names, each batch
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
    private SmmuV3Host _host = null!;
    private WorkerThreads _threads = null!;
    private SmmuCommand[][] _batches = null!;

    [Params(1, 2, 4)]
    public int IssuingThreads { get; set; }

    [Params(ExecutionMode.Inline, ExecutionMode.Threaded)]
    public ExecutionMode Mode { get; set; }

    [Params(15)]
    public int BatchSize { get; set; }

    [Params(HostQueueRoute.MainQueue, HostQueueRoute.Vintf0PerCpu)]
    public HostQueueRoute Route { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = Mode);
                if (Route == HostQueueRoute.Vintf0PerCpu)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = VcmdqBackend.Hardware);
                }
            })
            .BuildIommufdServiceProvider();
        _host = (SmmuV3Host)_provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
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
            var rc = Route == HostQueueRoute.MainQueue ? _host.MainQueue.Issue(batch, out _) : _host.Issue(batch, out _);
            if (rc != Errno.Success)
            {
                throw new InvalidOperationException($"Issue: {rc}");
            }
        }
    }
}
