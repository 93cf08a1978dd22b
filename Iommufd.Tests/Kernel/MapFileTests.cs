using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// IOMMU_IOAS_MAP_FILE over a memfd of the emulated process, through the raw entry point on the mock: the pages are
/// the file's (io_pagetable.c iopt_map_file_pages(), pages.c iopt_alloc_file_pages() and pin_memfd_pages()), so what
/// the file holds a device reads and what a device writes the file holds. The order of the checks is in
/// <see cref="CheckOrderTests"/>.
/// </summary>
public class MapFileTests
{
    private const ulong Page = MockFixture.PageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void A_device_reads_what_was_written_to_the_file_and_the_file_reads_what_the_device_wrote()
    {
        // pages.c pin_memfd_pages(): the domain maps the file's own folios.
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd("guest-ram");
        MockFixture.Expect(memfd.Truncate(4 * (long)Page), "ftruncate");
        MockFixture.Expect(memfd.Write((long)Page + 8, "from the file"u8, out _), "pwrite");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        MockFixture.Expect(fx.MapFileAt(fx.IoasId, memfd.Fd, Page, 2 * Page, Aperture), "MAP_FILE");

        var seen = new byte[13];
        var read = fx.Device.DmaRead(Aperture + 8, seen);
        var write = fx.Device.DmaWrite(Aperture + Page + 16, "from the device"u8);
        var back = new byte[15];
        MockFixture.Expect(memfd.Read(2 * (long)Page + 16, back, out int count), "pread");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(seen, Is.EqualTo("from the file"u8.ToArray()), "DMA at IOVA + 8 reads file offset start + 8");
            Assert.That(write, Is.EqualTo(DmaStatus.Ok));
            Assert.That(count, Is.EqualTo(15));
            Assert.That(back, Is.EqualTo("from the device"u8.ToArray()), "the file holds what the device wrote");
        }
    }

    [Test]
    public void An_allocated_iova_keeps_the_file_offset_s_place_in_its_page()
    {
        // io_pagetable.c iopt_alloc_area_pages(): IOPT_ADDRESS_FILE guides iopt_alloc_iova() with the file offset.
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Truncate(2 * (long)Page), "ftruncate");
        ulong iova = 0;

        var rc = fx.MapFile(fx.IoasId, memfd.Fd, 0x10, Page, ref iova, Rw);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(iova % Page, Is.EqualTo(0x10UL));
        }
    }

    [Test]
    public void A_lazy_map_past_the_end_of_the_file_fails_when_a_domain_arrives_and_succeeds_once_the_file_grew()
    {
        // pages.c: without a domain only a lazy reference; iopt_table_add_domain() then pins (memfd_pin_folios()
        // reads no page at or past i_size: EINVAL).
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Truncate((long)Page), "ftruncate");
        MockFixture.Expect(fx.MapFileAt(fx.IoasId, memfd.Fd, 0, 2 * Page, Aperture), "lazy MAP_FILE");

        var early = fx.Attach(fx.IoasId);
        MockFixture.Expect(memfd.Truncate(2 * (long)Page), "grow");
        var late = fx.Attach(fx.IoasId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(early, Is.EqualTo(Errno.EINVAL));
            Assert.That(late, Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void Closing_the_fd_leaves_the_mapping_working_and_the_last_unmap_gives_the_pages_back()
    {
        // pages.c iopt_alloc_file_pages() takes get_file(); iopt_release_pages() drops it.
        using var fx = new MockFixture();
        int frames = fx.Memory.FrameCount;
        var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Write(0, "kept"u8, out _), "pwrite");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        MockFixture.Expect(fx.MapFileAt(fx.IoasId, memfd.Fd, 0, Page, Aperture), "MAP_FILE");
        memfd.Dispose();
        var seen = new byte[4];
        var read = fx.Device.DmaRead(Aperture, seen);
        int whileMapped = fx.Memory.FrameCount;

        MockFixture.Expect(fx.Unmap(Aperture, Page), "unmap");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(seen, Is.EqualTo("kept"u8.ToArray()));
            Assert.That(whileMapped, Is.EqualTo(frames + 1), "the file's one page stays while mapped");
            Assert.That(fx.Memory.FrameCount, Is.EqualTo(frames), "the unmap dropped the last reference");
            Assert.That(fx.MapFileAt(fx.IoasId, memfd.Fd, 0, Page, Aperture), Is.EqualTo(Errno.EBADF), "the fd is closed");
        }
    }

    [Test]
    public void A_copy_of_a_file_mapping_shares_the_file_s_pages()
    {
        // io_pagetable.c iopt_get_pages() / iopt_map_pages(): the copy takes the same iopt_pages.
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Truncate(2 * (long)Page), "ftruncate");
        uint other = fx.AllocIoas();
        MockFixture.Expect(fx.MapFileAt(other, memfd.Fd, 0, 2 * Page, 0x40000), "MAP_FILE");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        MockFixture.Expect(fx.Copy(fx.IoasId, other, 0x40000 + Page, Page, Aperture), "COPY");

        MockFixture.Expect(memfd.Write((long)Page, "shared"u8, out _), "pwrite");
        var seen = new byte[6];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fx.Device.DmaRead(Aperture, seen), Is.EqualTo(DmaStatus.Ok));
            Assert.That(seen, Is.EqualTo("shared"u8.ToArray()));
        }
    }

    [Test]
    public void Change_process_moves_file_mappings_and_refuses_user_memory()
    {
        // ioas.c iommufd_ioas_change_process(): every area must be IOPT_ADDRESS_FILE (EINVAL otherwise).
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Truncate((long)Page), "ftruncate");
        MockFixture.Expect(fx.MapFileAt(fx.IoasId, memfd.Fd, 0, Page, 0x10000), "MAP_FILE");
        var change = new IommuIoasChangeProcess();
        var fileOnly = fx.Raw(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, ref change);
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, Page, 0x20000), "MAP of user memory");
        var withUser = fx.Raw(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, ref change);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fileOnly, Is.EqualTo(Errno.Success));
            Assert.That(withUser, Is.EqualTo(Errno.EINVAL));
        }
    }

    [Test]
    public void The_memfd_answers_ftruncate_pwrite_and_pread_as_shmem_does()
    {
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd("small", maxSize: 2 * (long)Page);
        var back = new byte[4];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(memfd.Truncate(-1), Is.EqualTo(Errno.EINVAL));
            Assert.That(memfd.Truncate(3 * (long)Page), Is.EqualTo(Errno.EFBIG), "past the file's limit");
            Assert.That(memfd.Write(2 * (long)Page, "x"u8, out _), Is.EqualTo(Errno.EFBIG));
            Assert.That(memfd.Write(2 * (long)Page - 2, "abcd"u8, out int cut), Is.EqualTo(Errno.Success));
            Assert.That(cut, Is.EqualTo(2), "a write crossing the limit is cut there");
            Assert.That(memfd.Size, Is.EqualTo(2 * (long)Page));
            Assert.That(memfd.Truncate(2 * (long)Page - 2), Is.EqualTo(Errno.Success));
            Assert.That(memfd.Read(2 * (long)Page - 4, back, out int read), Is.EqualTo(Errno.Success));
            Assert.That(read, Is.EqualTo(2), "a read stops at the end of the file");
            Assert.That(memfd.Truncate(2 * (long)Page), Is.EqualTo(Errno.Success));
            Assert.That(memfd.Read(2 * (long)Page - 2, back, out _), Is.EqualTo(Errno.Success));
            Assert.That(back[..2], Is.EqualTo(new byte[2]), "bytes cut off by a shrink read back as zeros");
        }
    }
}
