using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Tests.ArmSmmuV3.Isolation;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// The host driver's rules for nesting and paging domains, as arm-smmu-v3.c has them: only stage-1 events of a
/// device with a vIOMMU reach the guest (arm_smmu_handle_event()), NEST_PARENT needs both stages and a stage-1-only
/// SMMU gets stage-1 paging domains (arm_smmu_domain_alloc_paging_flags()), and an unmap invalidates its range
/// (arm_smmu_tlb_inv_range_domain()) and issues its ATC invalidations outside the lock that finds the devices
/// (arm_smmu_atc_inv_domain()).
/// </summary>
[TestFixture]
public class HostDomainRulesTests
{
    private const ulong Page = 4096;

    [Test]
    public void A_stage_2_fault_of_a_vIOMMU_device_is_kept_by_the_host_and_a_stage_1_fault_is_relayed_without_an_IPA()
    {
        using var provider = Provider(new SmmuV3Features());
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 0x42, asid: 3);
        Assert.That(guest.File.VeventqAlloc(guest.ViommuId, IommuVeventqType.ArmSmmuV3, 8, out _, out int fd), Is.EqualTo(Errno.Success));
        guest.Table.Map(0x7000_0000, 0x8000_0000, Page, IommuProtection.Read); // an IPA outside the guest's RAM
        var seen = new List<SmmuEvent>();
        smmu.EventReceived += seen.Add;

        var s2 = guest.Device.DmaRead(0x7000_0000, new byte[4]);
        var afterS2 = ReadAll(guest.File, fd);
        var s1 = guest.Device.DmaRead(0x7100_0000, new byte[4]);
        var afterS1 = ReadAll(guest.File, fd);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(s2, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(seen[0].Stage2, Is.True, "the host read an S2 F_TRANSLATION");
            Assert.That(afterS2, Is.Empty, "never relayed");
            Assert.That(smmu.Stage2FaultsKept, Is.EqualTo(1));
            Assert.That(s1, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(afterS1.Select(e => (e.Id, e.StreamId, e.Stage2, e.Word3)), Is.EqualTo(new[] { (SmmuEventId.F_TRANSLATION, 0x42u, false, 0UL) }));
        }
    }

    [Test]
    public void A_nested_STE_is_the_parents_S2_STE_with_the_guests_stage_1_words_and_MEV()
    {
        using var provider = Provider(new SmmuV3Features());
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: 3);

