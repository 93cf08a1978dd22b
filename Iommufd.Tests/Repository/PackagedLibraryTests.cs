using System.Xml.Linq;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Repository;

/// <summary>
/// Every library `dotnet pack` makes has its public surface checked by the build: it opts in to the API baseline
/// (TrackPublicApi, docs/public-api.md) and to required XML docs (RequireXmlDocs). A new packable library that
/// forgets either fails here, not after its first release. The dotnet tool is an executable and has neither.
/// </summary>
public class PackagedLibraryTests
{
    [Test]
    public void Every_packable_library_tracks_its_public_api_and_requires_xml_docs()
    {
        var untracked = new List<string>();
        var libraries = PackableLibraries();
        foreach (var (name, _, project) in libraries)
        {
            if (!IsTrue(project, "TrackPublicApi") || !IsTrue(project, "RequireXmlDocs"))
            {
                untracked.Add(name);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(libraries.Select(l => l.Name), Is.SupersetOf(new[]
            {
                "Iommufd.Core", "Iommufd.ArmSmmuV3", "Iommufd.Cmdqv", "Iommufd.MockDriver", "Iommufd.Guest", "Iommufd.Vmm",
            }));
            Assert.That(untracked, Is.Empty, "set TrackPublicApi and RequireXmlDocs, then run scripts/update-public-api.sh");
        });
    }

    [Test]
    public void Every_tracked_library_has_both_baseline_files_with_nullable_annotations()
    {
        var problems = new List<string>();
        foreach (var (name, dir, _) in PackableLibraries().Where(l => IsTrue(l.Project, "TrackPublicApi")))
        {
            foreach (string file in new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" })
            {
                string path = Path.Combine(dir, file);
                if (!File.Exists(path) || File.ReadLines(path).FirstOrDefault() != "#nullable enable")
                {
                    problems.Add($"{name}/{file}");
                }
            }
        }

        Assert.That(problems, Is.Empty, "run scripts/update-public-api.sh");
    }

    /// <summary>The projects with IsPackable true that are libraries (not an executable such as the dotnet tool).</summary>
    private static List<(string Name, string Directory, XDocument Project)> PackableLibraries()
    {
        string root = RepositoryFiles.Root();
        var found = new List<(string, string, XDocument)>();
        foreach (string file in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories))
        {
            var project = XDocument.Load(file);
            if (IsTrue(project, "IsPackable") && Value(project, "OutputType") != "Exe")
            {
                found.Add((Path.GetFileNameWithoutExtension(file), Path.GetDirectoryName(file)!, project));
            }
        }

        return found;
    }

    private static string? Value(XDocument project, string property) =>
        project.Descendants(property).LastOrDefault()?.Value.Trim();

    private static bool IsTrue(XDocument project, string property) =>
        string.Equals(Value(project, property), "true", StringComparison.OrdinalIgnoreCase);
}
