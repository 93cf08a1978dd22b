using System.Buffers;
using Iommufd.Core.Driver;

namespace Iommufd.Core.Devices;

/// <summary>
/// The test DMA engine in BAR0 of every VFIO device node: a memcpy from one IOVA to another through the device's
/// IOMMU attachment, so that a program sees translation, faults and stale translations for itself.
/// </summary>
/// <remarks>
/// Registers (little-endian, 32- or 64-bit accesses):
/// <list type="table">
/// <item><term>0x00 SRC</term><description>source IOVA (64-bit; or two 32-bit halves)</description></item>
/// <item><term>0x08 DST</term><description>destination IOVA (64-bit)</description></item>
/// <item><term>0x10 LEN</term><description>bytes to copy, at most <see cref="MaxLength"/></description></item>
/// <item><term>0x14 GO</term><description>write 1: copy now (reads as 0)</description></item>
/// <item><term>0x18 STATUS</term><description>result of the last copy: 0 done, 1 translation fault, 2 permission
/// fault, 3 blocked (not attached), 4 bus error, 5 bad length</description></item>
/// <item><term>0x1C COUNT</term><description>copies run so far: a program waits for it to change</description></item>
/// </list>
/// A copy reads all of SRC, then writes DST; a fault on the read writes nothing. Runs on the writer's thread.
/// </remarks>
public sealed class DmaEngine(EndpointDevice device) : IMmioRegion
{
    /// <summary>The largest copy (one page table walk per page, one buffer).</summary>
    public const uint MaxLength = 1 << 20;

    /// <summary>
    /// Register offsets in BAR0: SRC, DST, LEN, GO, STATUS and COUNT, as the class remarks list them.
    /// </summary>
    public const uint SRC = 0x00, DST = 0x08, LEN = 0x10, GO = 0x14, STATUS = 0x18, COUNT = 0x1C;

    /// <summary>STATUS after a copy whose LEN was 0 or above <see cref="MaxLength"/>.</summary>
    public const uint StatusBadLength = 5;

    private readonly Lock _lock = new(); // guards the registers
    private ulong _src, _dst;
    private uint _len, _status, _count;

    /// <inheritdoc/>
    public ulong Length => 4096;

    /// <inheritdoc/>
    public ulong RegisterLength => 0x20;

    /// <inheritdoc/>
    public ulong Read(ulong offset, int size)
    {
        lock (_lock)
        {
            ulong value = (offset & ~7UL) switch
            {
                SRC => _src,
                DST => _dst,
                LEN => _len,
                STATUS => _status | ((ulong)_count << 32),
                _ => 0,
            };
            return size == 8 ? value : (uint)(value >> (int)((offset & 4) * 8));
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, int size, ulong value)
    {
        bool go;
        lock (_lock)
        {
            go = offset == GO && (value & 1) != 0;
            switch (offset)
            {
                case SRC or DST when size == 8:
                    Set(offset, value);
                    break;
                case SRC or DST or SRC + 4 or DST + 4:
                    ulong current = offset < DST ? _src : _dst;
                    int shift = (int)(offset & 4) * 8;
                    Set(offset & ~7UL, (current & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift));
                    break;
                case LEN:
                    _len = (uint)value;
                    break;
            }
        }

        if (go)
        {
            Run();
        }
    }

    private void Set(ulong register, ulong value)
    {
        if (register == SRC)
        {
            _src = value;
        }
        else
        {
            _dst = value;
        }
    }

    private void Run()
    {
        ulong src, dst;
        uint len;
        lock (_lock)
        {
            (src, dst, len) = (_src, _dst, _len);
        }

        uint status = StatusBadLength;
        if (len is > 0 and <= MaxLength)
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)len);
            var data = buffer.AsSpan(0, (int)len);
            var rc = device.DmaRead(src, data);
            if (rc == DmaStatus.Ok)
            {
                rc = device.DmaWrite(dst, data);
            }

            ArrayPool<byte>.Shared.Return(buffer);
            status = (uint)rc;
        }

        lock (_lock)
        {
            _status = status;
            _count++;
        }
    }
}
