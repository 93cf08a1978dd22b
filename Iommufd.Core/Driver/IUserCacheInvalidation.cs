namespace Iommufd.Core.Driver;

/// <summary>
/// Implemented by a nested domain or a vIOMMU that takes user invalidation requests (IOMMU_HWPT_INVALIDATE): the
/// kernel's <c>cache_invalidate_user</c> and <c>viommu_ops->cache_invalidate</c>. An object without it answers
/// EOPNOTSUPP.
/// </summary>
public interface IUserCacheInvalidation
{
    /// <summary>
    /// Handles the entries of <paramref name="array"/> in order, stopping at the first failure, and leaves in
    /// <see cref="InvalidationArray.EntryNum"/> the number of entries handled.
    /// </summary>
    Errno CacheInvalidate(ref InvalidationArray array);
}
