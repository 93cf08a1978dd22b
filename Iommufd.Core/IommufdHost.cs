using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using System.Diagnostics.Metrics;
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

    /// <summary>
    /// A host for <paramref name="platform"/>. Its instruments (<see cref="IommufdMetrics"/>) are on a meter from
    /// <paramref name="meterFactory"/>, the one the service provider has when the host is resolved from it.
    /// </summary>
    public IommufdHost(Platform platform, ILoggerFactory? loggerFactory = null, FailNth? faults = null, ISelftestCommands? selftest = null, IMeterFactory? meterFactory = null)
    {
        _selftest = selftest;
        ArgumentNullException.ThrowIfNull(platform);
        Platform = platform;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _faults = faults;
        Metrics = new IommufdMetrics(meterFactory, platform.Memory);
    }

    /// <summary>The emulated machine.</summary>
    public Platform Platform { get; }

    /// <summary>The core's instruments for this host's files.</summary>
    internal IommufdMetrics Metrics { get; }

    /// <summary>The user every process <see cref="CreateProcess()"/> makes runs as: their pinned pages count together.</summary>
    public UserAccount User { get; } = new();

    /// <summary>A new process address space (a VMM) on this machine, run as the host's <see cref="User"/>.</summary>
    public UserMemory CreateProcess() => new(Platform.Memory, User);

    /// <summary>A new process address space run as <paramref name="user"/>.</summary>
    public UserMemory CreateProcess(UserAccount user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new(Platform.Memory, user);
    }

    /// <summary>open("/dev/iommu") from the process whose address space is <paramref name="process"/>.</summary>
    public IommufdFile Open(UserMemory process)
    {
        ArgumentNullException.ThrowIfNull(process);
        return new IommufdFile(Platform, process, _loggerFactory.CreateLogger<IommufdFile>(), Metrics, _faults) { Selftest = _selftest };
    }

    /// <summary>
    /// open("/dev/vfio/devices/vfioN") of <paramref name="device"/> from the process whose address space is
    /// <paramref name="process"/>; <paramref name="fds"/> resolves the /dev/iommu fd a bind names. Its refusals go to
    /// the host's logging, as the iommufd files' do.
    /// </summary>
    public VfioDeviceFile OpenDevice(EndpointDevice device, UserMemory process, IIommufdFdTable fds) =>
        new(device, process, fds, _loggerFactory.CreateLogger<VfioDeviceFile>());
}
