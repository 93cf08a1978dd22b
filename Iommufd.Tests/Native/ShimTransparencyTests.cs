namespace Iommufd.Tests.Native;

/// <summary>
/// A program that never opens /dev/iommu runs under the preload shim exactly as without it: the shim interposes
/// open, read, write, close, dup, fcntl, ioctl, mmap and munmap for everyone.
/// </summary>
[NonParallelizable]
public class ShimTransparencyTests
{
    // Files, pipes, dup'd fds, a terminal ioctl that fails, and the memory a shell and its children map and unmap.
    private const string Script =
        "exec 3>/dev/null; echo to-three >&3; exec 4<&0; printf 'a\\nb\\n' | sort -r | tr -d '\\n'; echo; " +
        "stty -a </dev/null >/dev/null 2>&1; echo stty=$?; head -c 4 /etc/hostname >/dev/null; echo exit; exit 7";

    [Test]
    public void A_shell_that_opens_no_iommu_behaves_the_same_with_and_without_the_shim()
    {
        NativeBuild.Require("iommufd-sample-vmm");
        var without = NativeBuild.Run("/bin/sh", preload: false, "-c", Script);
        var with = NativeBuild.Run("/bin/sh", preload: true, "-c", Script);

        Assert.Multiple(() =>
        {
            Assert.That(with.ExitCode, Is.EqualTo(7));
            Assert.That(with.Output, Is.EqualTo(without.Output));
            Assert.That(with.Output, Does.StartWith("ba\nstty="));
        });
    }
}
