using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>
/// The defined-bit masks the hardware model uses to raise CERROR_ILL on non-zero reserved fields (spec §4.1.5).
/// Each expected pair was assembled by hand from Arm IHI 0070 chapter 4 and arm-smmu-v3.h.
/// </summary>
[TestFixture]
public class SmmuCommandLayoutTests
{
    // Opcode [7:0] = 0xFF; SSec [10]; SSV [11]; SSID [31:12]; SID [63:32]:
    //   SSec|SID = 0xFFFFFFFF_000004FF, + SSV|SSID = 0xFFFFFFFF_FFFFFCFF.
    // Range TLBI w0: NUM [16:12] = 0x1F000, SCALE [25:20] = 0x3F00000 -> 0x03F1F0FF with the opcode.
    // Range TLBI w1: Leaf [0], TTL128 [7], TTL [9:8], TG [11:10] = 0xF81; VA [63:12]; IPA [55:12].
    [TestCase(SmmuOpcode.PREFETCH_CONFIG, 0xFFFF_FFFF_FFFF_FCFFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.PREFETCH_ADDR, 0xFFFF_FFFF_FFFF_FCFFUL, 0xFFFF_FFFF_FFFF_F01FUL)]
    [TestCase(SmmuOpcode.CFGI_STE, 0xFFFF_FFFF_0000_04FFUL, 0x0000_0000_0000_0001UL)]
    [TestCase(SmmuOpcode.CFGI_STE_RANGE, 0xFFFF_FFFF_0000_04FFUL, 0x0000_0000_0000_001FUL)]
    [TestCase(SmmuOpcode.CFGI_CD, 0xFFFF_FFFF_FFFF_F4FFUL, 0x0000_0000_0000_0001UL)]
    [TestCase(SmmuOpcode.CFGI_CD_ALL, 0xFFFF_FFFF_0000_04FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.CFGI_VMS_PIDM, 0x0000_FFFF_0000_04FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_NH_ALL, 0x0000_FFFF_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_NH_ASID, 0xFFFF_FFFF_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_NH_VA, 0xFFFF_FFFF_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_NH_VAA, 0x0000_FFFF_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_EL3_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_EL3_VA, 0x0000_0000_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_EL2_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_EL2_ASID, 0xFFFF_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_EL2_VA, 0xFFFF_0000_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_EL2_VAA, 0x0000_0000_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_S12_VMALL, 0x0000_FFFF_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_S2_IPA, 0x0000_FFFF_03F1_F0FFUL, 0x00FF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_NSNH_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    // ATC_INV: Global [9], SSV, SSID, SID; Size w1[5:0], Addr w1[63:12]. No SSec.
    [TestCase(SmmuOpcode.ATC_INV, 0xFFFF_FFFF_FFFF_FAFFUL, 0xFFFF_FFFF_FFFF_F03FUL)]
    // PRI_RESP: SSV, SSID, SID; PRGIndex w1[8:0], Resp w1[13:12].
    [TestCase(SmmuOpcode.PRI_RESP, 0xFFFF_FFFF_FFFF_F8FFUL, 0x0000_0000_0000_31FFUL)]
    // RESUME: SSec, Ac [12], Ab [13], SID; STAG w1[15:0].
    [TestCase(SmmuOpcode.RESUME, 0xFFFF_FFFF_0000_34FFUL, 0x0000_0000_0000_FFFFUL)]
    [TestCase(SmmuOpcode.STALL_TERM, 0xFFFF_FFFF_0000_04FFUL, 0x0000_0000_0000_0000UL)]
    // CMD_SYNC: CS [13:12], MSH [23:22], MSIAttr [27:24], MSIData [63:32]; MSIAddr w1[55:2].
    [TestCase(SmmuOpcode.CMD_SYNC, 0xFFFF_FFFF_0FC0_30FFUL, 0x00FF_FFFF_FFFF_FFFCUL)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_ASID, 0xFFFF_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_VA, 0xFFFF_0000_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_VAA, 0x0000_0000_03F1_F0FFUL, 0xFFFF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_S_S12_VMALL, 0x0000_FFFF_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.TLBI_S_S2_IPA, 0x0000_FFFF_03F1_F0FFUL, 0x00FF_FFFF_FFFF_FF81UL)]
    [TestCase(SmmuOpcode.TLBI_SNH_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.DPTI_ALL, 0x0000_0000_0000_00FFUL, 0x0000_0000_0000_0000UL)]
    [TestCase(SmmuOpcode.DPTI_PA, 0x0000_0000_0000_00FFUL, 0x00FF_FFFF_FFFF_F000UL)]
    public void DefinedMask_matches_the_reference_layout(SmmuOpcode opcode, ulong expectedW0, ulong expectedW1)
    {
        SmmuCommandLayout.DefinedMask(opcode, out ulong w0, out ulong w1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(w0, Is.EqualTo(expectedW0), $"w0 = 0x{w0:x16}");
            Assert.That(w1, Is.EqualTo(expectedW1), $"w1 = 0x{w1:x16}");
        }
    }

    [Test]
    public void Every_opcode_has_a_mask_test()
    {
        int cases = typeof(SmmuCommandLayoutTests)
            .GetMethod(nameof(DefinedMask_matches_the_reference_layout))!
            .GetCustomAttributes(typeof(TestCaseAttribute), false)
            .Length;

        Assert.That(cases, Is.EqualTo(Enum.GetValues<SmmuOpcode>().Length));
    }

    [TestCase(0x00)]
    [TestCase(0x08)]
    [TestCase(0x19)]
    [TestCase(0x5F)]
    [TestCase(0x7F)]
    [TestCase(0x90)]
    [TestCase(0xFF)]
    public void A_reserved_opcode_defines_only_its_opcode_byte(int opcode)
    {
        SmmuCommandLayout.DefinedMask((SmmuOpcode)opcode, out ulong w0, out ulong w1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandLayout.IsDefined((SmmuOpcode)opcode), Is.False);
            Assert.That(SmmuCommandLayout.IsImplementationDefined((byte)opcode), Is.False);
            Assert.That(w0, Is.EqualTo(0xFFUL));
            Assert.That(w1, Is.Zero);
        }
    }

