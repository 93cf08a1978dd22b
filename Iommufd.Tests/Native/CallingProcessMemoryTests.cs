using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Interop;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Native;

/// <summary>
/// The address space of the calling process (what the native library uses), exercised from this test process:
/// user pointers are real addresses, copies fault softly, and IOAS_MAP pins the real pages.
/// </summary>
public unsafe partial class CallingProcessMemoryTests
{
    private const ulong Page = PhysicalMemory.PageSize;

    private static nint MapAnonymous(ulong length, int protection = Libc.PROT_READ | Libc.PROT_WRITE)
    {
        nint p = Libc.Mmap(0, (nuint)length, protection, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        Assert.That(p, Is.Not.EqualTo(Libc.MapFailed), "mmap");
        return p;
    }

    private static Errno MapIntoIoas(IommufdFile file, uint ioas, nint va, ulong length, ulong iova)
    {
        var cmd = new IommuIoasMap
        {
            IoasId = ioas, UserVa = (ulong)va, Length = length, Iova = iova,
            Flags = (uint)(IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable),
        };
        return file.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
    }

    /// <summary>
    /// IOMMU_TEST_CMD with its struct in <paramref name="page"/>, left read-only for the call when
    /// <paramref name="readOnly"/> so that iommufd_ucmd_respond()'s write-back fails.
    /// </summary>
    private static Errno RunTestCmdIn(IommufdFile file, nint page, IommuTestCmd command, bool readOnly)
    {
        Assert.That(Mprotect(page, Page, Libc.PROT_READ | Libc.PROT_WRITE), Is.Zero);
        command.Size = (uint)sizeof(IommuTestCmd);
        *(IommuTestCmd*)page = command;
        Assert.That(Mprotect(page, Page, readOnly ? Libc.PROT_READ : Libc.PROT_READ | Libc.PROT_WRITE), Is.Zero);
        return file.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, (ulong)page);
    }

