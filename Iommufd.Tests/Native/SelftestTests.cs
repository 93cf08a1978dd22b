namespace Iommufd.Tests.Native;

/// <summary>
/// The kernel's selftest style under the shim: samples/native/vmm/iommufd-selftest.c forks a child per test, each
/// opening /dev/iommu itself, and drives the mock IOMMU of a platform file through IOMMU_TEST_CMD (MOCK_DOMAIN,
/// MD_CHECK_MAP, MD_CHECK_REFS, CREATE_ACCESS, ACCESS_RW, ADD_RESERVED) next to IOAS map, MAP_FILE of a memfd and unmap.
/// </summary>
[NonParallelizable]
public class SelftestTests
{
    private const string Program = "iommufd-selftest";

    [Test]
    public void A_selftest_style_program_passes_every_test_on_a_mock_IOMMU_named_in_the_platform_file()
    {
        NativeBuild.Require(Program);
        string platform = Path.Combine(Path.GetTempPath(), $"iommufd-mock-{Environment.ProcessId}.json");
        File.WriteAllText(platform, """{ "iommus": [ { "name": "mock0", "type": "mock" } ] }""");
        try
        {
            var (exit, output) = NativeBuild.Run(Program, new Dictionary<string, string> { ["IOMMUFD_PLATFORM"] = platform });
            var lines = output.Split('\n', StringSplitOptions.TrimEntries);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(exit, Is.Zero, output);
                Assert.That(lines.Where(l => l.StartsWith("not ok", StringComparison.Ordinal)), Is.Empty);
                Assert.That(lines.Count(l => l.StartsWith("ok ", StringComparison.Ordinal)), Is.EqualTo(9));
                Assert.That(lines, Does.Contain("# PASSED: 9 / 9"));
            }
        }
        finally
        {
            File.Delete(platform);
        }
    }

    [Test]
    public void Without_a_mock_IOMMU_TEST_CMD_is_ENOTTY_as_on_a_kernel_without_CONFIG_IOMMUFD_TEST()
    {
        NativeBuild.Require(Program);
        var (exit, output) = NativeBuild.Run(Program); // the default platform: SMMUv3 only
        Assert.That(exit, Is.Not.Zero);
        Assert.That(output, Does.Contain("ok 1 ioas_alloc_and_destroy"), "plain iommufd calls still work");
        Assert.That(output, Does.Contain("not ok 2 mock_domain_maps_what_the_ioas_maps"));
        Assert.That(output, Does.Contain("(errno 25)"), "ENOTTY");
    }
}
