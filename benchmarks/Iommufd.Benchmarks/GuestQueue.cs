using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Guest;
using Iommufd.Vmm;

namespace Iommufd.Benchmarks;

/// <summary>A minimal guest command queue: entries in guest RAM, PROD/CONS through the guest's MMIO.</summary>
internal sealed class GuestQueue
{
    private const int Log2Size = 8;
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
        uint mask = (2u << Log2Size) - 1;
        for (int i = 0; i < count; i++)
        {
            Put(SmmuCommandBuilder.TlbiNhVa(0, 1, 0x10_0000UL + ((ulong)(i & 63) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));
            Put(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
            _mmio.Write(_prodOffset, _prod);
            var spin = default(SpinWait);
            while (((uint)_mmio.Read(_consOffset) & mask) != _prod)
            {
                if (((uint)_mmio.Read(_consOffset) >> 24 & 0x7F) != 0)
                {
                    throw new InvalidOperationException("the guest queue stopped on an error");
                }

                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        void Put(in SmmuCommand command)
        {
            command.Write(Vm.Ram.Bytes(_base + ((_prod & ((1u << Log2Size) - 1)) * 16UL), 16));
            _prod = (_prod + 1) & mask;
        }
    }
}
