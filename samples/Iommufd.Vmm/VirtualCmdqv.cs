using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Guest;

namespace Iommufd.Vmm;

/// <summary>
/// The guest's Tegra241 CMDQV (as QEMU hw/arm/tegra241-cmdqv.c presents it): one VINTF (VINTF0 for the guest, never
/// hypervisor-owned). Its logical-queue page 0 is the host VINTF page the VMM mmapped, so the guest's PROD writes go
/// straight to the (hardware or software) VCMDQ; the config page and page 1 are emulated. A HW queue is allocated once
/// the guest has enabled the CMDQV and VINTF0, mapped the queue (CMDQ_ALLOC) and set its BASE; register writes made
/// before that are kept and replayed. A HW queue the host refuses shows as that queue's GERROR.CMDQ_INIT_ERR (the
/// guest sets the queue up again and acknowledges through GERRORN); disabling VINTF0 or the CMDQV frees every HW
/// queue. Every emulated access is a trap and costs the VM's <see cref="TrapCost"/>; the mapped page costs nothing.
/// CMDQV vEVENTs set the guest's error maps and raise its CMDQV interrupt unless VINTF0's bit of VINTF_INT_MASK
/// (64 bits, a bit per VINTF, as on the host CMDQV) masks it.
/// </summary>
public sealed class VirtualCmdqv : IMmio, IDisposable
{
    /// <summary>The index of the one VINTF the guest sees, whose VINTF_INT_MASK bit masks its interrupt.</summary>
    private const int GuestVintf = 0;

    private readonly VirtualMachine _vm;
    private readonly Lock _lock = new(); // guards the emulated registers and queue allocation
    private readonly MmioMapping _window;
    private readonly int _veventqFd;
    private readonly uint _param;
    private readonly int _queues;
    private readonly uint[] _alloc;
    private readonly ulong[] _base;
    private readonly uint[] _pendingConfig; // CONFIG written before the HW queue existed
    private readonly uint[] _hwQueueIds;
    private readonly uint[] _gerror; // GERROR/GERRORN of a queue whose HW queue does not exist (CMDQ_INIT_ERR)
    private readonly uint[] _gerrorn;
    private uint _config;
    private uint _vintfConfig;
    private ulong _intMask; // VINTF_INT_MASK: a bit per VINTF over two words, as the host CMDQV's
    private UInt128 _errorMap;

    internal VirtualCmdqv(VirtualMachine vm)
    {
        _vm = vm;
        var rc = vm.File.Mmap(vm.VintfMmapOffset, vm.VintfMmapLength, MmapProtection.ReadWriteShared, out _window);
        rc.ThrowIfError("mmap VINTF page");

        var info = new IommuHwInfoTegra241Cmdqv();
        rc = vm.File.GetHwInfo(vm.Devices[0].DevId, IommuHwInfoFlags.InputType, IommuHwInfoType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuHwInfoTegra241Cmdqv>(ref info)), out _);
        rc.ThrowIfError("GET_HW_INFO TEGRA241_CMDQV");

