namespace Iommufd.Tests.Support;

/// <summary>Finds the repository's own files from the test binaries, for tests about the sources and shipped files.</summary>
internal static class RepositoryFiles
{
    /// <summary>The folder that holds Iommufd.sln; the test is ignored, saying why, when the sources are not there.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Iommufd.sln")))
            {
                return dir.FullName;
            }
        }

        Assert.Ignore("the repository's sources are not next to the test binaries");
        return string.Empty;
    }

    /// <summary>A path inside the repository, from '/'-separated parts.</summary>
    public static string PathOf(string relative) =>
        Path.Combine([Root(), .. relative.Split('/')]);
}
