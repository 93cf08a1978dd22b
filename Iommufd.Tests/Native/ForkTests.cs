namespace Iommufd.Tests.Native;

/// <summary>
/// fork() and exec() under the shim (samples/native/vmm/iommufd-fork-check.c): a child forked before or after the
/// parent opened /dev/iommu gets a working emulation of its own, exec starts afresh, an inherited emulated fd is
/// ENODEV in the child, and the parent's file is untouched.
/// </summary>
[NonParallelizable]
public class ForkTests
{
    private const string Check = "iommufd-fork-check";

    [Test]
    public void Forked_and_exec_children_behave_and_leave_the_parent_alone()
    {
        NativeBuild.Require(Check);
        var (exit, output) = NativeBuild.Run(Check);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("ok   a child forked before any open uses /dev/iommu"));
            Assert.That(output, Does.Contain("ok   a child that execs after the parent opened runs normally"));
            Assert.That(output, Does.Contain("ok   a child (no exec) gets a fresh emulation of its own"));
            Assert.That(output, Does.Contain("ok   an inherited emulated fd is ENODEV in the child and closes"));
            Assert.That(output, Does.Contain("ok   the parent's IOAS is still there after all the children"));
            Assert.That(output, Does.Contain("PASSED"));
            Assert.That(exit, Is.Zero);
        });
    }
}
