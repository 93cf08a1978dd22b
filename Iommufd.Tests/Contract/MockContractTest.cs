namespace Iommufd.Tests.Contract;

/// <summary>
/// Base of the selftest-table tests: a fresh <see cref="MockFixture"/> per test, closed afterwards with a leak check
/// (what the selftest's fixture teardown and <c>viommu_auto_destroy</c> rely on).
/// </summary>
public abstract class MockContractTest
{
    private MockFixture? _fixture;

    internal MockFixture Fx => _fixture ?? throw new InvalidOperationException("no fixture outside a test");

    [SetUp]
    public void CreateFixture() => _fixture = new MockFixture();

    [TearDown]
    public void CloseFixtureAndCheckForLeaks()
    {
        if (_fixture is null)
        {
            return;
        }

        _fixture.Dispose();
        var fixture = _fixture;
        _fixture = null;
        fixture.AssertNoLeaks();
    }
}
