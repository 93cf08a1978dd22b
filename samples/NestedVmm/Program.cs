using NestedVmm;

return NestedVmmCommand.Run(args, Console.Out, Console.Error);