    [TestCase(0x80)]
    [TestCase(0x85)]
    [TestCase(0x8F)]
    public void An_implementation_defined_opcode_leaves_every_bit_to_the_implementation(int opcode)
    {
        SmmuCommandLayout.DefinedMask((SmmuOpcode)opcode, out ulong w0, out ulong w1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandLayout.IsDefined((SmmuOpcode)opcode), Is.False);
            Assert.That(SmmuCommandLayout.IsImplementationDefined((byte)opcode), Is.True);
            Assert.That(w0, Is.EqualTo(ulong.MaxValue));
            Assert.That(w1, Is.EqualTo(ulong.MaxValue));
        }
    }

    [Test]
    public void Exactly_the_architected_opcodes_are_defined()
    {
        var defined = Enumerable.Range(0, 256).Where(op => SmmuCommandLayout.IsDefined((SmmuOpcode)op));

        Assert.That(defined, Is.EquivalentTo(Enum.GetValues<SmmuOpcode>().Select(op => (int)op)));
    }

    // CMD_SYNC bit 8 sits between the opcode and CS; w1[1:0] are below MSIAddr; w1[56] is above it.
    [TestCase(0x0000_0000_0000_0146UL, 0UL, true)]
    [TestCase(0x0000_0000_0000_0046UL, 0x0000_0000_0000_0001UL, true)]
    [TestCase(0x0000_0000_0000_0046UL, 0x0100_0000_0000_0000UL, true)]
    [TestCase(0xFFFF_FFFF_0FC0_3046UL, 0x00FF_FFFF_FFFF_FFFCUL, false)]
    public void CMD_SYNC_reserved_bits_are_detected(ulong w0, ulong w1, bool expected)
    {
        Assert.That(SmmuCommandLayout.HasReservedBitsSet(new SmmuCommand(w0, w1)), Is.EqualTo(expected));
    }

    // TLBI_NH_VA: w0[11:8], w0[19:17] and w0[31:26] are reserved; w1[6:1] too.
    [TestCase(0x0000_0000_0000_0112UL, 0UL, true)]
    [TestCase(0x0000_0000_0002_0012UL, 0UL, true)]
    [TestCase(0x0000_0000_0400_0012UL, 0UL, true)]
    [TestCase(0x0000_0000_0000_0012UL, 0x0000_0000_0000_0002UL, true)]
    [TestCase(0xFFFF_FFFF_03F1_F012UL, 0xFFFF_FFFF_FFFF_FF81UL, false)]
    public void TLBI_NH_VA_reserved_bits_are_detected(ulong w0, ulong w1, bool expected)
    {
        Assert.That(SmmuCommandLayout.HasReservedBitsSet(new SmmuCommand(w0, w1)), Is.EqualTo(expected));
    }

    // ATC_INV: SSec (w0[10]) is not one of its fields; w1[11:6] are reserved.
    [TestCase(0x0000_0000_0000_0440UL, 0UL, true)]
    [TestCase(0x0000_0000_0000_0040UL, 0x0000_0000_0000_0040UL, true)]
    [TestCase(0xFFFF_FFFF_FFFF_FA40UL, 0xFFFF_FFFF_FFFF_F03FUL, false)]
    public void ATC_INV_reserved_bits_are_detected(ulong w0, ulong w1, bool expected)
    {
        Assert.That(SmmuCommandLayout.HasReservedBitsSet(new SmmuCommand(w0, w1)), Is.EqualTo(expected));
    }

    // CFGI_STE: no SSV or SubstreamID (w0[31:11]); w1 is Leaf only.
    [TestCase(0x0000_0010_0000_0803UL, 0UL, true)]
    [TestCase(0x0000_0010_0000_1003UL, 0UL, true)]
    [TestCase(0x0000_0010_0000_0003UL, 0x0000_0000_0000_0002UL, true)]
    [TestCase(0xFFFF_FFFF_0000_0403UL, 0x0000_0000_0000_0001UL, false)]
    public void CFGI_STE_reserved_bits_are_detected(ulong w0, ulong w1, bool expected)
    {
        Assert.That(SmmuCommandLayout.HasReservedBitsSet(new SmmuCommand(w0, w1)), Is.EqualTo(expected));
    }

    [Test]
    public void Feature_dependent_bits_sit_where_the_reference_puts_them()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandLayout.W0_SCALE_DS, Is.EqualTo(0x0000_0000_0200_0000UL));
            Assert.That(SmmuCommandLayout.W1_TTL128, Is.EqualTo(0x0000_0000_0000_0080UL));
            Assert.That(SmmuCommandLayout.W1_PA_55_52, Is.EqualTo(0x00F0_0000_0000_0000UL));
            Assert.That(SmmuCommandLayout.EntrySize, Is.EqualTo(16));
        }
    }
}
