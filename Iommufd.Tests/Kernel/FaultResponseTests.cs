using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;

namespace Iommufd.Tests.Kernel;

/// <summary>Responses written to a fault queue's fd (drivers/iommu/iommufd/eventq.c iommufd_fault_fops_write()).</summary>
public class FaultResponseTests
{
    [Test]
    public void A_response_needs_a_cookie_a_fault_awaits_and_a_known_code()
    {
        // eventq.c iommufd_fault_fops_write(): xa_erase() of the cookie must find the fault group (EINVAL otherwise,
        // so a second response to one fault is EINVAL too), the code must be SUCCESS or INVALID, and a stop after the
        // first response returns the count written so far.
        using var fx = new MockFixture();
        var alloc = new IommuFaultAlloc();
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref alloc), "FAULT_QUEUE_ALLOC");
        int fd = (int)alloc.OutFaultFd;
        MockFixture.Expect(fx.AllocHwpt(fx.DevId, fx.IoasId, IommuHwptAllocFlags.FaultIdValid, out uint hwpt, faultId: alloc.OutFaultId), "HWPT_ALLOC");
        MockFixture.Expect(fx.Attach(hwpt), "attach");
        MockFixture.Expect(fx.File.ReportPageFault(fx.DevId, 0x1000, IommuHwptPgfaultPerm.Read), "fault 1");
        MockFixture.Expect(fx.File.ReportPageFault(fx.DevId, 0x2000, IommuHwptPgfaultPerm.Read), "fault 2");
        var faults = new byte[2 * Marshal.SizeOf<IommuHwptPgfault>()];
        MockFixture.Expect(fx.File.Read(fd, faults, out int read), "read");
        var cookies = MemoryMarshal.Cast<byte, IommuHwptPgfault>(faults.AsSpan(0, read)).ToArray().Select(f => f.Cookie).ToArray();

        byte[] Responses(params (uint Cookie, uint Code)[] responses) =>
            MemoryMarshal.AsBytes(responses.Select(r => new IommuHwptPageResponse { Cookie = r.Cookie, Code = r.Code }).ToArray().AsSpan()).ToArray();
        int size = Marshal.SizeOf<IommuHwptPageResponse>();

        var unknown = fx.File.Write(fd, Responses((999, 0)), out int unknownCount);
        var badCode = fx.File.Write(fd, Responses((cookies[0], 7)), out _);
        var goodThenRepeat = fx.File.Write(fd, Responses((cookies[0], 0), (cookies[0], 0)), out int partial);
        var repeat = fx.File.Write(fd, Responses((cookies[0], 0)), out _);
        var second = fx.File.Write(fd, Responses((cookies[1], 1)), out int secondCount);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cookies, Has.Length.EqualTo(2).And.Unique);
            Assert.That((unknown, unknownCount), Is.EqualTo((Errno.EINVAL, 0)));
            Assert.That(badCode, Is.EqualTo(Errno.EINVAL));
            Assert.That((goodThenRepeat, partial), Is.EqualTo((Errno.Success, size)), "the first response counts; the repeat stops the write");
            Assert.That(repeat, Is.EqualTo(Errno.EINVAL), "a cookie answered already");
            Assert.That((second, secondCount), Is.EqualTo((Errno.Success, size)));
        }
    }
}
