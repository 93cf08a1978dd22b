using Iommufd.Core;
using Iommufd.Core.Objects;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Stress;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>
/// A marked lookup (<see cref="ObjectTable.GetMarked{T}"/>, IOMMU_HWPT_INVALIDATE's) holds no reference: a destroy
/// that claims the object waits for the marks on it, so no use ever runs on a destroyed object.
/// </summary>
public class MarkedLookupTests : MockContractTest
{
    private sealed class Target : IommufdObject
    {
        private int _destroyed;

        public override IommufdObjectType Type => IommufdObjectType.Viommu;

        public int Destroyed => Volatile.Read(ref _destroyed);

        internal override bool TakesMarkedLookups => true;

        internal override void Destroy() => Interlocked.Increment(ref _destroyed);
    }

    [Test]
    public void Destroy_of_an_object_a_marked_lookup_holds_waits_for_it_then_destroys_it_once()
    {
        var table = new ObjectTable();
        var obj = new Target();
        uint id = table.Add(obj);
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        var lookup = Errno.ENOENT;
        var user = Task.Run(() =>
        {
            var call = Fx.File.EnterCall("test");
            lookup = table.GetMarked(id, out ObjectRef<Target> handle);
            entered.Set();
            leave.Wait();
            handle.Dispose();
            call.Dispose();
        });
        entered.Wait();

        var destroy = Task.Run(() => table.Destroy(id));
        bool claimed = Poll.Until(() => obj.State == ObjectState.Dying);
        bool doneWhileHeld = destroy.IsCompleted;
        int destroyedWhileHeld = obj.Destroyed;
        var lookupAfterClaim = table.GetMarked(id, out ObjectRef<Target> late);
        late.Dispose();
        leave.Set();
        bool finished = destroy.Wait(Poll.Patience);
        user.Wait(Poll.Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lookup, Is.EqualTo(Errno.Success));
            Assert.That(claimed, Is.True, "the destroy claimed the object: a marked lookup is no user");
            Assert.That(doneWhileHeld, Is.False, "the destroy waited for the mark");
            Assert.That(destroyedWhileHeld, Is.Zero, "nothing was destroyed under the lookup");
            Assert.That(lookupAfterClaim, Is.EqualTo(Errno.ENOENT), "a claimed object is not found");
            Assert.That(finished, Is.True, "the destroy finished once the lookup ended");
            Assert.That(destroy.Result, Is.EqualTo(Errno.Success));
            Assert.That(obj.Destroyed, Is.EqualTo(1));
        }
    }

    [Test]
    public void Marked_lookups_racing_a_destroy_never_use_a_destroyed_object()
    {
        const int Rounds = 300;
        int seed = StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        int usesAfterDestroy = 0, failedDestroys = 0, notDestroyedOnce = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var table = new ObjectTable();
            var obj = new Target();
            uint id = table.Add(obj);
            var random = new Random(seed + round);
            int userSpins = random.Next(0, 64), destroyerSpins = random.Next(0, 4096);
            var user = new Thread(() =>
            {
                var call = Fx.File.EnterCall("test");
                while (table.GetMarked(id, out ObjectRef<Target> handle) == Errno.Success)
                {
                    Thread.SpinWait(userSpins);
                    if (obj.Destroyed != 0)
                    {
                        Interlocked.Increment(ref usesAfterDestroy);
                    }

                    handle.Dispose();
                }

                call.Dispose();
            });
            user.Start();
            Thread.SpinWait(destroyerSpins);
            if (table.Destroy(id) != Errno.Success)
            {
                failedDestroys++;
            }

            Assert.That(user.Join(StressSettings.HangTimeout), Is.True, $"round {round}: the user thread hung");
            if (obj.Destroyed != 1)
            {
                notDestroyedOnce++;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(usesAfterDestroy, Is.Zero, "a use saw its object destroyed");
            Assert.That(failedDestroys, Is.Zero, "a marked lookup makes a destroy wait, not fail");
            Assert.That(notDestroyedOnce, Is.Zero, "every object was destroyed exactly once");
        }
    }
}
