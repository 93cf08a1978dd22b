using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>
/// Guest invalidation latency and throughput: each guest thread (its own VM, on a dedicated thread) issues
/// TLBI_NH_VA + CMD_SYNC and waits for CONS to pass the sync; <see cref="InvalidationsPerInvoke"/> invalidations per
/// invocation are shared equally by the guest threads, all released at once by a barrier, so the mean per operation
/// counts every thread's invalidations (with one thread it is the latency). The SMMU, CMDQV and software VCMDQ run
/// threaded, as they would beside real vCPUs.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes what [GlobalSetup] made")]
public class GuestInvalidationBenchmarks
{
    public const int InvalidationsPerInvoke = 128;

    private ServiceProvider _provider = null!;
    private GuestQueue[] _guests = null!;
    private WorkerThreads _threads = null!;

    [Params(InvalidationPath.Trap, InvalidationPath.HardwareVcmdq, InvalidationPath.SoftwareVcmdq)]
    public InvalidationPath Path { get; set; }

    [Params(1, 2)]
    public int GuestThreads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Threaded);
                if (Path != InvalidationPath.Trap)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = Path == InvalidationPath.HardwareVcmdq ? VcmdqBackend.Hardware : VcmdqBackend.Software);
                }

                for (int i = 0; i < GuestThreads; i++)
                {
                    b.AddDevice($"dev{i}", "smmu0", streamId: 0x10 + (uint)i);
                }
            })
            .BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        _guests = new GuestQueue[GuestThreads];
        for (int i = 0; i < GuestThreads; i++)
        {
            var options = new VirtualMachineOptions { RamSize = 4L << 20, Viommu = Path == InvalidationPath.Trap ? ViommuKind.SmmuV3 : ViommuKind.SmmuV3WithCmdqv };
            options.Devices.Add(($"dev{i}", 1));
            var vm = new VirtualMachine(host, options);
            _guests[i] = Path == InvalidationPath.Trap ? GuestQueue.OnVirtualSmmu(vm) : GuestQueue.OnVcmdq(vm);
        }

        _threads = new WorkerThreads(GuestThreads, i => _guests[i].Run(InvalidationsPerInvoke / GuestThreads));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _threads.Dispose();
        foreach (var g in _guests)
        {
            g.Vm.Dispose();
        }

        _provider.Dispose();
    }

    /// <summary>TLBI + CMD_SYNC, waited for, <see cref="InvalidationsPerInvoke"/> times across the guest threads.</summary>
    [Benchmark(OperationsPerInvoke = InvalidationsPerInvoke)]
    public void InvalidateAndSync() => _threads.Run();
}
