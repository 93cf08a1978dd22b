namespace Iommufd.Tests.Hostile;

/// <summary>A VM whose guest does whatever its seeded random source says to its command path.</summary>
internal interface IHostileGuest : IDisposable
{
    /// <summary>Command entries written into the guest's queue so far.</summary>
    long Written { get; }

    /// <summary>What went wrong off the test thread (an exception on a helper thread, an errno no kernel gives).</summary>
    IReadOnlyCollection<string> Problems { get; }

    /// <summary>A one-line tally of what the guest did.</summary>
    string Summary { get; }

    /// <summary>One hostile action.</summary>
    void Step();
}
