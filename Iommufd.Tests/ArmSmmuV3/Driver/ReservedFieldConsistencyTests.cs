using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Memory;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// One RES0 rule (Arm IHI 0070 §4.1.5) for the model and the host's guest-command checks: every non-zero RES0 field
/// is refused, including fields this SMMU does not have (TTL128, address bits above the implemented size), so that
/// no guest entry the host accepts (arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd(), kept strict) can make the
/// host queue raise CERROR_ILL.
/// </summary>
[TestFixture]
public class ReservedFieldConsistencyTests
{
    private const ushort Vmid = 5;

    [Test]
    public void TTL128_is_RES0_for_the_model_and_the_guest_command_checks()
    {
        using var smmu = new SmmuV3("res0", new SmmuV3Features(), new PhysicalMemory());
        var probed = ProbedFeatures.FromRegisters(smmu);
        var ttl128 = TlbiNhVa(Vmid, 1, 0x1000, leaf: true, 3, 1, 0, 0);
        ttl128 = new SmmuCommand(ttl128.Word0, ttl128.Word1 | SmmuCommandLayout.W1_TTL128);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandLegality.CheckLegal(ttl128, smmu.Features), Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(GuestCommandConverter.Validate(ttl128, probed), Is.EqualTo(GuestCommandConverter.Refusal.ReservedBits));
        }
    }

    [TestCase(1, 52, true, TestName = "SMMUv3.1: TLBI_S2_IPA IPA bit 52 is RES0")]
    [TestCase(1, 51, false, TestName = "SMMUv3.1: TLBI_S2_IPA IPA bit 51 is an address bit")]
    [TestCase(0, 48, true, TestName = "SMMUv3.0: TLBI_S2_IPA IPA bit 48 is RES0")]
    [TestCase(4, 55, false, TestName = "SMMUv3.4: TLBI_S2_IPA IPA bit 55 is an address bit")]
    public void Address_bits_above_the_implemented_size_are_RES0(int archMinorRevision, int bit, bool illegal)
    {
        using var smmu = new SmmuV3("res0", new SmmuV3Features { ArchMinorRevision = archMinorRevision }, new PhysicalMemory());
        var command = TlbiS2Ipa(Vmid, 1UL << bit, leaf: true, 0, 0, 0, 0);

        Assert.That(SmmuCommandLegality.CheckLegal(command, smmu.Features), Is.EqualTo(illegal ? CommandError.CERROR_ILL : CommandError.CERROR_NONE));
    }

    [Test]
    public void A_CMD_SYNC_MSIAddress_above_52_bits_is_RES0_on_SMMUv3_1()
    {
        using var smmu = new SmmuV3("res0", new SmmuV3Features(), new PhysicalMemory());

        Assert.That(SmmuCommandLegality.CheckLegal(CmdSync(SmmuCommand.CS_SIG_IRQ, 1UL << 53, 0), smmu.Features), Is.EqualTo(CommandError.CERROR_ILL));
    }

    [TestCase(1, 51, CommandError.CERROR_NONE, TestName = "Software VCMDQ on SMMUv3.1: a guest CMD_SYNC MSIAddress bit 51 is an address bit")]
    [TestCase(1, 53, CommandError.CERROR_ILL, TestName = "Software VCMDQ on SMMUv3.1: a guest CMD_SYNC MSIAddress bit 53 is RES0")]
    [TestCase(0, 50, CommandError.CERROR_ILL, TestName = "Software VCMDQ on SMMUv3.0: a guest CMD_SYNC MSIAddress bit 50 is RES0")]
    public void The_software_VCMDQ_checks_a_guest_CMD_SYNC_by_the_same_RES0_rule_as_the_model(int archMinorRevision, int bit, CommandError expected)
    {
        using var rig = new Iommufd.Tests.Cmdqv.CmdqvRig(Iommufd.Cmdqv.VcmdqBackend.Software, smmu: o => o.Features = o.Features with { ArchMinorRevision = archMinorRevision });
        var executor = new Iommufd.Cmdqv.Driver.SoftwareVcmdqExecutor(rig.Smmu);
        var queue = new CommandQueue(new PhysicalMemory(), 4, "guest");
        var sync = CmdSync(SmmuCommand.CS_SIG_NONE, 1UL << bit, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(executor.Execute(sync, queue), Is.EqualTo(expected));
            Assert.That(SmmuCommandLegality.CheckLegal(sync, rig.Hardware.Features), Is.EqualTo(expected), "the model's own rule");
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Every_guest_entry_the_host_accepts_is_legal_on_the_host_queue(bool rangeInvalidation)
    {
        using var smmu = new SmmuV3("res0", new SmmuV3Features { RangeInvalidation = rangeInvalidation }, new PhysicalMemory());
        var probed = ProbedFeatures.FromRegisters(smmu);
        SmmuCommand[] bases =
        [
            TlbiNhVa(0, 1, 0x1000, leaf: true, rangeInvalidation ? (byte)3 : (byte)0, rangeInvalidation ? (byte)1 : (byte)0, 0, 0),
            TlbiNhVaa(0, 0x1000, leaf: false, 0, 0, 0, 0), TlbiNhAll(0), TlbiNhAsid(0, 1), TlbiNsnhAll(),
            AtcInv(1, 0, ssv: false, global: false, 0, 0), CfgiCd(1, 0, leaf: true), CfgiCdAll(1),
        ];
        var escapes = new List<string>();
        foreach (var valid in bases)
        {
            Assert.That(GuestCommandConverter.Validate(valid, probed), Is.EqualTo(GuestCommandConverter.Refusal.None), valid.ToString());
            for (int bit = 8; bit < 128; bit++) // every bit but the opcode's
            {
                var flipped = bit < 64 ? new SmmuCommand(valid.Word0 ^ (1UL << bit), valid.Word1) : new SmmuCommand(valid.Word0, valid.Word1 ^ (1UL << (bit - 64)));
                if (GuestCommandConverter.Validate(flipped, probed) != GuestCommandConverter.Refusal.None)
                {
                    continue;
                }

                var issued = flipped.Opcode switch
                {
                    SmmuOpcode.TLBI_NSNH_ALL => TlbiNhAll(Vmid),
                    SmmuOpcode.ATC_INV or SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL => flipped,
                    _ => flipped.WithVmid(Vmid),
                };
                if (SmmuCommandLegality.CheckLegal(issued, smmu.Features) != CommandError.CERROR_NONE)
                {
                    escapes.Add($"{flipped.Opcode} bit {bit}");
                }
            }
        }

        Assert.That(escapes, Is.Empty);
    }
}
