using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Iommufd.Benchmarks;

/// <summary>Mean time divided by the benchmark's <c>BatchSize</c> parameter: nanoseconds per command.</summary>
public sealed class NsPerCommandColumn : IColumn
{
    public string Id => nameof(NsPerCommandColumn);

    public string ColumnName => "ns/command";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Mean divided by the number of 16-byte entries per call";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var batch = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "BatchSize")?.Value;
        if (report?.ResultStatistics is null || batch is not int n || n == 0)
        {
            return "-";
        }

        return (report.ResultStatistics.Mean / n).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
    }
}
