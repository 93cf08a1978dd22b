using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>One command-queue entry read from the input, with the line it started on (0 for binary input).</summary>
internal readonly record struct SourceEntry(SmmuCommand Command, int Line);
