using System.Text.RegularExpressions;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Repository;

/// <summary>
/// Comments cite primary sources (a kernel file and function, an Arm IHI 0070 section, QEMU's files), never notes
/// kept outside the repository: a reader of the code has the sources, not those notes.
/// </summary>
public partial class SourceCitationTests
{
    private static readonly string[] SourceExtensions = [".cs", ".c", ".h"];

    // The note files and the ways comments used to point at them: a section of "the reference", a numbered quirk of
    // the notes, the shared folder. This file spells them out for its own test cases and is not scanned.
    [GeneratedRegex(@"(iommufd-uapi|arm-smmuv3|tegra241-cmdqv|design-discussion|STYLE|ARCHITECTURE)\.md|\breference/|"
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

    [TestCase("// see iommufd-uapi" + ".md §6.5")]
    [TestCase("/// rules of reference/arm-smmuv3" + ".md §7.2")]
    [TestCase("// the host conversion of reference §7.2")]
    [TestCase("// as upstream (known quirk 7)")]
    [TestCase("// ../shared/reference/tegra241-cmdqv" + ".md")]
    public void The_check_recognises_a_note_citation(string line) =>
        Assert.That(NoteCitation().IsMatch(line), Is.True);

    [TestCase("// drivers/iommu/iommufd/hw_pagetable.c iommufd_hwpt_invalidate()")]
    [TestCase("/// (Arm IHI 0070 §4.4.1.1; arm-smmu-v3.h CMDQ_*)")]
    [TestCase("// takes a short-term reference on the object")]
    public void The_check_leaves_primary_source_citations_alone(string line) =>
        Assert.That(NoteCitation().IsMatch(line), Is.False);

    private static bool IsBuildOutput(string root, string file)
    {
        string[] parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
        return parts.Any(p => p is "bin" or "obj" || p.StartsWith('.'));
    }
}
