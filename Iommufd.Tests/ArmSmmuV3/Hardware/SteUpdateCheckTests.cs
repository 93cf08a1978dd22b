using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Uapi;
using Iommufd.Tests.ArmSmmuV3.Isolation;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// The model's help for driver authors (<see cref="SmmuV3.TornSteUpdates"/>): a CFGI_STE after which the STE's used
/// bits (arm-smmu-v3.c arm_smmu_get_ste_used()) changed in two or more 64-bit words since the previous CFGI_STE is
/// counted, as an SMMU fetching in between could have seen it half done (IHI 0070 §3.21.3: 64-bit single-copy
/// atomicity). The sequence of arm_smmu_write_entry() is never counted.
/// </summary>
[TestFixture]
public class SteUpdateCheckTests
{
    private const uint Sid = 3;

    [Test]
    public void Writing_a_whole_stage_2_STE_over_a_live_abort_STE_before_one_CFGI_STE_is_flagged()
    {
        using var bench = new SmmuTestBench();
        var flagged = new List<(uint Sid, int Words)>();
        bench.Smmu.TornSteUpdate += (sid, words) => flagged.Add((sid, words));
        bench.WriteSte(Sid, SmmuTestBench.AbortSte());
        Cfgi(bench);

        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 1, s2ttb: 0x8000_0000));
        Cfgi(bench);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.TornSteUpdates, Is.EqualTo(1));
            Assert.That(flagged, Is.EqualTo(new[] { (Sid, 0b1101) }), "Config in word 0, S2VMID/VTCR in word 2, S2TTB in word 3");
        }
    }

    [TestCase("abort", "s2", TestName = "Abort to stage 2 in arm_smmu_write_entry's order is not flagged")]
    [TestCase("s2", "s2 other", TestName = "A breaking update through V = 0 is not flagged")]
    [TestCase("s1", "nested", TestName = "Stage 1 to nested through V = 0 is not flagged")]
    [TestCase("bypass", "s1", TestName = "Bypass to stage 1 through its critical word is not flagged")]
    [TestCase("nested", "abort", TestName = "Nested to abort through its critical word is not flagged")]
    public void The_kernel_sequence_is_not_flagged_and_writing_it_at_once_is(string from, string to)
    {
        using var bench = new SmmuTestBench();
        using var once = new SmmuTestBench();
        var initial = Ste(from);
        foreach (var b in new[] { bench, once })
        {
            b.WriteSte(Sid, initial);
            Cfgi(b);
        }

        ulong[] entry = [initial.Word0, initial.Word1, initial.Word2, initial.Word3];
        var target = Ste(to);
        var sink = new BenchSink(bench);
        int syncs = SteWriter.Write(entry, [target.Word0, target.Word1, target.Word2, target.Word3], ref sink);
        once.WriteSte(Sid, target);
        Cfgi(once);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(syncs, Is.GreaterThan(1), "a sequence of more than one step");
            Assert.That(bench.Smmu.TornSteUpdates, Is.Zero);
            Assert.That(once.Smmu.TornSteUpdates, Is.EqualTo(1), "the same change in one step");
        }
    }

    [Test]
    public void With_SMMUEN_clear_no_update_is_flagged_as_nothing_fetches_the_STE()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.AbortSte());
        Cfgi(bench);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn);

        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 1, s2ttb: 0x8000_0000));
        Cfgi(bench);

        Assert.That(bench.Smmu.TornSteUpdates, Is.Zero);
    }

    [Test]
    public void A_CFGI_ALL_between_forgets_the_STE_so_the_next_CFGI_STE_starts_afresh()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.AbortSte());
        Cfgi(bench);

        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 1, s2ttb: 0x8000_0000));
        bench.Submit(SmmuCommandBuilder.CfgiAll(), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        Cfgi(bench);

        Assert.That(bench.Smmu.TornSteUpdates, Is.Zero, "only CFGI_STE is checked; CFGI_ALL is not");
    }

    [Test]
    public void The_host_driver_never_updates_a_live_STE_half_done()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("a", "smmu0", streamId: 0x10))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        Errno rc;
        using (var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: 3)) // abort → nested
        {
            rc = guest.File.HwptAlloc(guest.DevId, guest.IoasId, 0, IommuHwptDataType.None, default, 0, out uint paging);
            Assert.That(rc, Is.EqualTo(Errno.Success), "HWPT_ALLOC");
            uint pt = paging;
            rc = guest.File.ReplaceDevice(guest.DevId, ref pt); // nested → S2
        } // S2 → abort

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(smmu.ReadSte(0x10).Config, Is.EqualTo(StreamTableEntry.ConfigAbort), "back to abort");
            Assert.That(smmu.Hardware.TornSteUpdates, Is.Zero);
        }
    }

    private static void Cfgi(SmmuTestBench bench) =>
        bench.Submit(SmmuCommandBuilder.CfgiSte(Sid, leaf: true), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));

    private static StreamTableEntry Ste(string name) => name switch
    {
        "abort" => SmmuTestBench.AbortSte(),
        "bypass" => SmmuTestBench.BypassSte() with { Word1 = 1UL << 44 }, // SHCFG = incoming
        "s1" => SmmuTestBench.Stage1Ste(0x7000_0000) with { Word1 = 0xD4 },
        "s2" => SmmuTestBench.Stage2Ste(vmid: 1, s2ttb: 0x8000_0000),
        "s2 other" => SmmuTestBench.Stage2Ste(vmid: 2, s2ttb: 0x9000_0000),
        "nested" => SmmuTestBench.NestedSte(0x7100_0000, vmid: 3, s2ttb: 0x8000_0000) with { Word1 = 0xD4 | (1UL << 19) },
        _ => throw new ArgumentException(name),
    };

    /// <summary>Stores into the bench's stream table and syncs with CFGI_STE + CMD_SYNC, as the host driver's sink does.</summary>
    private readonly struct BenchSink(SmmuTestBench bench) : ISteSink
    {
        public void WriteQword(int index, ulong value) =>
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bench.StreamTable.Span[((int)(Sid * StreamTableEntry.Size) + (index * 8))..], value);

        public void Sync() => Cfgi(bench);
    }
}
