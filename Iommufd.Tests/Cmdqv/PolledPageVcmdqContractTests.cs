using Iommufd.Cmdqv;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// The VCMDQ contract through a real VINTF page (<see cref="PolledPage"/>): the guest's plain stores reach the
/// model only through the poller, as with the native library's mmap, not through the mapping's callback.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public sealed class PolledPageVcmdqContractTests(VcmdqBackend backend) : VcmdqContractTests
{
    protected override VcmdqBackend Backend => backend;

    protected override bool PolledPage => true;
}
