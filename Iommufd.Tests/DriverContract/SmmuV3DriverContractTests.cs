namespace Iommufd.Tests.DriverContract;

/// <summary>The driver contract, kept by the Arm SMMUv3 driver plugin.</summary>
[TestFixture]
public class SmmuV3DriverContractTests : DriverContractTests<SmmuV3Plugin>
{
}
