using Iommufd.Core;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>The object lifetime rules written on <see cref="ObjectTable"/>, one deterministic case each.</summary>
public class LifetimeTests : MockContractTest
{
    private sealed class Leaf : IommufdObject
    {
        public override IommufdObjectType Type => IommufdObjectType.Ioas;

        public int Destroyed { get; private set; }

        internal override void Destroy() => Destroyed++;
    }

    [Test]
    public void Destroy_of_an_object_an_ioctl_is_using_is_EBUSY_as_in_the_kernel()
    {
        var table = new ObjectTable();
        var obj = new Leaf();
        uint id = table.Add(obj);
        Assert.That(table.Get(id, out ObjectRef<Leaf> inUse), Is.EqualTo(Errno.Success));

        var whileUsed = table.Destroy(id);
        inUse.Dispose();
        var afterwards = table.Destroy(id);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(whileUsed, Is.EqualTo(Errno.EBUSY));
            Assert.That(afterwards, Is.EqualTo(Errno.Success));
            Assert.That(obj.Destroyed, Is.EqualTo(1));
        }
    }

    [Test]
    public void An_object_claimed_for_destruction_cannot_be_looked_up_or_revived()
    {
        var table = new ObjectTable();
        var obj = new Leaf();
        table.Add(obj);

        Assert.That(table.TryClaim(obj), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(table.Get(obj.Id, out ObjectRef<Leaf> _), Is.EqualTo(Errno.ENOENT));
            Assert.That(obj.TryAddUser(), Is.False, "refcount_inc_not_zero on a claimed object");
            Assert.That(obj.AddUser, Throws.InvalidOperationException, "a dependent on a dying object is a bug");
            Assert.That(table.Count, Is.Zero);
        }

        table.FinishDestroy(obj);
        Assert.That(obj.Destroyed, Is.EqualTo(1));
    }

    [Test]
    public void A_closed_file_answers_EBADF_on_every_entry_point_and_closing_twice_is_harmless()
    {
        Fx.File.Dispose();
        var alloc = new IommuIoasAlloc();
        uint pt = Fx.IoasId;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Fx.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.Destroy(Fx.IoasId), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.AttachDevice(Fx.DevId, ref pt), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.UnbindDevice(Fx.DevId), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.BindDevice(Fx.Device, out _), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.Read(3, new byte[64], out _), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.Mmap(0x10000, 0x2000, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EBADF));
            Assert.That(Fx.File.Dispose, Throws.Nothing);
            Assert.That(Fx.File.ObjectCount, Is.Zero);
        }
    }

    [Test]
    public void An_unbound_device_is_released_to_the_platform_and_its_id_is_gone()
    {
        uint pt = Fx.IoasId;
        MockFixture.Expect(Fx.File.AttachDevice(Fx.DevId, ref pt), "attach to the IOAS");

        var unbind = Fx.File.UnbindDevice(Fx.DevId);
        var again = Fx.File.UnbindDevice(Fx.DevId);
        var rebind = Fx.File.BindDevice(Fx.Device, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unbind, Is.EqualTo(Errno.Success));
            Assert.That(again, Is.EqualTo(Errno.ENOENT));
            Assert.That(Fx.Mock.GetAttachedDomain(Fx.Device), Is.Null, "detached");
            Assert.That(Fx.Mock.DomainCount, Is.Zero, "the automatic domain went with its last device");
            Assert.That(rebind, Is.EqualTo(Errno.Success), "the platform device is free again");
        }
    }

    [Test]
    public void Destroying_an_automatic_domain_by_id_while_attached_is_EBUSY_and_detach_releases_it()
    {
        uint pt = Fx.IoasId;
        MockFixture.Expect(Fx.File.AttachDevice(Fx.DevId, ref pt), "attach to the IOAS");

        var attached = Fx.Destroy(pt);
        MockFixture.Expect(Fx.File.DetachDevice(Fx.DevId), "detach");
        var detached = Fx.Destroy(pt);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(attached, Is.EqualTo(Errno.EBUSY));
            Assert.That(detached, Is.EqualTo(Errno.ENOENT), "released with its last device");
            Assert.That(Fx.Destroy(Fx.IoasId), Is.EqualTo(Errno.Success), "nothing holds the IOAS any more");
        }
    }
}
