namespace Iommufd.Core;

/// <summary>
/// An iommufd call the caller expected to succeed answered with an errno: the thin throwing wrapper for samples
/// and tools (<see cref="ErrnoExtensions.ThrowIfError"/>). The core itself never throws for an errno.
/// </summary>
public sealed class IommufdException : Exception
{
    public IommufdException(string operation, Errno errno)
        : base($"{operation}: {errno}")
    {
        Operation = operation;
        Errno = errno;
    }

    public IommufdException()
    {
        Operation = "";
    }

    public IommufdException(string message)
        : base(message)
    {
        Operation = "";
    }

    public IommufdException(string message, Exception innerException)
        : base(message, innerException)
    {
        Operation = "";
    }

    public string Operation { get; }

    public Errno Errno { get; }
}