    private static uint AllocIoas(IommufdFile file)
    {
        var cmd = new IommuIoasAlloc();
        Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd), Is.EqualTo(Errno.Success));
        return cmd.OutIoasId;
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS");
    }

    private static (TestHost Host, IommufdFile File) OpenCallingProcess()
    {
        var host = new TestHost();
        return (host, host.Host.Open(UserMemory.ForCallingProcess(host.Physical)));
    }

    [Test]
    public void A_raw_ioctl_reads_and_writes_the_struct_at_its_real_address()
    {
        var (host, file) = OpenCallingProcess();
        using (host)
        using (file)
        {
            nint mem = MapAnonymous(Page);
            var cmd = (IommuIoasAlloc*)mem;
            cmd->Size = (uint)sizeof(IommuIoasAlloc);
            Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)mem), Is.EqualTo(Errno.Success));
            Assert.That(cmd->OutIoasId, Is.EqualTo(1u));
            Libc.Munmap(mem, (nuint)Page);
        }
    }

    [Test]
    public void An_unmapped_or_read_only_struct_is_EFAULT_and_never_a_crash()
    {
        var (host, file) = OpenCallingProcess();
        using (host)
        using (file)
        {
            // The hole is a PROT_NONE page, not a munmapped one: the runtime (GC, JIT) maps memory on its own
            // threads at any time and could take a freed address, which made this test flaky. The unmapped case
            // uses a kernel-half address, which no user mapping can ever occupy.
            nint mem = MapAnonymous(2 * Page);
            Assert.That(Mprotect(mem + (nint)Page, Page, 0 /* PROT_NONE */), Is.Zero);
            const ulong unmapped = 0xFFFF_8000_0000_0000;
            var straddling = (IommuIoasAlloc*)(mem + (nint)Page - 8); // size and flags readable, the rest not
            straddling->Size = (uint)sizeof(IommuIoasAlloc);
            var readOnly = MapAnonymous(Page);
            ((IommuIoasAlloc*)readOnly)->Size = (uint)sizeof(IommuIoasAlloc);
            Assert.That(Mprotect(readOnly, Page, Libc.PROT_READ), Is.Zero);
            Assert.Multiple(() =>
            {
                Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, unmapped), Is.EqualTo(Errno.EFAULT), "unmapped");
                Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)mem + Page), Is.EqualTo(Errno.EFAULT), "unreadable");
                Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)straddling), Is.EqualTo(Errno.EFAULT), "runs into a hole");
                Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)readOnly), Is.EqualTo(Errno.EFAULT), "read-only: the response cannot be written");
                Assert.That(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, 0UL), Is.EqualTo(Errno.EFAULT), "NULL");
            });
            Libc.Munmap(mem, 2 * (nuint)Page);
            Libc.Munmap(readOnly, (nuint)Page);
        }
    }

    [Test]
    public void An_allocation_whose_response_cannot_be_written_leaves_no_object_as_the_kernel_aborts_it()
    {
        var (host, file) = OpenCallingProcess();
        using (host)
        using (file)
        {
            var readOnly = MapAnonymous(Page);
            ((IommuIoasAlloc*)readOnly)->Size = (uint)sizeof(IommuIoasAlloc);
            Assert.That(Mprotect(readOnly, Page, Libc.PROT_READ), Is.Zero);
            var rc = file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)readOnly);
            int left = file.ObjectCount;
            var next = new IommuIoasAlloc { Size = (uint)sizeof(IommuIoasAlloc) };
            var rcNext = file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, (ulong)&next);
            uint nextId = next.OutIoasId;
            Libc.Munmap(readOnly, (nuint)Page);

            Assert.Multiple(() =>
            {
                Assert.That(rc, Is.EqualTo(Errno.EFAULT));
                Assert.That(left, Is.Zero, "iommufd_object_abort_and_destroy: nothing stays");
                Assert.That(rcNext, Is.EqualTo(Errno.Success));
                Assert.That(nextId, Is.EqualTo(1u), "the aborted object's ID is handed out again");
            });
        }
    }

    [Test]
    public void Ioas_map_pins_real_pages_that_the_program_and_the_frames_share_and_that_survive_munmap()
    {
        using var host = new TestHost();
        var memory = UserMemory.ForCallingProcess(host.Physical);
        nint mem = MapAnonymous(4 * Page);
        new Span<byte>((void*)mem, 16).Fill(0x5A); // touched before the pin: copied into the pinned pages
        Assert.That(memory.TryFind((ulong)mem, 4 * Page, out var region, out _), Is.True);
        region.Pin();
        ulong pa = region.PhysicalAddressAt(0);
        var view = new byte[16];
        Assert.That(host.Physical.TryRead(pa, view), Is.True);
        Assert.That(view, Is.All.EqualTo((byte)0x5A), "contents before the pin");

        *(byte*)(mem + 3 * (nint)Page) = 0x11; // a program store after the pin reaches the frame
        Assert.That(host.Physical.TryWrite(pa + Page, [0x22]), Is.True); // a DMA write reaches the program
        Assert.Multiple(() =>
        {
            Assert.That(host.Physical.TryRead(pa + 3 * Page, view.AsSpan(0, 1)) && view[0] == 0x11, Is.True, "program store seen by DMA");
            Assert.That(*(byte*)(mem + (nint)Page), Is.EqualTo((byte)0x22), "DMA write seen by the program");
        });

        Libc.Munmap(mem, (nuint)(4 * Page));
        Assert.That(host.Physical.TryWrite(pa + 2 * Page, [0x33]) && host.Physical.TryRead(pa + 2 * Page, view.AsSpan(0, 1)), Is.True, "pinned pages outlive the program's munmap");
        Assert.That(view[0], Is.EqualTo((byte)0x33));
        int frames = host.Physical.FrameCount;
        region.Unpin();
        memory.ReleaseIfUnused(region);
        Assert.That(host.Physical.FrameCount, Is.EqualTo(frames - 4), "the last pin gives the frames back");
    }

    [Test]
    public void Ioas_map_of_a_range_with_a_hole_pins_nothing_while_no_domain_needs_it()
    {
        var (host, file) = OpenCallingProcess();
        using (host)
        using (file)
        {
            uint ioas = AllocIoas(file);
            nint mem = MapAnonymous(3 * Page);
            Libc.Munmap(mem + (nint)Page, (nuint)Page);
            int frames = host.Physical.FrameCount;
            Assert.Multiple(() =>
            {
                // pages.c: without a domain the map is a lazy reference; the hole would be EFAULT once one needs it.
                Assert.That(MapIntoIoas(file, ioas, mem, 3 * Page, 1UL << 24), Is.EqualTo(Errno.Success));
                Assert.That(MapIntoIoas(file, ioas, mem, Page, 1UL << 24), Is.EqualTo(Errno.EEXIST));
                Assert.That(host.Physical.FrameCount, Is.EqualTo(frames), "nothing is pinned");
            });
            Libc.Munmap(mem, (nuint)(3 * Page));
        }
    }

    [Test]
    public void A_3_GiB_guest_RAM_of_the_calling_process_pins_and_costs_only_what_is_touched()
    {
        const ulong Size = 3UL << 30;
        using var host = new TestHost();
        var memory = UserMemory.ForCallingProcess(host.Physical);
        nint ram = MapAnonymous(Size);
        *(ulong*)((byte*)ram + (Size - 8)) = 0xfeedface;
        long before = ResidentBytes();
        Assert.That(memory.TryFind((ulong)ram, Size, out var region, out _), Is.True);
        region.Pin();
        long grown = ResidentBytes() - before;
        Assert.Multiple(() =>
        {
            Assert.That(host.Physical.TryReadUInt64(region.PhysicalAddressAt(Size - 8), out ulong v) ? v : 0, Is.EqualTo(0xfeedfaceUL), "the touched last word is in the pinned frames");
            Assert.That(grown, Is.LessThan(256L << 20), "resident memory after pinning 3 GiB of which one page was touched");
        });
        region.Unpin();
        memory.ReleaseIfUnused(region);
        Libc.Munmap(ram, (nuint)Size);
    }

    [Test]
    public void A_3_GiB_emulated_region_maps_and_costs_only_what_is_touched()
    {
        using var host = new TestHost();
        long before = ResidentBytes();
        var region = host.Process.Map(3L << 30);
        region.Slice((3UL << 30) - Page, (int)Page).Fill(0xA5);
        uint ioas = AllocIoas(host.File);
        var cmd = new IommuIoasMap { IoasId = ioas, UserVa = region.Address, Length = region.Length, Flags = (uint)(IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable) };
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd), Is.EqualTo(Errno.Success));
        var last = new byte[1];
        Assert.That(host.Physical.TryRead(region.PhysicalAddressAt(region.Length - 1), last), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(last[0], Is.EqualTo((byte)0xA5));
            Assert.That(ResidentBytes() - before, Is.LessThan(256L << 20), "resident memory for 3 GiB with one page touched");
        });
        host.Process.Unmap(region);
    }

    [Test]
    public void A_device_DMAs_at_the_far_end_of_a_3_GiB_guest_RAM_and_only_what_is_touched_costs_memory()
    {
        const ulong Size = 3UL << 30;
        using var host = new TestHost(b => b.AddArmSmmuV3("smmu0").AddDevice("dev0", iommu: "smmu0", streamId: 0x10));
        long before = ResidentBytes();
        var ram = host.Process.Map((long)Size);
        uint ioas = AllocIoas(host.File);
        ulong iova = 0;
        Assert.That(host.File.IoasMap(ioas, ram.Address, Size, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
        var device = host.Host.Platform.GetDevice("dev0");
        Assert.That(host.File.BindDevice(device, out uint devId), Is.EqualTo(Errno.Success));
        uint pt = ioas;
        Assert.That(host.File.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));

        var written = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var read = new byte[8];
        var write = device.DmaWrite(Size - 8, written);
        var back = device.DmaRead(Size - 8, read);
        var beyond = device.DmaRead(Size, read.AsSpan(0, 1));
        long grown = ResidentBytes() - before;
        using (Assert.EnterMultipleScope())
        {
            Assert.That((write, back), Is.EqualTo((DmaStatus.Ok, DmaStatus.Ok)));
            Assert.That(read, Is.EqualTo(written), "the DMA read sees what the DMA wrote");
            Assert.That(ram.Slice(Size - 8, 8).ToArray(), Is.EqualTo(written), "in the last 8 bytes of the program's RAM");
            Assert.That(beyond, Is.Not.EqualTo(DmaStatus.Ok), "one byte past the RAM is not mapped");
            Assert.That(grown, Is.LessThan(256L << 20), "resident memory for 3 GiB mapped and DMAed at its end");
        }
    }

    [Test]
    public void A_writeable_map_of_read_only_memory_is_EFAULT_when_the_pages_are_pinned_and_a_readable_one_is_not()
    {
        // pages.c pfn_reader_user_pin(): pin_user_pages_fast() with FOLL_WRITE for writable pages, which a VMA
        // without VM_WRITE refuses (mm/gup.c check_vma_flags()): EFAULT once a domain needs the pages.
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("dev0", iommu: "smmu0", streamId: 0x10))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        var device = host.Platform.GetDevice("dev0");
        Assert.That(file.BindDevice(device, out uint devId), Is.EqualTo(Errno.Success));
        uint attached = AllocIoas(file), lazy = AllocIoas(file);
        uint pt = attached;
        Assert.That(file.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
        nint readOnly = MapAnonymous(2 * Page, Libc.PROT_READ);
        int frames = host.Platform.Memory.FrameCount;

        var writeable = MapIntoIoas(file, attached, readOnly, 2 * Page, 1UL << 24);
        var framesAfterRefusal = host.Platform.Memory.FrameCount;
        var readable = new IommuIoasMap
        {
            IoasId = attached, UserVa = (ulong)readOnly, Length = 2 * Page, Iova = 1UL << 24,
            Flags = (uint)(IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable),
        };
        var rcReadable = file.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref readable);
        var lazyMap = MapIntoIoas(file, lazy, readOnly, 2 * Page, 1UL << 24);
        uint lazyPt = lazy;
        var attachToLazy = file.ReplaceDevice(devId, ref lazyPt);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(writeable, Is.EqualTo(Errno.EFAULT));
            Assert.That(framesAfterRefusal, Is.EqualTo(frames), "the refused pin keeps nothing");
            Assert.That(rcReadable, Is.EqualTo(Errno.Success), "READABLE only pins without FOLL_WRITE");
            Assert.That(lazyMap, Is.EqualTo(Errno.Success), "no domain: a lazy reference");
            Assert.That(attachToLazy, Is.EqualTo(Errno.EFAULT), "the domain's pin of the read-only pages for writing");
        }

        Libc.Munmap(readOnly, 2 * (nuint)Page);
    }

    [Test]
    public void Map_file_of_a_real_memfd_shares_its_pages_with_the_device_even_after_the_program_closes_it()
    {
        // io_pagetable.c iopt_map_file_pages(): fget() (EBADF), get_file() for the pages; pages.c pin_memfd_pages():
        // memfd_pin_folios() refuses a file that is not shmem (EINVAL).
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("dev0", iommu: "smmu0", streamId: 0x10))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        var device = host.Platform.GetDevice("dev0");
        Assert.That(file.BindDevice(device, out uint devId), Is.EqualTo(Errno.Success));
        uint ioas = AllocIoas(file);
        uint pt = ioas;
        Assert.That(file.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
        const IommuIoasMapFlags Flags = IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable;

        int memfd = Libc.MemfdCreate("map-file", Libc.MFD_CLOEXEC);
        Assert.That(Libc.Ftruncate(memfd, 2 * (long)Page), Is.Zero);
        nint program = Libc.Mmap(0, 2 * (nuint)Page, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
        Assert.That(program, Is.Not.EqualTo(Libc.MapFailed));
        "through the memfd"u8.CopyTo(new Span<byte>((void*)(program + (nint)Page), 17));
        int eventfd = Libc.Eventfd(0, Libc.EFD_CLOEXEC), empty = Libc.MemfdCreate("empty", Libc.MFD_CLOEXEC);
        ulong iova = 0x100000, notShmem = 0x200000, badFd = 0x300000, past = 0x400000;

        var mapped = file.IoasMapFile(ioas, memfd, Page, Page, Flags, ref iova);
        Libc.Close(memfd); // the mapping keeps its own reference to the file
        var seen = new byte[17];
        var read = device.DmaRead(iova, seen);
        var write = device.DmaWrite(iova + 32, "from the device"u8);
        string back = System.Text.Encoding.ASCII.GetString(new ReadOnlySpan<byte>((void*)(program + (nint)Page + 32), 15));
        var rcNotShmem = file.IoasMapFile(ioas, eventfd, 0, Page, Flags, ref notShmem);
        var rcBadFd = file.IoasMapFile(ioas, 1 << 20, 0, Page, Flags, ref badFd);
        Libc.Close(eventfd);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(mapped, Is.EqualTo(Errno.Success));
            Assert.That((read, write), Is.EqualTo((DmaStatus.Ok, DmaStatus.Ok)));
            Assert.That(seen, Is.EqualTo("through the memfd"u8.ToArray()), "the device reads the program's store");
            Assert.That(back, Is.EqualTo("from the device"), "the program reads the device's write");
            Assert.That(rcNotShmem, Is.EqualTo(Errno.EINVAL), "an eventfd is no memfd");
            Assert.That(rcBadFd, Is.EqualTo(Errno.EBADF));
            Assert.That(file.IoasMapFile(ioas, empty, 0, Page, Flags, ref past), Is.EqualTo(Errno.EINVAL), "past the end of the file");
        }

        Libc.Close(empty);
        Libc.Munmap(program, 2 * (nuint)Page);
    }

    [Test]
    public void An_invalidation_reads_its_struct_and_the_entries_of_the_last_call_in_one_copy_and_still_sees_new_bytes()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("dev0", iommu: "smmu0", streamId: 0x10))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        Assert.That(file.BindDevice(host.Platform.GetDevice("dev0"), out uint devId), Is.EqualTo(Errno.Success));
        Assert.That(file.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
        Assert.That(file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent), Is.EqualTo(Errno.Success));
        uint pt = parent;
        Assert.That(file.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
        Assert.That(file.ViommuAlloc(devId, parent, IommuViommuType.ArmSmmuV3, default, out uint viommu), Is.EqualTo(Errno.Success));

        const int Entries = 8;
        nint mem = MapAnonymous(3 * Page);
        var cmd = (IommuHwptInvalidate*)mem;
        byte* first = (byte*)mem + Page, second = (byte*)mem + (2 * Page);
        for (int i = 0; i < Entries; i++)
        {
            SmmuCommandBuilder.TlbiNhAsid(0, (ushort)(i + 1)).Write(new Span<byte>(first + (i * 16), 16));
            SmmuCommandBuilder.TlbiNhAsid(0, (ushort)(i + 1)).Write(new Span<byte>(second + (i * 16), 16));
        }

        (Errno Rc, uint Done, long Copies) Invalidate(byte* entries)
        {
            *cmd = new IommuHwptInvalidate
            {
                Size = (uint)sizeof(IommuHwptInvalidate), HwptId = viommu, DataUptr = (ulong)entries,
                DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, EntryLen = 16, EntryNum = Entries,
            };
            long before = CallerAddressSpace.Copies;
            var rc = file.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, (ulong)cmd);
            return (rc, cmd->EntryNum, CallerAddressSpace.Copies - before);
        }

        Invalidate(second); // the guess is now the second buffer
        var miss = Invalidate(first);
        var hit = Invalidate(first);
        first[0] = 0xFF; // an undefined opcode in entry 0, at the address read ahead
        var changed = Invalidate(first);
        Libc.Munmap(mem, (nuint)(3 * Page));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(miss, Is.EqualTo((Errno.Success, (uint)Entries, 3L)), "another buffer than last time: struct, entries, write-back");
            Assert.That(hit, Is.EqualTo((Errno.Success, (uint)Entries, 2L)), "the same buffer: read with the struct");
            Assert.That(changed.Rc, Is.Not.EqualTo(Errno.Success), "the entry changed since the last call is read as it is now");
            Assert.That(changed.Done, Is.Zero);
            Assert.That(changed.Copies, Is.EqualTo(2L));
        }
    }

    [Test]
    public void A_test_cmd_whose_struct_cannot_be_written_back_is_EFAULT_and_undoes_what_the_op_made()
    {
        // selftest.c: iommufd_test_mock_domain() detaches, unbinds and aborts its object, iommufd_test_create_access()
        // puts the access's file, iommufd_test_access_pages() unpins and iommufd_test_pasid_attach() detaches when
        // iommufd_ucmd_respond() fails; a PASID_REPLACE that failed to respond stays replaced.
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu("mock0"))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        uint ioas = AllocIoas(file);
        nint page = MapAnonymous(Page);
        var cmd = (IommuTestCmd*)page;

        Errno Run(IommuTestCmd command, bool readOnly) => RunTestCmdIn(file, page, command, readOnly);

        int objects = file.ObjectCount;
        var mockDomain = Run(new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = ioas, MockDomainFlagsDevFlags = MockDevice.Pasid }, readOnly: true);
        int afterMockDomain = file.ObjectCount;
        Assert.That(Run(new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = ioas, MockDomainFlagsDevFlags = MockDevice.Pasid }, readOnly: false), Is.EqualTo(Errno.Success));
        uint stdev = cmd->MockDomainOutStdevId, idev = cmd->MockDomainOutIdevId;
        Assert.That(Run(new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainReplace, Id = stdev, MockDomainReplacePtId = ioas }, readOnly: false), Is.EqualTo(Errno.Success));
        Assert.That(file.HwptAlloc(idev, ioas, IommuHwptAllocFlags.AllocPasid, IommuHwptDataType.None, default, 0, out uint hwpt), Is.EqualTo(Errno.Success));
        uint rid = hwpt;
        Assert.That(file.ReplaceDevice(idev, ref rid), Is.EqualTo(Errno.Success));
        var attach = Run(new IommuTestCmd { Op = (uint)IommuTestOp.PasidAttach, Id = stdev, PasidAttachPasid = 5, PasidAttachPtId = hwpt }, readOnly: true);
        var check = Run(new IommuTestCmd { Op = (uint)IommuTestOp.PasidCheckHwpt, Id = stdev, PasidAttachPasid = 5, PasidAttachPtId = 0 }, readOnly: false);
        int fds = file.OpenFileCount;
        var access = Run(new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = ioas }, readOnly: true);
        int fdsAfter = file.OpenFileCount;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((mockDomain, afterMockDomain), Is.EqualTo((Errno.EFAULT, objects)), "no device, selftest object or automatic domain left");
            Assert.That((attach, check), Is.EqualTo((Errno.EFAULT, Errno.Success)), "PASID 5 is detached again");
            Assert.That((access, fdsAfter), Is.EqualTo((Errno.EFAULT, fds)), "the access's fd is gone");
        }

        Libc.Munmap(page, (nuint)Page);
    }

    [Test]
    public void An_access_pages_whose_struct_cannot_be_written_back_is_EFAULT_and_unpins()
    {
        // selftest.c iommufd_test_access_pages(): when iommufd_ucmd_respond() fails the item is taken off the access
        // and iommufd_access_unpin_pages() gives its pages back, so MD_CHECK_REFS sees no pin.
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu("mock0"))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        uint ioas = AllocIoas(file);
        nint page = MapAnonymous(Page);
        nint ram = MapAnonymous(Page);
        var cmd = (IommuTestCmd*)page;
        ulong iova = 0x10000;
        Assert.That(file.IoasMap(ioas, (ulong)ram, Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));

        Errno Run(IommuTestCmd command, bool readOnly) => RunTestCmdIn(file, page, command, readOnly);

        Errno Refs(uint refs) => Run(new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckRefs, CheckRefsUptr = (ulong)ram, CheckRefsLength = Page, CheckRefsRefs = refs }, readOnly: false);

        Assert.That(Run(new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = ioas, CreateAccessFlags = 1 }, readOnly: false), Is.EqualTo(Errno.Success));
        uint fd = cmd->CreateAccessOutAccessFd;
        var pages = new IommuTestCmd { Op = (uint)IommuTestOp.AccessPages, Id = fd, AccessPagesFlags = 1, AccessPagesIova = iova, AccessPagesLength = Page };
        var refused = Run(pages, readOnly: true);
        var unpinned = Refs(0);
        var pinned = Run(pages, readOnly: false);
        uint item = cmd->AccessPagesOutAccessPagesId;
        var held = Refs(1);
        var destroyed = Run(new IommuTestCmd { Op = (uint)IommuTestOp.DestroyAccessPages, Id = fd, DestroyAccessPagesAccessPagesId = item }, readOnly: false);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused, Is.EqualTo(Errno.EFAULT));
            Assert.That(unpinned, Is.EqualTo(Errno.Success), "the refused pin is given back");
            Assert.That((pinned, held), Is.EqualTo((Errno.Success, Errno.Success)), "a pin that answers holds the page");
            Assert.That(destroyed, Is.EqualTo(Errno.Success));
            Assert.That(Refs(0), Is.EqualTo(Errno.Success));
        }

        Libc.Munmap(page, (nuint)Page);
        Libc.Munmap(ram, (nuint)Page);
    }

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint address, nuint length, int protection);

    private static int Mprotect(nint address, ulong length, int protection) => Mprotect(address, (nuint)length, protection);
}
