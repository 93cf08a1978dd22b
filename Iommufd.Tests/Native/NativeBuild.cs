using System.Diagnostics;
using Iommufd.ArmSmmuV3;
using Iommufd.Cmdqv;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Native;

/// <summary>
/// The native build (samples/native/build.sh): where its outputs are, and how to run a program under the shim.
/// CI builds it before the tests (.ci/run), so there a missing build fails; locally the native tests say why
/// they are skipped.
/// </summary>
internal static class NativeBuild
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Directory => Path.Combine(RepositoryRoot, "samples", "native", "build");

    public static string Shim => Path.Combine(Directory, "libiommufd-shim.so");

    /// <summary>A program of the native build, or <paramref name="name"/> itself when it is an absolute path.</summary>
    public static string Program(string name) => Path.IsPathRooted(name) ? name : Path.Combine(Directory, name);

    /// <summary>The native library's default platform (samples/Iommufd.Native/NativeHost.cs), for replays in C#.</summary>
    public static ServiceProvider DefaultPlatform() => new ServiceCollection()
        .AddIommufd(b => b
            .AddArmSmmuV3("smmu0")
            .AddTegra241Cmdqv("smmu0")
            .AddDevice("dev0", "smmu0", 0x10)
            .AddDevice("dev1", "smmu0", 0x11, atsCapable: true))
        .BuildIommufdServiceProvider();

    /// <summary>Fails (CI) or skips (elsewhere) unless the shim and <paramref name="program"/> are built.</summary>
    public static void Require(string program)
    {
        string path = Program(program);
        if (File.Exists(Shim) && File.Exists(path) && File.Exists(Path.Combine(Directory, "libiommufd-emu.so")))
        {
            return;
        }

        string why = $"the native build is missing ({path}); run samples/native/build.sh";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(why);
        }

        Assert.Ignore(why);
    }

    /// <summary>Runs <paramref name="program"/> (with the shim preloaded unless told otherwise); returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(string program, bool preload = true, params string[] arguments) =>
        Run(program, new Dictionary<string, string>(), preload, arguments);

    /// <summary>As <see cref="Run(string, bool, string[])"/>, with <paramref name="environment"/> added to the program's environment.</summary>
    public static (int ExitCode, string Output) Run(string program, IReadOnlyDictionary<string, string> environment, bool preload = true, params string[] arguments)
    {
        var start = new ProcessStartInfo(Program(program))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        if (preload)
        {
            start.Environment["LD_PRELOAD"] = Shim;
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} did not finish within 60 s:\n{stdout}");
        }

        string output = stdout + stderr.Result;
        TestContext.Out.WriteLine(output);
        return (process.ExitCode, output);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Iommufd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Iommufd.sln) is not above the test assembly");
    }
}
