using MockVmm;

namespace Iommufd.Tests.Samples;

/// <summary>The README's first command must keep working: its scenario checks itself step by step.</summary>
public class MockVmmScenarioTests
{
    [Test]
    public void The_mock_vmm_scenario_passes_every_step()
    {
        var output = new StringWriter();
        bool passed = MockVmmScenario.Run(output);
        Assert.Multiple(() =>
        {
            Assert.That(passed, Is.True, output.ToString());
            Assert.That(output.ToString(), Does.Not.Contain("FAIL"));
            Assert.That(output.ToString(), Does.Contain("DMA after unmap is refused"));
        });
    }
}
