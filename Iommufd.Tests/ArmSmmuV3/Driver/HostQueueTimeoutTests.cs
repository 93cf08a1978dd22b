using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>The host's CMD_SYNC wait is bounded: a queue that stops consuming is ETIMEDOUT, not a hang.</summary>
public class HostQueueTimeoutTests
{
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_sync_the_SMMU_never_consumes_is_ETIMEDOUT_and_the_queue_recovers_once_it_runs_again(ExecutionMode mode)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => { o.ExecutionMode = mode; o.SyncTimeout = TimeSpan.FromMilliseconds(50); }))
            .BuildIommufdServiceProvider();
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        uint cr0 = (uint)host.Hardware.ReadRegister((uint)SmmuRegister.CR0);

        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~8u); // CMDQEN off: nothing is consumed
        var stalled = host.Issue([SmmuCommandBuilder.TlbiNsnhAll()], out int completed);
        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0); // back on: the pending entries run

        // 50 ms per sync: on a loaded machine the resumed engine thread may miss the first one; the queue must
        // work again, so ask until it does.
        int completedAfter = 0;
        bool recovered = Poll.Until(() => host.Issue([SmmuCommandBuilder.TlbiNsnhAll()], out completedAfter) == Errno.Success);

        Assert.Multiple(() =>
        {
            Assert.That(stalled, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(completed, Is.Zero);
            Assert.That(recovered, Is.True);
            Assert.That(completedAfter, Is.EqualTo(1));
        });
    }
}
