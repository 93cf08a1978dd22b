namespace Iommufd.Core;

/// <summary>The <c>prot</c> and sharing of an mmap request.</summary>
[Flags]
public enum MmapProtection
{
    None = 0,
    Read = 1,
    Write = 2,
    Exec = 4,

    /// <summary>MAP_SHARED; the iommufd file refuses private mappings.</summary>
    Shared = 0x100,

    /// <summary>The usual request for a register page: read, write, shared.</summary>
    ReadWriteShared = Read | Write | Shared,
}
