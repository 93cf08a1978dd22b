using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>
/// IOMMU_HWPT_INVALIDATE through the SMMUv3 vIOMMU (raw ioctl → copy → convert → host queue in chunks of 63 +
/// CMD_SYNC → emulated SMMU), per batch size, beside a same-run baseline that only copies the same bytes into a
/// pooled buffer (the floor any implementation pays), and the host queue alone (the same number of converted TLBIs, up
/// to one chunk, and a CMD_SYNC issued and waited for on the SMMU's main queue), so that the fixed cost splits into the
/// core and driver layers (Invalidate − HostQueueOnly) and the queue protocol with the model's consumption.
/// </summary>
[MemoryDiagnoser]
public class SmmuInvalidateBenchmarks
{
    private ServiceProvider _provider = null!;
    private IommufdFile _file = null!;
    private UserRegion _entries = null!;
    private uint _viommuId;
    private IommuHwptInvalidate _cmd;
    private HostCommandQueue _hostQueue = null!;
    private SmmuCommand[] _converted = null!;

    [Params(1, 16, 63, 256, 4096)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("nic0", "smmu0", streamId: 0x10, atsCapable: true))
            .BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        var device = host.Platform.GetDevice("nic0");
        var vmm = host.CreateProcess();
        var ram = vmm.Map(4L << 20);
        _file = host.Open(vmm);
        Check(_file.BindDevice(device, out uint devId));
        Check(_file.IoasAlloc(out uint ioas));
        ulong iova = 0x4000_0000;
        Check(_file.IoasMap(ioas, ram.Address, ram.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova));
        Check(_file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent));
        Check(_file.ViommuAlloc(devId, parent, IommuViommuType.ArmSmmuV3, default, out _viommuId));
        Check(_file.VdeviceAlloc(_viommuId, devId, 1, out _));

        // A guest mix: by-VA TLBIs over a 64-page window, by-ASID, ATC and CD invalidations.
        _entries = vmm.Map(BatchSize * 16L);
        for (int i = 0; i < BatchSize; i++)
        {
            var c = (i % 4) switch
            {
                0 => SmmuCommandBuilder.TlbiNhVa(0, 3, 0x10_0000UL + ((ulong)(i % 64) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0),
                1 => SmmuCommandBuilder.TlbiNhAsid(0, 3),
                2 => SmmuCommandBuilder.AtcInv(1, 0, ssv: false, global: false, address: 0x10_0000, size: 4),
                _ => SmmuCommandBuilder.CfgiCd(1, 0, leaf: true),
            };
            c.Write(_entries.Span[(i * 16)..]);
        }

        _hostQueue = ((SmmuV3Host)host.Platform.Iommus.Single()).MainQueue;
        _converted = new SmmuCommand[Math.Min(BatchSize, HostCommandQueue.MaxBatch)];
        for (int i = 0; i < _converted.Length; i++)
        {
            _converted[i] = SmmuCommandBuilder.TlbiNhVa(1, 3, 0x10_0000UL + ((ulong)(i % 64) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0);
        }

        _cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(), HwptId = _viommuId, DataUptr = _entries.Address,
            DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, EntryLen = 16,
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _file.Dispose();
        _provider.Dispose();
    }

    /// <summary>Only the copy of the caller's entries into a pooled buffer.</summary>
    [Benchmark(Baseline = true)]
    public int CopyOnly()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BatchSize * 16);
        _entries.Span[..(BatchSize * 16)].CopyTo(buffer);
        int first = buffer[0];
        ArrayPool<byte>.Shared.Return(buffer);
        return first;
    }

    /// <summary>The whole trap path of one IOMMU_HWPT_INVALIDATE.</summary>
    [Benchmark]
    public Errno Invalidate()
    {
        _cmd.EntryNum = (uint)BatchSize;
        return _file.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, MemoryMarshal.AsBytes(new Span<IommuHwptInvalidate>(ref _cmd)));
    }

    /// <summary>Only the host queue and the SMMU: converted TLBIs and a CMD_SYNC, waited for.</summary>
    [Benchmark]
    public Errno HostQueueOnly() => _hostQueue.Issue(_converted, out _);

    private static void Check(Errno rc)
    {
        if (rc != Errno.Success)
        {
            throw new InvalidOperationException($"setup failed: {rc}");
        }
    }
}
