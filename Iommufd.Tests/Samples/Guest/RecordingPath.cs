using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// A command path that logs each submission (its name and the commands in it) into a shared log, then passes it on
/// to <paramref name="inner"/> (or completes it at once when there is none).
/// </summary>
internal sealed class RecordingPath(string name, List<(string Path, SmmuCommand[] Commands)> log, ICommandPath? inner = null) : ICommandPath
{
    public string Name => name;

    public CommandPathStatistics Statistics => inner?.Statistics ?? new CommandPathStatistics();

    /// <summary>The commands of every submission through this path, in order.</summary>
    public IEnumerable<SmmuCommand> Commands => log.Where(e => e.Path == name).SelectMany(e => e.Commands);

    public bool Submit(ReadOnlySpan<SmmuCommand> commands)
    {
        log.Add((name, commands.ToArray()));
        return inner?.Submit(commands) ?? true;
    }
}
