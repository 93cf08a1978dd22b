using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// What a guest sees of its direct VCMDQ, whatever backs it: the same command streams give the same IOTLB and ATC
/// effects, the same CONS / CONS.ERR / GERROR through the mmapped VINTF page, and the same vEVENTs. Instantiated
/// for the hardware VCMDQ and for the software VCMDQ, each reached through the mapping's callback
/// (<see cref="HardwareVcmdqContractTests"/>, <see cref="SoftwareVcmdqContractTests"/>) and through a real page that
/// the CMDQV model polls, as the native library's mmap gives (<see cref="PolledPageVcmdqContractTests"/>).
/// </summary>
public abstract class VcmdqContractTests
{
    private const ulong Va = 0x10_0000;
    private const ushort Asid = 3;
    private const uint Vsid = 5;

    /// <summary>The backend under test.</summary>
    protected abstract VcmdqBackend Backend { get; }

    /// <summary>Whether the guest's VINTF page is a real, polled page (<see cref="PolledPage"/>) instead of the mapping's callback.</summary>
    protected virtual bool PolledPage => false;

    private static SmmuCommand Sync => SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE);

    /// <summary>Every opcode byte a guest-owned VCMDQ must refuse: all of the SMMU's but the four allowed, and a few undefined ones.</summary>
    private static IEnumerable<TestCaseData> ForbiddenOpcodes =>
        Enum.GetValues<SmmuOpcode>().Where(o => !HostFixup.GuestMayIssue(o)).Select(o => (byte)o).Concat(new byte[] { 0x00, 0x08, 0x80, 0xFF })
            .Select(b => new TestCaseData(b).SetArgDisplayNames(Enum.IsDefined((SmmuOpcode)b) ? ((SmmuOpcode)b).ToString() : $"0x{b:X2}"));

    /// <summary>Opcodes the host runs for the guest when fix-up is on (the trap path's list beyond the VCMDQ's).</summary>
    private static IEnumerable<SmmuOpcode> FixableOpcodes =>
        [SmmuOpcode.TLBI_NH_ALL, SmmuOpcode.TLBI_NSNH_ALL, SmmuOpcode.TLBI_NH_VAA, SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL];

    private static IEnumerable<SmmuOpcode> UnfixableOpcodes =>
        Enum.GetValues<SmmuOpcode>().Where(o => !HostFixup.GuestMayIssue(o) && !FixableOpcodes.Contains(o));

    /// <summary>Encodings the SMMU itself refuses (Arm IHI 0070 §4.1, §4.4.1.1).</summary>
    private static IEnumerable<TestCaseData> IllegalEncodings
    {
        get
        {
            yield return new TestCaseData(TlbiVa(0, Asid, Va, ttl: 1, tg: 0)).SetArgDisplayNames("TG_0_with_TTL_1");
            yield return new TestCaseData(TlbiVa(0, Asid, Va, ttl: 0, tg: 1)).SetArgDisplayNames("TG_4K_with_NUM_SCALE_TTL_0");
            yield return new TestCaseData(TlbiVa(0, Asid, Va, ttl: 1, tg: 2)).SetArgDisplayNames("TG_16K_with_TTL_1_without_DS");
            yield return new TestCaseData(TlbiVa(0, Asid, Va, ttl: 0, tg: 0, scale: 1)).SetArgDisplayNames("TG_0_with_SCALE_1");
            yield return new TestCaseData(new SmmuCommand(TlbiVa(0, Asid, Va).Word0 | (1UL << 10), TlbiVa(0, Asid, Va).Word1)).SetArgDisplayNames("SSec_set");
            yield return new TestCaseData(new SmmuCommand(TlbiVa(0, Asid, Va).Word0 | (1UL << 8), TlbiVa(0, Asid, Va).Word1)).SetArgDisplayNames("reserved_bit_8_set");
            yield return new TestCaseData(new SmmuCommand((byte)SmmuOpcode.CMD_SYNC | (3UL << 12), 0)).SetArgDisplayNames("CMD_SYNC_with_CS_3");
            yield return new TestCaseData(SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: 0, size: 53)).SetArgDisplayNames("ATC_INV_with_Size_53");
        }
    }

    [Test]
    public void TLBI_NH_VA_and_CMD_SYNC_are_consumed_and_remove_exactly_that_page_from_the_IOTLB()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 4);
        var q = vm.AllocQueue(0);
        Assert.That(vm.Iotlb, Has.Count.EqualTo(4), "the four pages are cached");

        q.Submit(TlbiVa(0, Asid, Va + 0x1000), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.ConsRegister, Is.EqualTo(2u), "CONS passed both entries, ERR clear");
            Assert.That(q.ErrorActive, Is.False);
            Assert.That(vm.Cached(Va + 0x1000), Is.False, "the page named was invalidated");
            Assert.That(vm.Iotlb.Select(e => e.InputBase), Is.EqualTo(new[] { Va, Va + 0x2000, Va + 0x3000 }), "the others stay");
        });
    }

    [Test]
    public void After_the_guest_unmaps_a_page_DMA_faults_once_both_its_IOTLB_and_ATC_entries_were_invalidated()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);
        Assert.That(vm.AtcCount, Is.EqualTo(2), "the device cached both pages");

        vm.Table.Unmap(Va, 0x1000);
        q.Submit(TlbiVa(0, Asid, Va), Sync);
        var afterTlbi = vm.Dma(Va);
        q.Submit(SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: Va, size: 0), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(afterTlbi, Is.EqualTo(DmaStatus.Ok), "the device still used its ATC");
            Assert.That(vm.Dma(Va), Is.EqualTo(DmaStatus.TranslationFault), "with the ATC entry gone the walk faults");
            Assert.That(vm.Dma(Va + 0x1000), Is.EqualTo(DmaStatus.Ok), "the page still mapped still works");
            Assert.That(vm.AtcCount, Is.EqualTo(1));
            Assert.That(q.ConsRegister, Is.EqualTo(4u));
        });
    }

    [Test]
    public void TLBI_NH_ASID_removes_the_entries_of_that_ASID_only()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 3);
        var q = vm.AllocQueue(0);

        q.Submit(SmmuCommandBuilder.TlbiNhAsid(0, Asid + 1), Sync);
        int afterOtherAsid = vm.Iotlb.Count;
        q.Submit(SmmuCommandBuilder.TlbiNhAsid(0, Asid), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(afterOtherAsid, Is.EqualTo(3), "another ASID removes nothing");
            Assert.That(vm.Iotlb, Is.Empty);
            Assert.That(q.ConsRegister, Is.EqualTo(4u));
        });
    }

    [TestCase(SmmuOpcode.TLBI_NH_ASID)]
    [TestCase(SmmuOpcode.TLBI_NH_VA)]
    public void A_guest_TLBI_naming_another_VMs_VMID_acts_on_its_own_VMID_only(SmmuOpcode opcode)
    {
        using var rig = NewRig();
        using var a = new CmdqvGuest(rig, "a", Vsid, Asid);
        using var b = new CmdqvGuest(rig, "b", Vsid, Asid); // same vSID and ASID: only the VMID tells them apart
        a.MapAndTouch(Va, 2);
        b.MapAndTouch(Va, 2);
        var q = a.AllocQueue(0);
        var bBefore = b.Iotlb;
        Assert.That(a.Vmid, Is.Not.EqualTo(b.Vmid));

        var command = opcode == SmmuOpcode.TLBI_NH_ASID ? SmmuCommandBuilder.TlbiNhAsid(b.Vmid, Asid) : TlbiVa(b.Vmid, Asid, Va);
        q.Submit(command, Sync);

        Assert.Multiple(() =>
        {
            Assert.That(b.Iotlb, Is.EqualTo(bBefore), "the other VM's entries are untouched");
            Assert.That(a.Cached(Va), Is.False, "the command hit the sender's own VMID");
            Assert.That(q.ConsRegister, Is.EqualTo(2u));
        });
    }

    [Test]
    public void ATC_INV_reaches_the_device_its_vSID_is_paired_with_even_when_the_vSID_is_another_devices_pSID()
    {
        using var rig = NewRig();
        using var a = new CmdqvGuest(rig, "a", vsid: CmdqvRig.SidB, Asid); // A's vSID is B's physical SID
        using var b = new CmdqvGuest(rig, "b", vsid: CmdqvRig.SidA, Asid); // and the other way round
        a.MapAndTouch(Va, 2);
        b.MapAndTouch(Va, 2);
        var q = a.AllocQueue(0);

        q.Submit(SmmuCommandBuilder.AtcInv(CmdqvRig.SidB, 0, ssv: false, global: false, address: 0, size: 52), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(a.AtcCount, Is.Zero, "A's device (pSID 0x10) was invalidated");
            Assert.That(b.AtcCount, Is.EqualTo(2), "B's device (pSID 0x11) was not");
            Assert.That(q.ConsRegister, Is.EqualTo(2u));
        });
    }

    [TestCase(Vsid + 1, TestName = "{m}(a vSID of no vDEVICE)")]
    [TestCase(CmdqvRig.SidA, TestName = "{m}(the device's own pSID)")]
    public void ATC_INV_naming_a_SID_without_a_SID_pair_stops_with_CERROR_ILL_at_that_entry(uint sid)
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);

        q.Submit(TlbiVa(0, Asid, Va), SmmuCommandBuilder.AtcInv(sid, 0, ssv: false, global: false, address: 0, size: 52), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.Cons, Is.EqualTo(1u), "CONS stays on the ATC_INV");
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(q.ErrorActive, Is.True);
            Assert.That(vm.Cached(Va), Is.False, "the TLBI before it took effect");
            Assert.That(vm.AtcCount, Is.EqualTo(2), "the ATC was not touched");
        });
    }

    [TestCaseSource(nameof(ForbiddenOpcodes))]
    public void An_opcode_outside_the_allow_list_with_fixup_off_is_CERROR_ILL_at_exactly_that_entry(byte opcode)
    {
        using var rig = NewRig(fixup: false);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);

        q.Submit(TlbiVa(0, Asid, Va), Sync, new SmmuCommand(opcode, 0), TlbiVa(0, Asid, Va + 0x1000), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.Cons, Is.EqualTo(2u), "CONS is on the forbidden entry");
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(q.ErrorActive, Is.True, "GERROR.CMDQ_ERR toggled");
            Assert.That(vm.Cached(Va), Is.False, "the commands before it took effect");
            Assert.That(vm.Cached(Va + 0x1000), Is.True, "nothing after it was consumed");
            Assert.That(rig.Implementation.Fixups, Is.Zero);
        });
    }

    [TestCase(SmmuOpcode.TLBI_NH_ASID)]
    [TestCase(SmmuOpcode.TLBI_NH_VA)]
    [TestCase(SmmuOpcode.ATC_INV)]
    [TestCase(SmmuOpcode.CMD_SYNC)]
    public void The_allowed_opcodes_are_consumed_with_fixup_off(SmmuOpcode opcode)
    {
        using var rig = NewRig(fixup: false);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 1);
        var q = vm.AllocQueue(0);
        var command = opcode switch
        {
            SmmuOpcode.TLBI_NH_ASID => SmmuCommandBuilder.TlbiNhAsid(0, Asid),
            SmmuOpcode.TLBI_NH_VA => TlbiVa(0, Asid, Va),
            SmmuOpcode.ATC_INV => SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: 0, size: 52),
            _ => Sync,
        };

        q.Submit(command, Sync);

        bool tookEffect = opcode switch
        {
            SmmuOpcode.ATC_INV => vm.AtcCount == 0,
            SmmuOpcode.CMD_SYNC => true, // its effect is CONS passing it
            _ => !vm.Cached(Va),
        };
        Assert.Multiple(() =>
        {
            Assert.That(q.ConsRegister, Is.EqualTo(2u));
            Assert.That(q.ErrorActive, Is.False);
            Assert.That(tookEffect, Is.True, "the command took effect");
        });
    }

    [TestCaseSource(nameof(IllegalEncodings))]
    public void An_encoding_the_SMMU_refuses_is_CERROR_ILL_at_that_entry(SmmuCommand command)
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);

        q.Submit(TlbiVa(0, Asid, Va), command, Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.Cons, Is.EqualTo(1u), "CONS is on the refused entry, not on the CMD_SYNC after it");
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(vm.Cached(Va), Is.False, "the entry before it took effect");
        });
    }

    [TestCase(SmmuCommand.CS_SIG_IRQ)]
    [TestCase(SmmuCommand.CS_SIG_SEV)]
    public void A_guest_CMD_SYNC_completes_without_writing_to_the_MSI_address_it_names(byte cs)
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        using var other = new CmdqvGuest(rig, "b", Vsid, Asid);
        var q = vm.AllocQueue(0);
        ulong target = other.Ram.Region.PhysicalAddressAt(0x2000); // a host physical address in the other VM's RAM

        q.Submit(SmmuCommandBuilder.CmdSync(cs, target, 0xDEAD_BEEF, SmmuCommand.MSH_ISH, SmmuCommand.MSIATTR_OIWB));

        Assert.Multiple(() =>
        {
            Assert.That(q.ConsRegister, Is.EqualTo(1u), "the CMD_SYNC completed");
            Assert.That(BitConverter.ToUInt32(other.Ram.Region.Span.Slice(0x2000, 4)), Is.Zero, "nothing was written there");
        });
    }

    [Test]
    public void After_the_guest_replaces_the_failing_entry_and_toggles_GERRORN_the_queue_resumes_from_CONS()
    {
        using var rig = NewRig(fixup: false);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);
        q.Submit(SmmuCommandBuilder.TlbiNhAll(0), TlbiVa(0, Asid, Va), Sync);
        Assert.That(q.ConsRegister, Is.EqualTo((uint)CommandError.CERROR_ILL << 24), "stopped on entry 0 with ERR = CERROR_ILL");

        q.Submit(TlbiVa(0, Asid, Va + 0x1000), Sync); // PROD rung again while the error is active
        bool consumedWhileActive = q.Cons != 0 || !vm.Cached(Va);
        uint gerror = q.Gerror;
        q.ReplaceAtCons(Sync);
        q.Acknowledge(); // no PROD write: the VCMDQ fetches again from CONS

        Assert.Multiple(() =>
        {
            Assert.That(consumedWhileActive, Is.False, "nothing is consumed while the error is active");
            Assert.That(q.ConsRegister, Is.EqualTo(5u), "every entry consumed and CONS.ERR cleared");
            Assert.That(q.ErrorActive, Is.False);
            Assert.That(q.Gerrorn, Is.EqualTo(gerror));
            Assert.That(vm.Iotlb, Is.Empty, "the entries after the replaced one took effect");
        });
    }

    [Test]
    public void An_ATC_INV_the_device_does_not_answer_is_CERROR_ATC_INV_SYNC_on_the_following_CMD_SYNC()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 2);
        var q = vm.AllocQueue(0);
        vm.Device.AtsInvalidationsTimeOut = true;

        q.Submit(TlbiVa(0, Asid, Va), SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: 0, size: 52), Sync, TlbiVa(0, Asid, Va + 0x1000), Sync);
        var (cons, error, active, atc, cached) = (q.Cons, q.Error, q.ErrorActive, vm.AtcCount, vm.Cached(Va + 0x1000));
        vm.Device.AtsInvalidationsTimeOut = false;
        q.Acknowledge(); // the CMD_SYNC runs again and completes

        Assert.Multiple(() =>
        {
            Assert.That(cons, Is.EqualTo(2u), "CONS stays on the CMD_SYNC, not on the ATC_INV");
            Assert.That(error, Is.EqualTo(CommandError.CERROR_ATC_INV_SYNC));
            Assert.That(active, Is.True);
            Assert.That(atc, Is.EqualTo(2), "the device did not invalidate");
            Assert.That(cached, Is.True, "nothing after the CMD_SYNC was consumed");
            Assert.That(q.ConsRegister, Is.EqualTo(5u), "after the acknowledge the sync completes and the rest runs");
            Assert.That(vm.Cached(Va + 0x1000), Is.False);
        });
    }

    [Test]
    public void A_queue_the_guest_has_not_enabled_consumes_nothing_until_it_is_enabled()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 1);
        var q = vm.AllocQueue(0);
        vm.Registers.Write(CmdqvRegister.VCMDQ_CONFIG, 4, 0);

        q.Submit(TlbiVa(0, Asid, Va), Sync);
        var (consWhileDisabled, status, cached) = (q.ConsRegister, (uint)vm.Registers.Read(CmdqvRegister.VCMDQ_STATUS, 4), vm.Cached(Va));
        q.Enable();

        Assert.Multiple(() =>
        {
            Assert.That(consWhileDisabled, Is.Zero);
            Assert.That(status, Is.Zero, "STATUS.ENABLED follows CONFIG.EN");
            Assert.That(cached, Is.True);
            Assert.That(q.ConsRegister, Is.EqualTo(2u), "enabling consumes what PROD already named");
            Assert.That(vm.Cached(Va), Is.False);
        });
    }

    [Test]
    public void The_queue_wraps_over_several_laps_with_CONS_following_PROD()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 3);
        var q = vm.AllocQueue(0, log2Entries: 3); // 8 entries; batches of 3 straddle the wrap

        var observed = new List<(uint Cons, uint Expected, bool Invalidated)>();
        for (int batch = 0; batch < 16; batch++) // 48 entries: six laps
        {
            vm.Touch(Va, 3);
            ulong page = Va + ((ulong)(batch % 3) * 0x1000);
            q.Submit(TlbiVa(0, Asid, page), SmmuCommandBuilder.TlbiNhAsid(0, Asid + 1), Sync);
            observed.Add((q.ConsRegister, q.After(q.Written), !vm.Cached(page)));
        }

        Assert.Multiple(() =>
        {
            Assert.That(observed.Select(o => o.Cons), Is.EqualTo(observed.Select(o => o.Expected)), "CONS (with its wrap bit) equals PROD after each batch");
            Assert.That(observed.Select(o => o.Cons & 8u).Distinct().Count(), Is.EqualTo(2), "the wrap bit toggled");
            Assert.That(observed.All(o => o.Invalidated), Is.True, "every batch's TLBI took effect");
            Assert.That(q.Written, Is.EqualTo(48));
        });
    }

    [TestCaseSource(nameof(FixableOpcodes))]
    public void With_fixup_on_a_trap_path_command_is_consumed_and_its_effect_is_visible_when_CONS_passes_the_next_CMD_SYNC(SmmuOpcode opcode)
    {
        using var rig = NewRig(fixup: true);
        using var a = new CmdqvGuest(rig, "a", Vsid, Asid);
        using var b = new CmdqvGuest(rig, "b", Vsid, Asid);
        a.MapAndTouch(Va, 2);
        b.MapAndTouch(Va, 2);
        var q = a.AllocQueue(0);
        var bBefore = b.Iotlb;
        Assert.That(rig.Hardware.ConfigCache.TryGetCd(CmdqvRig.SidA, 0, out _), Is.True, "A's CD is cached");
        var command = opcode switch
        {
            SmmuOpcode.TLBI_NH_ALL => SmmuCommandBuilder.TlbiNhAll(b.Vmid), // B's VMID: the host uses A's
            SmmuOpcode.TLBI_NSNH_ALL => SmmuCommandBuilder.TlbiNsnhAll(),
            SmmuOpcode.TLBI_NH_VAA => SmmuCommandBuilder.TlbiNhVaa(b.Vmid, Va, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0),
            SmmuOpcode.CFGI_CD => SmmuCommandBuilder.CfgiCd(Vsid, 0, leaf: true),
            _ => SmmuCommandBuilder.CfgiCdAll(Vsid),
        };

        using var fixups = new MetricCollector<long>(rig.Implementation.Metrics.Meter, "iommufd.cmdqv.fixups");
        q.Submit(TlbiVa(0, Asid, Va + 0x1000), command, Sync);

        bool isTlbi = opcode is not (SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL);
        Assert.Multiple(() =>
        {
            Assert.That(q.ConsRegister, Is.EqualTo(3u), "consumed as if the VCMDQ took it");
            Assert.That(q.ErrorActive, Is.False);
            Assert.That(rig.Implementation.Fixups, Is.EqualTo(1));
            Assert.That(fixups.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags["opcode"])), Is.EqualTo(new[] { (1L, (object?)opcode.ToString()) }), "iommufd.cmdqv.fixups, by opcode");
            Assert.That(isTlbi ? !a.Cached(Va) : !rig.Hardware.ConfigCache.TryGetCd(CmdqvRig.SidA, 0, out _), Is.True, "its effect happened");
            Assert.That(a.Cached(Va + 0x1000), Is.False, "the VCMDQ command before it took effect too");
            Assert.That(b.Iotlb, Is.EqualTo(bBefore), "with the sender's VMID and SIDs only");
        });
    }

    [TestCaseSource(nameof(UnfixableOpcodes))]
    public void With_fixup_on_an_opcode_the_trap_path_refuses_is_still_CERROR_ILL(SmmuOpcode opcode)
    {
        using var rig = NewRig(fixup: true);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, 1);
        var q = vm.AllocQueue(0);
        var command = opcode == SmmuOpcode.CFGI_STE ? SmmuCommandBuilder.CfgiSte(Vsid, leaf: true) : new SmmuCommand((byte)opcode, 0);

        q.Submit(Sync, command, Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.Cons, Is.EqualTo(1u));
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(rig.Implementation.Fixups, Is.Zero);
        });
    }

    [Test]
    public void With_fixup_on_a_CFGI_CD_naming_a_vSID_without_a_vDEVICE_is_CERROR_ILL()
    {
        using var rig = NewRig(fixup: true);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        var q = vm.AllocQueue(0);

        q.Submit(SmmuCommandBuilder.CfgiCd(Vsid + 1, 0, leaf: true), Sync);

        Assert.Multiple(() =>
        {
            Assert.That(q.Cons, Is.Zero);
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(rig.Implementation.Fixups, Is.Zero);
        });
    }

    [Test]
    public void A_queue_error_is_relayed_as_one_TEGRA241_CMDQV_vEVENT_with_the_logical_queue_bit()
    {
        using var rig = NewRig(fixup: false);
        using var other = new CmdqvGuest(rig, "b", Vsid, Asid); // takes VINTF 1: the guest below gets VINTF 2
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.AllocQueue(0);
        var q1 = vm.AllocQueue(1); // global VCMDQ 2 × 4 + 1 = 9, logical queue 1
        int global = (vm.VintfIndex * rig.Cmdqv.Features.LvcmdqsPerVintf) + 1;

        q1.Submit(SmmuCommandBuilder.CfgiSte(Vsid, leaf: true));
        var first = vm.ReadEvents();
        uint mapLow = rig.ReadVintf(vm.VintfIndex, CmdqvRegister.VINTF_LVCMDQ_ERR_MAP);
        uint vintfMap = (uint)rig.Cmdqv.ReadRegister(CmdqvRegister.VINTF_ERR_MAP);
        uint cmdqMap = (uint)rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ERR_MAP + ((uint)global / 32 * 4));
        q1.ReplaceAtCons(Sync);
        q1.Acknowledge();
        uint mapAfterAck = rig.ReadVintf(vm.VintfIndex, CmdqvRegister.VINTF_LVCMDQ_ERR_MAP);
        q1.Submit(SmmuCommandBuilder.TlbiNhAll(0));
        var second = vm.ReadEvents();

        Assert.Multiple(() =>
        {
            Assert.That(first, Has.Count.EqualTo(1));
            Assert.That(first[0].Map, Is.EqualTo(UInt128.One << 1), "bit 1: logical queue 1 of the VINTF, not its global index");
            Assert.That(first[0].Header.Flags, Is.Zero);
            Assert.That(mapLow, Is.EqualTo(2u), "LVCMDQ_ERR_MAP reads the same bit");
            Assert.That(vintfMap, Is.EqualTo(1u << vm.VintfIndex), "VINTF_ERR_MAP names the VINTF");
            Assert.That(cmdqMap, Is.EqualTo(1u << (global % 32)), "CMDQ_ERR_MAP names the global queue");
            Assert.That(mapAfterAck, Is.Zero, "acknowledging clears the bit");
            Assert.That(second, Has.Count.EqualTo(1), "a new error, a new record");
            Assert.That(second[0].Header.Sequence, Is.EqualTo(first[0].Header.Sequence + 1));
            Assert.That(other.ReadEvents(), Is.Empty, "the other VM hears nothing");
            Assert.That(rig.Implementation.ErrorsNotRelayed, Is.Zero);
        });
    }

    [Test]
    public void Without_a_vEVENTQ_a_queue_error_is_counted_as_not_relayed_and_the_guest_still_sees_it()
    {
        using var rig = NewRig(fixup: false);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid, veventq: false);
        var q = vm.AllocQueue(0);
        using var drops = new MetricCollector<long>(rig.Implementation.Metrics.Meter, "iommufd.cmdqv.errors_not_relayed");

        q.Submit(SmmuCommandBuilder.TlbiNhAll(0));

        Assert.Multiple(() =>
        {
            Assert.That(rig.Implementation.ErrorsNotRelayed, Is.EqualTo(1));
            Assert.That(drops.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags["smmu"])), Is.EqualTo(new[] { (1L, (object?)rig.Smmu.Name) }), "iommufd.cmdqv.errors_not_relayed, by SMMU");
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(q.ErrorActive, Is.True, "the host acknowledges nothing: the guest handles GERROR itself");
        });
    }

    [Test]
    public void An_ATC_INV_left_without_its_CMD_SYNC_in_a_destroyed_queue_does_not_time_out_the_next_queue_on_that_LVCMDQ()
    {
        using var rig = NewRig();
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        var q = vm.AllocQueue(0);
        vm.Device.AtsInvalidationsTimeOut = true;
        q.Submit(SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: 0, size: 52));
        Assert.That(vm.File.Destroy(q.HwQueueId), Is.EqualTo(Errno.Success));
        vm.Device.AtsInvalidationsTimeOut = false;

        var next = vm.AllocQueue(0);
        next.Submit(Sync);

        Assert.Multiple(() =>
        {
            Assert.That(next.ConsRegister, Is.EqualTo(1u), "the new queue's first CMD_SYNC completes");
            Assert.That(next.ErrorActive, Is.False);
        });
    }

    private static SmmuCommand TlbiVa(ushort vmid, ushort asid, ulong va, byte ttl = 0, byte tg = 0, byte scale = 0) =>
        SmmuCommandBuilder.TlbiNhVa(vmid, asid, va, leaf: true, ttl: ttl, tg: tg, num: 0, scale: scale);

    private CmdqvRig NewRig(bool fixup = true) => new(Backend, o => o.HostFixup = fixup) { PolledPages = PolledPage };
}