        var ste = smmu.ReadSte(0x10);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ste.Config, Is.EqualTo(StreamTableEntry.ConfigNested));
            Assert.That((ste.Word1 >> 44) & 3, Is.EqualTo(1UL), "SHCFG = incoming, from the S2 STE (arm_smmu_make_nested_cd_table_ste)");
            Assert.That(ste.Mev, Is.True);
            Assert.That(ste.S2Aa64 && ste.S2R, Is.True, "the parent's stage-2 words");
        }
    }

    [TestCase(false, true, TestName = "NEST_PARENT on a stage-1-only SMMU is EOPNOTSUPP")]
    [TestCase(true, false, TestName = "NEST_PARENT on a stage-2-only SMMU is EOPNOTSUPP")]
    public void NEST_PARENT_needs_both_stages(bool stage2, bool stage1)
    {
        using var provider = Provider(new SmmuV3Features { Stage1 = stage1, Stage2 = stage2 });
        using var vm = new Vm(provider);

        var rc = vm.File.HwptAlloc(vm.DevId, vm.IoasId, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void A_stage_1_only_SMMU_gives_the_host_stage_1_paging_domains_that_translate_and_unmap()
    {
        using var provider = Provider(new SmmuV3Features { Stage2 = false });
        using var vm = new Vm(provider);
        vm.MapAndAttach(0x10_0000, 2);

        var ste = vm.Smmu.ReadSte(0x10);
        var before = vm.Device.DmaWrite(0x10_0000, [1, 2, 3, 4]);
        ulong length = Page;
        var unmap = vm.File.IoasUnmap(vm.IoasId, 0x10_0000, ref length);
        var after = vm.Device.DmaWrite(0x10_0000, [1, 2, 3, 4]);
        var other = vm.Device.DmaWrite(0x10_1000, [1, 2, 3, 4]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ste.Config, Is.EqualTo(StreamTableEntry.ConfigS1Translate));
            Assert.That(before, Is.EqualTo(DmaStatus.Ok));
            Assert.That(unmap, Is.EqualTo(Errno.Success));
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault), "TLBI_NH_VA dropped the cached page");
            Assert.That(other, Is.EqualTo(DmaStatus.Ok));
        }
    }

    [Test]
    public void A_plain_paging_domain_on_an_SMMU_with_both_stages_is_stage_2_where_Linux_prefers_stage_1()
    {
        using var provider = Provider(new SmmuV3Features());
        using var vm = new Vm(provider);
        vm.MapAndAttach(0x10_0000, 1);

        Assert.That(vm.Smmu.ReadSte(0x10).Config, Is.EqualTo(StreamTableEntry.ConfigS2Translate), "README: differs from upstream");
    }

    [Test]
    public void The_host_stream_table_has_two_levels_with_level_2_arrays_made_on_probe()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("a", "smmu0", streamId: 0x1234))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        ulong cfg = smmu.Hardware.ReadRegister((uint)SmmuRegister.STRTAB_BASE_CFG);
        ulong l1Base = smmu.Hardware.ReadRegister((uint)SmmuRegister.STRTAB_BASE, 8) & 0x000F_FFFF_FFFF_FFC0;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((cfg >> 16) & 3, Is.EqualTo(1UL), "FMT = 2-level");
            Assert.That((cfg >> 6) & 0x1F, Is.EqualTo(8UL), "SPLIT = STRTAB_SPLIT");
            Assert.That(cfg & 0x3F, Is.EqualTo(16UL), "LOG2SIZE = IDR1.SIDSIZE");
            Assert.That(smmu.Memory.TryReadUInt64(l1Base + (0x12 * 8), out ulong l1) && (l1 & 0x1F) == 9, Is.True, "Span = SPLIT + 1 for the probed device");
            Assert.That(smmu.Memory.TryReadUInt64(l1Base + (0x13 * 8), out ulong other) && other == 0, Is.True, "no array for StreamIDs without devices");
            Assert.That(smmu.ReadSte(0x1234), Is.EqualTo(new StreamTableEntry(1, 0, 0, 0)), "an aborting STE until attached");
            Assert.That(host.Platform.GetDevice("a").DmaRead(0, new byte[4]), Is.EqualTo(DmaStatus.Blocked));
        }
    }

    [TestCase(true, TestName = "Unmap with range invalidation drops only the range")]
    [TestCase(false, TestName = "Unmap without range invalidation drops only the range, page by page")]
    public void An_S2_unmap_invalidates_the_unmapped_range_not_the_whole_VMID(bool ril)
    {
        using var provider = Provider(new SmmuV3Features { RangeInvalidation = ril });
        using var vm = new Vm(provider);
        vm.MapAndAttach(0x10_0000, 8);
        for (ulong i = 0; i < 8; i++)
        {
            Assert.That(vm.Device.DmaRead(0x10_0000 + (i * Page), new byte[4]), Is.EqualTo(DmaStatus.Ok));
        }

        ulong length = 3 * Page;
        var rc = vm.File.IoasUnmap(vm.IoasId, 0x10_2000, ref length);
        var cached = SmmuV3Diagnostics.For(vm.Smmu).IotlbEntries().Select(e => e.InputBase).Order().ToArray();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(cached, Is.EqualTo(new ulong[] { 0x10_0000, 0x10_1000, 0x10_5000, 0x10_6000, 0x10_7000 }));
        }
    }

    [Test]
    public void An_unmap_beyond_512_pages_without_range_invalidation_drops_the_whole_VMID()
    {
        using var provider = Provider(new SmmuV3Features { RangeInvalidation = false });
        using var vm = new Vm(provider);
        vm.Map(0x100_0000, 513);
        vm.Map(0x200_0000, 1);
        vm.Attach();
        Assert.That(vm.Device.DmaRead(0x200_0000, new byte[4]), Is.EqualTo(DmaStatus.Ok), "an entry outside the range");

        ulong length = 513 * Page;
        var rc = vm.File.IoasUnmap(vm.IoasId, 0x100_0000, ref length);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(SmmuV3Diagnostics.For(vm.Smmu).IotlbEntries(), Is.Empty, "TLBI_S12_VMALL instead of 513 TLBI_S2_IPA (arm_smmu_inv_size_too_big)");
        }
    }

    [Test]
    public void A_nest_parent_unmap_also_drops_the_guest_entries_built_on_the_range()
    {
        using var provider = Provider(new SmmuV3Features());
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 1, asid: 3);
        ulong ipa = guest.Ram.Allocate(Page, Page);
        guest.Table.Map(0x9000_0000, ipa, Page, IommuProtection.Read);
        Assert.That(guest.Device.DmaRead(0x9000_0000, new byte[4]), Is.EqualTo(DmaStatus.Ok));
        Assert.That(SmmuV3Diagnostics.For(smmu).IotlbEntries().Any(e => e.Stage == TlbStage.Nested), Is.True);

        ulong length = ulong.MaxValue;
        var rc = guest.File.IoasUnmap(guest.IoasId, 0, ref length); // the guest's RAM: one mapping

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(SmmuV3Diagnostics.For(smmu).IotlbEntries().Any(e => e.Stage == TlbStage.Nested), Is.False, "TLBI_NH_ALL of the parent's VMID");
            Assert.That(guest.Device.DmaRead(0x9000_0000, new byte[4]), Is.EqualTo(DmaStatus.TranslationFault));
        }
    }

    [Test]
    public void A_host_pasid_attach_is_EOPNOTSUPP_as_for_a_driver_without_set_dev_pasid()
    {
        // Not modelled (README): the host driver has no set_dev_pasid (arm-smmu-v3.c arm_smmu_s1_set_dev_pasid()), so
        // iommu.c iommu_attach_device_pasid() answers EOPNOTSUPP for a PASID-compatible HWPT; PASIDs reach a device
        // through a nested domain's guest CD table only.
        using var provider = Provider(new SmmuV3Features());
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(host.CreateProcess());
        Assert.That(file.BindDevice(host.Platform.GetDevice("a"), out uint devId), Is.EqualTo(Errno.Success));
        Assert.That(file.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
        Assert.That(file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.AllocPasid, IommuHwptDataType.None, default, 0, out uint hwpt), Is.EqualTo(Errno.Success));
        uint pt = hwpt;
        Assert.That(file.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));

        Assert.That(file.AttachDevicePasid(devId, 1, ref pt), Is.EqualTo(Errno.EOPNOTSUPP));
    }

    private static ServiceProvider Provider(SmmuV3Features features) => new ServiceCollection()
        .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.Features = features).AddDevice("a", "smmu0", streamId: 0x10))
        .BuildServiceProvider();

    private static List<SmmuEvent> ReadAll(IommufdFile file, int fd)
    {
        var events = new List<SmmuEvent>();
        var buffer = new byte[8 + SmmuEvent.Size];
        while (file.Read(fd, buffer, out int count) == Errno.Success && count == buffer.Length)
        {
            events.Add(SmmuEvent.Read(buffer.AsSpan(8)));
        }

        return events;
    }

    [Test]
    public void An_unmaps_ATC_invalidations_wait_outside_the_masters_lock_so_event_relay_goes_on_meanwhile()
    {
        // arm-smmu-v3.c arm_smmu_atc_inv_domain() walks the domain's masters under its lock only to build the batch.
        // 512 pages without range invalidation are 512 TLBI_S2_IPA; with two ATC_INVs the buffer is full and is
        // issued before the third device's: a wait on a queue that consumes nothing, with the lock let go first.
        using var provider = new ServiceCollection()
            .AddIommufd(b => b
                .AddArmSmmuV3("smmu0", o => { o.Features = new SmmuV3Features { RangeInvalidation = false }; o.SyncTimeout = 3 * Poll.Patience; })
                .AddDevice("a", "smmu0", 0x10, atsCapable: true).AddDevice("b", "smmu0", 0x11, atsCapable: true)
                .AddDevice("c", "smmu0", 0x12, atsCapable: true).AddDevice("d", "smmu0", 0x13))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        var process = host.CreateProcess();
        using var file = host.Open(process);
        Assert.That(file.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
        Assert.That(file.IoasAlloc(out uint empty), Is.EqualTo(Errno.Success));
        var region = process.Map(512 * (long)Page);
        ulong iova = 0x100_0000;
        Assert.That(file.IoasMap(ioas, region.Address, 512 * Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref iova), Is.EqualTo(Errno.Success));
        uint hwpt = 0;
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            Assert.That(file.BindDevice(host.Platform.GetDevice(name), out uint dev), Is.EqualTo(Errno.Success));
            if (hwpt == 0 || name == "d")
            {
                Assert.That(file.HwptAlloc(dev, name == "d" ? empty : ioas, 0, IommuHwptDataType.None, default, 0, out hwpt), Is.EqualTo(Errno.Success));
            }

            uint pt = hwpt;
            Assert.That(file.AttachDevice(dev, ref pt), Is.EqualTo(Errno.Success), name);
        }

        // The probe is a DMA that faults: its event is relayed after its transaction has completed, so a probe stuck on
        // the lock does not hold up the unmap's CMD_SYNC, which waits only for transactions in flight (spec §3.21).
        // With the lock held across the wait the probe blocks until the queue runs again, which the finally below
        // does, so the test fails after one bounded wait.
        // The sync timeout only bounds a queue that never resumes: it is longer than the two waits with CMDQEN off.
        uint cr0 = (uint)smmu.Hardware.ReadRegister((uint)SmmuRegister.CR0);
        ulong prod = smmu.Hardware.ReadRegister((uint)SmmuRegister.CMDQ_PROD);
        smmu.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~8u); // CMDQEN off: nothing is consumed
        Task<Errno> unmap;
        Task<DmaStatus>? fault = null;
        bool issued, relayed = false;
        try
        {
            unmap = Task.Run(() =>
            {
                ulong length = 512 * Page;
                return file.IoasUnmap(ioas, 0x100_0000, ref length);
            });
            issued = Poll.Until(() => smmu.Hardware.ReadRegister((uint)SmmuRegister.CMDQ_PROD) != prod);
            if (issued)
            {
                fault = Task.Run(() => smmu.Hardware.Dma(0x13, 0x100_0000, new byte[4], DmaDirection.Read)); // its event is relayed under the lock
                relayed = fault.Wait(Poll.Patience);
            }
        }
        finally
        {
            smmu.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0); // the stalled batch runs and the unmap completes
        }

        bool unmapped = unmap.Wait(Poll.Patience) && unmap.Result == Errno.Success;
        bool faulted = fault is not null && fault.Wait(Poll.Patience) && fault.Result == DmaStatus.TranslationFault;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(issued, Is.True, "the unmap issued its full buffer");
            Assert.That(relayed, Is.True, "a fault's relay took the masters lock while the unmap waited");
            Assert.That(faulted, Is.True, "the probe faulted");
            Assert.That(unmapped, Is.True, "the unmap completed once the queue ran");
        }
    }

    /// <summary>A VMM process with a bound device and an IOAS.</summary>
    private sealed class Vm : IDisposable
    {
        public Vm(ServiceProvider provider)
        {
            var host = provider.GetRequiredService<IommufdHost>();
            Smmu = (SmmuV3Host)host.Platform.Iommus.Single();
            Device = host.Platform.GetDevice("a");
            Process = host.CreateProcess();
            File = host.Open(Process);
            Assert.That(File.BindDevice(Device, out DevId), Is.EqualTo(Errno.Success));
            Assert.That(File.IoasAlloc(out IoasId), Is.EqualTo(Errno.Success));
        }

        public SmmuV3Host Smmu { get; }

        public EndpointDevice Device { get; }

        public global::Iommufd.Core.Memory.UserMemory Process { get; }

        public IommufdFile File { get; }

        public uint DevId;

        public uint IoasId;

        /// <summary>
        /// Maps <paramref name="pages"/> pages of fresh memory at <paramref name="iova"/>, one mapping per page (an
        /// unmap cannot split a mapping: iopt_unmap_iova()), then attaches a paging HWPT.
        /// </summary>
        public void MapAndAttach(ulong iova, int pages)
        {
            for (int i = 0; i < pages; i++)
            {
                Map(iova + ((ulong)i * Page), 1);
            }

            Attach();
        }

        /// <summary>One mapping of <paramref name="pages"/> pages of fresh memory at <paramref name="iova"/>.</summary>
        public void Map(ulong iova, int pages)
        {
            var region = Process.Map((long)pages * (long)Page);
            Assert.That(File.IoasMap(IoasId, region.Address, (ulong)pages * Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
        }

        public void Attach()
        {
            Assert.That(File.HwptAlloc(DevId, IoasId, 0, IommuHwptDataType.None, default, 0, out uint hwpt), Is.EqualTo(Errno.Success));
            uint pt = hwpt;
            Assert.That(File.AttachDevice(DevId, ref pt), Is.EqualTo(Errno.Success));
        }

        public void Dispose() => File.Dispose();
    }
}
