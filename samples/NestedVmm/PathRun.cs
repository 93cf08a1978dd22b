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
    private readonly LatencyHistogram[] _latencies; // one per vCPU, written only by it
    private long _dma, _rounds, _stale, _faultEvents;

    public PathRun(InvalidationPath path, NestedVmmOptions options)
    {
        Path = path;
        _options = options;
        var services = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Threaded);
                if (path != InvalidationPath.Trap)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = path == InvalidationPath.HardwareVcmdq ? VcmdqBackend.Hardware : VcmdqBackend.Software);
                }

                for (int i = 0; i < options.Devices; i++)
                {
                    b.AddDevice($"dev{i}", "smmu0", streamId: 0x100 + (uint)i, atsCapable: i == 0);
                }
            });
        if (options.Trace is { } trace)
        {
            services.AddIommufdTrace(trace);
        }

        _provider = services.BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        var vmOptions = new VirtualMachineOptions
        {
            RamSize = 32L << 20,
            TrapCost = options.TrapCost,
            Viommu = path == InvalidationPath.Trap ? ViommuKind.SmmuV3 : ViommuKind.SmmuV3WithCmdqv,
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

        _latencies = new LatencyHistogram[options.GuestThreads];
    }

    public InvalidationPath Path { get; }

    private PathProgress Progress(TimeSpan elapsed)
    {
        long rounds = Interlocked.Read(ref _rounds);
        double fraction = _options.RoundsPerThread > 0
            ? rounds / ((double)_options.RoundsPerThread * _options.GuestThreads)
            : elapsed / _options.Duration;
        return new PathProgress(Path, elapsed, Math.Clamp(fraction, 0, 1), rounds, Interlocked.Read(ref _dma));
    }

    /// <summary>
    /// Runs the vCPUs until each has done its rounds, the duration is over, or <paramref name="cancel"/> is set;
    /// what was measured until then is returned either way. <paramref name="progress"/>, if given, is told how far
    /// the run is a few times a second, on the calling thread.
    /// </summary>
    public PathResult Run(Action<PathProgress>? progress, CancellationToken cancel)
    {
        var threads = new Thread[_options.GuestThreads];
        var deadline = Stopwatch.StartNew();
        for (int t = 0; t < threads.Length; t++)
        {
            int index = t;
            _latencies[t] = new LatencyHistogram();
            threads[t] = new Thread(() => GuestThread(index, deadline, cancel)) { IsBackground = true, Name = $"vcpu{t}" };
            threads[t].Start();
        }

        long lastReport = 0;
        while (threads.Any(t => t.IsAlive))
        {
            Thread.Sleep(50);
            _vm.Smmu.DeliverEvents();
            if (progress is not null && deadline.ElapsedMilliseconds - lastReport >= 250)
            {
                lastReport = deadline.ElapsedMilliseconds;
                progress(Progress(deadline.Elapsed));
            }
        }

        progress?.Invoke(Progress(deadline.Elapsed) with { Fraction = 1 });

        foreach (var t in threads)
        {
            t.Join();
        }

        _vm.Smmu.DeliverEvents();
        var elapsed = deadline.Elapsed;
        var all = new LatencyHistogram();
        foreach (var histogram in _latencies)
        {
            all.Add(histogram);
        }

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
            _vm.Traps,
            _vm.TrapCost,
            InvalidationStatistics.From(all, elapsed),
            elapsed,
            cancel.IsCancellationRequested);
    }

    public void Dispose()
    {
        _vm.Dispose();
        _provider.Dispose();
    }

    /// <summary>
    /// A vCPU: map → DMA write → check → DMA read → unmap (timed: only its TLBIs and CMD_SYNCs, see
    /// <see cref="GuestSmmuDriver.Unmap(uint, ulong, ulong, out long)"/>) → DMA to the unmapped address must fault. A
    /// DMA that succeeds after the unmap used a stale translation. No guest-wide lock: the driver locks per domain.
    /// </summary>
    private void GuestThread(int index, Stopwatch clock, CancellationToken cancel)
    {
        var device = _vm.Devices[index % _vm.Devices.Count];
        uint sid = device.VirtualSid;
        ulong bytes = (ulong)_options.PagesPerRound * 4096;
        ulong buffer = _vm.Ram.Allocate(bytes, 4096);
        ulong va = VaBase + ((ulong)index << 32);
        Span<byte> pattern = stackalloc byte[64];
        Span<byte> readBack = stackalloc byte[64];
        long round = 0;
        var latencies = _latencies[index];
        while (!cancel.IsCancellationRequested && (_options.RoundsPerThread > 0 ? round < _options.RoundsPerThread : clock.Elapsed < _options.Duration))
        {
            round++;
            _guest.Map(sid, va, buffer, bytes, IommuProtection.Read | IommuProtection.Write);

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

            bool invalidated = _guest.Unmap(sid, va, bytes, out long ticks);
            latencies.Record((long)(ticks * (1e9 / Stopwatch.Frequency)));
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
}
