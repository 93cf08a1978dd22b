namespace Iommufd.Tests.Native;

/// <summary>The C sample VMM, run under the preload shim: every step gives Linux's result and it exits 0.</summary>
[NonParallelizable]
public class SampleVmmTests
{
    private const string Vmm = "iommufd-sample-vmm";

    /// <summary>Steps the sample must report as done; each line starts "ok   " and the step's name.</summary>
    private static readonly string[] RequiredSteps =
    [
        "IOMMU_IOAS_MAP own memory",
        "IOMMU_IOAS_ALLOC into read-only memory",
        "the aborted IOAS left its ID free",
        "IOMMU_IOAS_IOVA_RANGES into a read-only array",
        "VFIO_DEVICE_BIND_IOMMUFD into read-only memory",
        "VFIO_DEVICE_GET_INFO into read-only memory",
        "open /dev/vfio/devices/vfio0",
        "VFIO_DEVICE_BIND_IOMMUFD to a non-iommufd fd",
        "VFIO_DEVICE_BIND_IOMMUFD ",
        "VFIO_DEVICE_GET_REGION_INFO ",
        "VFIO_DEVICE_ATTACH_IOMMUFD_PT nest parent",
        "IOMMU_VIOMMU_ALLOC ARM_SMMUV3",
        "IOMMU_VDEVICE_ALLOC",
        "poll of an empty vEVENTQ: not readable",
        "VFIO_DEVICE_ATTACH_IOMMUFD_PT nested (replace)",
        "VFIO_DEVICE_GET_REGION_INFO BAR0 (the DMA engine)",
        "mmap of BAR0 MAP_PRIVATE",
        "DMA copy IOVA 0x80002000 -> 0x80003000 through the IOMMU",
        "DMA from an unmapped IOVA: a translation fault",
        "munmap of BAR0",
        "IOMMU_HWPT_INVALIDATE 2 raw SMMUv3 entries",
        "IOMMU_HWPT_INVALIDATE with an illegal entry",
        "close the device fd (unbinds it)",
        "IOMMU_DESTROY of the unbound device's vDEVICE",
        "IOMMU_VIOMMU_ALLOC TEGRA241_CMDQV",
        "mmap of the VINTF page MAP_PRIVATE",
        "mmap of the VINTF page PROT_EXEC",
        "mmap at an unregistered offset",
        "mmap of half the VINTF page",
        "mmap of the VINTF page ",
        "plain store VCMDQ_CONFIG.EN, STATUS reads enabled",
        "plain store PROD=2: the CMDQV consumed both",
        "an illegal entry: CONS.ERR = CERROR_ILL at entry 2",
        "poll of the vEVENTQ after the error: readable",
        "read of the vEVENTQ into read-only memory (the record stays)",
        "read with room for less than one record returns 0",
        "read of the vEVENTQ: one whole record",
        "poll after reading it: not readable",
        "munmap of the VINTF page",
        "IOMMU_DESTROY of a mapped IOAS",
    ];

    [Test]
    public void IOMMUFD_TRACE_logs_why_each_refused_ioctl_was_refused()
    {
        NativeBuild.Require(Vmm);
        var (exit, traced) = NativeBuild.Run(Vmm, new Dictionary<string, string> { ["IOMMUFD_TRACE"] = "1" });
        var (_, plain) = NativeBuild.Run(Vmm);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(traced, Does.Contain("debug Iommufd.Core.IommufdFile: IOMMU_IOAS_MAP: EEXIST, [0x80000000, "), "the sample maps the same IOVA twice");
            Assert.That(plain, Does.Not.Contain("debug Iommufd."), "off without the variable");
        });
    }

    [Test]
    public void The_C_sample_VMM_passes_every_step_under_the_shim()
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = NativeBuild.Run(Vmm);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Not.Contain("FAIL "));
            foreach (var step in RequiredSteps)
            {
                Assert.That(output, Does.Contain("ok   " + step), step);
            }

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
