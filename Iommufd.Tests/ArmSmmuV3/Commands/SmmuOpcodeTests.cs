using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>Opcode and CERROR values against Arm IHI 0070 §4.1.1 and §7.1.</summary>
[TestFixture]
public class SmmuOpcodeTests
{
    [TestCase(SmmuOpcode.PREFETCH_CONFIG, 0x01)]
    [TestCase(SmmuOpcode.PREFETCH_ADDR, 0x02)]
    [TestCase(SmmuOpcode.CFGI_STE, 0x03)]
    [TestCase(SmmuOpcode.CFGI_STE_RANGE, 0x04)]
    [TestCase(SmmuOpcode.CFGI_CD, 0x05)]
    [TestCase(SmmuOpcode.CFGI_CD_ALL, 0x06)]
    [TestCase(SmmuOpcode.CFGI_VMS_PIDM, 0x07)]
    [TestCase(SmmuOpcode.TLBI_NH_ALL, 0x10)]
    [TestCase(SmmuOpcode.TLBI_NH_ASID, 0x11)]
    [TestCase(SmmuOpcode.TLBI_NH_VA, 0x12)]
    [TestCase(SmmuOpcode.TLBI_NH_VAA, 0x13)]
    [TestCase(SmmuOpcode.TLBI_EL3_ALL, 0x18)]
    [TestCase(SmmuOpcode.TLBI_EL3_VA, 0x1A)]
    [TestCase(SmmuOpcode.TLBI_EL2_ALL, 0x20)]
    [TestCase(SmmuOpcode.TLBI_EL2_ASID, 0x21)]
    [TestCase(SmmuOpcode.TLBI_EL2_VA, 0x22)]
    [TestCase(SmmuOpcode.TLBI_EL2_VAA, 0x23)]
    [TestCase(SmmuOpcode.TLBI_S12_VMALL, 0x28)]
    [TestCase(SmmuOpcode.TLBI_S2_IPA, 0x2A)]
    [TestCase(SmmuOpcode.TLBI_NSNH_ALL, 0x30)]
    [TestCase(SmmuOpcode.ATC_INV, 0x40)]
    [TestCase(SmmuOpcode.PRI_RESP, 0x41)]
    [TestCase(SmmuOpcode.RESUME, 0x44)]
    [TestCase(SmmuOpcode.STALL_TERM, 0x45)]
    [TestCase(SmmuOpcode.CMD_SYNC, 0x46)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_ALL, 0x50)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_ASID, 0x51)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_VA, 0x52)]
    [TestCase(SmmuOpcode.TLBI_S_EL2_VAA, 0x53)]
    [TestCase(SmmuOpcode.TLBI_S_S12_VMALL, 0x58)]
    [TestCase(SmmuOpcode.TLBI_S_S2_IPA, 0x5A)]
    [TestCase(SmmuOpcode.TLBI_SNH_ALL, 0x60)]
    [TestCase(SmmuOpcode.DPTI_ALL, 0x70)]
    [TestCase(SmmuOpcode.DPTI_PA, 0x73)]
    public void Opcode_value_matches_the_specification(SmmuOpcode opcode, int value)
    {
        Assert.That((byte)opcode, Is.EqualTo(value));
    }

    [Test]
    public void The_enum_has_exactly_the_34_architected_opcodes()
    {
        Assert.That(Enum.GetValues<SmmuOpcode>(), Has.Length.EqualTo(34).And.Unique);
    }

    [Test]
    public void No_opcode_lies_in_the_IMPLEMENTATION_DEFINED_range()
    {
        Assert.That(Enum.GetValues<SmmuOpcode>().Select(op => (byte)op), Has.None.InRange((byte)0x80, (byte)0x8F));
    }

    [TestCase(CommandError.CERROR_NONE, 0)]
    [TestCase(CommandError.CERROR_ILL, 1)]
    [TestCase(CommandError.CERROR_ABT, 2)]
    [TestCase(CommandError.CERROR_ATC_INV_SYNC, 3)]
    public void CommandError_value_matches_CONS_ERR(CommandError error, int value)
    {
        Assert.That((byte)error, Is.EqualTo(value));
    }

    [Test]
    public void CommandError_has_exactly_four_codes()
    {
        Assert.That(Enum.GetValues<CommandError>(), Has.Length.EqualTo(4));
    }
}
