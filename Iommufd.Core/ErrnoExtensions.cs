namespace Iommufd.Core;

/// <summary>Helpers for callers that prefer exceptions to errno checks (samples, tools, tests).</summary>
public static class ErrnoExtensions
{
    /// <summary>Throws <see cref="IommufdException"/> unless <paramref name="errno"/> is <see cref="Errno.Success"/>.</summary>
    public static void ThrowIfError(this Errno errno, string operation)
    {
        if (errno != Errno.Success)
        {
            throw new IommufdException(operation, errno);
        }
    }
}
