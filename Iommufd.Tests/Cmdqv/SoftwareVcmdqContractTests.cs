using Iommufd.Cmdqv;

namespace Iommufd.Tests.Cmdqv;

/// <summary>The VCMDQ contract on the software VCMDQ of an SMMUv3 without CMDQV hardware.</summary>
[TestFixture]
public sealed class SoftwareVcmdqContractTests : VcmdqContractTests
{
    protected override VcmdqBackend Backend => VcmdqBackend.Software;
}
