namespace Iommufd.Tests.Native;

/// <summary>The C sample VMM, run under the preload shim: every step gives Linux's result and it exits 0.</summary>
[NonParallelizable]
public class SampleVmmTests
{
    private const string Vmm = "iommufd-sample-vmm";

    [Test]
    public void The_C_sample_VMM_passes_every_step_under_the_shim()
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = NativeBuild.Run(Vmm);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Not.Contain("FAIL "));
            Assert.That(output, Does.Contain("ok   IOMMU_IOAS_MAP own memory"));
            Assert.That(output, Does.Contain("PASSED"));
            Assert.That(exit, Is.Zero);
        });
    }

    [Test]
    public void Without_the_shim_the_sample_finds_no_dev_iommu()
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = NativeBuild.Run(Vmm, preload: false);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Not.Zero, "this machine has no /dev/iommu of its own");
            Assert.That(output, Does.Contain("FAIL open /dev/iommu"));
        });
    }
}
