using Iommufd.Cmdqv;

namespace Iommufd.Tests.Cmdqv;

/// <summary>The VCMDQ contract on the CMDQV hardware model: the guest's PROD write reaches the VCMDQ directly.</summary>
[TestFixture]
public sealed class HardwareVcmdqContractTests : VcmdqContractTests
{
    protected override VcmdqBackend Backend => VcmdqBackend.Hardware;
}
