namespace Iommufd.Core.Memory;

/// <summary>
/// A file an IOAS maps with IOMMU_IOAS_MAP_FILE (the kernel's <c>struct file</c> of an iopt_pages): an emulated
/// process's <see cref="MemoryFile"/>, or a real memfd of the calling process (<see cref="CallerFile"/>). References
/// follow fget/fput: <see cref="UserMemory.TryGetFile"/> returns one, each page set holds one.
/// </summary>
internal interface IMappedFile
{
    /// <summary>A name for the errno trace.</summary>
    string Name { get; }

    /// <summary>The file size now.</summary>
    long Size { get; }

    /// <summary>
    /// The pages of [<paramref name="offset"/>, +<paramref name="length"/>) (page aligned) for a pin, as pages.c
    /// pin_memfd_pages() takes them with memfd_pin_folios(): EINVAL for a page at or past the end of the file or a file
    /// that is not shmem.
    /// </summary>
    Errno TryGetPages(ulong offset, ulong length, out UserRegion region, out ulong regionOffset);

    /// <summary>get_file().</summary>
    void AddRef();

    /// <summary>fput(); the last reference gives the file's resources back.</summary>
    void Release();
}
