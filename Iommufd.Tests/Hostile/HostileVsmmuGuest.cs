using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Core;
using Iommufd.Guest;
using Iommufd.Tests.Support;
using Iommufd.Vmm;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// A hostile guest on the trap path: a VM whose emulated SMMUv3 (the VMM sample's vSMMU) forwards its command queue
/// with IOMMU_HWPT_INVALIDATE and turns its CFGI_STE into nested HWPT allocations and attaches. After a normal guest
/// driver set it up, the guest writes random and garbage entries, PROD and CONS values that make no sense, random
/// values into any register (the queue and stream-table bases, CR0, GBPA, GERRORN), scribbles over its own STE, and
/// acknowledges its errors or not; every so often it puts the registers back so that most entries reach the host.
/// </summary>
internal sealed class HostileVsmmuGuest : IHostileGuest
{
    private const ulong Va = 0x10_0000;
    private const int Pages = 8;

    private static readonly uint[] Registers =
    [
        (uint)SmmuRegister.CR0, (uint)SmmuRegister.GBPA, (uint)SmmuRegister.IRQ_CTRL, (uint)SmmuRegister.GERRORN,
        (uint)SmmuRegister.STRTAB_BASE, (uint)SmmuRegister.STRTAB_BASE_CFG, (uint)SmmuRegister.CMDQ_BASE,
        (uint)SmmuRegister.CMDQ_PROD, (uint)SmmuRegister.CMDQ_CONS, (uint)SmmuRegister.EVENTQ_BASE,
        (uint)SmmuRegister.EVENTQ_PROD, (uint)SmmuRegister.EVENTQ_CONS,
    ];

    private readonly VirtualMachine _vm;
    private readonly GuestSmmuDriver _driver;
    private readonly Random _random;
    private readonly HostileCommands _commands;
    private readonly uint _vsid;
    private readonly (uint Offset, ulong Value, int Size)[] _good;
    private readonly byte[] _goodSte = new byte[StreamTableEntry.Size];
    private long _written, _errors, _registerWrites, _repairs, _scribbles;

    public HostileVsmmuGuest(IommufdHost host, string device, uint vsid, ushort asid, VictimNames victim, Random random)
    {
        _random = random;
        _vsid = vsid;
        _commands = new HostileCommands(random, victim);
        var options = new VirtualMachineOptions { RamSize = 4L << 20, TrapCost = TrapCost.None };
        options.Devices.Add((device, vsid));
        _vm = new VirtualMachine(host, options);
        _driver = new GuestSmmuDriver(_vm.Smmu, _vm.Ram, new GuestSmmuOptions { CommandQueueLog2Entries = 8, StreamTableLog2Entries = 5 });
        Assert.That(_driver.AttachDevice(vsid, asid, ats: true), Is.True, "the hostile guest's device is attached");
        _driver.Map(vsid, Va, _vm.Ram.Allocate(Pages * 4096, 4096), Pages * 4096, IommuProtection.Read | IommuProtection.Write);
        _good =
        [
            ((uint)SmmuRegister.CR0, 0, 4), ((uint)SmmuRegister.GBPA, 0, 4), ((uint)SmmuRegister.STRTAB_BASE, 0, 8),
            ((uint)SmmuRegister.STRTAB_BASE_CFG, 0, 4), ((uint)SmmuRegister.CMDQ_BASE, 0, 8),
        ];
        for (int i = 0; i < _good.Length; i++)
        {
            _good[i].Value = _vm.Smmu.Read(_good[i].Offset, _good[i].Size);
        }

        Ste.CopyTo(_goodSte);
    }

    public long Written => _written;

    public IReadOnlyCollection<string> Problems => [];

    public string Summary =>
        $"{_written} entries, {_errors} queue errors, {_registerWrites} register writes, {_scribbles} STE scribbles, {_repairs} repairs; VMM: {_vm.Smmu.Counters.Ioctls} IOMMU_HWPT_INVALIDATE, {_vm.Smmu.Counters.ForwardedCommands} entries done by the host, {_vm.Smmu.Counters.SteInstalls} STE installs";

    private Span<byte> Ste => _vm.Ram.Bytes(_driver.StreamTableIpa + ((ulong)_vsid * StreamTableEntry.Size), StreamTableEntry.Size);

