namespace Iommufd.Tests.DriverContract;

/// <summary>The driver contract, kept by the mock (selftest) driver plugin.</summary>
[TestFixture]
public class MockDriverContractTests : DriverContractTests<MockPlugin>
{
}
