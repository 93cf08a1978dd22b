using Iommufd.Core;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>
/// Closing a file waits for its calls in flight (<see cref="CallMarks"/>: a thread's mark, or the file's interlocked
/// count for a call nested on a second file), and a call that finds the file closed leaves no mark behind.
/// </summary>
public class CallsInFlightTests : MockContractTest
{
    [Test]
    public void Close_waits_for_a_call_in_flight_before_it_destroys_the_objects()
    {
        int objects = Fx.File.ObjectCount;
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        var caller = Task.Run(() =>
        {
            var call = Fx.File.EnterCall("test");
            entered.Set();
            leave.Wait();
            call.Dispose();
        });
        entered.Wait();

        var close = Task.Run(Fx.File.Dispose);
        bool closing = Poll.Until(() => Fx.File.IsClosed);
        bool doneWhileInCall = close.IsCompleted;
        int objectsWhileInCall = Fx.File.ObjectCount;
        leave.Set();
        bool closed = close.Wait(Poll.Patience);
        caller.Wait(Poll.Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(closing, Is.True, "the close began");
            Assert.That(doneWhileInCall, Is.False, "the close waited for the call");
            Assert.That(objectsWhileInCall, Is.EqualTo(objects), "nothing was destroyed under the call");
            Assert.That(closed, Is.True, "the close finished once the call returned");
            Assert.That(Fx.File.ObjectCount, Is.Zero);
        }
    }

    [Test]
    public void Close_of_a_second_file_waits_for_a_call_nested_in_a_call_on_the_first()
    {
        using var second = Fx.Host.Open(Fx.Process);
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        var caller = Task.Run(() =>
        {
            var outer = Fx.File.EnterCall("outer");
            var inner = second.EnterCall("inner");
            entered.Set();
            leave.Wait();
            inner.Dispose();
            outer.Dispose();
        });
        entered.Wait();

        var close = Task.Run(second.Dispose);
        bool closing = Poll.Until(() => second.IsClosed);
        bool doneWhileInCall = close.IsCompleted;
        leave.Set();
        bool closed = close.Wait(Poll.Patience);
        caller.Wait(Poll.Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(closing, Is.True, "the close began");
            Assert.That(doneWhileInCall, Is.False, "the close waited for the nested call");
            Assert.That(closed, Is.True, "the close finished once the call returned");
        }
    }

    [Test]
    public void A_call_that_finds_its_file_closed_leaves_the_thread_free_to_mark_another()
    {
        using var second = Fx.Host.Open(Fx.Process);
        Fx.File.Dispose();

        var closedCall = Fx.File.EnterCall("closed");
        bool wasClosed = closedCall.Closed;
        closedCall.Dispose();
        var mark = CallMarks.Enter(second);
        if (mark is not null)
        {
            CallMarks.Exit(mark);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(wasClosed, Is.True);
            Assert.That(mark, Is.Not.Null, "the thread's mark was released by the refused call");
        }
    }
}
