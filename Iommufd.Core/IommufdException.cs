namespace Iommufd.Core;

/// <summary>
/// An iommufd call the caller expected to succeed answered with an errno: the thin throwing wrapper for samples
/// and tools (<see cref="ErrnoExtensions.ThrowIfError"/>). The core itself never throws for an errno.
/// </summary>
public sealed class IommufdException : Exception
{
    /// <summary>
    /// The exception for <paramref name="operation"/> answered with <paramref name="errno"/>; the message names both.
    /// </summary>
    public IommufdException(string operation, Errno errno)
        : base($"{operation}: {errno}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>An exception with no operation and no errno (the standard constructor).</summary>
    public IommufdException()
    {
        Operation = "";
    }

    /// <summary>An exception with a message and no errno (the standard constructor).</summary>
    public IommufdException(string message)
        : base(message)
    {
        Operation = "";
    }

    /// <summary>An exception with a message, an inner exception and no errno (the standard constructor).</summary>
    public IommufdException(string message, Exception innerException)
        : base(message, innerException)
    {
        Operation = "";
    }

    /// <summary>The call that failed ("IOMMU_IOAS_MAP"); empty when the exception was made without one.</summary>
    public string Operation { get; }

    /// <summary>
    /// The errno the call answered; <see cref="Errno.Success"/> when the exception was made without one.
    /// </summary>
    public Errno Errno { get; }
}
