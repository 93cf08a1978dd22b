namespace Iommufd.Core.Objects;

/// <summary>Where an object is in its life (see the rules on <see cref="ObjectTable"/>).</summary>
internal enum ObjectState
{
    /// <summary>Being built: not in the table yet, invisible to lookups.</summary>
    New,

    /// <summary>In the table: lookups find it.</summary>
    Live,

    /// <summary>Claimed for destruction or being removed by the core: lookups no longer find it.</summary>
    Dying,

    /// <summary>Its <see cref="IommufdObject.Destroy"/> has run.</summary>
    Destroyed,
}
