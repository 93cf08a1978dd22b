using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iommufd.Core;

/// <summary>
/// The host "kernel": the platform with its IOMMU drivers, and the <c>/dev/iommu</c> node that VMM processes
/// open. Resolve it from the service provider built by <c>AddIommufd</c>.
/// </summary>
public sealed class IommufdHost
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly FailNth? _faults;
    private readonly ISelftestCommands? _selftest;

    public IommufdHost(Platform platform, ILoggerFactory? loggerFactory = null, FailNth? faults = null, ISelftestCommands? selftest = null)
    {
        _selftest = selftest;
        ArgumentNullException.ThrowIfNull(platform);
        Platform = platform;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _faults = faults;
        IommufdMetrics.Track(platform.Memory);
    }

    /// <summary>The emulated machine.</summary>
    public Platform Platform { get; }

    /// <summary>A new process address space (a VMM) on this machine.</summary>
    public UserMemory CreateProcess() => new(Platform.Memory);

    /// <summary>open("/dev/iommu") from the process whose address space is <paramref name="process"/>.</summary>
    public IommufdFile Open(UserMemory process)
    {
        ArgumentNullException.ThrowIfNull(process);
        return new IommufdFile(Platform, process, _loggerFactory.CreateLogger<IommufdFile>(), _faults) { Selftest = _selftest };
    }

    /// <summary>
    /// open("/dev/vfio/devices/vfioN") of <paramref name="device"/> from the process whose address space is
    /// <paramref name="process"/>; <paramref name="fds"/> resolves the /dev/iommu fd a bind names. Its refusals go to
    /// the host's logging, as the iommufd files' do.
    /// </summary>
    public VfioDeviceFile OpenDevice(EndpointDevice device, UserMemory process, IIommufdFdTable fds) =>
        new(device, process, fds, _loggerFactory.CreateLogger<VfioDeviceFile>());
}
