using Iommufd.Core;

namespace Iommufd.Vmm;

internal static class MmioMappingExtensions
{
    public static ulong Read64Or32(this MmioMapping mapping, ulong offset, int size) =>
        size == 8 ? mapping.Read64(offset) : mapping.Read32(offset);
}
