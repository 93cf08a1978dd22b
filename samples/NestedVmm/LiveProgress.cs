using Spectre.Console;

namespace NestedVmm;

/// <summary>
/// Live progress bars (Spectre.Console) for a run on an interactive terminal: one bar per path with its elapsed
/// time. Redirected output, <c>--json</c> and <c>--quiet</c> keep the plain lines, so logs and tests see text.
/// </summary>
internal static class LiveProgress
{
    /// <summary>True when <paramref name="output"/> is the process's own terminal and it can redraw lines.</summary>
    public static bool Available(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs the scenario under the bars; stale-translation messages follow them.</summary>
    public static NestedVmmReport Run(NestedVmmOptions options, TextWriter output, CancellationToken cancel)
    {
        output.WriteLine(NestedVmmScenario.Header(options));
        using var messages = new StringWriter();
        var report = AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context => NestedVmmScenario.Run(options, messages, (_, description) =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: 1);
                return p =>
                {
                    task.Value = p.Fraction;
                    if (p.Fraction >= 1)
                    {
                        task.StopTask();
                    }
                };
            }, cancel));
        output.Write(messages.ToString());
        return report;
    }
}
