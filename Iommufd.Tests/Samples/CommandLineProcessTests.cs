using System.Diagnostics;

namespace Iommufd.Tests.Samples;

/// <summary>
/// The two command-line programs as a user meets them: started as processes (the built <c>nested-vmm.dll</c> and
/// <c>smmucmd.dll</c> beside the tests), with their exit codes, help text and the ranges their errors name.
/// </summary>
[TestFixture]
public class CommandLineProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Test]
    public void Nested_vmm_help_lists_every_option_with_its_range_and_exits_0()
    {
        var run = Start("nested-vmm", "--help");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, run.Error);
            foreach (var option in new[] { "--path", "--threads", "--devices", "--duration", "--rounds", "--trap-cost", "--json", "--quiet", "--verbose", "--version" })
            {
                Assert.That(run.Output, Does.Contain(option));
            }

            Assert.That(run.Output, Does.Contain("1 to 8"), "the vCPU range is stated in the help");
            Assert.That(run.Output, Does.Contain("kunpeng920 = 2.3 µs"), "the trap-cost presets are stated in the help");
            Assert.That(run.Output, Does.Contain("130 interrupted"), "the exit codes are documented");
        }
    }

    [TestCase("--threads", "0", "--threads must be 1 to 8 (got 0).")]
    [TestCase("--devices", "9", "--devices must be 1 to 8 (got 9).")]
    [TestCase("--duration", "601", "--duration must be more than 0 and at most 600 seconds (got 601).")]
    [TestCase("--trap-cost", "2000us", "a time from 0 to 1000 µs")]
    public void Nested_vmm_refuses_an_out_of_range_option_naming_the_range_with_exit_code_2(string option, string value, string message)
    {
        var run = Start("nested-vmm", option, value);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(2));
            Assert.That(run.Error, Does.Contain(message));
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
        }
    }

    [Test]
    public void Nested_vmm_refuses_duration_with_rounds()
    {
        var run = Start("nested-vmm", "--duration", "1", "--rounds", "5");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(2));
            Assert.That(run.Error, Does.Contain("--duration and --rounds exclude each other"));
        }
    }

    [Test]
    public void Nested_vmm_verbose_sends_the_emulations_log_to_standard_error()
    {
        string[] run = ["--path", "trap", "--rounds", "2", "--threads", "1", "--devices", "1", "--quiet"];
        var plain = Start("nested-vmm", run);
        var verbose = Start("nested-vmm", [.. run, "--verbose"]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(plain.ExitCode, Is.Zero, plain.Error);
            Assert.That(verbose.ExitCode, Is.Zero, verbose.Error);
            Assert.That(plain.Error, Does.Not.Contain("debug Iommufd."));
            Assert.That(verbose.Error, Does.Contain("debug Iommufd.Core.IommufdFile: iommufd file closed"), "the core's Debug events");
            Assert.That(verbose.Output, Does.Not.Contain("debug Iommufd."), "the report stays clean");
        }
    }

    [TestCase("nested-vmm")]
    [TestCase("smmucmd")]
    public void Version_prints_the_assembly_version_and_exits_0(string program)
    {
        var run = Start(program, "--version");
        string expected = typeof(Iommufd.Core.IommufdHost).Assembly.GetName().Version!.ToString(3);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, run.Error);
            Assert.That(run.Output.Trim(), Does.StartWith(expected));
        }
    }

    [Test]
    public void Smmucmd_help_lists_its_commands_and_a_bad_queue_names_the_valid_ones()
    {
        var help = Start("smmucmd", "--help");
        var bad = Start("smmucmd", "check", "-", "--queue", "nvme");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(help.ExitCode, Is.Zero, help.Error);
            Assert.That(help.Output, Does.Contain("decode").And.Contain("encode").And.Contain("check"));
            Assert.That(bad.ExitCode, Is.EqualTo(2));
            Assert.That(bad.Error, Does.Contain("unknown queue 'nvme'; use smmu, trap, vcmdq."));
        }
    }

    private static (int ExitCode, string Output, string Error) Start(string program, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, program + ".dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is built beside the tests");

        // The host that runs the tests (dotnet test sets DOTNET_HOST_PATH), else the one on PATH.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Patience))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not exit within {Patience.TotalSeconds} s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
