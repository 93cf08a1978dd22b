namespace Iommufd.Core;

/// <summary>The <c>prot</c> and sharing of an mmap request.</summary>
[Flags]
public enum MmapProtection
{
    /// <summary>PROT_NONE.</summary>
    None = 0,
    /// <summary>PROT_READ: the mapping may be read.</summary>
    Read = 1,
    /// <summary>PROT_WRITE: the mapping may be written.</summary>
    Write = 2,
    /// <summary>PROT_EXEC: refused on a register page.</summary>
    Exec = 4,

    /// <summary>MAP_SHARED; the iommufd file refuses private mappings.</summary>
    Shared = 0x100,

    /// <summary>The usual request for a register page: read, write, shared.</summary>
    ReadWriteShared = Read | Write | Shared,
}