    public void Step()
    {
        var r = _random;
        var smmu = _vm.Smmu;
        int action = r.Next(100);
        if (action < 65)
        {
            ulong cmdqBase = smmu.Read((uint)SmmuRegister.CMDQ_BASE, 8);
            int log2 = Math.Min((int)(cmdqBase & 0x1F), 10);
            uint mask = (2u << log2) - 1;
            ulong ring = cmdqBase & 0x000F_FFFF_FFFF_FFE0;
            uint prod = (uint)smmu.Read((uint)SmmuRegister.CMDQ_PROD) & mask;
            int n = r.Next(1, Math.Min(1 << log2, 48));
            for (int i = 0; i < n; i++)
            {
                ulong slot = ring + ((((uint)i + prod) & ((1u << log2) - 1)) * 16UL);
                if (_vm.Ram.Contains(slot, 16))
                {
                    (r.Next(3) == 0 ? _commands.Next() : _commands.NextForwardable()).Write(_vm.Ram.Bytes(slot, 16)); // most reach the host
                }
            }

            _written += n;
            smmu.Write((uint)SmmuRegister.CMDQ_PROD, (prod + (uint)n) & mask);
        }
        else if (action < 72)
        {
            smmu.Write((uint)SmmuRegister.CMDQ_PROD, (uint)r.Next() >> r.Next(32));
        }
        else if (action < 77)
        {
            uint cr0 = (uint)smmu.Read((uint)SmmuRegister.CR0);
            smmu.Write((uint)SmmuRegister.CR0, cr0 & ~8u);
            smmu.Write((uint)SmmuRegister.CMDQ_CONS, (uint)r.Next() >> r.Next(32));
            smmu.Write((uint)SmmuRegister.CR0, r.Next(4) == 0 ? (uint)r.Next() : cr0);
        }
        else if (action < 87)
        {
            _registerWrites++;
            uint offset = r.Next(4) == 0 ? (uint)r.Next(64) * 4 : Registers[r.Next(Registers.Length)];
            smmu.Write(offset, r.Next(2) == 0 ? (uint)r.Next() : (ulong)r.NextInt64(), r.Next(2) == 0 ? 4 : 8);
        }
        else if (action < 91)
        {
            _scribbles++;
            r.NextBytes(Ste[..(r.Next(1, 9) * 8)]);
            if (r.Next(2) == 0)
            {
                Ste[0] |= 1; // V = 1: the VMM installs what the guest wrote
            }
        }
        else if (action < 94)
        {
            _vm.Devices[0].Device.AtsInvalidationsTimeOut = r.Next(3) == 0;
        }
        else
        {
            Repair();
        }

        if ((smmu.Read((uint)SmmuRegister.CR0) & 9) != 9 && r.Next(2) == 0)
        {
            Repair(); // the guest's driver resets the SMMU it broke
        }

        HandleError();
    }

    public void Dispose()
    {
        _vm.Devices[0].Device.AtsInvalidationsTimeOut = false;
        _vm.Dispose();
        ProcessExit.UnmapAll(_vm.File.Memory); // the VMM process ends too
    }

    /// <summary>
    /// What a guest's error handler might do, for each error in a row (up to a bound): fix the entry and
    /// acknowledge, acknowledge only, or leave the queue stopped.
    /// </summary>
    private void HandleError()
    {
        var smmu = _vm.Smmu;
        for (int round = 0; round < 16; round++)
        {
            uint gerror = (uint)smmu.Read((uint)SmmuRegister.GERROR);
            if (((gerror ^ (uint)smmu.Read((uint)SmmuRegister.GERRORN)) & 1) == 0)
            {
                return;
            }

            _errors++;
            int choice = _random.Next(8);
            if (choice < 6)
            {
                ulong cmdqBase = smmu.Read((uint)SmmuRegister.CMDQ_BASE, 8);
                int log2 = Math.Min((int)(cmdqBase & 0x1F), 10);
                uint cons = (uint)smmu.Read((uint)SmmuRegister.CMDQ_CONS);
                ulong slot = (cmdqBase & 0x000F_FFFF_FFFF_FFE0) + ((cons & ((1u << log2) - 1)) * 16UL);
                if (_vm.Ram.Contains(slot, 16))
                {
                    SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE).Write(_vm.Ram.Bytes(slot, 16));
                }
            }

            if (choice == 7)
            {
                return; // the guest ignores its interrupt
            }

            smmu.Write((uint)SmmuRegister.GERRORN, gerror); // the queue goes on from CONS
        }
    }

    /// <summary>Puts the bases, CR0, GBPA and the STE back as the driver set them, and acknowledges any error.</summary>
    private void Repair()
    {
        _repairs++;
        var smmu = _vm.Smmu;
        _goodSte.CopyTo(Ste);
        smmu.Write((uint)SmmuRegister.CR0, 0);
        foreach (var (offset, value, size) in _good)
        {
            if (offset != (uint)SmmuRegister.CR0)
            {
                smmu.Write(offset, offset == (uint)SmmuRegister.GBPA ? value | (1u << 31) : value, size);
            }
        }

        smmu.Write((uint)SmmuRegister.CMDQ_PROD, 0);
        smmu.Write((uint)SmmuRegister.CMDQ_CONS, 0);
        smmu.Write((uint)SmmuRegister.GERRORN, smmu.Read((uint)SmmuRegister.GERROR));
        smmu.Write((uint)SmmuRegister.CR0, _good[0].Value); // SMMUEN set again reinstalls the STE
    }
}
