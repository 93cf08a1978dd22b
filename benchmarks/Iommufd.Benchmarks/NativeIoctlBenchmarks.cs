using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>
/// One IOMMU_HWPT_INVALIDATE of 1 and of 63 raw SMMUv3 entries (TLBI_NH_ASID, as samples/native/vmm/iommufd-bench.c
/// sends them) on a vIOMMU of the native library's default platform, with the argument struct and the entries in
/// this process's own memory, the way a native program passes them (<see cref="UserMemory.ForCallingProcess"/>):
/// <see cref="CSharp"/> calls the C# raw entry point <see cref="IommufdFile.Ioctl(uint, ulong)"/> (JIT), and
/// <see cref="Native"/> calls <c>iommufd_emu_ioctl</c> of samples/native/build/libiommufd-emu.so (NativeAOT,
/// samples/Iommufd.Native/Exports.cs) through an unmanaged function pointer, the call the preload shim makes.
/// </summary>
/// <remarks>
/// The native cases need <c>bash samples/native/build.sh</c> first; without the library their setup fails with
/// that message and the C# cases still run.
/// </remarks>
[MemoryDiagnoser]
public unsafe class NativeIoctlBenchmarks
{
    private const string LibraryPath = "samples/native/build/libiommufd-emu.so";

    private IommuHwptInvalidate* _cmd;
    private byte* _entries;

    private ServiceProvider? _provider;
    private IommufdFile? _file;

    private delegate* unmanaged[Cdecl]<int, uint, ulong, int> _ioctl;
    private delegate* unmanaged[Cdecl]<int, int> _close;
    private int _handle = -1;
    private int _vfio = -1;

    [Params(1, 63)]
    public int BatchSize { get; set; }

