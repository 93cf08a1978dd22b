using Iommufd.Core.Uapi;

namespace Iommufd.Core.Driver;

/// <summary>
/// IOMMU_TEST_CMD (0xA0), the selftest's command, answered by a driver plugin that models the kernel's mock IOMMU
/// (drivers/iommu/iommufd/selftest.c iommufd_test()). Registered as a service; without one the command does not
/// exist (ENOTTY), as in a kernel built without CONFIG_IOMMUFD_TEST.
/// </summary>
public interface ISelftestCommands
{
    /// <summary>
    /// Runs one op on the kernel copy of the command; sets <paramref name="respond"/> to copy it back. An unknown op
    /// is EOPNOTSUPP.
    /// </summary>
    Errno Execute(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond);

    /// <summary>
    /// An op that succeeded and asked to respond could not have its struct written back (iommufd_ucmd_respond()
    /// failed, the caller gets EFAULT): undo what it made, as selftest.c's op handlers do on that error.
    /// <paramref name="cmd"/> is the struct as the op left it. The default undoes nothing.
    /// </summary>
    void AbortResponse(ISelftestContext context, in IommuTestCmd cmd)
    {
    }
}
