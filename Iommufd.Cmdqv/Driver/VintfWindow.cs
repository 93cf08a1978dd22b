using Iommufd.Cmdqv.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Cmdqv.Driver;

/// <summary>
/// A VINTF's logical-queue page 0 as the VMM maps it (64 KiB): each LVCMDQ's CONS, PROD, CONFIG, STATUS, GERROR
/// and GERRORN at 0x80 × index. Writes to PROD are doorbells.
/// </summary>
internal sealed class VintfWindow(Tegra241Cmdqv cmdqv, int vintf) : IMmioRegion
{
    public ulong Length => CmdqvRegister.PageSize;

    /// <summary>The VINTF's logical queues' registers, 0x80 bytes each; the rest of the page is reserved.</summary>
    public ulong RegisterLength => (ulong)cmdqv.Features.LvcmdqsPerVintf * CmdqvRegister.VcmdqStride;

    public ulong Read(ulong offset, int size) => cmdqv.ReadVintfPage0(vintf, (uint)offset, size);

    public void Write(ulong offset, int size, ulong value) => cmdqv.WriteVintfPage0(vintf, (uint)offset, value, size);
}
