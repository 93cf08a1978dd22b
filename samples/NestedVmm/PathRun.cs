using System.Diagnostics;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace NestedVmm;

/// <summary>
/// One run of the scenario on one path: a host with an SMMUv3 (and a CMDQV, hardware or software), a VM with the
/// devices, a guest SMMUv3 driver (and CMDQV driver), and guest threads that map buffers, DMA to them, check the
/// data, unmap them, and check that DMA to the unmapped buffer now faults.
/// </summary>
internal sealed class PathRun : IDisposable
{
    private const ulong VaBase = 0x1_0000_0000;
    private readonly NestedVmmOptions _options;
    private readonly ServiceProvider _provider;
    private readonly VirtualMachine _vm;
    private readonly GuestSmmuDriver _guest;
    private readonly ICommandPath _path;
    private readonly Lock _guestLock = new(); // the guest kernel's lock around its IOMMU driver
    private readonly List<double>[] _latencies;
    private long _dma, _rounds, _stale, _faultEvents;

    public PathRun(GuestPath path, NestedVmmOptions options)
    {
        Path = path;
        _options = options;
        _provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Threaded);
                if (path != GuestPath.Trap)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = path == GuestPath.HardwareVcmdq ? VcmdqBackend.Hardware : VcmdqBackend.Software);
                }

                for (int i = 0; i < options.Devices; i++)
                {
                    b.AddDevice($"dev{i}", "smmu0", streamId: 0x100 + (uint)i, atsCapable: i == 0);
                }
            })
            .BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        var vmOptions = new VirtualMachineOptions
        {
            RamSize = 32L << 20,
            Viommu = path == GuestPath.Trap ? ViommuKind.SmmuV3 : ViommuKind.SmmuV3WithCmdqv,
        };
        for (int i = 0; i < options.Devices; i++)
        {
            vmOptions.Devices.Add(($"dev{i}", (uint)(i + 1)));
        }

        _vm = new VirtualMachine(host, vmOptions);
        _guest = new GuestSmmuDriver(_vm.Smmu, _vm.Ram);
        if (_vm.Cmdqv is not null)
        {
            var cmdqv = new GuestCmdqvDriver(_vm.Cmdqv, _vm.Ram);
            _guest.CommandPath = cmdqv.CreateCommandPath(_guest.Queue);
        }

        _path = _guest.CommandPath;
        _vm.Smmu.EventInterrupt += () => Interlocked.Add(ref _faultEvents, _guest.ReadEvents().Count);
        for (int i = 0; i < options.Devices; i++)
        {
            var device = _vm.Devices[i];
            if (!_guest.AttachDevice(device.VirtualSid, asid: (ushort)(i + 1), ats: device.Device.AtsCapable))
            {
                throw new InvalidOperationException($"the guest could not attach vSID {device.VirtualSid}");
            }
        }

        _latencies = new List<double>[options.GuestThreads];
    }

    public GuestPath Path { get; }

    public PathResult Run(Action<string>? progress)
    {
        var threads = new Thread[_options.GuestThreads];
        var deadline = Stopwatch.StartNew();
        for (int t = 0; t < threads.Length; t++)
        {
            int index = t;
            _latencies[t] = [];
            threads[t] = new Thread(() => GuestThread(index, deadline)) { IsBackground = true, Name = $"vcpu{t}" };
            threads[t].Start();
        }

        long lastReport = 0;
        while (threads.Any(t => t.IsAlive))
        {
            Thread.Sleep(50);
            _vm.Smmu.DeliverEvents();
            if (progress is not null && deadline.ElapsedMilliseconds - lastReport >= 1000)
            {
                lastReport = deadline.ElapsedMilliseconds;
                progress($"  {Path}: {deadline.Elapsed.TotalSeconds:0}s, {Interlocked.Read(ref _rounds)} rounds, {Interlocked.Read(ref _dma)} DMA operations");
            }
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        _vm.Smmu.DeliverEvents();
        var elapsed = deadline.Elapsed;
        var all = _latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
        var stats = _path.Statistics;
        var smmuStats = _guest.Queue.Statistics;
        long commands = _path == _guest.Queue ? smmuStats.Commands : smmuStats.Commands + stats.Commands;
        long syncs = _path == _guest.Queue ? smmuStats.Syncs : smmuStats.Syncs + stats.Syncs;
        long errors = _path == _guest.Queue ? smmuStats.TotalErrors : smmuStats.TotalErrors + stats.TotalErrors;
        return new PathResult(
            Path,
            Interlocked.Read(ref _dma),
            Interlocked.Read(ref _rounds),
            commands,
            syncs,
            errors,
            Interlocked.Read(ref _stale),
            Interlocked.Read(ref _faultEvents),
            _vm.Smmu.Counters.Ioctls,
            Percentile(all, 0.50),
            Percentile(all, 0.99),
            all.Length / Math.Max(elapsed.TotalSeconds, 1e-9),
            elapsed);
    }

    public void Dispose()
    {
        _vm.Dispose();
        _provider.Dispose();
    }

    /// <summary>
    /// A vCPU: map → DMA write → check → DMA read → unmap (timed: PTE clear + invalidation + CMD_SYNC) → DMA to the
    /// unmapped address must fault. A DMA that succeeds after the unmap used a stale translation.
    /// </summary>
    private void GuestThread(int index, Stopwatch clock)
    {
        var device = _vm.Devices[index % _vm.Devices.Count];
        uint sid = device.VirtualSid;
        ulong bytes = (ulong)_options.PagesPerRound * 4096;
        ulong buffer = _vm.Ram.Allocate(bytes, 4096);
        ulong va = VaBase + ((ulong)index << 32);
        Span<byte> pattern = stackalloc byte[64];
        Span<byte> readBack = stackalloc byte[64];
        long round = 0;
        while (_options.RoundsPerThread > 0 ? round < _options.RoundsPerThread : clock.Elapsed < _options.Duration)
        {
            round++;
            lock (_guestLock)
            {
                _guest.Map(sid, va, buffer, bytes, IommuProtection.Read | IommuProtection.Write);
            }

            for (int page = 0; page < _options.PagesPerRound; page++)
            {
                ulong at = va + ((ulong)page * 4096) + 128;
                BitConverter.TryWriteBytes(pattern, (ulong)round ^ (ulong)page ^ ((ulong)index << 48));
                Count(device.Device.DmaWrite(at, pattern), "DMA write to a mapped page");
                Count(device.Device.DmaRead(at, readBack), "DMA read of a mapped page");
                if (!readBack.SequenceEqual(pattern) || !_vm.Ram.Bytes(buffer + ((ulong)page * 4096) + 128, 64).SequenceEqual(pattern))
                {
                    throw new InvalidOperationException($"DMA data mismatch on vSID {sid} page {page}");
                }
            }

            long start = Stopwatch.GetTimestamp();
            bool invalidated;
            lock (_guestLock)
            {
                invalidated = _guest.Unmap(sid, va, bytes);
            }

            _latencies[index].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            if (!invalidated)
            {
                throw new InvalidOperationException($"the guest's invalidation for vSID {sid} did not complete");
            }

            // The check the whole project exists for: after unmap + invalidation, nothing may still translate.
            var after = device.Device.DmaRead(va + 128, readBack);
            Interlocked.Increment(ref _dma);
            if (after == DmaStatus.Ok)
            {
                Interlocked.Increment(ref _stale);
            }

            Interlocked.Increment(ref _rounds);
        }
    }

    private void Count(DmaStatus status, string what)
    {
        Interlocked.Increment(ref _dma);
        if (status != DmaStatus.Ok)
        {
            throw new InvalidOperationException($"{what} failed: {status}");
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
