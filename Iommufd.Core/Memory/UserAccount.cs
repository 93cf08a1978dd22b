namespace Iommufd.Core.Memory;

/// <summary>
/// A user (uid) of the emulated host, shared by the processes it runs: the pages its processes' IOASes pin are counted
/// here (the kernel's <c>user_struct.locked_vm</c>, IOMMU_OPTION_RLIMIT_MODE 0) against each pinning process's
/// RLIMIT_MEMLOCK. <see cref="IommufdHost.CreateProcess()"/> runs every process as the host's one user unless told
/// otherwise.
/// </summary>
public sealed class UserAccount
{
    private long _lockedPages;

    /// <summary>Pages pinned and charged to this user now.</summary>
    public long LockedPages => Volatile.Read(ref _lockedPages);

    internal ref long Counter => ref _lockedPages;
}
