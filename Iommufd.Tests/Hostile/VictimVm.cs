using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Cmdqv;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// The VM beside a hostile one, checked exactly: each of its pages is backed by one of two guest-RAM pages with
/// distinct contents, so a DMA read tells which translation the SMMU used. A remap unmaps a page in the guest
/// stage 1, invalidates it (TLBI_NH_VA and ATC_INV, through its own VCMDQ or through IOMMU_HWPT_INVALIDATE), checks
/// that DMA now faults, maps the other backing page and checks that DMA reads exactly its contents: a stale IOTLB
/// or ATC entry, or an invalidation that never completed, shows as the wrong bytes.
/// </summary>
internal sealed class VictimVm : IDisposable
{
    public const ulong Va = 0x20_0000;
    public const int Pages = 8;
    private const int Log2Entries = 6;

    private readonly CmdqvGuest _guest;
    private readonly GuestVcmdq _queue;
    private readonly ulong[,] _backing = new ulong[Pages, 2];
    private readonly int[] _current = new int[Pages];
    private readonly ulong _canaryIpa;
    private readonly UserRegion _entries;
    private readonly string _context;

    public VictimVm(CmdqvRig rig, string device, uint vsid, ushort asid, string context)
    {
        _context = context;
        _guest = new CmdqvGuest(rig, device, vsid, asid, veventq: false);
        _queue = _guest.AllocQueue(0, Log2Entries);
        _entries = _guest.File.Memory.Map(4096);
        for (int p = 0; p < Pages; p++)
        {
            for (int alt = 0; alt < 2; alt++)
            {
                ulong ipa = _guest.Ram.Allocate(4096, 4096);
                _backing[p, alt] = ipa;
                var bytes = MemoryMarshal.Cast<byte, ulong>(_guest.Ram.Bytes(ipa, 4096));
                bytes.Fill(Pattern(p, alt));
            }

            _guest.Table.Map(PageVa(p), _backing[p, 0], 4096, IommuProtection.Read | IommuProtection.Write);
        }

        _canaryIpa = _guest.Ram.Allocate(4096, 4096);
        Names = new VictimNames(_guest.Vmid, vsid, _guest.Device.StreamId, asid, Va, Pages, _guest.Ram.Region.PhysicalAddressAt(_canaryIpa - CmdqvGuest.RamIpa));
        CheckAll();
    }

    public VictimNames Names { get; }

    /// <summary>DMA reads and writes checked so far.</summary>
    public long Checks { get; private set; }

    /// <summary>Remaps (each with a completed invalidation) so far.</summary>
    public long Remaps { get; private set; }

    /// <summary>True while no CMD_SYNC MSI of anyone has written into the canary page of this VM's RAM.</summary>
    public bool CanaryUntouched => _guest.Ram.Bytes(_canaryIpa, 4096).IndexOfAnyExcept((byte)0) < 0;

    /// <summary>One check: every page read, one page written, or one page remapped.</summary>
    public void Step(Random r)
    {
        switch (r.Next(3))
        {
            case 0:
                CheckAll();
                break;
            case 1:
                CheckWrite(r.Next(Pages), r.Next(512));
                break;
            default:
                Remap(r.Next(Pages), viaQueue: r.Next(2) == 0);
                break;
        }
    }

    public void Dispose() => _guest.Dispose();

    private static ulong Pattern(int page, int alt) => 0x5EC0_0000_0000_0000UL | ((ulong)page << 8) | (uint)alt;

    private static ulong PageVa(int page) => Va + ((ulong)page * 4096);

    private void CheckAll()
    {
        Span<byte> b = stackalloc byte[8];
        for (int p = 0; p < Pages; p++)
        {
            var status = _guest.Device.DmaRead(PageVa(p) + 8, b);
            Assert.That((status, BinaryPrimitives.ReadUInt64LittleEndian(b)), Is.EqualTo((DmaStatus.Ok, Pattern(p, _current[p]))), $"{_context}: the other VM's DMA read of page {p}");
            Checks++;
        }
    }

    private void CheckWrite(int page, int word)
    {
        ulong value = Pattern(page, _current[page]);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        var status = _guest.Device.DmaWrite(PageVa(page) + ((ulong)word * 8), b);
        ulong landed = BinaryPrimitives.ReadUInt64LittleEndian(_guest.Ram.Bytes(_backing[page, _current[page]] + ((ulong)word * 8), 8));
        Assert.That((status, landed), Is.EqualTo((DmaStatus.Ok, value)), $"{_context}: the other VM's DMA write to page {page} lands in its own page");
        Checks++;
    }

    private void Remap(int page, bool viaQueue)
    {
        ulong va = PageVa(page);
        _guest.Table.Unmap(va, 4096);
        if (viaQueue)
        {
            _queue.Submit(
                SmmuCommandBuilder.TlbiNhVa(0, Names.Asid, va, leaf: true, 0, 0, 0, 0), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE),
                SmmuCommandBuilder.AtcInv(Names.Vsid, 0, ssv: false, global: false, va, 0), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
            bool settled = Poll.Until(() => _queue.Drained || _queue.ErrorActive);
            Assert.That((settled, _queue.ErrorActive), Is.EqualTo((true, false)), $"{_context}: the other VM's invalidation through its VCMDQ completes");
        }
        else
        {
            var rc = Invalidate(SmmuCommandBuilder.TlbiNhVa(0, Names.Asid, va, leaf: true, 0, 0, 0, 0), SmmuCommandBuilder.AtcInv(Names.Vsid, 0, ssv: false, global: false, va, 0), out uint done);
            Assert.That((rc, done), Is.EqualTo((Errno.Success, 2u)), $"{_context}: the other VM's IOMMU_HWPT_INVALIDATE completes");
        }

        Span<byte> b = stackalloc byte[8];
        Assert.That(_guest.Device.DmaRead(va, b), Is.EqualTo(DmaStatus.TranslationFault), $"{_context}: the other VM's page {page} is gone once its invalidation completed");
        _current[page] ^= 1;
        _guest.Table.Map(va, _backing[page, _current[page]], 4096, IommuProtection.Read | IommuProtection.Write);
        Remaps++;
        CheckAll();
    }

    private Errno Invalidate(SmmuCommand first, SmmuCommand second, out uint entryNum)
    {
        first.Write(_entries.Span);
        second.Write(_entries.Span[16..]);
        var cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(), HwptId = _guest.ViommuId, DataUptr = _entries.Address,
            DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, EntryLen = 16, EntryNum = 2,
        };
        var rc = _guest.File.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, MemoryMarshal.AsBytes(new Span<IommuHwptInvalidate>(ref cmd)));
        entryNum = cmd.EntryNum;
        return rc;
    }
}
