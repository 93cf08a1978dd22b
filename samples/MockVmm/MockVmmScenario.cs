using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Microsoft.Extensions.DependencyInjection;

namespace MockVmm;

/// <summary>
/// What a VMM does on top of iommufd, through raw ioctls as a C VMM would issue them: guest RAM in an IOAS, a
/// nest-parent HWPT, a vIOMMU with its mmap page, a vDEVICE, a nested HWPT, a vEVENTQ, a batch of guest
/// invalidations, and DMA before and after an unmap. Every step checks its own result.
/// </summary>
public static class MockVmmScenario
{
    private const ulong GuestRamIova = SelftestConstants.MockApertureStart;
    private const long GuestRamSize = 64 * 1024;
    private const uint VirtualSid = 0x99;

    public static bool Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var log = new StepLog(output);
        using var services = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu("mock0").AddDevice("nic0", iommu: "mock0", streamId: 0x10))
            .BuildIommufdServiceProvider();
        var host = services.GetRequiredService<IommufdHost>();
        var mock = (MockIommu)host.Platform.Iommus.Single();
        var nic = host.Platform.GetDevice("nic0");
        var vmm = host.CreateProcess();
        var guestRam = vmm.Map(GuestRamSize);
        var scratch = vmm.Map(PhysicalMemory.PageSize); // driver data blobs and the invalidation array
        int framesBefore = host.Platform.Memory.FrameCount;

        var file = host.Open(vmm);
        log.Check("open /dev/iommu", true, $"process at 0x{vmm.Regions[0].Address:x}");
        log.Check("VFIO_DEVICE_BIND_IOMMUFD", file.BindDevice(nic, out uint devId), $"dev_id={devId}");

        var ioasAlloc = new IommuIoasAlloc();
        log.Check("IOMMU_IOAS_ALLOC", Ioctl(file, IommufdIoctl.IOMMU_IOAS_ALLOC, ref ioasAlloc), $"ioas_id={ioasAlloc.OutIoasId}");

        var map = new IommuIoasMap
        {
            Flags = (uint)(IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable),
            IoasId = ioasAlloc.OutIoasId,
            UserVa = guestRam.Address,
            Length = (ulong)GuestRamSize,
            Iova = GuestRamIova,
        };
        log.Check("IOMMU_IOAS_MAP guest RAM", Ioctl(file, IommufdIoctl.IOMMU_IOAS_MAP, ref map), $"iova=0x{map.Iova:x} length=0x{map.Length:x}");

        var parent = new IommuHwptAlloc { Flags = (uint)IommuHwptAllocFlags.NestParent, DevId = devId, PtId = ioasAlloc.OutIoasId };
        log.Check("IOMMU_HWPT_ALLOC nest parent", Ioctl(file, IommufdIoctl.IOMMU_HWPT_ALLOC, ref parent), $"hwpt_id={parent.OutHwptId}");

        var viommuData = new IommuViommuSelftest { InData = 0xbeef };
        MemoryMarshal.Write(scratch.Span, in viommuData);
        var viommu = new IommuViommuAlloc
        {
            Type = (uint)IommuViommuType.Selftest, DevId = devId, HwptId = parent.OutHwptId,
            DataLen = (uint)Unsafe.SizeOf<IommuViommuSelftest>(), DataUptr = scratch.Address,
        };
        log.Check("IOMMU_VIOMMU_ALLOC", Ioctl(file, IommufdIoctl.IOMMU_VIOMMU_ALLOC, ref viommu), $"viommu_id={viommu.OutViommuId}");
        viommuData = MemoryMarshal.Read<IommuViommuSelftest>(scratch.Span);
        log.Check("vIOMMU driver data", viommuData.OutData == 0xbeef, $"out_data=0x{viommuData.OutData:x}");

        var rc = file.Mmap(viommuData.OutMmapOffset, viommuData.OutMmapLength, MmapProtection.ReadWriteShared, out var page);
        log.Check("mmap vIOMMU page", rc, $"offset=0x{viommuData.OutMmapOffset:x} length=0x{viommuData.OutMmapLength:x}");
        log.Check("mmap page reads back in_data", page.Read32(0) == 0xbeef, $"0x{page.Read32(0):x}");

        var vdev = new IommuVdeviceAlloc { ViommuId = viommu.OutViommuId, DevId = devId, VirtId = VirtualSid };
        log.Check("IOMMU_VDEVICE_ALLOC", Ioctl(file, IommufdIoctl.IOMMU_VDEVICE_ALLOC, ref vdev), $"vdevice_id={vdev.OutVdeviceId} virt_id=0x{VirtualSid:x}");

        var nestedData = new IommuHwptSelftest { Iotlb = SelftestConstants.IotlbDefault };
        MemoryMarshal.Write(scratch.Span, in nestedData);
        var nested = new IommuHwptAlloc
        {
            DevId = devId, PtId = viommu.OutViommuId, DataType = (uint)IommuHwptDataType.Selftest,
            DataLen = (uint)Unsafe.SizeOf<IommuHwptSelftest>(), DataUptr = scratch.Address,
        };
        log.Check("IOMMU_HWPT_ALLOC nested on the vIOMMU", Ioctl(file, IommufdIoctl.IOMMU_HWPT_ALLOC, ref nested), $"hwpt_id={nested.OutHwptId}");
        uint pt = nested.OutHwptId;
        log.Check("VFIO_DEVICE_ATTACH_IOMMUFD_PT nested", file.AttachDevice(devId, ref pt), $"pt_id={pt}");

        var veventq = new IommuVeventqAlloc { ViommuId = viommu.OutViommuId, Type = (uint)IommuVeventqType.Selftest, VeventqDepth = 4 };
        log.Check("IOMMU_VEVENTQ_ALLOC", Ioctl(file, IommufdIoctl.IOMMU_VEVENTQ_ALLOC, ref veventq), $"veventq_id={veventq.OutVeventqId} fd={veventq.OutVeventqFd}");
        log.Check("device reports an event", mock.TriggerVevent(nic), "IOMMU_TEST_OP_TRIGGER_VEVENT");
        Span<byte> record = stackalloc byte[64];
        file.Read((int)veventq.OutVeventqFd, record, out int read);
        uint virtId = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
        log.Check("read(veventq)", read == 12 && virtId == VirtualSid, $"{read} bytes, sequence={BinaryPrimitives.ReadUInt32LittleEndian(record[4..])} virt_id=0x{virtId:x}");

        // The guest invalidates three of its device-cache entries in one batch.
        var requests = MemoryMarshal.Cast<byte, IommuViommuInvalidateSelftest>(scratch.Span);
        for (uint i = 0; i < 3; i++)
        {
            requests[(int)i] = new IommuViommuInvalidateSelftest { VdevId = VirtualSid, CacheId = i };
        }

        var invalidate = new IommuHwptInvalidate
        {
            HwptId = viommu.OutViommuId, DataUptr = scratch.Address, DataType = (uint)IommuHwptInvalidateDataType.Selftest,
            EntryLen = (uint)Unsafe.SizeOf<IommuViommuInvalidateSelftest>(), EntryNum = 3,
        };
        log.Check("IOMMU_HWPT_INVALIDATE 3 entries", Ioctl(file, IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref invalidate), $"entry_num={invalidate.EntryNum}");
        bool cleared = mock.GetDeviceCache(nic, 0) == 0 && mock.GetDeviceCache(nic, 2) == 0
            && mock.GetDeviceCache(nic, 3) == SelftestConstants.DevCacheDefault;
        log.Check("device cache after invalidation", cleared, $"[{mock.GetDeviceCache(nic, 0):x}, {mock.GetDeviceCache(nic, 1):x}, {mock.GetDeviceCache(nic, 2):x}, {mock.GetDeviceCache(nic, 3):x}]");

        Span<byte> dma = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(dma, 0x0123_4567_89ab_cdef);
        var status = nic.DmaWrite(GuestRamIova + 0x100, dma);
        ulong landed = BinaryPrimitives.ReadUInt64LittleEndian(guestRam.Span[0x100..]);
        log.Check("DMA write to guest RAM", status == DmaStatus.Ok && landed == 0x0123_4567_89ab_cdef, $"{status}, guest reads 0x{landed:x}");

        var unmap = new IommuIoasUnmap { IoasId = ioasAlloc.OutIoasId, Iova = GuestRamIova, Length = (ulong)GuestRamSize };
        log.Check("IOMMU_IOAS_UNMAP guest RAM", Ioctl(file, IommufdIoctl.IOMMU_IOAS_UNMAP, ref unmap), $"unmapped 0x{unmap.Length:x}");
        status = nic.DmaRead(GuestRamIova + 0x100, dma);
        log.Check("DMA after unmap is refused", status == DmaStatus.TranslationFault, status.ToString());

        var busy = new IommuDestroy { Id = viommu.OutViommuId };
        log.Check("IOMMU_DESTROY vIOMMU while in use", Ioctl(file, IommufdIoctl.IOMMU_DESTROY, ref busy) == Errno.EBUSY, "EBUSY");

        page.Dispose();
        file.Dispose();
        log.Check("close: every object destroyed", file.ObjectCount == 0 && mock.ViommuCount == 0 && mock.DomainCount == 0, $"objects={file.ObjectCount}");
        log.Check("close: pinned pages released", host.Platform.Memory.FrameCount == framesBefore && !guestRam.IsPinned, $"frames={host.Platform.Memory.FrameCount}");

        output.WriteLine();
        output.WriteLine(log.Failures == 0 ? $"scenario passed ({log.Steps} steps)" : $"scenario FAILED: {log.Failures} of {log.Steps} steps");
        return log.Failures == 0;
    }

    private static Errno Ioctl<T>(IommufdFile file, uint request, ref T cmd)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(new Span<T>(ref cmd));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length);
        return file.Ioctl(request, bytes);
    }

    private sealed class StepLog(TextWriter output)
    {
        public int Steps { get; private set; }

        public int Failures { get; private set; }

        public void Check(string step, Errno rc, string detail) => Check(step, rc == Errno.Success, rc == Errno.Success ? detail : $"{rc}");

        public void Check(string step, bool ok, string detail)
        {
            Steps++;
            if (!ok)
            {
                Failures++;
            }

            output.WriteLine($"{(ok ? "ok  " : "FAIL")} {step,-40} {detail}");
        }
    }
}
