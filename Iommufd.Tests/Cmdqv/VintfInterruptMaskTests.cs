using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// VINTF_INT_MASK has a bit per VINTF, as VINTF_ERR_MAP beside it (tegra241-cmdqv.c: both 64-bit, read as two
/// words by tegra241_cmdqv_isr()): a set bit keeps that VINTF's queue errors from raising the CMDQV interrupt, the
/// error maps still show them, and the other VINTFs still interrupt.
/// </summary>
[TestFixture]
public class VintfInterruptMaskTests
{
    private const int Log2Entries = 4;

    [TestCase(0, 1, true, TestName = "Masking VINTF0 leaves VINTF1's errors interrupting")]
    [TestCase(1, 1, false, TestName = "Masking VINTF1 silences VINTF1's errors")]
    [TestCase(33, 1, true, TestName = "Masking VINTF33 in the high word leaves VINTF1's errors interrupting")]
    [TestCase(33, 33, false, TestName = "Masking VINTF33 in the high word silences VINTF33's errors")]
    public void A_set_mask_bit_silences_only_its_VINTFs_errors(int maskedVintf, int failingVintf, bool interrupts)
    {
        var memory = new PhysicalMemory();
        var features = new CmdqvFeatures { VintfLog2 = 6, VcmdqLog2 = 7 }; // 64 VINTFs, 2 queues each
        using var cmdqv = new Tegra241Cmdqv("t", features, new NullExecutor(), memory, Log2Entries, ExecutionMode.Inline);
        int raised = 0;
        cmdqv.Interrupt += () => raised++;
        cmdqv.WriteRegister(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        cmdqv.WriteRegister(CmdqvRegister.VINTF_INT_MASK + (maskedVintf >= 32 ? 4u : 0u), 1u << (maskedVintf % 32));
        cmdqv.WriteRegister(CmdqvRegister.VintfBase + ((uint)failingVintf * CmdqvRegister.VintfStride) + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN); // guest-owned
        int q = failingVintf * features.LvcmdqsPerVintf;
        var bank = memory.Allocate(16 << Log2Entries);
        cmdqv.WriteRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4), CmdqvRegister.CMDQ_ALLOC_ALLOCATED | ((uint)failingVintf << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT));
        cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage1 + ((uint)q * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_BASE, bank.BaseAddress | Log2Entries, 8);
        WriteQueue(cmdqv, q, CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);

        SmmuCommandBuilder.TlbiS12Vmall(1).Write(bank.Span[..16]); // refused on a guest-owned VINTF: CERROR_ILL
        WriteQueue(cmdqv, q, CmdqvRegister.VCMDQ_PROD, 1);

        ulong mask = cmdqv.ReadRegister(CmdqvRegister.VINTF_INT_MASK) | (cmdqv.ReadRegister(CmdqvRegister.VINTF_INT_MASK + 4) << 32);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cmdqv.Queues[q].ErrorActive, Is.True, "the queue error is raised either way");
            Assert.That(cmdqv.VintfErrorMap, Is.EqualTo(1UL << failingVintf), "and shows in VINTF_ERR_MAP");
            Assert.That(raised, Is.EqualTo(interrupts ? 1 : 0));
            Assert.That(mask, Is.EqualTo(1UL << maskedVintf), "the mask reads back as written");
        }
    }

    private static void WriteQueue(Tegra241Cmdqv cmdqv, int q, uint register, uint value) =>
        cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage0 + ((uint)q * CmdqvRegister.VcmdqStride) + register, value);

    private sealed class NullExecutor : ICommandExecutor
    {
        public CommandError Execute(in SmmuCommand command, CommandQueue queue) => CommandError.CERROR_NONE;
    }
}
