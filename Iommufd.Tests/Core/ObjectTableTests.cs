using Iommufd.Core;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>The object table under concurrent ioctls.</summary>
public class ObjectTableTests
{
    private sealed class Dependent : IommufdObject
    {
        public override IommufdObjectType Type => IommufdObjectType.Ioas;

        public int Destroyed { get; private set; }

        internal override void Destroy() => Destroyed++;
    }

    [Test]
    public void An_object_with_users_is_EBUSY_and_is_destroyed_once_they_leave()
    {
        var table = new ObjectTable();
        var obj = new Dependent();
        uint id = table.Add(obj);
        obj.AddUser();
        Assert.Multiple(() =>
        {
            Assert.That(table.Destroy(id), Is.EqualTo(Errno.EBUSY));
            Assert.That(obj.Destroyed, Is.Zero);
        });
        obj.RemoveUser();
        Assert.Multiple(() =>
        {
            Assert.That(table.Destroy(id), Is.EqualTo(Errno.Success));
            Assert.That(obj.Destroyed, Is.EqualTo(1));
            Assert.That(table.Destroy(id), Is.EqualTo(Errno.ENOENT));
        });
    }

    [Test]
    public void A_tombstone_answers_ENOENT_and_keeps_its_id_until_everything_is_destroyed()
    {
        var table = new ObjectTable();
        var obj = new Dependent();
        uint id = table.Add(obj);
        Assert.That(table.BeginRemove(obj), Is.True);
        table.FinishRemove(obj, leaveTombstone: true);
        Assert.Multiple(() =>
        {
            Assert.That(table.Destroy(id), Is.EqualTo(Errno.ENOENT));
            Assert.That(table.Get(id, out _), Is.EqualTo(Errno.ENOENT));
            Assert.That(table.Add(new Dependent()), Is.Not.EqualTo(id), "the ID is still taken");
            Assert.That(table.DestroyAll(out int left), Is.EqualTo(1), "the tombstone is cleared, the live object destroyed");
            Assert.That(left, Is.Zero);
            Assert.That(table.Count, Is.Zero);
        });
    }

    [Test]
    public void DestroyAll_destroys_dependents_before_what_they_depend_on()
    {
        var table = new ObjectTable();
        var parent = new Dependent();
        var child = new DependentOn(parent);
        table.Add(parent);
        table.Add(child);
        Assert.Multiple(() =>
        {
            Assert.That(table.DestroyAll(out _), Is.EqualTo(2));
            Assert.That(parent.Destroyed, Is.EqualTo(1));
            Assert.That(child.ParentHadUsersWhenDestroyed, Is.True);
        });
    }

    [Test]
    public void Concurrent_allocations_and_destroys_leave_a_consistent_table()
    {
        using var host = new TestHost();
        const int Threads = 4, Rounds = 2000;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, Threads, _ =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                var alloc = new IommuIoasAlloc();
                var rc = host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc);
                if (rc != Errno.Success)
                {
                    errors.Add($"alloc: {rc}");
                    continue;
                }

                // Another thread's ID may be destroyed by mistake only if IDs were handed out twice.
                rc = host.File.Destroy(alloc.OutIoasId);
                if (rc != Errno.Success)
                {
                    errors.Add($"destroy {alloc.OutIoasId}: {rc}");
                }
            }
        });
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty);
            Assert.That(host.File.ObjectCount, Is.Zero);
        });
    }

    private sealed class DependentOn : IommufdObject
    {
        private readonly Dependent _parent;

        public DependentOn(Dependent parent)
        {
            _parent = parent;
            parent.AddUser();
        }

        public override IommufdObjectType Type => IommufdObjectType.Vdevice;

        public bool ParentHadUsersWhenDestroyed { get; private set; }

        internal override void Destroy()
        {
            ParentHadUsersWhenDestroyed = _parent.Destroyed == 0;
            _parent.RemoveUser();
        }
    }
}