        // The guest sees one VINTF: NUM_VINTF_LOG2 = 0, and as many VCMDQs as the host gives a VINTF.
        _param = info.Version | ((uint)info.Log2Vcmdqs << 4) | ((uint)info.Log2Vsids << 12);
        _queues = 1 << info.Log2Vcmdqs;
        _alloc = new uint[_queues];
        _base = new ulong[_queues];
        _pendingConfig = new uint[_queues];
        _hwQueueIds = new uint[_queues];
        _gerror = new uint[_queues];
        _gerrorn = new uint[_queues];
        rc = vm.File.VeventqAlloc(vm.ViommuId, IommuVeventqType.Tegra241Cmdqv, vm.Options.EventQueueDepth, out _, out _veventqFd);
        rc.ThrowIfError("VEVENTQ_ALLOC TEGRA241_CMDQV");
    }

    /// <summary>The guest's CMDQV interrupt (a queue error was relayed).</summary>
    public event Action? Interrupt;

    /// <summary>HW queues the VMM allocated for the guest.</summary>
    public int HwQueuesAllocated => _hwQueueIds.Count(id => id != 0);

    /// <summary>Allocation failures (the guest's queue then stays disabled).</summary>
    public int HwQueueAllocFailures { get; private set; }

    /// <summary>Error maps relayed to the guest.</summary>
    public long ErrorsRelayed { get; private set; }

    /// <summary>
    /// A guest load from the CMDQV's registers: the VINTF page of a logical queue with a HW queue reads the host's
    /// page, anything else is emulated (and charged as a trap).
    /// </summary>
    public ulong Read(uint offset, int size = 4)
    {
        if (offset >= CmdqvRegister.VintfPagesBase && offset < CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize)
        {
            int q = (int)((offset - CmdqvRegister.VintfPagesBase) / CmdqvRegister.VcmdqStride);
            if (!IsDirect(q))
            {
                _vm.ChargeTrap();
                lock (_lock)
                {
                    if (q < _queues && _hwQueueIds[q] == 0)
                    {
                        // Not allocated yet: CONFIG reads back what was written, GERROR(N) hold an allocation failure,
                        // everything else reads 0.
                        return (offset & (CmdqvRegister.VcmdqStride - 1)) switch
                        {
                            CmdqvRegister.VCMDQ_CONFIG => _pendingConfig[q],
                            CmdqvRegister.VCMDQ_GERROR => _gerror[q],
                            CmdqvRegister.VCMDQ_GERRORN => _gerrorn[q],
                            _ => 0,
                        };
                    }
                }
            }

            return _window.Read64Or32(offset - CmdqvRegister.VintfPagesBase, size);
        }

        _vm.ChargeTrap();
        lock (_lock)
        {
            if (offset >= CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize && offset < CmdqvRegister.VintfPagesBase + (2 * CmdqvRegister.PageSize))
            {
                uint rel = offset - CmdqvRegister.VintfPagesBase - CmdqvRegister.PageSize;
                int q = (int)(rel / CmdqvRegister.VcmdqStride);
                uint reg = rel % CmdqvRegister.VcmdqStride;
                return q < _queues && reg == CmdqvRegister.VCMDQ_BASE ? (size == 8 ? _base[q] : (uint)_base[q]) : 0;
            }

            uint vintf0 = CmdqvRegister.VintfBase;
            return offset switch
            {
                CmdqvRegister.CONFIG => _config,
                CmdqvRegister.PARAM => _param,
                CmdqvRegister.STATUS => _config & 1,
                CmdqvRegister.VINTF_ERR_MAP => _errorMap != 0 ? 1u << GuestVintf : 0,
                CmdqvRegister.VINTF_INT_MASK => size == 8 ? _intMask : (uint)_intMask,
                CmdqvRegister.VINTF_INT_MASK + 4 => _intMask >> 32,
                >= CmdqvRegister.CMDQ_ERR_MAP and < CmdqvRegister.CMDQ_ERR_MAP + 16 => Slice(_errorMap, (int)(offset - CmdqvRegister.CMDQ_ERR_MAP)),
                >= CmdqvRegister.CMDQ_ALLOC and < CmdqvRegister.CMDQ_ALLOC + 512 when (offset - CmdqvRegister.CMDQ_ALLOC) / 4 < _queues => _alloc[(offset - CmdqvRegister.CMDQ_ALLOC) / 4],
                _ when offset == vintf0 + CmdqvRegister.VINTF_CONFIG => _vintfConfig,
                _ when offset == vintf0 + CmdqvRegister.VINTF_STATUS => _vintfConfig & 1,
                _ when offset >= vintf0 + CmdqvRegister.VINTF_LVCMDQ_ERR_MAP && offset < vintf0 + CmdqvRegister.VINTF_LVCMDQ_ERR_MAP + 16
                    => Slice(_errorMap, (int)(offset - vintf0 - CmdqvRegister.VINTF_LVCMDQ_ERR_MAP)),
                _ => 0,
            };
        }
    }

    /// <summary>
    /// A guest store to the CMDQV's registers: the VINTF page of a logical queue with a HW queue goes to the host's
    /// page, anything else is emulated (and charged as a trap).
    /// </summary>
    public void Write(uint offset, ulong value, int size = 4)
    {
        uint v32 = (uint)value;
        if (offset >= CmdqvRegister.VintfPagesBase && offset < CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize)
        {
            uint rel = offset - CmdqvRegister.VintfPagesBase;
            int q = (int)(rel / CmdqvRegister.VcmdqStride);
            bool direct = IsDirect(q);
            if (!direct)
            {
                _vm.ChargeTrap();
            }

            lock (_lock)
            {
                if (q < _queues && _hwQueueIds[q] == 0)
                {
                    switch (rel % CmdqvRegister.VcmdqStride)
                    {
                        case CmdqvRegister.VCMDQ_CONFIG:
                            _pendingConfig[q] = v32;
                            break;
                        case CmdqvRegister.VCMDQ_GERRORN:
                            _gerrorn[q] = v32 & CmdqvRegister.VCMDQ_GERROR_CMDQ_INIT_ERR;
                            break;
                    }

                    return; // kept until the HW queue exists
                }

                if (rel % CmdqvRegister.VcmdqStride == CmdqvRegister.VCMDQ_GERRORN)
                {
                    _errorMap &= ~(UInt128.One << q); // the guest acknowledged that queue's error
                }
            }

            if (size == 8)
            {
                _window.Write64(rel, value);
            }
            else
            {
                _window.Write32(rel, v32);
            }

            return;
        }

        _vm.ChargeTrap();
        lock (_lock)
        {
            if (offset >= CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize && offset < CmdqvRegister.VintfPagesBase + (2 * CmdqvRegister.PageSize))
            {
                uint rel = offset - CmdqvRegister.VintfPagesBase - CmdqvRegister.PageSize;
                int q = (int)(rel / CmdqvRegister.VcmdqStride);
                if (q < _queues && rel % CmdqvRegister.VcmdqStride == CmdqvRegister.VCMDQ_BASE)
                {
                    _base[q] = size == 8 ? value : (_base[q] & ~0xFFFF_FFFFUL) | v32;
                }
                else if (q < _queues && rel % CmdqvRegister.VcmdqStride == CmdqvRegister.VCMDQ_BASE + 4)
                {
                    _base[q] = (_base[q] & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
                }
            }
            else if (offset == CmdqvRegister.CONFIG)
            {
                _config = v32 & 1;
                if (_config == 0)
                {
                    FreeFrom(0); // a disabled CMDQV keeps no HW queue
                }
            }
            else if (offset == CmdqvRegister.VINTF_INT_MASK)
            {
                _intMask = size == 8 ? value : (_intMask & ~0xFFFF_FFFFUL) | v32;
            }
            else if (offset == CmdqvRegister.VINTF_INT_MASK + 4)
            {
                _intMask = (_intMask & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
            }
            else if (offset == CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG)
            {
                _vintfConfig = v32 & CmdqvRegister.VINTF_CONFIG_EN; // HYP_OWN stays 0 for a guest; its VMID is the host's choice
                if (_vintfConfig == 0)
                {
                    FreeFrom(0); // nor has a disabled VINTF
                }
            }
            else if (offset >= CmdqvRegister.CMDQ_ALLOC && offset < CmdqvRegister.CMDQ_ALLOC + ((uint)_queues * 4))
            {
                int q = (int)((offset - CmdqvRegister.CMDQ_ALLOC) / 4);
                _alloc[q] = v32;
                if ((v32 & CmdqvRegister.CMDQ_ALLOC_ALLOCATED) == 0)
                {
                    FreeFrom(q);
                }
            }

            for (int q = 0; q < _queues; q++)
            {
                TryAllocate(q);
            }
        }
    }

    /// <summary>Reads CMDQV vEVENTs into the guest's error maps and raises its interrupt. Returns the records read.</summary>
    public int DeliverEvents()
    {
        Span<byte> buffer = stackalloc byte[8 * 24];
        int records = 0;
        while (_vm.File.Read(_veventqFd, buffer, out int count) == Errno.Success && count > 0)
        {
            for (int at = 0; at < count;)
            {
                var header = MemoryMarshal.Read<IommufdVeventHeader>(buffer[at..]);
                at += 8;
                if ((header.Flags & (uint)IommuVeventqFlags.LostEvents) != 0)
                {
                    continue;
                }

                var map = BinaryPrimitives.ReadUInt128LittleEndian(buffer[at..]);
                at += 16;
                lock (_lock)
                {
                    _errorMap |= map;
                }

                records++;
            }
        }

        if (records > 0)
        {
            ErrorsRelayed += records;
            if ((_intMask & (1UL << GuestVintf)) == 0)
            {
                Interrupt?.Invoke();
            }
        }

        return records;
    }

    /// <summary>Frees the HW queues the guest made, unmaps the VINTF page and closes the vEVENTQ fd.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            FreeFrom(0);
        }

        _window.Dispose();
        _vm.File.Close(_veventqFd);
    }

    /// <summary>
    /// True when logical queue <paramref name="q"/>'s registers are the host's VINTF page itself (its HW queue
    /// exists): the guest reaches them without an exit. Before that the VMM emulates them, so each access traps.
    /// </summary>
    private bool IsDirect(int q) => q < _queues && Volatile.Read(ref _hwQueueIds[q]) != 0;

    /// <summary>Allocates the HW queue for logical queue <paramref name="q"/> once the guest has set it up completely.</summary>
    private void TryAllocate(int q)
    {
        bool ready = _hwQueueIds[q] == 0 && (_config & 1) != 0 && (_vintfConfig & 1) != 0
            && (_alloc[q] & CmdqvRegister.CMDQ_ALLOC_ALLOCATED) != 0 && (_base[q] & CmdqvRegister.VCMDQ_BASE_ADDR_MASK) != 0;
        if (!ready)
        {
            return;
        }

        ulong ipa = _base[q] & CmdqvRegister.VCMDQ_BASE_ADDR_MASK;
        ulong length = 16UL << (int)(_base[q] & 0x1F);
        var rc = _vm.File.HwQueueAlloc(_vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, (uint)q, ipa, length, out uint id);
        if (rc != Errno.Success)
        {
            // The guest sees its queue not come up (GERROR.CMDQ_INIT_ERR, raised unless still active) and must set
            // it up again.
            HwQueueAllocFailures++;
            _base[q] = 0;
            if (((_gerror[q] ^ _gerrorn[q]) & CmdqvRegister.VCMDQ_GERROR_CMDQ_INIT_ERR) == 0)
            {
                _gerror[q] ^= CmdqvRegister.VCMDQ_GERROR_CMDQ_INIT_ERR;
            }

            return;
        }

        _hwQueueIds[q] = id;
        if (_pendingConfig[q] != 0)
        {
            _window.Write32(((uint)q * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_CONFIG, _pendingConfig[q]);
        }
    }

    /// <summary>Frees HW queues from the highest index down to <paramref name="q"/>, the order the host requires.</summary>
    private void FreeFrom(int q)
    {
        for (int i = _queues - 1; i >= q; i--)
        {
            if (_hwQueueIds[i] != 0)
            {
                _vm.File.Destroy(_hwQueueIds[i]);
                _hwQueueIds[i] = 0;
                _pendingConfig[i] = 0;
            }
        }
    }

    private static ulong Slice(UInt128 map, int byteOffset)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(bytes, map);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes[(byteOffset & ~3)..]);
    }

}