    [GlobalSetup(Target = nameof(CSharp))]
    public void SetupCSharp()
    {
        // The same machine as the native library's default platform (samples/Iommufd.Native/NativeHost.cs).
        _provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddTegra241Cmdqv("smmu0").AddDevice("dev0", iommu: "smmu0", streamId: 0x10))
            .BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        _file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        Check(_file.BindDevice(host.Platform.GetDevice("dev0"), out uint devId));
        Check(_file.IoasAlloc(out uint ioas));
        Check(_file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent));
        uint pt = parent;
        Check(_file.AttachDevice(devId, ref pt));
        Check(_file.ViommuAlloc(devId, parent, IommuViommuType.ArmSmmuV3, default, out uint viommu));
        AllocateCommand(viommu);
    }

    [GlobalSetup(Target = nameof(Native))]
    public void SetupNative()
    {
        string path = FindLibrary() ?? throw new InvalidOperationException(
            $"{LibraryPath} is not built: run `bash samples/native/build.sh` first (the C# cases do not need it)");
        nint library = NativeLibrary.Load(path);
        var init = (delegate* unmanaged[Cdecl]<delegate* unmanaged<int, void>, delegate* unmanaged<int, int>, delegate* unmanaged<int, void>, int>)
            NativeLibrary.GetExport(library, "iommufd_emu_init");
        var open = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(library, "iommufd_emu_open");
        var vfioOpen = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(library, "iommufd_emu_vfio_open");
        _ioctl = (delegate* unmanaged[Cdecl]<int, uint, ulong, int>)NativeLibrary.GetExport(library, "iommufd_emu_ioctl");
        _close = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(library, "iommufd_emu_close");

        // No shim: the "fd" of the /dev/iommu file in VFIO_DEVICE_BIND_IOMMUFD is its library handle itself.
        NativeCheck(init(&IgnoreFd, &HandleOfFd, &IgnoreFd), "iommufd_emu_init");
        _handle = NativeCheck(open(), "iommufd_emu_open");
        _vfio = NativeCheck(vfioOpen(0), "iommufd_emu_vfio_open(0)");

        // The setup of iommufd-bench.c, every argument on this thread's stack (real process memory).
        var ioas = new IommuIoasAlloc { Size = (uint)sizeof(IommuIoasAlloc) };
        NativeIoctl(_handle, IommufdIoctl.IOMMU_IOAS_ALLOC, &ioas, "IOMMU_IOAS_ALLOC");
        var bind = new VfioDeviceBindIommufd { Argsz = (uint)sizeof(VfioDeviceBindIommufd), Iommufd = _handle };
        NativeIoctl(_vfio, VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, &bind, "VFIO_DEVICE_BIND_IOMMUFD");
        var parent = new IommuHwptAlloc
        {
            Size = (uint)sizeof(IommuHwptAlloc), Flags = (uint)IommuHwptAllocFlags.NestParent, DevId = bind.OutDevid, PtId = ioas.OutIoasId,
        };
        NativeIoctl(_handle, IommufdIoctl.IOMMU_HWPT_ALLOC, &parent, "IOMMU_HWPT_ALLOC");
        var attach = new VfioDeviceAttachIommufdPt { Argsz = (uint)sizeof(VfioDeviceAttachIommufdPt), PtId = parent.OutHwptId };
        NativeIoctl(_vfio, VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
        var viommu = new IommuViommuAlloc
        {
            Size = (uint)sizeof(IommuViommuAlloc), Type = (uint)IommuViommuType.ArmSmmuV3, DevId = bind.OutDevid, HwptId = parent.OutHwptId,
        };
        NativeIoctl(_handle, IommufdIoctl.IOMMU_VIOMMU_ALLOC, &viommu, "IOMMU_VIOMMU_ALLOC");
        AllocateCommand(viommu.OutViommuId);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // The NativeAOT library cannot be unloaded; its files are closed.
        if (_vfio >= 0)
        {
            _close(_vfio);
            _close(_handle);
        }

        _file?.Dispose();
        _provider?.Dispose();
        NativeMemory.Free(_cmd);
        NativeMemory.Free(_entries);
    }

    /// <summary>The C# raw entry point, argument and entries in process memory.</summary>
    [Benchmark(Baseline = true)]
    public Errno CSharp()
    {
        _cmd->EntryNum = (uint)BatchSize;
        return _file!.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, (ulong)_cmd);
    }

    /// <summary>The native library's exported entry point: 0 or a negative errno.</summary>
    [Benchmark]
    public int Native()
    {
        _cmd->EntryNum = (uint)BatchSize;
        return _ioctl(_handle, IommufdIoctl.IOMMU_HWPT_INVALIDATE, (ulong)_cmd);
    }

    /// <summary>The argument and <see cref="BatchSize"/> TLBI_NH_ASID entries (ASID i + 1), in native memory.</summary>
    private void AllocateCommand(uint viommuId)
    {
        _entries = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * 16));
        for (int i = 0; i < BatchSize; i++)
        {
            SmmuCommandBuilder.TlbiNhAsid(0, (ushort)(i + 1)).Write(new Span<byte>(_entries + (i * 16), 16));
        }

        _cmd = (IommuHwptInvalidate*)NativeMemory.AllocZeroed((nuint)sizeof(IommuHwptInvalidate));
        *_cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(), HwptId = viommuId, DataUptr = (ulong)_entries,
            DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, EntryLen = 16,
        };

        // One call up front: a setup that does not work fails here, not as a fast error path in the figures.
        _cmd->EntryNum = (uint)BatchSize;
        int rc = _file is not null ? -(int)_file.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, (ulong)_cmd) : _ioctl(_handle, IommufdIoctl.IOMMU_HWPT_INVALIDATE, (ulong)_cmd);
        NativeCheck(rc, "IOMMU_HWPT_INVALIDATE");
        if (_cmd->EntryNum != (uint)BatchSize)
        {
            throw new InvalidOperationException($"IOMMU_HWPT_INVALIDATE handled {_cmd->EntryNum} of {BatchSize} entries");
        }
    }

    private void NativeIoctl<T>(int handle, uint request, T* argument, string what)
        where T : unmanaged => NativeCheck(_ioctl(handle, request, (ulong)argument), what);

    /// <summary>The library checked out of the working tree, searched upwards from the benchmark's binaries.</summary>
    private static string? FindLibrary()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, LibraryPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [UnmanagedCallersOnly]
    private static int HandleOfFd(int fd) => fd;

    [UnmanagedCallersOnly]
    private static void IgnoreFd(int fd)
    {
    }

    private static int NativeCheck(int rc, string what) =>
        rc >= 0 ? rc : throw new InvalidOperationException($"setup failed: {what}: {(Errno)(-rc)}");

    private static void Check(Errno rc)
    {
        if (rc != Errno.Success)
        {
            throw new InvalidOperationException($"setup failed: {rc}");
        }
    }
}
