using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Tests.Stress;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// The host driver acknowledges global errors through GERRORN (spec §6.3.19, §6.3.20: an error is active while GERROR
/// and GERRORN differ in its bit; software toggles its GERRORN bit) from two places: the issuer that fixed a command
/// error (CMDQ_ERR) and the GERROR interrupt (every other error). One writer at a time, as arm-smmu-v3.c
/// arm_smmu_gerror_handler() is the kernel's only one: raised together, each error is acknowledged exactly once and
/// none is left active.
/// </summary>
public class GerrorAcknowledgeTests
{
    private const int Rounds = 200;
    private const int PerRound = 20; // errors each thread raises in a round
    private const uint UnprobedSid = 0x10; // no STE for it: a DMA records an event (C_BAD_STE or C_BAD_STREAMID)

    /// <summary>
    /// Each round an issuer meets CERROR_ILL again and again (CMDQ_ERR, fixed and acknowledged by the issuer) while
    /// another thread's DMAs fault into an event queue whose memory is gone (EVENTQ_ABT_ERR, acknowledged by the
    /// interrupt), with seeded delays between them. With two unlocked read-modify-writes of GERRORN one toggle
    /// overwrote the other: an EVENTQ_ABT_ERR left active for good, or a CMDQ_ERR fixed and acknowledged twice.
    /// After each round nothing is active, CMDQ_ERR was acknowledged once per poisoned batch and EVENTQ_ABT_ERR once
    /// per GERROR interrupt it raised (every other one is a CMDQ_ERR's).
    /// </summary>
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_command_error_and_an_event_queue_abort_raised_together_are_each_acknowledged_once_and_none_stays_active(ExecutionMode mode)
    {
        int seed = StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        using var provider = Host(mode);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        PointEventQueueAtUnbackedMemory(host);
        host.GerrornWriteWindow = () => Thread.Yield(); // let the other thread in between the read and the write
        long gerrorInterrupts = 0;
        host.Hardware.Interrupt += i =>
        {
            if (i == SmmuInterrupt.Gerror)
            {
                Interlocked.Increment(ref gerrorInterrupts);
            }
        };

        using var barrier = new Barrier(3);
        string? issueProblem = null, dmaProblem = null;
        var issuer = new Thread(() => Race(barrier, new Random(seed), () =>
        {
            var rc = host.MainQueue.Issue([SmmuCommandBuilder.TlbiEl3All()], out int failedAt);
            issueProblem ??= rc == Errno.EIO && failedAt == 0 ? null
                : $"issue: {rc} at {failedAt}, GERROR ^ GERRORN = 0x{host.Hardware.Gerror ^ host.Hardware.Gerrorn:x}";
        }))
        {
            IsBackground = true,
        };
        var device = new Thread(() => Race(barrier, new Random(seed + 1), () =>
        {
            var status = host.Hardware.Dma(UnprobedSid, 0x1000, new byte[8], DmaDirection.Read);
            dmaProblem ??= status == DmaStatus.Ok ? "the DMA did not fault" : null;
        }))
        {
            IsBackground = true,
        };
        issuer.Start();
        device.Start();

        string? problem = null;
        for (int r = 0; r < Rounds && problem is null; r++)
        {
            if (!barrier.SignalAndWait(StressSettings.HangTimeout) || !barrier.SignalAndWait(StressSettings.HangTimeout))
            {
                problem = $"round {r}: a thread hangs";
                break;
            }

            uint active = host.Hardware.Gerror ^ host.Hardware.Gerrorn;
            long batches = (long)PerRound * (r + 1);
            long commandAcks = host.Acknowledgements(GlobalError.CMDQ_ERR);
            long abortAcks = host.Acknowledgements(GlobalError.EVENTQ_ABT_ERR);
            long abortsRaised = Interlocked.Read(ref gerrorInterrupts) - batches;
            if (issueProblem is not null || dmaProblem is not null)
            {
                problem = $"round {r}: {issueProblem} {dmaProblem}";
            }
            else if (active != 0 || commandAcks != batches || abortAcks != abortsRaised)
            {
                problem = $"round {r}: GERROR ^ GERRORN = 0x{active:x}; CMDQ_ERR acknowledged {commandAcks} times for {batches} "
                    + $"poisoned batches; EVENTQ_ABT_ERR {abortAcks} times for {abortsRaised} raised";
            }
        }

        barrier.RemoveParticipant(); // the workers see the main thread gone and stop at their next wait
        issuer.Join(StressSettings.HangTimeout);
        device.Join(StressSettings.HangTimeout);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(problem, Is.Null);
            Assert.That(host.Acknowledgements(GlobalError.EVENTQ_ABT_ERR), Is.GreaterThan(0), "the DMAs raised EVENTQ_ABT_ERR");
        }
    }

    /// <summary>
    /// Acknowledging CMDQ_ERR restarts the queue on the acknowledging thread, and the CMD_SYNC it runs then raises
    /// MSI_CMDQ_ABT_ERR, whose interrupt arrives on that thread inside its GERRORN write: the nested acknowledge is
    /// left to the outer writer, which writes again, so both end acknowledged once.
    /// </summary>
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void An_error_the_restarted_queue_raises_inside_the_CMDQ_ERR_acknowledge_is_acknowledged_by_the_same_writer(ExecutionMode mode)
    {
        using var provider = Host(mode);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        ulong unbacked = UnbackedAddress(host);

        var rc = host.MainQueue.Issue([SmmuCommandBuilder.TlbiEl3All(), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_IRQ, unbacked, 1)], out int failedIndex);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EIO));
            Assert.That(failedIndex, Is.Zero);
            Assert.That(host.Hardware.Gerror ^ host.Hardware.Gerrorn, Is.Zero, "nothing left active");
            Assert.That(host.Acknowledgements(GlobalError.CMDQ_ERR), Is.EqualTo(1));
            Assert.That(host.Acknowledgements(GlobalError.MSI_CMDQ_ABT_ERR), Is.EqualTo(1));
        }
    }

    /// <summary>
    /// Interrupts arrive on the raising thread, so a DMA whose event record aborts (EVENTQ_ABT_ERR) runs the handler's
    /// GERRORN write on its own thread, and that write restarts a command queue with entries left (spec §7.1). The
    /// CMD_SYNC consumed there waits for transactions in flight (InFlightTransactions), so the interrupt must come
    /// after the DMA's transaction has left them, or the DMA waits for itself and never ends.
    /// </summary>
    [Test]
    public void A_DMA_whose_event_queue_abort_acknowledge_restarts_the_command_queue_does_not_wait_for_itself()
    {
        using var provider = Host(ExecutionMode.Inline);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        PointEventQueueAtUnbackedMemory(host);
        var queue = host.Hardware.CommandQueue;
        uint prod = queue.Prod & queue.IndexWrapMask;
        queue.TryWriteEntry(prod, SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        queue.Prod = (prod + 1) & queue.IndexWrapMask; // an entry left, no doorbell: the next GERRORN write runs it
        long syncs = host.Hardware.SyncsCompleted;

        var status = DmaStatus.Ok;
        var device = new Thread(() => status = host.Hardware.Dma(UnprobedSid, 0x1000, new byte[8], DmaDirection.Read)) { IsBackground = true };
        device.Start();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.Join(StressSettings.HangTimeout), Is.True, "the DMA ends");
            Assert.That(status, Is.Not.EqualTo(DmaStatus.Ok));
            Assert.That(host.Hardware.SyncsCompleted, Is.EqualTo(syncs + 1), "the CMD_SYNC ran inside the acknowledge");
            Assert.That(host.Acknowledgements(GlobalError.EVENTQ_ABT_ERR), Is.EqualTo(1));
            Assert.That(host.Hardware.Gerror ^ host.Hardware.Gerrorn, Is.Zero);
        }
    }

    private static ServiceProvider Host(ExecutionMode mode) => new ServiceCollection()
        .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = mode))
        .BuildIommufdServiceProvider();

    /// <summary>An address of the host's memory with nothing behind it (a bank allocated and freed).</summary>
    private static ulong UnbackedAddress(SmmuV3Host host)
    {
        var bank = host.Memory.Allocate(PhysicalMemory.PageSize);
        host.Memory.Free(bank);
        return bank.BaseAddress;
    }

    /// <summary>EVENTQ_BASE moved to unbacked memory: every event record the SMMU writes aborts (EVENTQ_ABT_ERR).</summary>
    private static void PointEventQueueAtUnbackedMemory(SmmuV3Host host)
    {
        ulong log2 = host.Hardware.ReadRegister((uint)SmmuRegister.EVENTQ_BASE, 8) & 0x1F;
        var bank = host.Memory.Allocate(32L << (int)log2);
        host.Memory.Free(bank);
        host.Hardware.WriteRegister((uint)SmmuRegister.EVENTQ_BASE, bank.BaseAddress | log2, 8);
    }

    /// <summary>
    /// A worker's rounds: start together, then <see cref="PerRound"/> times a seeded wait and the action, finish
    /// together; stops when the main thread leaves.
    /// </summary>
    private static void Race(Barrier barrier, Random random, Action act)
    {
        for (int r = 0; r < Rounds; r++)
        {
            if (!barrier.SignalAndWait(StressSettings.HangTimeout) || barrier.ParticipantCount < 3)
            {
                return;
            }

            for (int i = 0; i < PerRound; i++)
            {
                Thread.SpinWait(random.Next(64));
                act();
            }

            if (!barrier.SignalAndWait(StressSettings.HangTimeout))
            {
                return;
            }
        }
    }
}
