using System.Buffers.Binary;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.ArmSmmuV3.Isolation;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// Invalidation is a promise: an unmap returns only once no device can translate through the range and no DMA
/// that did can still land; when the SMMU does not complete it, the caller gets ETIMEDOUT (logged, counted) and
/// the memory stays pinned; and every host-queue wait, for space or for a CMD_SYNC, is bounded.
/// </summary>
[TestFixture]
public class InvalidationPromiseTests
{
    private const ulong Iova = 0x80_0000;
    private const int Page = 4096;

    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void With_the_host_queue_full_and_the_SMMU_stalled_HWPT_INVALIDATE_ends_with_ETIMEDOUT_and_works_again_after(ExecutionMode mode)
    {
        using var provider = Provider(mode);
        var (host, smmu) = Resolve(provider);
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), 5, 3);
        var batch = Enumerable.Range(0, HostCommandQueue.MaxBatch)
            .Select(i => SmmuCommandBuilder.TlbiNhVa(0, 3, (ulong)i << 12, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0)).ToArray();
        uint cr0 = Stall(smmu);

        // 128 host entries: two batches of 63 + CMD_SYNC fill the queue, the third finds no space.
        var results = Enumerable.Range(0, 3).Select(_ => (guest.Invalidate(batch, out uint done), done)).ToList();
        long timeoutsWhileStalled = smmu.MainQueue.Timeouts;
        smmu.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0);

        // With 30 ms per sync, a loaded machine may not schedule the resumed engine thread in time for the first
        // call: what must hold is that the queue works again, so ask until it does (each miss is a timeout).
        uint doneAfter = 0;
        bool worksAgain = Poll.Until(() => guest.Invalidate(batch, out doneAfter) == Errno.Success);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(results.Select(r => r.Item1), Is.All.EqualTo(Errno.ETIMEDOUT));
            Assert.That(results.Select(r => r.done), Is.All.Zero, "nothing reported as done");
            Assert.That(timeoutsWhileStalled, Is.EqualTo(3));
            Assert.That(worksAgain, Is.True);
            Assert.That(doneAfter, Is.EqualTo((uint)batch.Length));
        }
    }

    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void An_unmap_the_SMMU_never_completes_is_ETIMEDOUT_counted_and_keeps_the_range_until_an_unmap_succeeds(ExecutionMode mode)
    {
        using var provider = Provider(mode);
        var (host, smmu) = Resolve(provider);
        using var incomplete = new MetricCollector<long>(smmu.Metrics.Meter, "iommufd.smmuv3.invalidations_incomplete");
        using var vm = new Vm(host);
        Assert.That(vm.Read(), Is.EqualTo(DmaStatus.Ok));
        uint cr0 = Stall(smmu);

        ulong length = Page;
        var stalled = vm.File.IoasUnmap(vm.Ioas, Iova, ref length);
        smmu.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0);
        ulong lengthAfter = Page;
        var after = vm.File.IoasUnmap(vm.Ioas, Iova, ref lengthAfter);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stalled, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(incomplete.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags["operation"])), Is.EqualTo(new[] { (1L, (object?)"unmap") }), "the unmap whose invalidation never completed is counted");
            Assert.That(after, Is.EqualTo(Errno.Success), "the range was still in the IOAS");
            Assert.That(lengthAfter, Is.EqualTo((ulong)Page));
            Assert.That(vm.Read(), Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(SmmuV3Diagnostics.For(smmu).IotlbEntries(), Is.Empty);
        }
    }

    [Test]
    public void DMA_in_flight_when_an_unmap_begins_has_landed_and_left_no_translation_behind_when_it_returns()
    {
        int seed = TestContext.CurrentContext.Random.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var provider = Provider(ExecutionMode.Threaded, TimeSpan.FromSeconds(10));
        var (host, smmu) = Resolve(provider);
        using var vm = new Vm(host, map: false);
        var page = vm.Region.Span[..Page];
        int stale = 0, lateWrites = 0;

        for (int round = 0; round < 100; round++)
        {
            ulong iova = Iova + ((ulong)random.Next(64) * Page);
            ulong va = vm.Region.Address;
            Assert.That(vm.File.IoasMap(vm.Ioas, va, Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
            using var stop = new ManualResetEventSlim();
            int spins = random.Next(2_000);
            long written = 0;
            var dma = new Thread(() =>
            {
                Span<byte> value = stackalloc byte[8];
                for (long n = 1; !stop.IsSet; n++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(value, n);
                    if (vm.Device.DmaWrite(iova, value) == DmaStatus.Ok)
                    {
                        Volatile.Write(ref written, n);
                    }
                }
            });
            dma.Start();
            while (Volatile.Read(ref written) == 0)
            {
                Thread.Yield();
            }

            Thread.SpinWait(spins);
            ulong length = Page;
            Assert.That(vm.File.IoasUnmap(vm.Ioas, iova, ref length), Is.EqualTo(Errno.Success));
            long atReturn = BinaryPrimitives.ReadInt64LittleEndian(page);
            bool cached = SmmuV3Diagnostics.For(smmu).IotlbEntries().Any(e => e.InputBase <= iova && iova <= e.InputLast);
            Thread.SpinWait(spins);
            stop.Set();
            dma.Join();
            stale += cached ? 1 : 0;
            lateWrites += BinaryPrimitives.ReadInt64LittleEndian(page) != atReturn ? 1 : 0;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.Zero, $"rounds with a translation cached after the unmap returned (seed {seed})");
            Assert.That(lateWrites, Is.Zero, $"rounds where a DMA write landed after the unmap returned (seed {seed})");
        }
    }

    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_CMD_SYNC_completes_while_a_faulting_DMAs_event_handler_waits_for_a_lock_held_across_the_sync(ExecutionMode mode)
    {
        // A CMD_SYNC waits for the transactions in flight (spec §3.21); a fault's event handler is driver code (the
        // relay takes the masters lock, then the vEVENTQ's). Were the interrupt raised inside the faulting
        // transaction, a holder of a lock the handler needs, waiting for its CMD_SYNC, would wait for the handler:
        // the sync would not complete until the lock was let go. Here the holder lets go only after one bounded
        // wait for its sync, so the test fails rather than hangs. The record itself is in the queue by then: the
        // sync guarantees the events of transactions terminated before it are visible (spec §4.7.3).
        using var provider = Provider(mode, Poll.Patience);
        var (host, smmu) = Resolve(provider);
        using var vm = new Vm(host);
        using var driverLock = new SemaphoreSlim(1); // not thread-affine: the test lets go whatever became of the sync
        int handlerWaiting = 0;
        smmu.EventReceived += _ =>
        {
            Volatile.Write(ref handlerWaiting, 1);
            driverLock.Wait();
            driverLock.Release();
        };
        ulong prodBefore = smmu.Hardware.ReadRegister((uint)SmmuRegister.EVENTQ_PROD);
        Task<DmaStatus>? fault = null;
        Task<Errno>? sync = null;
        bool handlerBlocked = false, synced = false;
        ulong prodAtSync = prodBefore;
        driverLock.Wait();
        try
        {
            fault = Task.Run(() => vm.Device.DmaRead(Iova + Page, new byte[8])); // unmapped: a stage-2 F_TRANSLATION (S2R)
            handlerBlocked = Poll.Until(() => Volatile.Read(ref handlerWaiting) == 1);
            if (handlerBlocked)
            {
                sync = Task.Run(() => smmu.MainQueue.Issue([], out _)); // a lone CMD_SYNC
                synced = sync.Wait(Poll.Patience) && sync.Result == Errno.Success;
                prodAtSync = smmu.Hardware.ReadRegister((uint)SmmuRegister.EVENTQ_PROD);
            }
        }
        finally
        {
            driverLock.Release();
        }

        bool faulted = fault is not null && fault.Wait(Poll.Patience) && fault.Result == DmaStatus.TranslationFault;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(handlerBlocked, Is.True, "the fault's event reached the handler, which waits for the lock");
            Assert.That(synced, Is.True, "the CMD_SYNC completed while the handler waited");
            Assert.That(prodAtSync, Is.Not.EqualTo(prodBefore), "the fault's record was in the event queue when the sync completed");
            Assert.That(faulted, Is.True, "the DMA ended with its translation fault once the lock was free");
        }
    }

    private static ServiceProvider Provider(ExecutionMode mode, TimeSpan? timeout = null) =>
        new ServiceCollection()
            .AddIommufd(b => b
                .AddArmSmmuV3("smmu0", o =>
                {
                    o.Features = new SmmuV3Features { SidBits = 8 };
                    o.ExecutionMode = mode;
                    o.HostQueueLog2Size = 7;
                    o.SyncTimeout = timeout ?? TimeSpan.FromMilliseconds(30);
                    o.InvalidationAttempts = 2;
                })
                .AddDevice("a", "smmu0", 0x10))
            .BuildServiceProvider();

    private static (IommufdHost Host, SmmuV3Host Smmu) Resolve(ServiceProvider provider)
    {
        var host = provider.GetRequiredService<IommufdHost>();
        return (host, (SmmuV3Host)host.Platform.Iommus.Single());
    }

    /// <summary>CMDQEN off: the SMMU stops consuming its command queue (translation goes on).</summary>
    private static uint Stall(SmmuV3Host smmu)
    {
        uint cr0 = (uint)smmu.Hardware.ReadRegister((uint)SmmuRegister.CR0);
        smmu.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~SmmuV3.Cr0CmdqEn);
        return cr0;
    }

    /// <summary>A VMM with device "a" attached to an IOAS (auto S2 domain), one page of its memory mapped at <see cref="Iova"/>.</summary>
    private sealed class Vm : IDisposable
    {
        public Vm(IommufdHost host, bool map = true)
        {
            var process = host.CreateProcess();
            Region = process.Map(Page);
            File = host.Open(process);
            Device = host.Platform.GetDevice("a");
            Assert.That(File.BindDevice(Device, out uint devId), Is.EqualTo(Errno.Success));
            Assert.That(File.IoasAlloc(out Ioas), Is.EqualTo(Errno.Success));
            uint pt = Ioas;
            Assert.That(File.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
            if (map)
            {
                ulong iova = Iova;
                Assert.That(File.IoasMap(Ioas, Region.Address, Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
            }
        }

        public readonly uint Ioas;

        public IommufdFile File { get; }

        public EndpointDevice Device { get; }

        public UserRegion Region { get; }

        public DmaStatus Read()
        {
            Span<byte> b = stackalloc byte[8];
            return Device.DmaRead(Iova, b);
        }

        public void Dispose() => File.Dispose();
    }
}
