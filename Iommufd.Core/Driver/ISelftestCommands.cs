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
}
