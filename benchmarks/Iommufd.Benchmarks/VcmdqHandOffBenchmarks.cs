using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>Who consumes the guest's VCMDQ.</summary>
public enum VcmdqConsumer
{
    /// <summary>No VCMDQ: the floor of any hand-off, a thread spinning on a word writes it back (<see cref="PingPong"/>).</summary>
    Floor,

    /// <summary>The CMDQV model, on the guest's own thread when no engine thread is busy with the queue: no hand-off.</summary>
    Hardware,

    /// <summary>The software VCMDQ's host worker, polling its queues for <see cref="CmdqvOptions.SoftwareWorkerSpin"/> (the default 1 ms) before it parks.</summary>
    SoftwareSpinning,

    /// <summary>The software VCMDQ's host worker parking at once (spin budget 0): every doorbell wakes a thread.</summary>
    SoftwareParking,
}

/// <summary>
/// The software VCMDQ's hand-off (#9 goal: p50 ≤ 1 µs with the worker spinning): one guest, on a thread of its own,
/// writes TLBI_NH_VA + CMD_SYNC into its VCMDQ, rings PROD and polls CONS until it passes the sync; the host worker
/// takes the doorbell on its own thread, validates, issues on the SMMU's main queue (consumed inline) and moves the
/// guest's CONS. The hardware VCMDQ, consumed on the guest's own thread, does the same work with no hand-off, so the
/// difference of the two is what the hand-off costs, and the floor (<see cref="PingPong"/>) is what two cache-line
/// transfers between the cores cost, below which no hand-off goes. One guest thread leaves the worker a core of its own
/// on a 2-core machine, and the guest looks at CONS back to back (<see cref="GuestQueue.PollsWithoutBackOff"/>).
/// Median and P90 are over iterations (each the mean of 128 round trips); <c>handoff-probe</c> (<see cref="HandOffProbe"/>)
/// gives percentiles of single round trips.
/// </summary>
[MedianColumn]
[Config(typeof(PercentileConfig))]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes what [GlobalSetup] made")]
public class VcmdqHandOffBenchmarks
{
    private const int RoundTripsPerInvoke = 128;

    private Rig? _rig;
    private PingPong? _pingPong;
    private WorkerThreads _thread = null!;

    [Params(VcmdqConsumer.Floor, VcmdqConsumer.Hardware, VcmdqConsumer.SoftwareSpinning, VcmdqConsumer.SoftwareParking)]
    public VcmdqConsumer Consumer { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Consumer == VcmdqConsumer.Floor)
        {
            var pingPong = _pingPong = new PingPong(pause: false);
            _thread = new WorkerThreads(1, _ =>
            {
                for (int i = 0; i < RoundTripsPerInvoke; i++)
                {
                    pingPong.RoundTrip();
                }
            });
            return;
        }

        var rig = _rig = new Rig(Consumer);
        _thread = new WorkerThreads(1, _ => rig.Guest.Run(RoundTripsPerInvoke));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _thread.Dispose();
        _pingPong?.Dispose();
        _rig?.Dispose();
    }

    /// <summary>PROD write to CONS past the CMD_SYNC, <see cref="RoundTripsPerInvoke"/> times.</summary>
    [Benchmark(OperationsPerInvoke = RoundTripsPerInvoke)]
    public void RoundTrip() => _thread.Run();

    /// <summary>One host with one device and one guest VCMDQ consumed by <see cref="VcmdqConsumer"/>.</summary>
    internal sealed class Rig : IDisposable
    {
        private readonly ServiceProvider _provider;

        public Rig(VcmdqConsumer consumer)
        {
            _provider = new ServiceCollection()
                .AddIommufd(b =>
                {
                    b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Threaded);
                    b.AddTegra241Cmdqv("smmu0", o =>
                    {
                        o.Backend = consumer == VcmdqConsumer.Hardware ? VcmdqBackend.Hardware : VcmdqBackend.Software;
                        if (consumer == VcmdqConsumer.SoftwareParking)
                        {
                            o.SoftwareWorkerSpin = TimeSpan.Zero;
                        }
                    });
                    b.AddDevice("dev0", "smmu0", streamId: 0x10);
                })
                .BuildIommufdServiceProvider();
            var options = new VirtualMachineOptions { RamSize = 4L << 20, Viommu = ViommuKind.SmmuV3WithCmdqv };
            options.Devices.Add(("dev0", 1));
            Guest = GuestQueue.OnVcmdq(new VirtualMachine(_provider.GetRequiredService<IommufdHost>(), options));
            Guest.PollsWithoutBackOff = true; // the guest has a core of its own: time CONS moving, not a back-off step
        }

        public GuestQueue Guest { get; }

        public void Dispose()
        {
            Guest.Vm.Dispose();
            _provider.Dispose();
        }
    }

    /// <summary>Adds the P90 of the iteration means beside BenchmarkDotNet's median.</summary>
    private sealed class PercentileConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public PercentileConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.P90);
    }
}
