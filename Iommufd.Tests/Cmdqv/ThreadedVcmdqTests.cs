using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// With threaded hardware, the guest sees the same results whatever consumes its VCMDQ: the CMDQV on the thread that
/// rings PROD, a software worker that parks at once, or one that polls before it parks (and, after pauses longer
/// than its budget, parks too). The guest polls CONS as a driver does.
/// </summary>
[TestFixture(VcmdqBackend.Hardware, 0)]
[TestFixture(VcmdqBackend.Software, 0)]
[TestFixture(VcmdqBackend.Software, 1000)]
public class ThreadedVcmdqTests(VcmdqBackend backend, int workerSpinMicroseconds)
{
    private const ulong Va = 0x10_0000;
    private const ushort Asid = 3;
    private const uint Vsid = 5;
    private const int Pages = 60; // one per round: the ATC would serve a page touched again, so none is
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Test]
    public void Each_TLBI_removes_exactly_its_page_and_a_forbidden_command_stops_the_queue_on_it()
    {
        using var rig = new CmdqvRig(
            backend,
            o =>
            {
                o.HostFixup = false;
                o.SoftwareWorkerSpin = TimeSpan.FromMicroseconds(workerSpinMicroseconds);
            },
            s => s.ExecutionMode = ExecutionMode.Threaded);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        vm.MapAndTouch(Va, Pages);
        var q = vm.AllocQueue(0);
        var sync = SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE);

        int wrong = 0;
        for (int round = 0; round < Pages; round++)
        {
            if (round % 10 == 9)
            {
                Thread.Sleep(5); // longer than the worker's budget: the next doorbell finds it parked
            }

            ulong page = Va + ((ulong)round * 4096);
            q.Submit(SmmuCommandBuilder.TlbiNhVa(0, Asid, page, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0), sync);
            Assert.That(SpinWait.SpinUntil(() => q.Drained || q.ErrorActive, Patience), Is.True, $"round {round} consumed");
            Assert.That(q.ErrorActive, Is.False, $"round {round}");

            // The page named is gone; every page not named yet is still cached.
            var cached = vm.Iotlb.Select(e => e.InputBase).ToHashSet();
            if (cached.Contains(page) || Enumerable.Range(round + 1, Pages - round - 1).Any(i => !cached.Contains(Va + ((ulong)i * 4096))))
            {
                wrong++;
            }
        }

        uint forbiddenAt = q.Prod;
        q.Submit(SmmuCommandBuilder.TlbiS12Vmall(0), sync); // no guest VINTF may issue it, and fix-up is off
        bool stopped = SpinWait.SpinUntil(() => q.ErrorActive, Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(wrong, Is.Zero, "rounds where the page named stayed cached or a page not named yet was dropped");
            Assert.That(stopped, Is.True);
            Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(q.Cons, Is.EqualTo(forbiddenAt), "CONS stays on the forbidden command");
        }
    }
}
