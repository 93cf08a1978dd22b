using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// A batch on the host queue (its commands written into the queue, the CMD_SYNC waited for, the SMMU consuming
/// inline) allocates nothing once warm, also across the end of the queue.
/// </summary>
[TestFixture]
public class HostQueueAllocationTests
{
    [Test]
    public void Issuing_batches_round_the_queue_allocates_nothing()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Inline))
            .BuildIommufdServiceProvider();
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        var queue = host.MainQueue;
        var batch = Enumerable.Range(0, 15)
            .Select(i => SmmuCommandBuilder.TlbiNhVa(1, 1, 0x10_0000UL + ((ulong)i << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0))
            .ToArray();
        int batches = 3 * (1 << queue.Queue.Log2Size) / (batch.Length + 1);
        Assert.That(queue.Issue(batch, out _), Is.EqualTo(Errno.Success), "warm-up");

        var rc = Errno.Success;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < batches && rc == Errno.Success; i++)
        {
            rc = queue.Issue(batch, out _);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(allocated, Is.Zero);
        }
    }
}
