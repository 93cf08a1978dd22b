using System.Collections.Concurrent;
using System.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Tests.Cmdqv;
using Iommufd.Tests.Support;
using Iommufd.Vmm;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// A seeded hostile guest on each path, beside a second VM whose DMA is checked exactly, on engine threads
/// (threaded SMMU and CMDQV). No exception may leave an engine thread (every QueueFaulted hook stays silent) or the
/// raw entry point, the other VM's translations stay right and its invalidations complete, no CMD_SYNC MSI lands in
/// its RAM, and once both VMs are gone objects, pinned pages, mmaps, frames and engine threads are back where they
/// started. <c>IOMMUFD_HOSTILE_SEED</c> replays the printed seed; <c>IOMMUFD_HOSTILE_COMMANDS</c> sets the count.
/// </summary>
[TestFixture(InvalidationPath.Trap)]
[TestFixture(InvalidationPath.HardwareVcmdq)]
[TestFixture(InvalidationPath.SoftwareVcmdq)]
public class HostileGuestTests(InvalidationPath path)
{
    private const ushort Asid = 3;

    [Test]
    public void A_hostile_guest_neither_crashes_nor_disturbs_the_other_VM_and_leaves_nothing_behind()
    {
        int seed = HostileSettings.Seed + (int)path;
        string context = $"seed {seed} (replay: IOMMUFD_HOSTILE_SEED={HostileSettings.Seed})";
        TestContext.Out.WriteLine($"{context}, {HostileSettings.Commands} hostile commands on the {path} path");
        long threadsBefore = QueueEngine.LiveThreads;
        var faults = new ConcurrentQueue<string>();
        var backend = path == InvalidationPath.SoftwareVcmdq ? VcmdqBackend.Software : VcmdqBackend.Hardware;
        using (var rig = new CmdqvRig(backend, o => o.HostFixup = true, o => o.ExecutionMode = ExecutionMode.Threaded))
        {
            rig.Cmdqv.QueueFaulted += (q, e) => faults.Enqueue($"{q.Queue.Name}: {e}");
            rig.Hardware.QueueFaulted += (q, e) => faults.Enqueue($"{q.Name}: {e}");
            using var gauges = new LeakGauges(rig.Host);
            var start = gauges.Read();
            var random = new Random(seed);
            var clock = Stopwatch.StartNew();
            string summary;
            long checks, remaps;
            bool canary;
            IReadOnlyCollection<string> problems;

            // A's vSID is B's pSID and B's vSID is A's pSID: only the host's SID replacement keeps them apart.
            using (var victim = new VictimVm(rig, "b", vsid: CmdqvRig.SidA, Asid, context))
            using (IHostileGuest hostile = path == InvalidationPath.Trap
                ? new HostileVsmmuGuest(rig.Host, "a", vsid: CmdqvRig.SidB, Asid, victim.Names, random)
                : new HostileVcmdqGuest(rig, "a", vsid: CmdqvRig.SidB, Asid, victim.Names, random))
            {
                while (hostile.Written < HostileSettings.Commands)
                {
                    hostile.Step();
                    if (random.Next(4) == 0)
                    {
                        victim.Step(random);
                    }
                }

                summary = hostile.Summary;
                problems = [.. hostile.Problems];
                checks = victim.Checks;
                remaps = victim.Remaps;
                canary = victim.CanaryUntouched;
            }

            TestContext.Out.WriteLine($"{summary}; the other VM: {checks} DMA checks, {remaps} remaps; {clock.Elapsed.TotalSeconds:F1} s");
            var end = gauges.Read();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(faults, Is.Empty, $"{context}: an engine thread met an exception");
                Assert.That(problems, Is.Empty, $"{context}: the guest's other vCPU");
                Assert.That(canary, Is.True, $"{context}: a CMD_SYNC MSI wrote into the other VM's RAM");
                Assert.That(remaps, Is.GreaterThan(0), $"{context}: the other VM invalidated");
                Assert.That(end, Is.EqualTo(start), $"{context}: objects, pins, mmaps, frames and engine threads after both VMs are gone");
            }
        }

        Assert.That(QueueEngine.LiveThreads, Is.EqualTo(threadsBefore), $"{context}: engine threads after the host is gone");
    }
}
