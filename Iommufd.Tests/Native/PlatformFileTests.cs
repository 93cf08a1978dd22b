namespace Iommufd.Tests.Native;

/// <summary>
/// The platform a native program sees comes from the file IOMMUFD_PLATFORM names: the C sample runs on it, and an
/// invalid file makes the nodes absent (ENODEV) with a message that says what is wrong and where.
/// </summary>
[NonParallelizable]
public class PlatformFileTests
{
    private const string Vmm = "iommufd-sample-vmm";

    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = System.IO.Directory.CreateTempSubdirectory("iommufd-platform-").FullName;

    [TearDown]
    public void TearDown() => System.IO.Directory.Delete(_directory, recursive: true);

    [Test]
    public void The_sample_passes_on_an_SMMUv3_without_CMDQV_hardware_using_the_software_VCMDQ()
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = RunWith("""
            {
              // no CMDQV hardware: the same vIOMMU type on the software VCMDQ
              "iommus": [ { "name": "smmu0", "features": { "sidBits": 8 }, "cmdqv": { "backend": "software" } } ],
              "devices": [
                { "name": "nic", "iommu": "smmu0", "streamId": "0x10" },
                { "name": "gpu", "iommu": "smmu0", "streamId": 17, "ats": true },
              ]
            }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("ok   plain store PROD=2: the CMDQV consumed both"));
            Assert.That(output, Does.Contain("ok   read of the vEVENTQ: one whole record"));
            Assert.That(output, Does.Contain("PASSED"));
            Assert.That(exit, Is.Zero);
        });
    }

    [Test]
    public void Without_a_CMDQV_the_Tegra241_vIOMMU_is_EOPNOTSUPP()
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = RunWith("""
            { "iommus": [ { "name": "smmu0" } ],
              "devices": [ { "name": "d", "iommu": "smmu0", "streamId": 16 }, { "name": "e", "iommu": "smmu0", "streamId": 17 } ] }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("ok   IOMMU_HWPT_INVALIDATE 2 raw SMMUv3 entries"));
            Assert.That(output, Does.Match(@"FAIL IOMMU_VIOMMU_ALLOC TEGRA241_CMDQV .*errno=EOPNOTSUPP"));
            Assert.That(exit, Is.Not.Zero);
        });
    }

    [Test]
    public void A_platform_with_one_device_has_vfio0_only()
    {
        NativeBuild.Require(Vmm);
        var (_, output) = RunWith("""{ "iommus": [ { "name": "smmu0" } ], "devices": [ { "name": "d", "iommu": "smmu0", "streamId": 16 } ] }""");
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("ok   VFIO_DEVICE_BIND_IOMMUFD "));
            Assert.That(output, Does.Match(@"FAIL open and bind /dev/vfio/devices/vfio1 .*errno=ENOENT"));
        });
    }

    /// <summary>
    /// A device's pasidBits is its PCIe PASID width: IOMMU_GET_HW_INFO's out_max_pasid_log2 is the smaller of it and
    /// the SMMU's SSIDSIZE (arm-smmu-v3.c arm_smmu_probe_device(): ssid_bits = min(smmu->ssid_bits, the fwspec's
    /// num_pasid_bits)), and 0 for a device without the key, which has no PASID capability.
    /// </summary>
    [TestCase(", \"pasidBits\": 8", "", 8)]
    [TestCase(", \"pasidBits\": 20", ", \"features\": { \"ssidBits\": 5 }", 5)]
    [TestCase("", "", 0)]
    public void Get_hw_info_reports_the_devices_pasid_width_from_the_platform_file(string device, string smmu, int expected)
    {
        NativeBuild.Require(Vmm);
        var (_, output) = RunWith($$"""
            { "iommus": [ { "name": "smmu0"{{smmu}} } ],
              "devices": [ { "name": "d", "iommu": "smmu0", "streamId": 16{{device}} } ] }
            """);
        Assert.That(output, Does.Match($@"ok   IOMMU_GET_HW_INFO .*max_pasid_log2={expected}\b"));
    }

    [TestCase("""{ "iommus": [ { "name": "smmu0", "cmdqv": { "backend": "sofware" } } ] }""", "iommus[0].cmdqv.backend must be one of auto, hardware, software")]
    [TestCase("""{ "iommus": [ { "name": "smmu0", "colour": "blue" } ] }""", "unknown property 'colour' in iommus[0]")]
    [TestCase("""{ "iommus": [ { "name": "smmu0" } ], "devices": [ { "name": "a", "iommu": "smmu0" } ] }""", "devices[0].streamId is required")]
    [TestCase("""{ "iommus": [ { "name": "smmu0" } ], "devices": [ { "name": "a", "iommu": "smmu9", "streamId": 1 } ] }""", "smmu9")]
    [TestCase("""{ "iommus": [ { "name": "smmu0", "features": { "sidBits": "16" } } ] }""", "iommus[0].features.sidBits must be a number")]
    [TestCase("""{ "iommus": [ { "name": "smmu0" } ], "devices": [ { "name": "a", "iommu": "smmu0", "streamId": 1, "pasidBits": 21 } ] }""", "devices[0].pasidBits")]
    [TestCase("""{ "iommus": [ """, "not JSON")]
    public void An_invalid_platform_file_leaves_no_nodes_and_says_why(string json, string message)
    {
        NativeBuild.Require(Vmm);
        var (exit, output) = RunWith(json);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("FAIL open /dev/iommu"));
            Assert.That(output, Does.Contain("errno=ENODEV"));
            Assert.That(output, Does.Contain("iommufd-emu: platform file ").And.Contain(message));
            Assert.That(exit, Is.Not.Zero);
        });
    }

    private (int ExitCode, string Output) RunWith(string json)
    {
        string path = Path.Combine(_directory, "platform.json");
        File.WriteAllText(path, json);
        return NativeBuild.Run(Vmm, new Dictionary<string, string> { ["IOMMUFD_PLATFORM"] = path });
    }
}
