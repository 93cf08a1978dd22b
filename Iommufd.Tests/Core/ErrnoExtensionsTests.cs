using Iommufd.Core;

namespace Iommufd.Tests.Core;

public class ErrnoExtensionsTests
{
    [Test]
    public void ThrowIfError_passes_success_and_throws_with_the_errno_and_the_operation_otherwise()
    {
        Assert.DoesNotThrow(() => Errno.Success.ThrowIfError("IOAS_ALLOC"));
        var e = Assert.Throws<IommufdException>(() => Errno.EBUSY.ThrowIfError("DESTROY 3"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Errno, Is.EqualTo(Errno.EBUSY));
            Assert.That(e.Operation, Is.EqualTo("DESTROY 3"));
            Assert.That(e.Message, Is.EqualTo("DESTROY 3: EBUSY"));
        });
    }
}
