using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Iommufd.Benchmarks;

var config = DefaultConfig.Instance.AddColumn(new NsPerCommandColumn());
BenchmarkSwitcher.FromAssembly(typeof(NsPerCommandColumn).Assembly).Run(args, config);
