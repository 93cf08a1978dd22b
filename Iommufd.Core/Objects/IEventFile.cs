namespace Iommufd.Core.Objects;

/// <summary>An anonymous file an ioctl returned as an fd (a vEVENTQ or a fault queue).</summary>
internal interface IEventFile
{
    /// <summary>read(2): fills <paramref name="buffer"/> with whole records; never blocks.</summary>
    Errno Read(Span<byte> buffer, long position, out int count);

    /// <summary>write(2); files without a write op answer EINVAL.</summary>
    Errno Write(ReadOnlySpan<byte> buffer, long position, out int count);

    /// <summary>close(2): drops the file's reference on its object.</summary>
    void Close();
}
