namespace Iommufd.Core.Memory;

/// <summary>Where a page set's pins are charged (io_pagetable.h enum iopt_pages_account_mode).</summary>
internal enum PinAccounting
{
    /// <summary>IOPT_PAGES_ACCOUNT_NONE: the mapping process had CAP_IPC_LOCK.</summary>
    None,

    /// <summary>IOPT_PAGES_ACCOUNT_USER: the user's locked_vm (RLIMIT_MODE 0).</summary>
    User,

    /// <summary>IOPT_PAGES_ACCOUNT_MM: the process's mm locked_vm, as VFIO type1 counts (RLIMIT_MODE 1).</summary>
    Mm,
}
