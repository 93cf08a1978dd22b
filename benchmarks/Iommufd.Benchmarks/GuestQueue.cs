using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Guest;
using Iommufd.Vmm;

namespace Iommufd.Benchmarks;

/// <summary>A minimal guest command queue: entries in guest RAM, PROD/CONS through the guest's MMIO.</summary>
internal sealed class GuestQueue
{
    private const int Log2Size = 8;

    /// <summary>
    /// Looks at CONS, back to back (milliseconds), before a guest that polls without back-off yields its core between
    /// looks. Not sooner: a yield hands the core to the consumer's thread if it waits there, and the two then stay on
    /// one core, taking turns (measured at load 20 on the 2-core VM: yields after 1,024 looks, about 42 µs, made that
    /// the p50 of the software VCMDQ's round trip, against 1.8 µs with this bound).
    /// </summary>
    private const int PollLooksBeforeYield = 1 << 16;

    private readonly IMmio _mmio;
    private readonly uint _prodOffset;
    private readonly uint _consOffset;
    private readonly ulong _base;
    private uint _prod;

    private GuestQueue(VirtualMachine vm, IMmio mmio, uint prodOffset, uint consOffset, ulong baseIpa)
    {
        Vm = vm;
        _mmio = mmio;
        _prodOffset = prodOffset;
        _consOffset = consOffset;
        _base = baseIpa;
    }

    public VirtualMachine Vm { get; }

    /// <summary>
    /// How the guest waits for CONS. False (the default, for guests that share the cores): SpinWait.SpinOnce between
    /// looks, which pauses longer each time (about 0.3 µs a step on the 2-core VM of results/README.md, ten times
    /// that under load once sustained pausing gets the vCPU descheduled) and yields from the tenth look, so CONS is
    /// seen up to a step after it moved. True (a guest with a core of its own): back-to-back looks, so the round trip
    /// ends within one look of CONS moving and times the consumer, not the waiter's back-off (a Linux guest backs off
    /// too, differently: arm-smmu-v3.c queue_poll() relaxes for a few looks, then waits udelays that double). After
    /// <see cref="PollLooksBeforeYield"/> looks (milliseconds) it yields between looks, so a stalled consumer that
    /// needs this core still gets it.
    /// </summary>
    public bool PollsWithoutBackOff { get; set; }

    public static GuestQueue OnVirtualSmmu(VirtualMachine vm)
    {
        var smmu = vm.Smmu;
        ulong queue = vm.Ram.Allocate(16 << Log2Size, 16 << Log2Size);
        smmu.Write((uint)SmmuRegister.CMDQ_BASE, queue | Log2Size, 8);
        smmu.Write((uint)SmmuRegister.CR0, 0x8); // CMDQEN
        return new GuestQueue(vm, smmu, (uint)SmmuRegister.CMDQ_PROD, (uint)SmmuRegister.CMDQ_CONS, queue);
    }

    public static GuestQueue OnVcmdq(VirtualMachine vm)
    {
        var cmdqv = vm.Cmdqv!;
        ulong queue = vm.Ram.Allocate(16 << Log2Size, 16 << Log2Size);
        cmdqv.Write(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        cmdqv.Write(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN);
        cmdqv.Write(CmdqvRegister.CMDQ_ALLOC, CmdqvRegister.CMDQ_ALLOC_ALLOCATED);
        cmdqv.Write(CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize + CmdqvRegister.VCMDQ_BASE, queue | Log2Size, 8);
        cmdqv.Write(CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        return new GuestQueue(vm, cmdqv, CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_PROD, CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_CONS, queue);
    }

    public void Run(int count)
    {
        for (int i = 0; i < count; i++)
        {
            RoundTrip(i);
        }
    }

    /// <summary>TLBI_NH_VA (address varied by <paramref name="i"/>) + CMD_SYNC, PROD rung, CONS polled until it passes the sync.</summary>
    public void RoundTrip(int i)
    {
        uint mask = (2u << Log2Size) - 1;
        Put(SmmuCommandBuilder.TlbiNhVa(0, 1, 0x10_0000UL + ((ulong)(i & 63) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));
        Put(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        _mmio.Write(_prodOffset, _prod);
        var spin = default(SpinWait);
        int looks = 0;
        uint cons;
        while (((cons = (uint)_mmio.Read(_consOffset)) & mask) != _prod) // one MMIO read a look: index and ERR
        {
            if ((cons >> 24 & 0x7F) != 0)
            {
                throw new InvalidOperationException("the guest queue stopped on an error");
            }

            if (!PollsWithoutBackOff)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
            else if (++looks > PollLooksBeforeYield)
            {
                Thread.Yield(); // the CMDQ has stalled this long: let whatever must run to move CONS have the core
            }
        }

        void Put(in SmmuCommand command)
        {
            command.Write(Vm.Ram.Bytes(_base + ((_prod & ((1u << Log2Size) - 1)) * 16UL), 16));
            _prod = (_prod + 1) & mask;
        }
    }
}
