using System.Text.RegularExpressions;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Repository;

/// <summary>
/// Comments and docs cite primary sources (a kernel file and function, an Arm IHI 0070 section, QEMU's files), never
/// notes kept outside the repository, and every file of the repository they cite is in it: a reader has the sources
/// and the repository, not those notes.
/// </summary>
public partial class SourceCitationTests
{
    private static readonly string[] SourceExtensions = [".cs", ".c", ".h", ".sh", ".md", ".csproj", ".props", ".targets"];

    // The note files and the ways comments used to point at them: a section of "the reference", a numbered quirk of
    // the notes, the shared folder. This file spells them out for its own test cases and is not scanned.
    [GeneratedRegex(@"(iommufd-uapi|arm-smmuv3|tegra241-cmdqv|design-discussion|(?-i:STYLE|ARCHITECTURE))\.md|\breference/|"
        + @"\breference §|\breference notes\b|\bknown quirk \d|[.][.]/shared[/]|/work/shared", RegexOptions.IgnoreCase)]
    private static partial Regex NoteCitation();

    [Test]
    public void No_source_file_cites_a_note_outside_the_repository()
    {
        string root = RepositoryFiles.Root();
        var offenders = new List<string>();
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (!SourceExtensions.Contains(Path.GetExtension(file)) || IsBuildOutput(root, file)
                || Path.GetFileName(file) == nameof(SourceCitationTests) + ".cs")
            {
                continue;
            }

            int lineNumber = 0;
            foreach (string line in File.ReadLines(file))
            {
                lineNumber++;
                if (NoteCitation().IsMatch(line))
                {
                    offenders.Add($"{Path.GetRelativePath(root, file)}:{lineNumber}: {line.Trim()}");
                }
            }
        }

        Assert.That(offenders, Is.Empty, "cite the kernel, QEMU or Arm IHI 0070 instead");
    }

    // A path into this repository's own folders, as comments and docs cite them ("samples/SmmuCmd/examples/cmds.txt").
    [GeneratedRegex(@"\b(?:samples|benchmarks|docs|Iommufd\.[A-Za-z0-9]+)/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.[a-z]+\b")]
    private static partial Regex RepositoryPath();

    [Test]
    public void Every_file_of_the_repository_a_source_or_doc_cites_is_in_it()
    {
        string root = RepositoryFiles.Root();
        var missing = new List<string>();
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (!SourceExtensions.Contains(Path.GetExtension(file)) || IsBuildOutput(root, file))
            {
                continue;
            }

            int lineNumber = 0;
            foreach (string line in File.ReadLines(file))
            {
                lineNumber++;
                foreach (Match m in RepositoryPath().Matches(line))
                {
                    // From the root, or from a sibling folder ("../Iommufd.Guest/…" in a project); build output is made.
                    string sibling = Path.Combine(Path.GetDirectoryName(file)!, "..", m.Value);
                    if (!File.Exists(Path.Combine(root, m.Value)) && !File.Exists(sibling) && !m.Value.Contains("/build/", StringComparison.Ordinal))
                    {
                        missing.Add($"{Path.GetRelativePath(root, file)}:{lineNumber}: {m.Value}");
                    }
                }
            }
        }

        Assert.That(missing, Is.Empty, "a cited file of the repository that is not in it");
    }

    [TestCase("// see iommufd-uapi" + ".md §6.5")]
    [TestCase("/// rules of reference/arm-smmuv3" + ".md §7.2")]
    [TestCase("// the host conversion of reference §7.2")]
    [TestCase("// as upstream (known quirk 7)")]
    [TestCase("// ../shared/reference/tegra241-cmdqv" + ".md")]
    [TestCase("<!-- the house style, STYLE" + ".md -->")]
    public void The_check_recognises_a_note_citation(string line) =>
        Assert.That(NoteCitation().IsMatch(line), Is.True);

    [TestCase("// drivers/iommu/iommufd/hw_pagetable.c iommufd_hwpt_invalidate()")]
    [TestCase("/// (Arm IHI 0070 §4.4.1.1; arm-smmu-v3.h CMDQ_*)")]
    [TestCase("// takes a short-term reference on the object")]
    [TestCase("The [architecture](docs/architecture.md) of the repository")]
    public void The_check_leaves_primary_source_citations_alone(string line) =>
        Assert.That(NoteCitation().IsMatch(line), Is.False);

    private static bool IsBuildOutput(string root, string file)
    {
        string[] parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
        return parts.Any(p => p is "bin" or "obj" || p.StartsWith('.'));
    }
}
