using System.Collections.Concurrent;
using System.Diagnostics;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Tests.DriverContract;

namespace Iommufd.Tests.Stress;

/// <summary>
/// Racing raw ioctls on one file from <see cref="StressSettings.Threads"/> threads, one case per destroy/use pair:
/// each thread runs a seeded random sequence of the case's operations until the case's share of the time budget is
/// spent. Every result must be one of the errnos the operation may legally give, no exception may leave an entry
/// point, no run may hang, an unbound device must not translate, and closing the file must bring objects, fds,
/// mmaps, physical frames (and so pins) and the driver's own counts back to where they started.
/// </summary>
/// <remarks>
/// The operations each thread runs follow from the printed seed (<c>IOMMUFD_STRESS_SEED</c> replays it); the
/// interleaving is the scheduler's. <c>IOMMUFD_STRESS_SECONDS</c> sets the budget for a long run.
/// </remarks>
public abstract class IoctlRaceTests<TPlugin>
    where TPlugin : IDriverContractPlugin, new()
{
    /// <summary>The HW queue type the plugin's vIOMMU takes, or null when it has none.</summary>
    protected abstract IommuHwQueueType? HwQueueType { get; }

    [TestCaseSource(typeof(RaceCases), nameof(RaceCases.Names))]
    public void Racing_ioctls_give_legal_errnos_and_leave_nothing_behind(string name)
    {
        var plugin = new TPlugin();
        var ops = Operations(name, plugin);
        if (ops.Count == 0)
        {
            Assert.Ignore($"{typeof(TPlugin).Name} has no HW queue type, so this pair cannot happen");
        }

        int seed = StressSettings.Seed + RaceCases.IndexOf(name);
        var budget = TimeSpan.FromSeconds(StressSettings.TotalSeconds / RaceCases.Count);
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={StressSettings.Seed}), {StressSettings.Threads} threads, {budget.TotalMilliseconds:F0} ms");

        using var rig = new DriverContractRig(plugin);
        var world = new RaceWorld(rig, plugin, HwQueueType);
        var outcome = Race(world, ops, seed, budget, closeMidway: name == "close_vs_everything");
        TestContext.Out.WriteLine(outcome.Summary);

        var translating = world.Devices.Where(d => !rig.File.IsClosed && rig.File.BindDevice(d, out _) == Errno.Success && Translates(d)).ToList();
        rig.CloseFileAndUnmapProcess();
        var afterClose = world.Devices.Where(Translates).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome.Hung, Is.False, $"seed {seed}: a thread did not finish (deadlock or livelock)");
            Assert.That(outcome.Exceptions, Is.Empty, $"seed {seed}: exceptions left an entry point");
            Assert.That(outcome.IllegalResults, Is.Empty, $"seed {seed}: results no kernel would give");
            Assert.That(outcome.Successes, Is.GreaterThan(0), $"seed {seed}: nothing succeeded, so nothing raced");
            Assert.That(translating, Is.Empty, $"seed {seed}: an unbound device still translates");
            Assert.That(afterClose, Is.Empty, $"seed {seed}: a device still translates after close");
            Assert.That(rig.File.ObjectCount, Is.Zero, $"seed {seed}: objects left after close");
            Assert.That(rig.File.OpenFileCount, Is.Zero, $"seed {seed}: fds left after close");
            Assert.That(rig.File.MappingCount, Is.Zero, $"seed {seed}: mmaps left after close");
            Assert.That(rig.Memory.FrameCount, Is.EqualTo(rig.StartupFrameCount), $"seed {seed}: physical frames (or pins) left after close");
            AssertDriverReleasedEverything(rig);
        }
    }

    /// <summary>Driver-specific leak counts after close (the mock's domains and vIOMMUs).</summary>
    protected virtual void AssertDriverReleasedEverything(DriverContractRig rig)
    {
    }

    private static bool Translates(EndpointDevice device) =>
        device.DmaRead(DriverContractRig.GuestPageIpa(0), new byte[8]) == DmaStatus.Ok;

    private List<RaceOp> Operations(string name, IDriverContractPlugin plugin)
    {
        Errno[] destroy = [Errno.Success, Errno.ENOENT, Errno.EBUSY];
        Errno[] attach = [Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EADDRINUSE];
        Errno[] fd = [Errno.Success, Errno.EBADF];
        var allocIoas = new RaceOp("IOAS_ALLOC", (w, r) => w.AllocIoas(r), Errno.Success);
        var map = new RaceOp("IOAS_MAP", (w, r) => w.MapIoas(r), Errno.Success, Errno.ENOENT, Errno.ENOSPC);
        var unmap = new RaceOp("IOAS_UNMAP", (w, r) => w.UnmapAll(r), destroy);
        var copy = new RaceOp("IOAS_COPY", (w, r) => w.CopyIoas(r), Errno.Success, Errno.ENOENT, Errno.ENOSPC);
        var ranges = new RaceOp("IOAS_IOVA_RANGES", (w, r) => w.IovaRanges(r), Errno.Success, Errno.ENOENT, Errno.EMSGSIZE);
        var paging = new RaceOp("HWPT_ALLOC(paging)", (w, r) => w.AllocPaging(r), Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EOPNOTSUPP, Errno.EADDRINUSE);
        var pagingFault = new RaceOp("HWPT_ALLOC(fault)", (w, r) => w.AllocPagingWithFault(r), Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EOPNOTSUPP, Errno.EADDRINUSE);
        var viommu = new RaceOp("VIOMMU_ALLOC", (w, r) => w.AllocViommu(r), Errno.Success, Errno.ENOENT, Errno.EINVAL);
        var nested = new RaceOp("HWPT_ALLOC(nested)", (w, r) => w.AllocNested(r), Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EOPNOTSUPP);
        var vdevice = new RaceOp("VDEVICE_ALLOC", (w, r) => w.AllocVdevice(r), Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EEXIST);
        var veventq = new RaceOp("VEVENTQ_ALLOC", (w, r) => w.AllocVeventq(r), Errno.Success, Errno.ENOENT, Errno.EEXIST);
        var hwQueue = new RaceOp("HW_QUEUE_ALLOC", (w, r) => w.AllocHwQueue(r), Errno.Success, Errno.ENOENT, Errno.EEXIST, Errno.EIO, Errno.EFAULT, Errno.EINVAL);
        var unmapQueue = new RaceOp("IOAS_UNMAP(queue memory)", (w, r) => w.UnmapQueuePage(r), destroy);
        var fault = new RaceOp("FAULT_QUEUE_ALLOC", (w, r) => w.AllocFault(r), Errno.Success);
        var invalidate = new RaceOp("HWPT_INVALIDATE", (w, r) => w.Invalidate(r), Errno.Success, Errno.ENOENT, Errno.EINVAL, Errno.EOPNOTSUPP, plugin.UnknownVirtIdErrno);
        var read = new RaceOp("read", (w, r) => w.ReadFd(r), fd);
        var close = new RaceOp("close", (w, r) => w.CloseFd(r), fd);
        var destroyIoas = new RaceOp("DESTROY(IOAS)", (w, r) => w.DestroyIoas(r), destroy);
        var destroyHwpt = new RaceOp("DESTROY(HWPT)", (w, r) => w.DestroyHwpt(r), destroy);
        var destroyNested = new RaceOp("DESTROY(nested)", (w, r) => w.DestroyNested(r), destroy);
        var destroyViommu = new RaceOp("DESTROY(vIOMMU)", (w, r) => w.DestroyViommu(r), destroy);
        var destroyVdevice = new RaceOp("DESTROY(vDEVICE)", (w, r) => w.DestroyVdevice(r), destroy);
        var destroyVeventq = new RaceOp("DESTROY(vEVENTQ)", (w, r) => w.DestroyVeventq(r), destroy);
        var destroyHwQueue = new RaceOp("DESTROY(HW queue)", (w, r) => w.DestroyHwQueue(r), destroy);
        var destroyFault = new RaceOp("DESTROY(fault)", (w, r) => w.DestroyFault(r), destroy);
        var bind = new RaceOp("bind", (w, r) => w.Bind(r), Errno.Success, Errno.EBUSY);
        var unbind = new RaceOp("unbind", (w, r) => w.Unbind(r), Errno.Success, Errno.ENOENT);
        var attachOp = new RaceOp("attach", (w, r) => w.Attach(r), attach);
        var replace = new RaceOp("replace", (w, r) => w.Replace(r), attach);
        var detach = new RaceOp("detach", (w, r) => w.Detach(r), Errno.Success, Errno.ENOENT, Errno.EINVAL);

        List<RaceOp> queues = HwQueueType is null ? [] : [hwQueue, destroyHwQueue, unmapQueue];
        return name switch
        {
            "ioas_destroy_vs_map_unmap_copy" => [allocIoas, destroyIoas, map, unmap, copy, ranges],
            "hwpt_destroy_vs_attach_and_viommu_alloc" => [paging, destroyHwpt, destroyIoas, attachOp, detach, viommu, allocIoas, map],
            "viommu_destroy_vs_its_users" => [paging, viommu, destroyViommu, nested, vdevice, veventq, invalidate, .. queues],
            "vdevice_destroy_vs_unbind_and_invalidate" => [paging, viommu, vdevice, destroyVdevice, unbind, bind, invalidate, nested, attachOp],
            "veventq_destroy_vs_read_and_close" => [paging, viommu, veventq, destroyVeventq, read, close, destroyViommu],
            "hw_queue_destroy_vs_alloc_and_unmap" => queues.Count == 0 ? [] : [paging, viommu, destroyViommu, .. queues],
            "fault_destroy_vs_hwpt_alloc_and_fd" => [fault, pagingFault, destroyFault, destroyHwpt, read, close],
            "unbind_vs_attach_and_replace" => [bind, unbind, attachOp, replace, detach, paging, nested, vdevice, viommu],
            "detach_vs_destroy" => [paging, attachOp, detach, destroyHwpt, destroyIoas, allocIoas, map],
            "auto_domain_release_vs_attach" => [attachOp, replace, detach, destroyHwpt, allocIoas, map, unmap],
            _ =>
            [
                allocIoas, map, unmap, copy, ranges, paging, pagingFault, viommu, nested, vdevice, veventq, fault, invalidate,
                read, close, destroyIoas, destroyHwpt, destroyNested, destroyViommu, destroyVdevice, destroyVeventq,
                destroyFault, bind, unbind, attachOp, replace, detach, .. queues,
            ],
        };
    }

    private static RaceOutcome Race(RaceWorld world, List<RaceOp> ops, int seed, TimeSpan budget, bool closeMidway)
    {
        var outcome = new RaceOutcome();
        using var start = new Barrier(StressSettings.Threads);
        var clock = new Stopwatch();
        int closed = 0;
        var threads = Enumerable.Range(0, StressSettings.Threads).Select(t => new Thread(() =>
        {
            var random = new Random((seed * 31) + t);
            start.SignalAndWait();
            if (t == 0)
            {
                clock.Start();
            }

            while (!clock.IsRunning)
            {
                Thread.SpinWait(10);
            }

            while (clock.Elapsed < budget)
            {
                if (closeMidway && t == 0 && clock.Elapsed > budget / 2 && Interlocked.Exchange(ref closed, 1) == 0)
                {
                    outcome.Run("close(iommufd)", () => { world.File.Dispose(); return Errno.Success; }, [Errno.Success]);
                    continue;
                }

                var op = ops[random.Next(ops.Count)];
                outcome.Run(op.Name, () => op.Run(world, random), closeMidway ? [.. op.Allowed, Errno.EBADF] : op.Allowed);
            }
        })
        { IsBackground = true, Name = $"race {t}" }).ToList();

        threads.ForEach(t => t.Start());
        var deadline = budget + StressSettings.HangTimeout;
        outcome.Hung = !threads.TrueForAll(t => t.Join(deadline));
        return outcome;
    }

    /// <summary>One operation of a race: its name, what it does, and the errnos it may legally give.</summary>
    private sealed record RaceOp(string Name, Func<RaceWorld, Random, Errno> Run, params Errno[] Allowed);

    /// <summary>What the threads of one run saw.</summary>
    private sealed class RaceOutcome
    {
        private const int MaxReports = 20;

        private readonly ConcurrentDictionary<(string, Errno), int> _results = new();

        public ConcurrentQueue<string> Exceptions { get; } = new();

        public ConcurrentQueue<string> IllegalResults { get; } = new();

        public bool Hung { get; set; }

        public int Successes => _results.Where(p => p.Key.Item2 == Errno.Success).Sum(p => p.Value);

        public string Summary => string.Join(", ", _results.OrderBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2)
            .Select(p => $"{p.Key.Item1}:{p.Key.Item2}×{p.Value}"));

        public void Run(string name, Func<Errno> call, Errno[] allowed)
        {
            Errno rc;
            try
            {
                rc = call();
            }
            catch (Exception e) when (e is not ThreadInterruptedException)
            {
                Report(Exceptions, $"{name}: {e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                return;
            }

            _results.AddOrUpdate((name, rc), 1, (_, n) => n + 1);
            if (Array.IndexOf(allowed, rc) < 0)
            {
                Report(IllegalResults, $"{name}: {rc}");
            }
        }

        private static void Report(ConcurrentQueue<string> queue, string message)
        {
            if (queue.Count < MaxReports)
            {
                queue.Enqueue(message);
            }
        }
    }
}
