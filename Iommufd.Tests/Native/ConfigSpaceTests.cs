using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Native;

/// <summary>
/// samples/native/vmm/iommufd-config.c reads the device nodes' config space with pread at the config region's offset
/// under the shim, walks the capability lists and checks the write and errno rules itself; the whole space it read
/// must be the bytes the C# entry point (<see cref="VfioDeviceFile.ReadWrite"/>) gives on the same platform.
/// </summary>
[NonParallelizable]
public class ConfigSpaceTests
{
    private const string Program = "iommufd-config";

    [Test]
    public void A_native_program_reads_the_config_space_the_CSharp_entry_point_gives_and_its_rules_hold()
    {
        NativeBuild.Require(Program);
        var (exit, output) = NativeBuild.Run(Program);
        var lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exit, Is.Zero, output);
            Assert.That(lines.Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)), Is.Empty);
            Assert.That(lines.Count(l => l.StartsWith("ok ", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(15), "every rule was checked");
            Assert.That(lines, Does.Contain("REGION vfio0 4096 3 0x70000000000"), "size, READ|WRITE, index 7 << 40");
            Assert.That(lines, Does.Contain("CAP vfio0 0x10 0x40"), "PCI Express capability");
            Assert.That(lines, Does.Contain("CAP vfio1 0x10 0x40"));
            Assert.That(lines.Where(l => l.StartsWith("ECAP vfio0", StringComparison.Ordinal)), Is.Empty, "vfio0 has no ATS");
            Assert.That(lines.Where(l => l.StartsWith("ECAP vfio1", StringComparison.Ordinal)), Is.EqualTo(new[] { "ECAP vfio1 0x000f 1 0x100" }), "ATS only: vfio hides PASID");
        }

        using var provider = NativeBuild.DefaultPlatform();
        var host = provider.GetRequiredService<IommufdHost>();
        var process = host.CreateProcess();
        using var file = host.Open(process);
        var buffer = process.Map(PciConfigSpace.Size);
        var fds = new OneIommufdFd(file);
        for (int index = 0; index < 2; index++)
        {
            using var device = new VfioDeviceFile(host.Platform.Devices.ElementAt(index), process, fds);
            var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = OneIommufdFd.DefaultNumber };
            MemoryMarshal.Write(buffer.Span, in bind);
            Assert.That(device.Ioctl(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, buffer.Address), Is.EqualTo(Errno.Success));
            ulong config = (ulong)VfioIoctl.VFIO_PCI_CONFIG_REGION_INDEX << VfioIoctl.VFIO_PCI_OFFSET_SHIFT;
            Assert.That(device.ReadWrite(config, buffer.Address, PciConfigSpace.Size, write: false), Is.EqualTo(PciConfigSpace.Size));
            string expected = $"CONFIG vfio{index} {Convert.ToHexString(buffer.Span).ToLowerInvariant()}";
            Assert.That(lines, Does.Contain(expected), $"vfio{index}: the native bytes are the C# entry point's");
        }
    }
}
